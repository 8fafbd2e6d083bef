"""pydeck maps from query results: the border region, every port, and incidents per port.

The map loads nothing from the internet (a hearing room may have none, and a visitor's
browser should ask no third party for anything): place comes from layers shipped in
``data/`` — state fills, rivers, the border line on top, and names of border cities. Incidents
at one port share one circle, sized and coloured by count; the browser receives one row per
port, never one per incident.

The view is fitted to the width the map has on the screen (``Frame``), and every port with
incidents gets a label placed so that none collide at that view: next to its circle when
there is room, otherwise at the end of a leader line. Smaller circles are drawn over larger
ones, so a port next to a busier one (Otay Mesa beside San Ysidro) stays visible and
clickable.

Colours are shared with the static images (``garita.images``): ``count_colour`` /
``count_colours`` for the count scale and ``type_colour`` / ``TYPE_COLOURS`` for types.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pydeck as pdk

from garita.db import DATA_DIR
from garita.i18n import N_, language, t, using
from garita.reference import BORDER_GEOJSON, incident_types, ports

BASEMAP_DIR = DATA_DIR / "basemap"
VIEW = pdk.ViewState(latitude=29.6, longitude=-107.2, zoom=4.2, min_zoom=3, max_zoom=12)
FONT = "'DejaVu Sans, Helvetica, Arial, sans-serif'"
# Distinct, colour-blind-aware colours for the 11 incident types (Okabe–Ito, Tol).
TYPE_COLOURS = {
    "turned_away": [213, 94, 0], "told_no_asylum": [0, 114, 178],
    "told_need_appointment": [86, 180, 233], "coerced_to_withdraw": [204, 121, 167],
    "threatened": [230, 159, 0], "physical_force": [136, 34, 85],
    "family_separation_threat": [0, 158, 115], "documents_discarded": [153, 153, 51],
    "denied_credible_fear_referral": [68, 119, 170], "detained_then_returned": [102, 51, 0],
    "other": [120, 120, 120],
}
LAND = {"US": [238, 235, 226], "MX": [224, 231, 219]}  # muted: the circles carry the colour
STATE_LINE = [255, 255, 255]
RIVER = [124, 170, 205]
BORDER = [55, 55, 55]
CITY_TEXT = [120, 120, 120]
COUNTRY_TEXT = [150, 150, 150]
LABEL_TEXT = [25, 25, 25]
LEADER = [60, 60, 60]
# The border and its ports, with room north of it for labels (lon, lat).
BORDER_BOUNDS = (-117.15, 25.5, -97.15, 33.3)
LAND_BOUNDS = (-118.5, 24.5, -96.5, 35.5)  # the shipped state fills are clipped to this box
COUNTRIES = ((N_("UNITED STATES"), -103.0, 33.9), (N_("MÉXICO"), -105.6, 27.3))
BOLD_WIDTH = 0.62    # average advance of a bold DejaVu Sans character, in ems (measured)
REGULAR_WIDTH = 0.55


@dataclass(frozen=True)
class Frame:
    """The map's size on the screen and the sizes of what is drawn in it, in CSS pixels."""

    width: int = 820
    height: int = 560
    label_px: int = 15
    city_px: int = 12
    country_px: int = 14
    min_radius: float = 6.0
    max_radius: float = 30.0


def frame_for(screen: dict | None, *, present: bool = False, crowd: int = 0) -> Frame:
    """The frame for a map ``screen["width"]`` wide in a window ``screen["height"]`` tall
    (what the browser reported; None before it has: a common desktop size is assumed),
    with ``crowd`` ports to label.

    The Present page's map fills the window below its headline, with text of at least
    16 px; on a phone the circles and text are smaller so the whole border fits, and with
    more than 14 labels smaller still and the map taller. No map is taller than the land
    drawn at the zoom its width allows, unless its labels need the room.
    """
    width = int((screen or {}).get("width") or (1500 if present else 820))
    window = int((screen or {}).get("height") or 900)
    if present:
        sizes = dict(label_px=20, city_px=16, country_px=20, min_radius=8, max_radius=40)
        tallest, shortest = max(420, min(1400, window - 240)), 420
    elif width < 600:
        sizes = dict(label_px=14 if crowd <= 14 else 12, city_px=11, country_px=12,
                     min_radius=5, max_radius=18)
        shortest = 320 if crowd <= 14 else 420
        tallest = max(shortest, min(640, round(window * 0.62)))
    else:
        sizes = {}
        tallest, shortest = max(420, min(640, round(window * 0.62))), 420
    height = tallest
    if crowd <= 14:
        zoom = _zoom_to_fit(width, None, sizes.get("max_radius", Frame.max_radius) + 8)
        land = _world(0, LAND_BOUNDS[1], zoom)[1] - _world(0, LAND_BOUNDS[3], zoom)[1]
        height = max(shortest, min(tallest, int(land)))
    return Frame(width=width, height=height, **sizes)


# --- projection: deck.gl's Web Mercator, a 512-pixel world at zoom 0 -------------------------

def _world(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    scale = 512 * 2 ** zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale


def _lonlat(x: float, y: float, zoom: float) -> tuple[float, float]:
    scale = 512 * 2 ** zoom
    lat = math.degrees(2 * math.atan(math.exp(math.pi * (1 - 2 * y / scale))) - math.pi / 2)
    return x / scale * 360 - 180, lat


def _pixels(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel position at ``zoom`` (deck.gl's 512-pixel world)."""
    return _world(lon, lat, zoom)


def _zoom_to_fit(width: float, height: float | None, pad: float,
                bounds: tuple = BORDER_BOUNDS) -> float:
    west, south, east, north = bounds
    x0, y0 = _world(west, north, 0)
    x1, y1 = _world(east, south, 0)
    zoom = math.log2(max(width - 2 * pad, 50) / (x1 - x0))
    if height is not None:
        zoom = min(zoom, math.log2(max(height - 2 * pad, 50) / (y1 - y0)))
    return zoom


def fit_view(frame: Frame, bounds: tuple = BORDER_BOUNDS) -> pdk.ViewState:
    """The view that shows ``bounds`` (west, south, east, north) whole in ``frame``, with
    room for the largest circle at either end, kept inside the shipped land layers where
    they are taller than the frame."""
    west, south, east, north = bounds
    zoom = _zoom_to_fit(frame.width, frame.height, frame.max_radius + 8, bounds)
    x0, y0 = _world(west, north, zoom)
    x1, y1 = _world(east, south, zoom)
    top, bottom = _world(0, LAND_BOUNDS[3], zoom)[1], _world(0, LAND_BOUNDS[1], zoom)[1]
    centre = (y0 + y1) / 2
    if bottom - top > frame.height:
        centre = min(max(centre, top + frame.height / 2), bottom - frame.height / 2)
    longitude, latitude = _lonlat((x0 + x1) / 2, centre, zoom)
    return pdk.ViewState(longitude=round(longitude, 4), latitude=round(latitude, 4),
                         zoom=round(zoom, 3), min_zoom=max(2.0, round(zoom - 1, 3)),
                         max_zoom=10)


class _Projection:
    """Canvas pixels (origin top left) of a view in a frame, and back."""

    def __init__(self, view: pdk.ViewState, frame: Frame):
        self.zoom, self.frame = view.zoom, frame
        self.cx, self.cy = _world(view.longitude, view.latitude, view.zoom)

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = _world(lon, lat, self.zoom)
        return x - self.cx + self.frame.width / 2, y - self.cy + self.frame.height / 2

    def lonlat(self, x: float, y: float) -> list[float]:
        lon, lat = _lonlat(x + self.cx - self.frame.width / 2,
                           y + self.cy - self.frame.height / 2, self.zoom)
        return [round(lon, 4), round(lat, 4)]


# --- colour and size scales (shared with garita.images) --------------------------------------

def count_colour(value: float, top: float) -> list[int]:
    """Light orange for few to dark red for the most (``top``), as RGBA."""
    share = math.sqrt(max(float(value), 0) / max(float(top or 1), 1.0))
    return [int(253 - 75 * share), int(187 - 170 * share), int(132 - 100 * share), 220]


def count_colours(values: pd.Series) -> list[list[int]]:
    """``count_colour`` of each value, against the largest."""
    top = float(values.max() or 1) if len(values) else 1.0
    return [count_colour(v, top) for v in values]


def type_colour(code: str) -> list[int]:
    """The colour of an incident type (grey for an unknown code), as RGB."""
    return list(TYPE_COLOURS.get(code, [90, 90, 90]))


def radius(value: float, top: float, smallest: float = 7.0, largest: float = 34.0) -> float:
    """Circle radius in pixels: ``largest`` for ``top``, at least ``smallest``, the area
    above the smallest circle growing with the value."""
    share = math.sqrt(max(float(value), 0) / max(float(top or 1), 1.0))
    return smallest + (largest - smallest) * share


def _radius(values: pd.Series, smallest: float = 7.0, largest: float = 34.0) -> pd.Series:
    top = max(float(values.max() or 1), 1.0) if len(values) else 1.0
    return values.map(lambda v: radius(v, top, smallest, largest))


def _count_colour(values: pd.Series) -> list[list[int]]:
    return count_colours(values)


def legend_sizes(values: pd.Series, frame: Frame = Frame()) -> list[dict]:
    """Example circles for the size legend, largest first: the largest value, about a
    quarter of it (rounded) and the smallest above zero, each with the radius and count
    colour it has on the map in ``frame``."""
    top = float(values.max()) if len(values) else 0.0
    if top <= 0:
        return []
    samples = {top, float(values[values > 0].min())}
    quarter = _round_nicely(top / 4)
    if min(samples) < quarter < top:
        samples.add(quarter)
    return [{"value": int(v), "radius": round(radius(v, top, frame.min_radius,
                                                     frame.max_radius), 1),
             "colour": count_colour(v, top)} for v in sorted(samples, reverse=True)]


def _round_nicely(value: float) -> float:
    if value < 1:
        return 0
    digits = 10 ** int(math.log10(value))
    return round(value / digits) * digits


# --- shipped layers ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def border_paths() -> list[dict]:
    """The border as simplified paths (about 15 KB), read once per process."""
    import geopandas as gpd

    frame = gpd.read_file(BORDER_GEOJSON).to_crs("EPSG:4326")
    paths = []
    for geometry in frame.geometry.simplify(0.005):
        lines = getattr(geometry, "geoms", [geometry])
        for line in lines:
            paths.append({"path": [[round(x, 3), round(y, 3)] for x, y in line.coords]})
    return paths


def _read_basemap(name: str) -> list[dict]:
    text = (BASEMAP_DIR / name).read_text(encoding="utf-8")
    return json.loads(text)["features"]


@lru_cache(maxsize=1)
def state_fills() -> tuple[dict, ...]:
    """One row per polygon of the ten border states: ``polygon`` (rings) and ``fill``."""
    rows = []
    for feature in _read_basemap("states.geojson"):
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" \
            else [geometry["coordinates"]]
        for rings in polygons:
            rows.append({"polygon": rings, "fill": LAND[feature["properties"]["country"]]})
    return tuple(rows)


@lru_cache(maxsize=1)
def state_lines() -> tuple[dict, ...]:
    """Boundaries between states of the same country (the international one is the border
    line itself, drawn from its own, more exact, source)."""
    import shapely
    from shapely.geometry import shape

    features = _read_basemap("states.geojson")
    shapes = [(f["properties"]["country"], shape(f["geometry"])) for f in features]
    paths = []
    for i, (country, first) in enumerate(shapes):
        for other_country, second in shapes[i + 1:]:
            if country != other_country:
                continue
            shared = shapely.line_merge(first.boundary.intersection(second.boundary))
            for line in getattr(shared, "geoms", [shared]):
                if line.geom_type == "LineString" and line.length > 0:
                    paths.append({"path": [[round(x, 2), round(y, 2)]
                                           for x, y in line.simplify(0.01).coords]})
    return tuple(paths)


@lru_cache(maxsize=1)
def river_paths() -> tuple[dict, ...]:
    """The Rio Grande and the Colorado as paths."""
    paths = []
    for feature in _read_basemap("rivers.geojson"):
        geometry = feature["geometry"]
        lines = geometry["coordinates"] if geometry["type"] == "MultiLineString" \
            else [geometry["coordinates"]]
        paths += [{"path": line} for line in lines]
    return tuple(paths)


@lru_cache(maxsize=1)
def cities() -> tuple[dict, ...]:
    """Cities to name for orientation, most populous first: ``name``, ``country``,
    ``longitude``, ``latitude``."""
    rows = [{"name": f["properties"]["name"], "country": f["properties"]["country"],
             "population": f["properties"]["population"],
             "longitude": f["geometry"]["coordinates"][0],
             "latitude": f["geometry"]["coordinates"][1]}
            for f in _read_basemap("cities.geojson")]
    return tuple(sorted(rows, key=lambda row: -row["population"]))


# --- labels that do not collide ------------------------------------------------------------

Box = tuple[float, float, float, float]
NEAR = ((-90, "middle", "bottom"), (90, "middle", "top"), (0, "start", "center"),
        (180, "end", "center"), (-45, "start", "bottom"), (-135, "end", "bottom"),
        (45, "start", "top"), (135, "end", "top"))
# Leader lines prefer to go north, into the United States, where there is more room.
ANGLES = (-90, -75, -105, -60, -120, -45, -135, -30, -150, -15, -165, 0, 180, 15, 165, 30, 150,
          45, 135, 60, 120, 75, 105, 90)
REACH = (14, 24, 36, 50, 66, 84, 104, 128, 156, 188, 224, 264, 310, 360)
CLEARANCE = 6  # pixels between a leader's label and another port's circle
# Where a city name may go, in its own widths (dx) and heights (dy, away from the border).
CONTEXT_SHIFTS = ((0, 0), (0, 1), (-0.5, 1), (0.5, 1), (0, 2), (-0.5, 2), (0.5, 2), (0, 3),
                  (0, -1))


def _box(x: float, y: float, width: float, height: float, anchor: str,
         baseline: str) -> Box:
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    top = {"top": y, "center": y - height / 2, "bottom": y - height}[baseline]
    return left, top, left + width, top + height


def _boxes_meet(a: Box, b: Box, pad: float = 2) -> bool:
    return not (a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1]
                or b[3] + pad <= a[1])


# The collision tests below work on numpy arrays that broadcast: candidates along the first
# axis, things already on the canvas along the second. All candidates of one label are
# weighed at once (a few dozen array operations instead of ~100,000 Python calls a map).

def _circles_meet_boxes(circles: np.ndarray, extra, boxes: np.ndarray) -> np.ndarray:
    """(candidates, circles): whether each circle, its radius grown by ``extra`` (a number
    or one per candidate and circle), meets each box."""
    x, y, r = circles[None, :, 0], circles[None, :, 1], circles[None, :, 2] + extra
    b = boxes[:, None, :]
    dx = np.maximum(np.maximum(b[..., 0] - x, 0), x - b[..., 2])
    dy = np.maximum(np.maximum(b[..., 1] - y, 0), y - b[..., 3])
    return np.hypot(dx, dy) < r


def _boxes_meet_boxes(boxes: np.ndarray, placed: np.ndarray, pad: float = 2) -> np.ndarray:
    a, b = boxes[:, None, :], placed[None, :, :]
    return ~((a[..., 2] + pad <= b[..., 0]) | (b[..., 2] + pad <= a[..., 0])
             | (a[..., 3] + pad <= b[..., 1]) | (b[..., 3] + pad <= a[..., 1]))


def _segments_meet_boxes(ax, ay, bx, by, box) -> np.ndarray:
    """Whether segments a–b pass through boxes (Liang–Barsky clipping); broadcasts."""
    low, high, meets = 0.0, 1.0, True
    for a, d, first, last in ((ax, bx - ax, box[..., 0], box[..., 2]),
                              (ay, by - ay, box[..., 1], box[..., 3])):
        flat = d == 0
        step = np.where(flat, 1.0, d)
        enter, leave = (first - a) / step, (last - a) / step
        meets = meets & ~(flat & ((a < first) | (a > last)))
        low = np.maximum(low, np.where(flat, 0.0, np.minimum(enter, leave)))
        high = np.minimum(high, np.where(flat, 1.0, np.maximum(enter, leave)))
    return meets & (low <= high)


def _segments_cross(ax, ay, bx, by, cx, cy, dx, dy) -> np.ndarray:
    def side(px, py, qx, qy, rx, ry):
        return (qx - px) * (ry - py) - (qy - py) * (rx - px)
    return ((side(ax, ay, bx, by, cx, cy) * side(ax, ay, bx, by, dx, dy) < 0)
            & (side(cx, cy, dx, dy, ax, ay) * side(cx, cy, dx, dy, bx, by) < 0))


def _segment_distances(px, py, ax, ay, bx, by) -> np.ndarray:
    """Distance from points p to segments a–b; broadcasts."""
    ux, uy = bx - ax, by - ay
    length = ux ** 2 + uy ** 2
    share = np.clip(((px - ax) * ux + (py - ay) * uy) / np.where(length == 0, 1, length), 0, 1)
    share = np.where(length == 0, 0, share)
    return np.hypot(px - ax - share * ux, py - ay - share * uy)


# Unit vectors of the candidate directions, from math.cos/sin so the places are exact.
_UNIT = {angle: (math.cos(math.radians(angle)), math.sin(math.radians(angle)))
         for angle in {*ANGLES, *(a for a, _, _ in NEAR)}}
_ANCHOR = {"start": 0.0, "middle": 0.5, "end": 1.0}
_BASELINE = {"top": 0.0, "center": 0.5, "bottom": 1.0}


def _alignment(angle: float) -> tuple[str, str]:
    dx, dy = _UNIT[angle]
    anchor = "start" if dx > 0.35 else "end" if dx < -0.35 else "middle"
    baseline = "bottom" if dy < -0.35 else "top" if dy > 0.35 else "center"
    return anchor, baseline


# A port label's candidate places, in order of preference: next to the circle, then at the
# end of ever longer leader lines. (angle, extra reach beyond the radius, anchor, baseline,
# with a leader line.)
_PORT_CANDIDATES = ([(angle, 3, anchor, baseline, False) for angle, anchor, baseline in NEAR]
                    + [(angle, reach, *_alignment(angle), True)
                       for reach in REACH for angle in ANGLES])
_CAND_COS = np.array([_UNIT[c[0]][0] for c in _PORT_CANDIDATES])
_CAND_SIN = np.array([_UNIT[c[0]][1] for c in _PORT_CANDIDATES])
_CAND_REACH = np.array([c[1] for c in _PORT_CANDIDATES], dtype=float)
_CAND_ANCHOR = np.array([_ANCHOR[c[2]] for c in _PORT_CANDIDATES])
_CAND_BASELINE = np.array([_BASELINE[c[3]] for c in _PORT_CANDIDATES])
_CAND_LEADS = np.array([c[4] for c in _PORT_CANDIDATES])
_CHUNKS = [slice(0, len(NEAR)), slice(len(NEAR), len(NEAR) + 2 * len(ANGLES)),
           slice(len(NEAR) + 2 * len(ANGLES), len(_PORT_CANDIDATES))]


class _Layout:
    """Places text boxes on the canvas so that none meet each other, a circle, a dot or a
    leader line, and no leader line crosses another or passes over another port."""

    def __init__(self, frame: Frame, circles: list[tuple], dots: list[tuple]):
        self.frame = frame
        self.circles = np.array(circles, dtype=float).reshape(-1, 3)
        self.dots = np.array(dots, dtype=float).reshape(-1, 3)
        self.boxes = np.empty((0, 4))
        self.leaders = np.empty((0, 4))  # ax, ay, bx, by

    def costs(self, boxes: np.ndarray, leads: np.ndarray | None = None,
              own: tuple | None = None, ends: np.ndarray | None = None) -> np.ndarray:
        """How much each candidate box (and its leader line from ``own``'s centre to
        ``ends``, where ``leads``) would collide with: 10 outside the canvas, 5 per label,
        3 per circle or leader line under it, 1 per port dot; with ``own`` also 2 per
        other circle too close (a label there reads as that port's); a leader line 3 per
        label it passes through, 2 per leader line it crosses, 2 per other circle and 1
        per dot it passes over."""
        margin, frame = 3, self.frame
        inside = ((boxes[:, 0] >= margin) & (boxes[:, 1] >= margin)
                  & (boxes[:, 2] <= frame.width - margin)
                  & (boxes[:, 3] <= frame.height - margin))
        cost = np.where(inside, 0.0, 10.0)
        cost += 5 * _boxes_meet_boxes(boxes, self.boxes).sum(axis=1)
        placed = self.leaders[None, :, :]
        cost += 3 * _segments_meet_boxes(placed[..., 0], placed[..., 1], placed[..., 2],
                                         placed[..., 3], boxes[:, None, :]).sum(axis=1)
        # Circles and dots in one test: (centre, radius grown by its margin, weight).
        rounds = [self.circles + [0, 0, 1], self.dots + [0, 0, 1]]
        weights = [np.full(len(self.circles), 3.0), np.ones(len(self.dots))]
        grown = None
        if own is not None:
            x, y, _ = own
            others = self.circles[(self.circles[:, 0] != x) | (self.circles[:, 1] != y)]
            rounds.append(others)
            weights.append(np.full(len(others), 2.0))
            clearance = np.where(leads, CLEARANCE, frame.label_px)[:, None]
            grown = np.concatenate([np.zeros((len(boxes), len(self.circles) + len(self.dots))),
                                    np.broadcast_to(clearance, (len(boxes), len(others)))],
                                   axis=1)
        things = np.concatenate(rounds)
        meets = _circles_meet_boxes(things, 0 if grown is None else grown, boxes)
        cost += meets @ np.concatenate(weights)
        if own is None or not leads.any():
            return cost
        # A line through another circle reads as that port's, unless it starts inside it.
        crossed = others[np.hypot(others[:, 0] - x, others[:, 1] - y) > others[:, 2]]
        near = np.concatenate([crossed, self.dots])
        near_weights = np.concatenate([np.full(len(crossed), 2.0), np.ones(len(self.dots))])
        ex, ey = ends[:, 0][:, None], ends[:, 1][:, None]
        line = (3 * _segments_meet_boxes(x, y, ex, ey, self.boxes[None, :, :]).sum(axis=1)
                + 2 * _segments_cross(x, y, ex, ey, placed[..., 0], placed[..., 1],
                                      placed[..., 2], placed[..., 3]).sum(axis=1)
                + (_segment_distances(near[None, :, 0], near[None, :, 1], x, y, ex, ey)
                   < near[None, :, 2] + 2) @ near_weights)
        return cost + np.where(leads, line, 0)

    def place(self, box, leader: tuple | None = None) -> None:
        self.boxes = np.vstack([self.boxes, np.asarray(box, dtype=float)[None, :]])
        if leader is not None:
            (ax, ay), (bx, by) = leader
            self.leaders = np.vstack([self.leaders, [[ax, ay, bx, by]]])

    def port_label(self, x: float, y: float, r: float, text: str) -> dict:
        """The best place for a port's label: next to the circle if free, else at the end of
        the shortest free leader line; if nowhere is free, the place that collides least."""
        width = BOLD_WIDTH * self.frame.label_px * len(text) + 6
        height = self.frame.label_px * 1.15
        distance = r + _CAND_REACH
        ax = x + distance * _CAND_COS
        ay = y + distance * _CAND_SIN
        left = ax - width * _CAND_ANCHOR
        top = ay - height * _CAND_BASELINE
        boxes = np.stack([left, top, left + width, top + height], axis=1)
        ends = np.stack([ax, ay], axis=1)
        # Weighed a few candidates at a time, nearest first: most labels find a free place
        # next to their circle or on a short line, and the rest are not weighed at all.
        costs = []
        for chunk in _CHUNKS:
            cost = self.costs(boxes[chunk], _CAND_LEADS[chunk], own=(x, y, r),
                              ends=ends[chunk]) + np.where(_CAND_LEADS[chunk], 0.5, 0)
            good = np.flatnonzero(cost <= 0.5)
            if len(good):
                best = chunk.start + int(good[0])
                break
            costs.append(cost)
        else:
            best = int(np.argmin(np.concatenate(costs)))
        _, _, anchor, baseline, leads = _PORT_CANDIDATES[best]
        leader = ((x, y), (float(ax[best]), float(ay[best]))) if leads else None
        self.place(boxes[best], leader)
        return {"x": float(ax[best]), "y": float(ay[best]), "anchor": anchor,
                "baseline": baseline, "leader": leads}

    def context_label(self, x: float, y: float, text: str, px: int, south: bool) -> tuple | None:
        """A centred place near (x, y) for a city or country name, or None if none is free.
        Names south of the border move down first (away from it), others up."""
        width, height = REGULAR_WIDTH * px * len(text) + 4, px * 1.15
        away = 1 if south else -1
        spots = [(x + dx * width, y + away * dy * height) for dx, dy in CONTEXT_SHIFTS]
        boxes = np.array([_box(cx, cy, width, height, "middle", "center") for cx, cy in spots])
        free = np.flatnonzero(self.costs(boxes) == 0)
        if not len(free):
            return None
        self.place(boxes[free[0]])
        return spots[free[0]]


# --- the deck ------------------------------------------------------------------------------

# pydeck looks for its Jupyter widget on every Deck made (five failed imports, ~10 ms a
# map); the answer cannot change while the process runs, so it is looked up once.
_JUPYTER = pdk.bindings.deck.has_jupyter_extra()
pdk.bindings.deck.has_jupyter_extra = lambda: _JUPYTER


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: a third of the bytes sent to the browser."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, sort_keys=True, default=default_serialize,
                          separators=(",", ":"))


def traffic_text(row) -> str:
    """'Northbound travelers 29.6 M · 0.24 incidents per million', or why there is no rate."""
    travelers = row.get("travelers")
    if travelers is None or travelers != travelers:
        return t("No BTS traffic for this port")
    text = t("Northbound travelers {n} M", n=f"{travelers / 1e6:,.1f}")
    if row.get("traffic_complete"):
        return text + " · " + t("{rate} incidents per million",
                                rate=f"{row['per_million']:.2f}")
    return text + " · " + t("traffic incomplete: no rate")


def tooltip(traffic: bool = False) -> dict:
    """The hover text: a template of row fields (text, never HTML)."""
    text = ("{port_name}, {state} · {mexican_city}\n"
            + t("{incidents} incidents · {people} people")
            + "\n" + t("Most frequent:") + " {top_types}")
    return {"text": text + ("\n{traffic}" if traffic else "")}


def port_from_selection(selection) -> str | None:
    """The port code of the circle or dot clicked on the map, if any."""
    objects = (selection or {}).get("objects") or {}
    for layer in ("incidents", "ports"):
        chosen = objects.get(layer) or []
        if chosen:
            return str(chosen[0]["port_code"])
    return None


def _label_text(name: str, value: float) -> str:
    return f"{name} {int(value):,}"


def incident_deck(per_port: pd.DataFrame, *, colour_by: str = "count",
                  measure: str = "incidents", frame: Frame | None = None,
                  traffic: bool = False, selected: str | None = None) -> pdk.Deck:
    """The map: state fills, rivers, the border line, city names, every port, a sized circle
    per port with incidents and a label for each, fitted to ``frame``.

    ``selected`` (a port code) is ringed. The deck names no map provider or style: the
    browser loads no tiles.
    """
    frame = frame or Frame()
    view = fit_view(frame)
    project = _Projection(view, frame)
    every = pd.DataFrame([{
        "port_code": p["port_code"], "port_name": p["port_name"], "state": p["state"],
        "mexican_city": p["mexican_city"], "latitude": p["latitude"],
        "longitude": p["longitude"], "incidents": 0, "people": 0, "top_types": t("none"),
        "traffic": "",
    } for p in ports()])
    hits = per_port.copy()
    quiet = every[~every["port_code"].isin(hits["port_code"])] if not hits.empty else every
    labels, leaders = [], []
    dots = [(*project.pixel(lon, lat), 4) for lon, lat in
            zip(quiet["longitude"], quiet["latitude"])]
    if not hits.empty:
        hits["radius"] = _radius(hits["value"], frame.min_radius, frame.max_radius).round(1)
        if colour_by == "type":
            hits["colour"] = [type_colour(code) + [225] for code in hits["top_type"]]
        else:
            hits["colour"] = count_colours(hits["value"])
        hits["top_types"] = hits["top_types"].fillna("").map(readable_types)
        hits["people"] = hits["people"].astype(int)
        hits["incidents"] = hits["incidents"].astype(int)
        hits["traffic"] = [traffic_text(r) for r in hits.to_dict("records")] if traffic \
            else ""
        # Largest first, so smaller circles are drawn, and picked, over larger ones.
        hits = hits.sort_values(["radius", "port_code"], ascending=[False, True])
        circles = [(*project.pixel(lon, lat), r) for lon, lat, r in
                   zip(hits["longitude"], hits["latitude"], hits["radius"])]
        by_value = hits.assign(_x=[c[0] for c in circles], _y=[c[1] for c in circles])
        by_value = by_value.sort_values(["value", "port_name"], ascending=[False, True])
        rows = by_value.to_dict("records")
        texts = [_label_text(row["port_name"], row["value"]) for row in rows]
        spots, context = _placed(frame, tuple(circles), tuple(dots),
                                 tuple((row["_x"], row["_y"], row["radius"], text)
                                       for row, text in zip(rows, texts)), language())
        for row, text, spot in zip(rows, texts, spots):
            at = [row["longitude"], row["latitude"]]
            if spot["leader"]:
                end = project.lonlat(spot["x"], spot["y"])
                leaders.append({"path": [at, end]})
                position, offset = end, [0, 0]
            else:
                position = at
                offset = [round(spot["x"] - row["_x"]), round(spot["y"] - row["_y"])]
            labels.append({"port_code": row["port_code"], "text": text, "position": position,
                           "offset": offset, "anchor": spot["anchor"],
                           "baseline": spot["baseline"]})
        hits = hits[["port_code", "port_name", "state", "mexican_city", "latitude",
                     "longitude", "incidents", "people", "top_types", "radius", "colour",
                     "traffic"]]
    else:
        _, context = _placed(frame, (), tuple(dots), (), language())
    layers = [
        pdk.Layer("SolidPolygonLayer", list(state_fills()), id="states",
                  get_polygon="polygon", get_fill_color="fill", pickable=False),
        pdk.Layer("PathLayer", list(state_lines()), id="state_lines", get_path="path",
                  get_color=STATE_LINE, width_units="'pixels'", get_width=1.2,
                  pickable=False),
        pdk.Layer("PathLayer", list(river_paths()), id="rivers", get_path="path",
                  get_color=RIVER, width_units="'pixels'", get_width=1.6, pickable=False),
        pdk.Layer("PathLayer", border_paths(), id="border", get_path="path",
                  get_color=BORDER + [235], width_units="'pixels'",
                  get_width=2.5 if frame.label_px >= 18 else 2, pickable=False),
        pdk.Layer("TextLayer", context["cities"], id="cities", get_position="position",
                  get_text="text", get_size=frame.city_px, get_color=CITY_TEXT,
                  character_set="'auto'", font_family=FONT, pickable=False),
        pdk.Layer("TextLayer", context["countries"], id="countries", get_position="position",
                  get_text="text", get_size=frame.country_px, get_color=COUNTRY_TEXT,
                  character_set="'auto'", font_family=FONT, font_weight=600, pickable=False),
        pdk.Layer("ScatterplotLayer", quiet, id="ports",
                  get_position=["longitude", "latitude"], get_radius=4,
                  radius_units="'pixels'", get_fill_color=[255, 255, 255, 255],
                  get_line_color=[70, 70, 70, 255], stroked=True, line_width_min_pixels=1,
                  pickable=True),
    ]
    if not hits.empty:
        layers.append(pdk.Layer(
            "ScatterplotLayer", hits, id="incidents", get_position=["longitude", "latitude"],
            get_radius="radius", radius_units="'pixels'", get_fill_color="colour",
            get_line_color=[40, 40, 40, 255], stroked=True, line_width_min_pixels=1,
            pickable=True, auto_highlight=True))
    chosen = every[every["port_code"] == selected]
    if selected and not chosen.empty:
        ring = (hits[hits["port_code"] == selected]["radius"].tolist() or [4])[0] + 4
        layers.append(pdk.Layer(
            "ScatterplotLayer", chosen[["port_code", "longitude", "latitude"]].assign(r=ring),
            id="selected", get_position=["longitude", "latitude"], get_radius="r",
            radius_units="'pixels'", filled=False, stroked=True,
            get_line_color=[0, 90, 200, 255], line_width_min_pixels=3, pickable=False))
    if labels:
        layers += [
            pdk.Layer("PathLayer", leaders, id="leaders", get_path="path",
                      get_color=LEADER + [230], width_units="'pixels'", get_width=1.3,
                      pickable=False),
            # a dot where each leader line starts: which circle it belongs to, in a cluster
            pdk.Layer("ScatterplotLayer", [{"position": row["path"][0]} for row in leaders],
                      id="leader_starts", get_position="position", get_radius=2.5,
                      radius_units="'pixels'", get_fill_color=LEADER + [255],
                      pickable=False),
            pdk.Layer("TextLayer", labels, id="labels", get_position="position",
                      get_text="text", get_size=frame.label_px, get_color=LABEL_TEXT,
                      get_pixel_offset="offset", get_text_anchor="anchor",
                      get_alignment_baseline="baseline", character_set="'auto'",
                      font_family=FONT, font_weight=600, outline_width=3,
                      outline_color=[255, 255, 255, 255], font_settings={"sdf": True},
                      pickable=False),
        ]
    return CompactDeck(layers=layers, initial_view_state=view, map_provider=None,
                       tooltip=tooltip(traffic))


@lru_cache(maxsize=256)
def _placed(frame: Frame, circles: tuple, dots: tuple, labels: tuple,
            lang: str) -> tuple[tuple[dict, ...], dict]:
    """Where each port label goes (``labels``: x, y, radius and text, in the order they are
    placed) and the country and city names around them. The same view drawn again (a click,
    another visitor, a switch back) is not laid out again."""
    layout = _Layout(frame, list(circles), list(dots))
    spots = tuple(layout.port_label(x, y, r, text) for x, y, r, text in labels)
    with using(lang):
        return spots, _context_labels(layout, _Projection(fit_view(frame), frame), frame)


def _context_labels(layout: _Layout, project: _Projection, frame: Frame) -> dict:
    """Country and city names where they fit around the port labels (placed first)."""
    countries, named = [], []
    for text, lon, lat in COUNTRIES:
        x, y = project.pixel(lon, lat)
        spot = layout.context_label(x, y, t(text), frame.country_px, south=lat < 30)
        if spot:
            countries.append({"text": t(text), "position": project.lonlat(*spot)})
    for city in cities():
        x, y = project.pixel(city["longitude"], city["latitude"])
        spot = layout.context_label(x, y, city["name"], frame.city_px,
                                    south=city["country"] == "MX")
        if spot:
            named.append({"text": city["name"], "position": project.lonlat(*spot)})
    return {"countries": countries, "cities": named}


def place_labels(hits: pd.DataFrame, zoom: float = VIEW.zoom) -> list[list[int]]:
    """Pixel offsets that keep labels apart at ``zoom``: above, below, right or left of the
    circle, biggest ports first; a label with no free place gets None (not shown).

    Used by the static images; the interactive map uses leader lines instead (``_Layout``).
    """
    placed: list[tuple[float, float, float, float]] = []
    circles = [(*_pixels(lon, lat, zoom), r) for lon, lat, r in
               zip(hits["longitude"], hits["latitude"], hits["radius"])]
    offsets = []
    for (x, y, r), label in zip(circles, hits["label"]):
        width, height = 7.2 * len(label) + 6, 15
        chosen = None
        for dx, dy in ((0, -r - 9), (0, r + 9), (r + width / 2 + 4, 0), (-r - width / 2 - 4, 0)):
            box = (x + dx - width / 2, y + dy - height / 2, x + dx + width / 2, y + dy + height / 2)
            clear = all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]
                        for b in placed)
            free = all(math.hypot(max(box[0] - cx, 0, cx - box[2]),
                                  max(box[1] - cy, 0, cy - box[3])) > cr
                       for cx, cy, cr in circles if (cx, cy) != (x, y))
            if clear and free:
                chosen = (dx, dy)
                placed.append(box)
                break
        offsets.append([int(chosen[0]), int(chosen[1])] if chosen else None)
    return offsets


def type_label(code: str) -> str:
    """An incident type's label in the reader's language (the vocabulary has both)."""
    column = "label_es" if language() == "es" else "label_en"
    labels = {row["code"]: row[column] or row["label_en"] for row in incident_types()}
    return labels.get(code, code)


def readable_types(text: str) -> str:
    """'turned_away (3), other (1)' with labels instead of codes."""
    parts = []
    for part in filter(None, text.split(", ")):
        code, _, count = part.partition(" (")
        parts.append(f"{type_label(code)} ({count}" if count else type_label(code))
    return ", ".join(parts) or t("none")
