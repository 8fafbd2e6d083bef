"""Coordinates to a port of entry or a US border state, never guessed.

A point (``latitude``/``longitude`` columns, or one geopoint cell such as ODK's
``"32.54 -117.03 0 5"``) is placed, in this order:

1. **At a port** when it lies within ``PORT_RADIUS_KM`` (5 km) of one. Most ports are tens
   of km apart; the 5 km reach still takes in the other crossings of a port near its
   point (El Paso's Paso del Norte and Stanton bridges 2.5 km from the Bridge of the
   Americas, Nogales' Mariposa 3 km from DeConcini, Brownsville's Veterans bridge 4.5 km
   from Gateway). Only in Tijuana are ports closer than 10 km: Otay Mesa and Cross Border
   Xpress 3.4 km apart, San Ysidro 5.1 km from CBX and 8.5 km from Otay Mesa. So when a
   second port is also within reach, the nearest is taken only if it is at most half as
   far as the other (``NEARER``); otherwise the row is ``ambiguous`` with both as
   candidates. A port's own point is always that port.
2. **In a US border state**, with no port, when it lies on the US side of the border and
   within ``BORDER_ZONE_KM`` of it (100 miles, the "reasonable distance" of 8 CFR 287.1
   within which CBP works inland).
3. Otherwise it is **rejected** with the reason: it falls in Mexico (naming the state and
   the nearest port), or lies far from the border (with a hint when swapping latitude and
   longitude, or adding a missing minus sign, would place it).

Which side of the border a point is on comes from the Census border line shipped in
``data/us_mexico_border.geojson`` (1:500k), because the Natural Earth state polygons put
their US–Mexico edge up to 3.5 km off it (ten ports fall inside a Mexican polygon). The
state a point is in comes from the state layer the map draws, ``data/basemap/states.geojson``
(Natural Earth admin-1, simplified; its edges between states lie within 0.6 km of the
unsimplified layer), read with geopandas; a US-side point in a sliver that layer gives to
Mexico takes the nearest US state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from etl.ports import PortMatch
from etl.problems import Invalid
from garita.db import DATA_DIR
from garita.reference import BORDER_GEOJSON, STATES, ports

STATES_GEOJSON = DATA_DIR / "basemap" / "states.geojson"
PORT_RADIUS_KM = 5.0
NEARER = 2.0              # the nearest port must be at most 1/NEARER as far as the next
BORDER_ZONE_KM = 160.934  # 100 miles
SNAP_KM = 5.0             # a US-side point outside every US polygon takes one this close
EARTH_RADIUS_KM = 6371.0088
METRIC_CRS = "EPSG:5070"  # NAD83 / Conus Albers: distances in metres
_STATE_CODES = {name: code for code, name in STATES.items()}
_HEMISPHERE = {"n": 1, "s": -1, "e": 1, "w": -1, "o": -1}


# -- reading cells ----------------------------------------------------------------------

_DMS = re.compile(r"^(\d+(?:\.\d+)?)\s*[°º]\s*(?:(\d+(?:\.\d+)?)\s*['′’]\s*"
                  r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|”)?)?)?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def parse_coordinate(text: str, axis: str = "latitude") -> float | None:
    """Decimal degrees from one cell: ``32.5425``, ``-117.0288``, ``32,5425`` (decimal
    comma), ``117.03 W``, ``N 32.54``, ``32°32'33"N``. Blank is None; anything else, or a
    value outside -90…90 (latitude) or -180…180 (longitude), raises ``Invalid``."""
    cell = text.strip()
    if not cell:
        return None
    body, sign = cell, 1
    lead = re.fullmatch(r"([NSEWO])\s*(.+)", cell, re.IGNORECASE)
    trail = re.fullmatch(r"(.+?)\s*([NSEWO])", cell, re.IGNORECASE)
    if lead or trail:
        letter, body = (lead.group(1), lead.group(2)) if lead else (trail.group(2),
                                                                    trail.group(1))
        sign = _HEMISPHERE[letter.lower()]
        if body.strip().startswith(("-", "+")):
            raise Invalid("point.sign_and_letter", value=text)
        if (axis == "latitude") != (letter.lower() in "ns"):
            raise Invalid(f"point.{axis}_is_{'longitude' if axis == 'latitude' else 'latitude'}",
                          value=text)
    body = body.strip()
    if re.fullmatch(r"[+-]?\d+,\d+", body):
        body = body.replace(",", ".")
    if _DECIMAL.match(body):
        value = float(body)
    elif dms := _DMS.match(body.lstrip("+")):
        degrees, minutes, seconds = (float(g) if g else 0.0 for g in dms.groups())
        if minutes >= 60 or seconds >= 60:
            raise Invalid("point.minutes", value=text)
        value = degrees + minutes / 60 + seconds / 3600
    else:
        raise Invalid(f"point.{axis}_unreadable", value=text)
    value *= sign
    limit = 90 if axis == "latitude" else 180
    if not -limit <= value <= limit:
        raise Invalid(f"point.{axis}_range", value=text)
    return value


def parse_geopoint(text: str) -> tuple[float, float] | None:
    """(latitude, longitude) from one cell: ODK/KoBo ``"32.54 -117.03 0 5"`` (latitude,
    longitude, altitude, accuracy), ``"32.54, -117.03"``, ``"32.54N 117.03W"`` or WKT
    ``"POINT (-117.03 32.54)"`` (longitude first, as WKT writes it). Blank is None;
    anything else raises ``Invalid``."""
    cell = text.strip()
    if not cell:
        return None
    wkt = re.fullmatch(r"(?i)POINT\s*Z?\s*\(\s*(\S+)\s+(\S+)(?:\s+\S+)?\s*\)", cell)
    if wkt:
        lon, lat = wkt.group(1), wkt.group(2)
    else:
        body = re.sub(r"[()\[\]]", " ", cell)
        parts = [p for p in re.split(r"\s*[;,]\s*|\s+", body) if p]
        merged: list[str] = []
        for part in parts:  # "32.54 N" -> "32.54N"
            if re.fullmatch(r"[NSEWOnsewo]", part) and merged:
                merged[-1] += part
            else:
                merged.append(part)
        if len(merged) < 2 or len(merged) > 4 or not all(
                re.fullmatch(r"[+-]?[\d.]+", p) for p in merged[2:]):
            raise Invalid("point.unreadable", value=text)
        lat, lon = merged[0], merged[1]
        if re.fullmatch(r"[\d.]+[EWOewo]", lat) and re.fullmatch(r"[\d.]+[NSns]", lon):
            lat, lon = lon, lat
    try:
        latitude = parse_coordinate(lat, "latitude")
        longitude = parse_coordinate(lon, "longitude")
    except Invalid as exc:
        raise Invalid(exc.code, _as_point(lon, lat), **exc.params) from None
    return latitude, longitude


def looks_like_point(text: str) -> bool:
    """True when a cell holds numbers (with signs, degrees, hemisphere letters or WKT's
    POINT) rather than a place name."""
    return bool(re.search(r"\d", text)) and bool(re.fullmatch(
        r"(?i)\s*(?:point\s*z?)?[\s\d.,;()\[\]°º'′’\"″”+\-nsewo]*", text))


def _as_point(lat: str, lon: str) -> str | None:
    try:
        latitude, longitude = parse_coordinate(lat, "latitude"), parse_coordinate(lon,
                                                                                   "longitude")
    except Invalid:
        return None
    return _format(latitude, longitude) if latitude is not None and longitude is not None \
        else None


def _format(lat: float, lon: float) -> str:
    return f"{lat:.4f}, {lon:.4f}"


def _km(value: float) -> float | int:
    return round(float(value), 1) if value < 10 else round(float(value))


# -- the layers -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Layers:
    codes: tuple[str, ...]
    names: tuple[str, ...]
    states: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    us_side: object           # shapely Polygon, longitude/latitude
    border: object            # shapely MultiLineString, metres
    us_states: object         # GeoDataFrame, metres
    mx_states: object         # GeoDataFrame, metres
    to_metric: object         # pyproj Transformer (lon, lat) -> (x, y)


def _chained(lines) -> list[tuple[float, float]]:
    """The border's pieces joined east to west (the gaps are short straight steps)."""
    rest = [list(line.coords) for line in lines.geoms]
    first = max(rest, key=lambda c: max(c[0][0], c[-1][0]))
    rest.remove(first)
    chain = first if first[0][0] > first[-1][0] else first[::-1]
    while rest:
        x, y = chain[-1]

        def gap(coords, end):
            return (coords[end][0] - x) ** 2 + (coords[end][1] - y) ** 2
        nearest = min(rest, key=lambda c: min(gap(c, 0), gap(c, -1)))
        rest.remove(nearest)
        chain += nearest if gap(nearest, 0) <= gap(nearest, -1) else nearest[::-1]
    return chain


def us_side_polygon():
    """The part of the region north of the Census border line (lon/lat), from the Pacific
    to the Gulf: the line is carried straight out to sea at both ends."""
    import shapely
    from shapely.geometry import LineString, box, shape

    feature = json.loads(BORDER_GEOJSON.read_text(encoding="utf-8"))["features"][0]
    chain = _chained(shape(feature["geometry"]))
    west, east, south, north = -130.0, -85.0, 10.0, 50.0
    line = LineString([(east, chain[0][1]), *chain, (west, chain[-1][1])])
    frame = box(west, south, east, north)
    faces = shapely.get_parts(shapely.polygonize([shapely.union(line, frame.boundary)]))
    inland = shapely.Point(-106.65, 35.08)  # Albuquerque
    return next(face for face in faces if face.contains(inland))


@lru_cache(maxsize=1)
def _layers() -> _Layers:
    import geopandas as gpd
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    rows = ports()
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    feature = json.loads(BORDER_GEOJSON.read_text(encoding="utf-8"))["features"][0]
    border = shapely.transform(shape(feature["geometry"]),
                               lambda xy: np.column_stack(to_metric.transform(xy[:, 0],
                                                                              xy[:, 1])))
    states = gpd.read_file(STATES_GEOJSON).to_crs(METRIC_CRS)
    us_side = us_side_polygon()
    shapely.prepare(us_side)
    return _Layers(
        codes=tuple(p["port_code"] for p in rows), names=tuple(p["port_name"] for p in rows),
        states=tuple(p["state"] for p in rows),
        lat=np.array([p["latitude"] for p in rows]), lon=np.array([p["longitude"] for p in rows]),
        us_side=us_side,
        border=border, to_metric=to_metric,
        us_states=states[states["country"] == "US"][["name", "geometry"]],
        mx_states=states[states["country"] == "MX"][["name", "geometry"]])


def _haversine(lat, lon, lat2, lon2) -> np.ndarray:
    lat, lon, lat2, lon2 = map(np.radians, (lat, lon, lat2, lon2))
    h = (np.sin((lat2 - lat) / 2) ** 2
         + np.cos(lat) * np.cos(lat2) * np.sin((lon2 - lon) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def _nearest_state(layer, x, y, max_km: float | None) -> list[str | None]:
    """The state each point is in, else the nearest within ``max_km`` (None: any)."""
    import geopandas as gpd

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS)
    joined = gpd.sjoin_nearest(points, layer, how="left",
                               max_distance=None if max_km is None else max_km * 1000)
    joined = joined[~joined.index.duplicated(keep="first")]
    return [name if isinstance(name, str) else None for name in joined["name"]]


# -- placing points ---------------------------------------------------------------------

def resolve_point(lat: float, lon: float) -> PortMatch:
    """Place one point: a port (``kind="coordinates"``), candidates, a state
    (``kind="state"``) or a rejection with its reason (see the module docstring)."""
    return resolve_points([lat], [lon])[0]


def resolve_points(lats, lons, *, hints: bool = True) -> list[PortMatch]:
    """``resolve_point`` for many points at once (the layers are read once, on first use).
    ``hints=False`` leaves out the search for a fix of far points."""
    import shapely

    lat = np.asarray(lats, dtype=float)
    lon = np.asarray(lons, dtype=float)
    out: list[PortMatch | None] = [None] * len(lat)
    valid = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    for i in np.flatnonzero(~valid):
        swapped = (_format(lon[i], lat[i]) if abs(lon[i]) <= 90 and abs(lat[i]) <= 180
                   else None)
        out[i] = PortMatch.refused("point.not_on_earth", swapped, latitude=float(lat[i]),
                                   longitude=float(lon[i]))
    todo = np.flatnonzero(valid)
    if not len(todo):
        return out
    layers = _layers()
    lat_v, lon_v = lat[todo], lon[todo]
    distances = _haversine(lat_v[:, None], lon_v[:, None], layers.lat[None, :],
                           layers.lon[None, :])
    x, y = layers.to_metric.transform(lon_v, lat_v)
    border_km = shapely.distance(layers.border, shapely.points(x, y)) / 1000
    us = shapely.contains_xy(layers.us_side, lon_v, lat_v)
    us_state = _nearest_state(layers.us_states, x, y, SNAP_KM)
    mx_state = _nearest_state(layers.mx_states, x, y, None)
    for k, i in enumerate(todo):
        out[i] = _place(layers, lat[i], lon[i], distances[k], border_km[k], bool(us[k]),
                        us_state[k], mx_state[k], hints)
    return out


def _place(layers: _Layers, lat, lon, distances, border_km, us, us_state, mx_state, hints):
    order = np.argsort(distances)
    nearest = order[0]
    point = _format(lat, lon)
    if distances[nearest] <= PORT_RADIUS_KM:
        close = [j for j in order[1:] if distances[j] <= PORT_RADIUS_KM
                 and distances[j] < NEARER * distances[nearest]]
        if not close:
            return PortMatch(layers.codes[nearest], kind="coordinates",
                             state=layers.states[nearest],
                             params={"distance_km": round(float(distances[nearest]), 2)})
        chosen = [nearest, *close]
        states = {layers.states[j] for j in chosen}
        return PortMatch.refused(
            "port.ambiguous", kind="ambiguous", value=point,
            candidates=[layers.codes[j] for j in chosen],
            ports=[layers.names[j] for j in chosen],
            distances_km=[round(float(distances[j]), 2) for j in chosen],
            keep_state=states.pop() if len(states) == 1 else None)
    if border_km > BORDER_ZONE_KM:
        problem, suggestion = _hint(lat, lon) if hints else ("point.far", None)
        return PortMatch.refused(problem, suggestion, point=point, km=_km(border_km),
                                 zone=round(BORDER_ZONE_KM))
    if not us:
        return PortMatch.refused("point.mexico", point=point, km=_km(border_km),
                                 mx_state=mx_state, port=layers.names[nearest],
                                 nearest=layers.codes[nearest],
                                 port_km=_km(distances[nearest]), radius=round(PORT_RADIUS_KM))
    if us_state is None:
        return PortMatch.refused("point.outside", point=point)
    return PortMatch(None, kind="state", state=_STATE_CODES[us_state],
                     params={"border_km": round(float(border_km), 1)})


def _hint(lat: float, lon: float) -> tuple[str, str | None]:
    """A fix that would place a far point: swapped axes, or a missing minus sign."""
    tries = [("point.far_swapped", lon, lat), ("point.far_sign", lat, -lon),
             ("point.far_swapped", -lon, lat)]
    for problem, new_lat, new_lon in tries:
        if abs(new_lat) > 90 or (new_lat, new_lon) == (lat, lon):
            continue
        match = resolve_points([new_lat], [new_lon], hints=False)[0]
        if match.code or match.candidates or match.kind == "state":
            return problem, _format(new_lat, new_lon)
    return "point.far", None


# -- cells to places --------------------------------------------------------------------

def resolve_coordinates(lat_text: str, lon_text: str) -> PortMatch:
    """Read a latitude cell and a longitude cell and place the point; both blank is
    ``kind="blank"``; one blank, or either unreadable, is a rejection with its reason."""
    try:
        lat = parse_coordinate(lat_text, "latitude")
        lon = parse_coordinate(lon_text, "longitude")
    except Invalid as exc:
        swapped = _as_point(lon_text, lat_text) if exc.code == "point.latitude_range" else None
        return PortMatch.refused(exc.code, swapped, **exc.params)
    if lat is None and lon is None:
        return PortMatch(None, kind="blank")
    if lat is None or lon is None:
        return PortMatch.refused("point.no_latitude" if lat is None else "point.no_longitude")
    return resolve_point(lat, lon)


def resolve_geopoint(text: str) -> PortMatch:
    """Read one geopoint cell (see ``parse_geopoint``) and place the point."""
    try:
        point = parse_geopoint(text)
    except Invalid as exc:
        params = {k: v for k, v in exc.params.items() if k != "suggestion"}
        return PortMatch.refused(exc.code, exc.suggestion, **params)
    if point is None:
        return PortMatch(None, kind="blank")
    return resolve_point(*point)


def distance_km(lat: float, lon: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    return float(_haversine(lat, lon, lat2, lon2))

