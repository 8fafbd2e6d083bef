"""pydeck maps from query results: the border line, every port, and incidents per port.

The map must read with no basemap (no internet in a hearing room), so the border line,
country and port labels are layers of their own. Incidents at one port share one point,
sized by count; the browser receives one row per port, never one per incident.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import pandas as pd
import pydeck as pdk

from garita.reference import BORDER_GEOJSON, incident_types, ports

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
COUNTRY_LABELS = pd.DataFrame([
    {"text": "UNITED STATES", "longitude": -102.0, "latitude": 33.2},
    {"text": "MÉXICO", "longitude": -105.0, "latitude": 27.6},
])
TOOLTIP = {"text": "{port_name}, {state} · {mexican_city}\n"
                   "{incidents} incidents · {people} people\n"
                   "Most frequent: {top_types}"}
TOOLTIP_TRAFFIC = {"text": TOOLTIP["text"] + "\n{traffic}"}


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


def type_label(code: str) -> str:
    labels = {t["code"]: t["label_en"] for t in incident_types()}
    return labels.get(code, code)


def _radius(values: pd.Series) -> pd.Series:
    """Pixel radius by area: the largest port is 34 px, any port with incidents at least 7."""
    top = max(float(values.max() or 1), 1.0)
    return values.map(lambda v: 7 + 27 * math.sqrt(max(float(v), 0) / top))


def _count_colour(values: pd.Series) -> list[list[int]]:
    top = max(float(values.max() or 1), 1.0)
    out = []
    for v in values:
        share = math.sqrt(max(float(v), 0) / top)
        out.append([int(253 - 75 * share), int(187 - 170 * share), int(132 - 100 * share), 220])
    return out


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: a third of the bytes sent to the browser."""

    def to_json(self) -> str:
        return json.dumps(json.loads(super().to_json()), separators=(",", ":"))


def traffic_text(row) -> str:
    """'Northbound travelers 29.6 M · 0.24 incidents per million', or why there is no rate."""
    travelers = row.get("travelers")
    if travelers is None or travelers != travelers:
        return "No BTS traffic for this port"
    text = f"Northbound travelers {travelers / 1e6:,.1f} M"
    if row.get("traffic_complete"):
        return text + f" · {row['per_million']:.2f} incidents per million"
    return text + " · traffic incomplete: no rate"


def incident_deck(per_port: pd.DataFrame, *, colour_by: str = "count",
                  measure: str = "incidents", zoom: float | None = None,
                  traffic: bool = False) -> pdk.Deck:
    """The map: border, all ports, and a sized circle per port with incidents.

    ``zoom`` opens closer for a wide map (the presentation page); labels are placed for it.
    """
    view = VIEW if zoom is None else pdk.ViewState(latitude=VIEW.latitude,
                                                   longitude=VIEW.longitude, zoom=zoom,
                                                   min_zoom=3, max_zoom=12)
    all_ports = pd.DataFrame([{
        "port_code": p["port_code"], "port_name": p["port_name"], "state": p["state"],
        "mexican_city": p["mexican_city"], "latitude": p["latitude"],
        "longitude": p["longitude"], "incidents": 0, "people": 0, "top_types": "none",
        "traffic": "",
    } for p in ports()])
    hits = per_port.copy()
    if not hits.empty:
        all_ports = all_ports[~all_ports["port_code"].isin(hits["port_code"])]
        hits["radius"] = _radius(hits["value"])
        if colour_by == "type":
            hits["colour"] = [TYPE_COLOURS.get(t, [90, 90, 90]) + [225] for t in hits["top_type"]]
        else:
            hits["colour"] = _count_colour(hits["value"])
        hits["top_types"] = hits["top_types"].fillna("").map(readable_types)
        hits["label"] = hits["port_name"] + " " + hits["value"].astype(int).astype(str)
        offsets = place_labels(hits, zoom=view.zoom)
        hits["label"] = [label if o else "" for label, o in zip(hits["label"], offsets)]
        hits["offset"] = [o or [0, 0] for o in offsets]
        hits["people"] = hits["people"].astype(int)
        hits["incidents"] = hits["incidents"].astype(int)
        hits["traffic"] = [traffic_text(r) for r in hits.to_dict("records")] if traffic \
            else ""
        hits = hits[["port_code", "port_name", "state", "mexican_city", "latitude",
                     "longitude", "incidents", "people", "top_types", "radius", "colour",
                     "label", "offset", "traffic"]]
    layers = [
        pdk.Layer("PathLayer", border_paths(), id="border", get_path="path",
                  get_color=[60, 60, 60, 230], width_units="'pixels'", get_width=2,
                  pickable=False),
        pdk.Layer("TextLayer", COUNTRY_LABELS, id="countries",
                  get_position=["longitude", "latitude"], get_text="text", get_size=15,
                  get_color=[130, 130, 130, 200], character_set="'auto'", font_family=FONT,
                  pickable=False),
        pdk.Layer("ScatterplotLayer", all_ports, id="ports", get_position=["longitude",
                  "latitude"], get_radius=4, radius_units="'pixels'",
                  get_fill_color=[255, 255, 255, 255], get_line_color=[70, 70, 70, 255],
                  stroked=True, line_width_min_pixels=1, pickable=True),
    ]
    if not hits.empty:
        layers += [
            pdk.Layer("ScatterplotLayer", hits, id="incidents",
                      get_position=["longitude", "latitude"], get_radius="radius",
                      radius_units="'pixels'", get_fill_color="colour",
                      get_line_color=[40, 40, 40, 255], stroked=True,
                      line_width_min_pixels=1, pickable=True, auto_highlight=True),
            pdk.Layer("TextLayer", hits, id="labels", get_position=["longitude", "latitude"],
                      get_text="label", get_size=13, get_color=[25, 25, 25, 255],
                      get_pixel_offset="offset", character_set="'auto'", font_family=FONT,
                      font_weight=600,
                      outline_width=2, outline_color=[255, 255, 255, 255],
                      font_settings={"sdf": True}, pickable=False),
        ]
    return CompactDeck(layers=layers, initial_view_state=view,
                       tooltip=TOOLTIP_TRAFFIC if traffic else TOOLTIP,
                    map_provider="carto", map_style=pdk.map_styles.CARTO_LIGHT_NO_LABELS)


def _pixels(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel position at ``zoom`` (deck.gl's 512-pixel world)."""
    scale = 512 * 2 ** zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale


def place_labels(hits: pd.DataFrame, zoom: float = VIEW.zoom) -> list[list[int]]:
    """Pixel offsets that keep labels apart at the opening zoom: above, below, right or left
    of the circle, biggest ports first; a label with no free place is hidden (offset far
    away is not used: it gets an empty string instead)."""
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


def readable_types(text: str) -> str:
    """'turned_away (3), other (1)' with labels instead of codes."""
    parts = []
    for part in filter(None, text.split(", ")):
        code, _, count = part.partition(" (")
        parts.append(f"{type_label(code)} ({count}" if count else type_label(code))
    return ", ".join(parts) or "none"
