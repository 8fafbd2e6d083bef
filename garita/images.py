"""Images to hand over: the map and the charts as PNG at presentation size.

pydeck cannot export an image, so the map is drawn again here with plotly from the same
per-port rows, with the screen's circle sizes and colours: the border line, every port, a
circle per port with incidents, labels placed where they overlap nothing — no tile server.
Every image carries its title, legend, the filters in words, the source note and the date
it was made. PNGs are rendered by kaleido with the machine's Chromium.

Text is sized for the paper, not the screen: every text is at least ``TEXT_PX`` pixels in
an image ``WIDTH`` pixels wide (20 px at 1600 px), and the brief asks for figures whose
layout width keeps that text at 8 pt or more where it prints them (``layout_width``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import html
import logging
import math
import os
import re
import signal
import threading
from functools import lru_cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from garita import maps, words
from garita.charts import FONT, safe
from garita.i18n import N_, t
from garita.maps import border_paths
from garita.reference import ports

WIDTH = 1600                 # px, the narrowest image handed over on its own
TEXT_PX = 20                 # the smallest text in any image, in layout pixels
TITLE_PX = 30
LINE = 1.3                   # line height, in ems
SIDE = 30                    # px of white at the left and right of every image
STANDOFF = 10                # px between a row's label and its bar
MIN_PRINT_PT = 8.0           # the smallest text on paper
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]
MISSING_BROWSER = N_("Making images needs Chromium on the server, which kaleido drives. On "
                     "Debian or Ubuntu: `apt-get install chromium`; elsewhere install Chrome "
                     "or Chromium, then try again.")

# Each image's name on its download button and in its file name (translated where shown).
IMAGES = {"map": N_("Map"), "monthly": N_("Incidents per month"),
          "yearly": N_("Incidents per year"), "ports": N_("Ports ranked"),
          "heatmap": N_("Ports by month")}
TITLES = {"monthly": N_("Incidents per month (dated to the month or day)"),
          "yearly": N_("Incidents per year"), "ports": N_("Ports ranked by incidents"),
          "heatmap": N_("Incidents by port and month")}


class ImageExportUnavailable(RuntimeError):
    """No browser for kaleido; the message says what to install."""


def layout_width(print_pt: float, text_px: float = TEXT_PX,
                 min_pt: float = MIN_PRINT_PT) -> int:
    """The widest layout (px) whose ``text_px`` text still prints at ``min_pt`` or more
    when the whole image is printed ``print_pt`` points wide."""
    return int(print_pt * text_px / min_pt)


# ---- text measuring -------------------------------------------------------------------

@lru_cache(maxsize=16)
def _font(px: int):
    from PIL import ImageFont

    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists():
            return ImageFont.truetype(str(folder / "DejaVuSans.ttf"), px)
    return None


def text_width(text: str, px: float) -> float:
    """Width in px of plain ``text`` in DejaVu Sans (the images' font) at ``px``; without
    that font, a generous estimate."""
    font = _font(max(1, round(px)))
    return font.getlength(text) if font else 0.66 * px * len(text)


def wrap(text: str, px: float, width: float) -> list[str]:
    """Plain ``text`` broken at spaces into lines no wider than ``width`` px."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and text_width(f"{lines[-1]} {word}", px) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


def _markup(lines: list[str]) -> str:
    return "<br>".join(safe(line) for line in lines)


def _plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup)))


# ---- the frame around every image ------------------------------------------------------

def footer_lines(filters, made: dt.datetime, version: int | None, width: float,
                 notes: tuple[str, ...] = ()) -> list[str]:
    """The lines under an image: notes, filters in words, source note, when it was made."""
    data = t(" · data version {v}", v=version) if version is not None else ""
    made_line = t("Made {when}{data} with Garita.", when=f"{made:%Y-%m-%d %H:%M}", data=data)
    lines: list[str] = []
    for part in (*notes, words.describe(filters), f"{t(words.SOURCE_NOTE)} {made_line}"):
        lines += wrap(part, TEXT_PX, width)
    return lines


def footer(filters, made: dt.datetime | None = None, version: int | None = None,
           width: float = WIDTH - 2 * SIDE) -> str:
    """The footer as plotly markup (escaped), one ``<br>`` per line."""
    return _markup(footer_lines(filters, made or dt.datetime.now(), version, width))


def _block_height(lines: int, px: float) -> float:
    return lines * px * LINE


def _category_width(fig: go.Figure) -> float:
    """The widest y-axis label of a chart with named rows (ranked ports, heatmap)."""
    names = []
    for trace in fig.data:
        if trace.type in ("bar", "heatmap") and trace.y is not None and (
                getattr(trace, "orientation", None) == "h" or trace.type == "heatmap"):
            names += [_plain(y) for y in trace.y]
    if not names:
        return text_width("0000", TEXT_PX)
    return max(text_width(name, TEXT_PX) for name in names)


def finish(fig: go.Figure, title: str, filters, *, made=None, version=None,
           width: int = WIDTH, height: int = 900, standalone: bool = True,
           notes: tuple[str, ...] = ()) -> go.Figure:
    """Give a chart the size, type, title and footer it needs outside the app.

    ``title`` is plain text. ``standalone`` images carry the title and footer; the brief
    prints its own, so its figures have neither. Every text is raised to ``TEXT_PX`` at
    least, the policy-event labels are wrapped and stacked above the bars, the row labels
    get the room they need and the legend a column of its own on the right.
    """
    fig = go.Figure(fig)
    made = made or dt.datetime.now()
    room = width - 2 * SIDE
    left = SIDE + _category_width(fig) + 14 + STANDOFF
    annotations = [a.to_plotly_json() for a in fig.layout.annotations]
    for note in annotations:
        if note.get("font", {}).get("size", TEXT_PX) < TEXT_PX:
            note["font"]["size"] = TEXT_PX
    entries = [_plain(trace.name) for trace in fig.data
               if trace.name and trace.showlegend is not False and trace.type == "bar"
               and len(fig.data) > 1]
    legend = max((text_width(e, TEXT_PX) for e in entries), default=0) + 60 if entries else 0
    if any(trace.type == "heatmap" for trace in fig.data):
        legend = 110  # the colour bar
    layout = dict(font=dict(family=FONT["family"], size=TEXT_PX), width=width, height=height,
                  uniformtext=dict(minsize=TEXT_PX, mode="show"), title=dict(text=""),
                  legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top",
                              font=dict(size=TEXT_PX)))
    top = bottom = 16
    if standalone:
        lines = wrap(title, TITLE_PX, room)
        top = 24 + _block_height(len(lines), TITLE_PX) + 30
        layout["title"] = dict(text=_markup(lines), x=SIDE / width, xanchor="left",
                               yref="container", y=1, yanchor="top", pad=dict(t=24),
                               font=dict(size=TITLE_PX))
        foot = footer_lines(filters, made, version, room, notes)
        bottom = 2.4 * TEXT_PX + _block_height(len(foot), TEXT_PX) + 20
        annotations.append(dict(
            text=_markup(foot), showarrow=False, xref="paper", yref="paper", x=0, y=0,
            xanchor="left", yanchor="top", xshift=-(left - SIDE), yshift=-2.2 * TEXT_PX,
            align="left", font=dict(size=TEXT_PX, color="#333")))
    else:
        bottom += 2.0 * TEXT_PX
    layout["margin"] = dict(l=left, r=SIDE, t=top, b=bottom)
    plot = (width - left - SIDE - legend, height - top - bottom)
    _make_room_for_events(fig, annotations, plot)
    fig.update_layout(**layout)
    fig.layout.annotations = annotations  # update_layout merges lists of another length badly
    # Level tick labels, as many as fit: rotated ones read badly on paper.
    fits = max(2, int(plot[0] // (text_width("sep 2020", TEXT_PX) + 40)))
    months = (fig.layout.meta or {}).get("months") if isinstance(fig.layout.meta, dict) \
        else None
    if months:  # a month axis: named in the reader's language, as many as fit
        from garita.charts import month_axis

        fig.update_xaxes(automargin=True, tickangle=0, **month_axis(*months, most=fits))
    else:
        fig.update_xaxes(automargin=True, tickangle=0, nticks=fits)
    fig.update_yaxes(automargin=True, ticklabelstandoff=STANDOFF)
    return fig


def _make_room_for_events(fig: go.Figure, annotations: list[dict],
                          plot: tuple[float, float]) -> None:
    """Wrap the policy-event labels (x in data, y on the paper) to fit beside their line,
    stack them in rows that do not touch, and raise the y axis so no bar runs under them."""
    events = [a for a in annotations if a.get("xref") == "x" and a.get("yref") == "paper"]
    if not events:
        return
    plot_w, plot_h = plot
    low, high = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    span = (high - low).total_seconds() or 1
    rows: list[list[tuple[float, float]]] = []
    heights: list[int] = []
    for event in events:
        x = (pd.Timestamp(event["x"]) - low).total_seconds() / span * plot_w
        plain = _plain(event["text"])
        room = max(plot_w - x, x)
        lines = [plain] if text_width(plain, TEXT_PX) + 8 <= room else \
            wrap(plain, TEXT_PX, max(plot_w * 0.48, 120))
        width = max(text_width(line, TEXT_PX) for line in lines) + 8
        event["xanchor"] = event["align"] = "left" if plot_w - x >= width else "right"
        extent = (x, x + width) if event["xanchor"] == "left" else (x - width, x)
        event["text"] = _markup(lines)
        for n, row in enumerate(rows):
            if all(extent[1] + 10 < a or extent[0] > b + 10 for a, b in row):
                row.append(extent)
                heights[n] = max(heights[n], len(lines))
                event["row"] = n
                break
        else:
            rows.append([extent])
            heights.append(len(lines))
            event["row"] = len(rows) - 1
    tops = [0.0]
    for lines in heights:
        tops.append(tops[-1] + (_block_height(lines, TEXT_PX) + 8) / plot_h)
    for event in events:
        event.update(y=1 - tops[event.pop("row")], yanchor="top")
    used = min(tops[-1] + 0.02, 0.7)
    stacks: dict = {}
    for trace in fig.data:
        if trace.type == "bar" and trace.x is not None and trace.y is not None:
            for x, y in zip(trace.x, trace.y):
                stacks[x] = stacks.get(x, 0) + (y or 0)
    top = max(stacks.values(), default=0) or 1
    fig.update_yaxes(range=[0, top / (1 - used)])


# ---- the map ----------------------------------------------------------------------------

MAP_LON = (-118.1, -95.2)
MAP_LAT = (24.6, 34.0)
ASPECT = math.cos(math.radians(30))       # equirectangular at the border's middle latitude
COUNTRIES = ((N_("UNITED STATES"), -103.5, 33.3), (N_("MÉXICO"), -105.0, 27.3))


class MapFrame:
    """Pixel geometry of the map's plot area (y down), degrees <-> pixels."""

    def __init__(self, plot_width: float):
        self.width = plot_width
        self.k = plot_width / (MAP_LON[1] - MAP_LON[0])
        self.height = (MAP_LAT[1] - MAP_LAT[0]) * self.k / ASPECT

    def px(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - MAP_LON[0]) * self.k, (MAP_LAT[1] - lat) * self.k / ASPECT

    def deg(self, x: float, y: float) -> tuple[float, float]:
        return MAP_LON[0] + x / self.k, MAP_LAT[1] - y * ASPECT / self.k

    @property
    def screen_scale(self) -> float:
        """Image pixels per pixel of the Present page's map (the border fills both)."""
        return self.width / screen_frame().width


def screen_frame():
    """The Present page's map frame (``maps.frame_for``): its circle sizes, scaled to the
    image, are the image's."""
    return maps.frame_for(None, present=True)


def _rgb(colour) -> str:
    r, g, b, *alpha = colour
    return f"rgba({r},{g},{b},{(alpha[0] if alpha else 255) / 255:.2f})"


def _overlaps(box, other, pad: float = 3) -> bool:
    return not (box[2] + pad <= other[0] or box[0] >= other[2] + pad
                or box[3] + pad <= other[1] or box[1] >= other[3] + pad)


def _touches(box, circle, pad: float = 3) -> bool:
    cx, cy, r = circle
    dx = max(box[0] - cx, 0, cx - box[2])
    dy = max(box[1] - cy, 0, cy - box[3])
    return math.hypot(dx, dy) < r + pad


# Above, below, right, left first; then every 15 degrees.
_DIRECTIONS = [-90, 90, 0, 180] + [a for a in range(-180, 180, 15) if a % 90]
_GAPS = (6, 26, 50, 80, 115, 155, 200, 250, 310, 380)


def _by_reach(gaps, angles) -> list[tuple[float, float]]:
    """Candidates nearest first, where a leader running along the border (east or west)
    counts as three times as long as one running north or south into open country."""
    return sorted(((gap, angle) for gap in gaps for angle in angles),
                  key=lambda c: c[0] * (1 + 2 * abs(math.cos(math.radians(c[1])))))


_NEAR = _by_reach(_GAPS[1:], _DIRECTIONS)
_FAR = _by_reach(range(26, 500, 20), range(-180, 180, 5))


def _segment_hits(p, q, box, pad: float = 2) -> bool:
    """Does the segment p-q pass through ``box`` (sampled every 3 px)?"""
    steps = max(1, int(math.hypot(q[0] - p[0], q[1] - p[1]) / 3))
    for i in range(steps + 1):
        x = p[0] + (q[0] - p[0]) * i / steps
        y = p[1] + (q[1] - p[1]) * i / steps
        if box[0] - pad <= x <= box[2] + pad and box[1] - pad <= y <= box[3] + pad:
            return True
    return False


def _segment_near(p, q, point) -> float:
    """Distance from ``point`` to the segment p-q."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = dx * dx + dy * dy or 1
    k = max(0.0, min(1.0, ((point[0] - p[0]) * dx + (point[1] - p[1]) * dy) / length))
    return math.hypot(p[0] + k * dx - point[0], p[1] + k * dy - point[1])


def _segments_cross(a, b, c, d) -> bool:
    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return (side(a, b, c) * side(a, b, d) < 0) and (side(c, d, a) * side(c, d, b) < 0)


def place_labels(frame: MapFrame, spots: list[tuple[float, float, float]],
                 sizes: list[tuple[float, float]], taken: list[tuple]) -> list:
    """For each label, ``(dx, dy, leader)``: its centre's pixel offset from its circle and
    whether it stands off with a leader line; or None when there is no room at all.

    ``spots`` are circles (x, y, r) in plot pixels, biggest first; ``sizes`` the label
    boxes; ``taken`` boxes already drawn (key, country names). A label goes next to its
    circle if it can, else further out on a leader line; never over another label, circle
    or leader line, never past the edge. Every label that fits beside its circle goes there
    first; then the others, on leader lines that cross no other, then on any.
    """
    placed = list(taken)
    leaders: list[tuple] = []
    offsets: list = [None] * len(spots)
    beside = [(_GAPS[0], angle) for angle in _DIRECTIONS]
    for candidates, strict in ((beside, True), (_NEAR, True), (_FAR, False)):
        for n, ((x, y, r), (w, h)) in enumerate(zip(spots, sizes)):
            if offsets[n] is None:
                offsets[n] = _place_one(frame, x, y, r, w, h, spots, placed, leaders,
                                        candidates, strict)
    return offsets


def _place_one(frame, x, y, r, w, h, spots, placed, leaders, candidates, strict):
    for gap, angle in candidates:
        if True:
            ux, uy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            sx = 0 if abs(ux) < 0.2 else math.copysign(1, ux)
            sy = 0 if abs(uy) < 0.2 else math.copysign(1, uy)
            cx = x + ux * (r + gap) + sx * w / 2
            cy = y + uy * (r + gap) + sy * h / 2
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if (box[0] < 2 or box[1] < 2 or box[2] > frame.width - 2
                    or box[3] > frame.height - 2):
                continue
            if any(_overlaps(box, other) for other in placed):
                continue
            if any(_touches(box, circle) for circle in spots):
                continue
            if any(_segment_hits(a, b, box) for a, b in leaders):
                continue
            leader = None
            if gap > _GAPS[0]:
                # plotly draws it from the circle's edge towards the label's centre
                d = math.hypot(cx - x, cy - y)
                leader = ((x + (cx - x) * r / d, y + (cy - y) * r / d), (cx, cy))
                if any(_segment_hits(*leader, other) for other in placed):
                    continue
                # out of a circle that covers its own centre, yes; across another, no
                if any(_segment_near(*leader, (a, b)) < c
                       and math.hypot(a - x, b - y) > c for a, b, c in spots):
                    continue
                if strict and any(_segments_cross(*leader, a, b) for a, b in leaders):
                    continue
                leaders.append(leader)
            placed.append(box)
            return cx - x, cy - y, leader is not None
    return None


def _key(frame: MapFrame, per_port: pd.DataFrame, scale: float) -> tuple[list, list, tuple]:
    """The map's key in its bottom left corner, as on the screen (``maps.legend_sizes``):
    example circles with their counts, the white dot of a port with none matching, and the
    border line. Returns traces, annotations and the box it takes (plot pixels)."""
    samples = maps.legend_sizes(per_port["incidents"], screen_frame())
    title = [t("Circle area: {m}", m=t("incidents")), t("darker means more")]
    rows = [(2 * s["radius"] * scale, s["colour"],
             t("1 incident") if s["value"] == 1 else t("{n} incidents", n=f"{s['value']:,}"))
            for s in samples]
    rows.append((8 * scale, [255, 255, 255, 255], t("none matching")))
    widest = max(d for d, _, _ in rows)
    text_h = TEXT_PX * LINE
    heights = [max(d, text_h) + 8 for d, _, _ in rows] + [text_h + 6]
    border = t("US–Mexico border")
    width = 28 + max([widest + 12 + text_width(text, TEXT_PX) for _, _, text in rows]
                     + [text_width(line, TEXT_PX) for line in title]
                     + [widest + 12 + text_width(border, TEXT_PX)])
    height = 12 + len(title) * text_h + 6 + sum(heights) + 6
    x0, y0 = 4, frame.height - height - 4      # the Pacific and Baja: no port, no border
    traces, notes = [], []

    def at(x, y):
        return frame.deg(x0 + x, y0 + y)

    def say(text, x, y, bold=False):
        lon, lat = at(x, y)
        notes.append(dict(x=lon, y=lat, text=f"<b>{safe(text)}</b>" if bold else safe(text),
                          showarrow=False, xanchor="left", yanchor="middle", align="left",
                          font=dict(size=TEXT_PX, color="#111")))

    y = 12
    for line in title:
        say(line, 14, y + text_h / 2, bold=True)
        y += text_h
    y += 6
    xs, ys = [], []
    for (diameter, _, text), row in zip(rows, heights):
        lon, lat = at(14 + widest / 2, y + row / 2)
        xs.append(lon), ys.append(lat)
        say(text, 14 + widest + 12, y + row / 2)
        y += row
    traces.append(go.Scatter(x=xs, y=ys, mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(size=[d for d, _, _ in rows], opacity=1,
                                         color=[_rgb(c) for _, c, _ in rows],
                                         line=dict(color="#282828", width=1.5))))
    (a, b), (c, d) = at(14, y + text_h / 2), at(14 + widest, y + text_h / 2)
    traces.append(go.Scatter(x=[a, c], y=[b, d], mode="lines", hoverinfo="skip",
                             showlegend=False, line=dict(color="#3c3c3c", width=2)))
    say(border, 14 + widest + 12, y + text_h / 2)
    box = (x0, y0, x0 + width, y0 + height)
    (left, top_lat), (right, bottom_lat) = frame.deg(box[0], box[1]), frame.deg(box[2], box[3])
    shape = dict(type="rect", xref="x", yref="y", x0=left, x1=right, y0=bottom_lat,
                 y1=top_lat, line=dict(color="#bbb", width=1), fillcolor="white",
                 layer="below")
    return traces, notes, (box, shape)


def map_figure(per_port: pd.DataFrame, numbers: dict, filters, *, made=None,
               version=None, width: int = WIDTH, standalone: bool = True) -> go.Figure:
    """The border, all ports, and a circle per port sized and coloured as on the screen,
    each labelled with its name and count; the height follows from the width.

    ``standalone`` maps carry the headline sentence as title and the footer; the brief's
    map has neither (the brief prints both).
    """
    made = made or dt.datetime.now()
    frame = MapFrame(width - 2 * SIDE)
    scale = frame.screen_scale
    fig = go.Figure()
    xs, ys = [], []
    for path in border_paths():
        xs += [p[0] for p in path["path"]] + [None]
        ys += [p[1] for p in path["path"]] + [None]
    fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color="#3c3c3c", width=2),
                    hoverinfo="skip", showlegend=False)
    hit = set(per_port["port_code"]) if not per_port.empty else set()
    quiet = pd.DataFrame([p for p in ports() if p["port_code"] not in hit])
    if not quiet.empty:
        fig.add_scatter(x=quiet["longitude"], y=quiet["latitude"], mode="markers",
                        hoverinfo="skip", showlegend=False,
                        marker=dict(size=8 * scale, color="white",
                                    line=dict(color="#464646", width=1.5)))
    taken, annotations, shapes, unlabelled = [], [], [], []
    for text, lon, lat in COUNTRIES:
        x, y = frame.px(lon, lat)
        w = text_width(t(text), TEXT_PX)
        taken.append((x - w / 2, y - TEXT_PX, x + w / 2, y + TEXT_PX))
        annotations.append(dict(x=lon, y=lat, text=safe(t(text)), showarrow=False,
                                font=dict(size=TEXT_PX, color="#8a8a8a")))
    if not per_port.empty:
        hits = per_port.sort_values("incidents", ascending=False)
        screen, top = screen_frame(), float(hits["incidents"].max())
        diameters = [2 * maps.radius(v, top, screen.min_radius, screen.max_radius) * scale
                     for v in hits["incidents"]]
        colours = maps.count_colours(hits["incidents"])
        fig.add_scatter(x=hits["longitude"], y=hits["latitude"], mode="markers",
                        hoverinfo="skip", showlegend=False,
                        marker=dict(size=diameters, color=[_rgb(c) for c in colours], opacity=1,
                                    line=dict(color="#282828", width=1.5)))
        key_traces, key_notes, (box, shape) = _key(frame, hits, scale)
        taken.append(box)
        shapes.append(shape)
        for trace in key_traces:
            fig.add_trace(trace)
        annotations += key_notes
        labels = [f"{name} {int(n)}" for name, n in zip(hits["port_name"], hits["incidents"])]
        spots = [(*frame.px(lon, lat), d / 2) for lon, lat, d in
                 zip(hits["longitude"], hits["latitude"], diameters)]
        sizes = [(text_width(label, TEXT_PX) + 10, TEXT_PX * LINE + 6) for label in labels]
        offsets = place_labels(frame, spots, sizes, taken)
        for label, (lon, lat), (x, y, r), offset in zip(
                labels, zip(hits["longitude"], hits["latitude"]), spots, offsets):
            if offset is None:
                unlabelled.append(label)
                continue
            dx, dy, leader = offset
            annotations.append(dict(
                x=lon, y=lat, ax=dx, ay=dy, text=safe(label), showarrow=True,
                arrowhead=0, arrowwidth=1.5, standoff=r,
                arrowcolor="#555" if leader else "rgba(0,0,0,0)",
                bgcolor="rgba(255,255,255,0.85)", borderpad=2,
                font=dict(size=TEXT_PX, color="#111")))
    notes = []
    unmapped = numbers.get("no_port", 0)
    if unmapped:
        notes.append(t("1 more incident has no port of entry: counted, not mapped.")
                     if unmapped == 1 else
                     t("{n} more incidents have no port of entry: counted, not mapped.",
                       n=unmapped))
    if unlabelled:
        notes.append(t("No room for the labels of: {ports}.", ports=", ".join(unlabelled)))
    fig.update_xaxes(visible=False, range=list(MAP_LON), fixedrange=True)
    fig.update_yaxes(visible=False, range=list(MAP_LAT), fixedrange=True)
    top = bottom = 10
    layout: dict = {}
    room = width - 2 * SIDE
    names = list(per_port.sort_values("incidents", ascending=False)["port_name"]) \
        if not per_port.empty else []
    if standalone:
        lines = wrap(words.sentence(numbers, filters, names=names), TITLE_PX, room)
        top = 24 + _block_height(len(lines), TITLE_PX) + 20
        layout["title"] = dict(text=_markup(lines), x=SIDE / width, xanchor="left",
                               yref="container", y=1, yanchor="top", pad=dict(t=24),
                               font=dict(size=TITLE_PX))
        foot = footer_lines(filters, made, version, room, tuple(notes))
        bottom = 16 + _block_height(len(foot), TEXT_PX) + 16
        annotations.append(dict(text=_markup(foot), showarrow=False, xref="paper",
                                yref="paper", x=0, y=0, yshift=-12, xanchor="left",
                                yanchor="top", align="left",
                                font=dict(size=TEXT_PX, color="#333")))
    elif unlabelled:
        # The brief says the no-port note itself; the names with no room still need saying.
        bottom = 16 + _block_height(1, TEXT_PX)
        annotations.append(dict(text=safe(notes[-1]), showarrow=False, xref="paper",
                                yref="paper", x=0, y=0, yshift=-8, xanchor="left",
                                yanchor="top", font=dict(size=TEXT_PX, color="#333")))
    fig.update_layout(
        plot_bgcolor="white", paper_bgcolor="white", width=width,
        height=math.ceil(top + frame.height + bottom), showlegend=False,
        font=dict(family=FONT["family"], size=TEXT_PX), shapes=shapes,
        margin=dict(l=SIDE, r=SIDE, t=top, b=bottom, pad=0, autoexpand=False),
        **layout)
    fig.layout.annotations = annotations
    return fig


# ---- rendering --------------------------------------------------------------------------

class Renderer:
    """One headless Chromium, driven by kaleido, kept for every image the process makes.

    Starting Chromium takes seconds; drawing a figure in a browser that is already up takes
    a fraction of one. The browser lives on a thread of its own with its own event loop;
    any thread may ask for images at the same time (each request waits for one of
    ``tabs`` tabs). A browser that died, or stopped answering, is replaced on the next
    request and that request is tried once more. The browser is closed after ``idle``
    seconds without a request, and when the process exits.
    """

    def __init__(self, *, tabs: int = 2, idle: float = 600.0, timeout: float = 60.0):
        self.tabs, self.idle, self.timeout = tabs, idle, timeout
        self.launches = 0          # browsers started: how tests see that one is reused
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido = None
        self._starting: asyncio.Lock | None = None
        self._busy = 0
        self._idle_timer: asyncio.TimerHandle | None = None
        atexit.register(self.close)

    # -- the caller's side (any thread) --

    def png(self, fig, *, width: int, height: int, scale: float = 1) -> bytes:
        """PNG bytes of ``fig`` (a figure or its dict) at ``width`` x ``height`` layout px."""
        return self.pngs([(fig, width, height, scale)])[0]

    def pngs(self, jobs: list[tuple]) -> list[bytes]:
        """PNG bytes of several ``(fig, width, height, scale)`` at once, in order."""
        loop = self._running_loop()
        futures = [asyncio.run_coroutine_threadsafe(
            self._render(_spec(fig), dict(format="png", width=width, height=height,
                                          scale=scale)), loop)
            for fig, width, height, scale in jobs]
        return [future.result(timeout=3 * self.timeout + 30) for future in futures]

    def warm(self) -> None:
        """Start the browser in the background if it is not up (returns at once); a
        problem starting it is raised by the next image instead."""
        def started(future):
            future.exception()  # retrieved, so asyncio does not log it

        asyncio.run_coroutine_threadsafe(self._browser(), self._running_loop()) \
            .add_done_callback(started)

    def close(self) -> None:
        """Close the browser and its thread (a later image starts them again)."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or not loop.is_running():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._discard(), loop).result(timeout=20)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._run, args=(loop,), daemon=True,
                                          name="garita_image_renderer")
                self._loop, self._thread, self._kaleido, self._starting = \
                    loop, thread, None, None
                thread.start()
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    # -- the renderer's thread --

    async def _render(self, spec: dict, opts: dict) -> bytes:
        self._busy += 1
        if self._idle_timer:
            self._idle_timer.cancel()
        try:
            for attempt in (1, 2):
                browser = await self._browser()
                try:
                    return await browser.calc_fig(spec, opts=opts)
                except Exception as exc:
                    if attempt == 2 or not (_browser_trouble(exc) or not _alive(browser)):
                        raise
                    await self._discard(browser)  # dead or hung: a new one, once
        finally:
            self._busy -= 1
            self._arm_idle_timer()
        raise AssertionError("unreachable")

    def _arm_idle_timer(self) -> None:
        if self._idle_timer:
            self._idle_timer.cancel()
        if not self._busy:
            self._idle_timer = asyncio.get_running_loop().call_later(
                self.idle, lambda: asyncio.ensure_future(self._discard_if_idle()))

    async def _browser(self):
        import kaleido  # after kaleido set up its loggers: not at import, for a quick start

        pipe_log = logging.getLogger("choreographer.channels.pipe")
        if not any(isinstance(f, _ByeFilter) for f in pipe_log.filters):
            pipe_log.addFilter(_ByeFilter())
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._kaleido is not None and _alive(self._kaleido):
                return self._kaleido
            if self._kaleido is not None:
                await self._discard(self._kaleido)
            browser = kaleido.Kaleido(n=self.tabs, timeout=self.timeout, mathjax=False)
            try:
                await browser.open()
            except BaseException:
                await _shut(browser)
                raise
            self._kaleido = browser
            self.launches += 1
            self._arm_idle_timer()  # also a browser warmed up and never used
            return browser

    async def _discard(self, browser=None) -> None:
        browser = browser or self._kaleido
        if browser is not None and browser is self._kaleido:
            self._kaleido = None
        if browser is not None:
            await _shut(browser)

    async def _discard_if_idle(self) -> None:
        if not self._busy:
            await self._discard()


def _spec(fig) -> dict:
    return fig.to_dict() if hasattr(fig, "to_dict") else fig


def _alive(browser) -> bool:
    process = getattr(browser, "subprocess", None)
    return process is not None and process.poll() is None


def _browser_trouble(exc: Exception) -> bool:
    """An error that says the browser is gone or stuck, not that the figure is wrong."""
    from choreographer.errors import (BrowserClosedError, BrowserFailedError,
                                      ChannelClosedError)

    return isinstance(exc, (TimeoutError, BrowserClosedError, BrowserFailedError,
                            ChannelClosedError))


async def _shut(browser) -> None:
    """Close a browser; kill what is left of it when closing did not end it."""
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(browser.close(), 15)
    process = getattr(browser, "subprocess", None)
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the wrapper leads its own group
        with contextlib.suppress(Exception):
            process.wait(5)


class _ByeFilter(logging.Filter):
    """The browser's wrapper says goodbye with a line that is not JSON when it closes;
    choreographer logs a traceback for it. Expected, so not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("JSONError decoding message")


RENDERER = Renderer()


def browser_found() -> bool:
    """Whether this machine has a Chromium (or Chrome) for kaleido to drive."""
    from choreographer.browsers.chromium import Chromium

    path = os.environ.get("BROWSER_PATH") or Chromium.find_browser(skip_local=False)
    return bool(path) and Path(path).is_file()


def to_png(fig: go.Figure, width: int | None = None, height: int | None = None,
           scale: float = 1) -> bytes:
    """PNG bytes of a finished figure, or ``ImageExportUnavailable`` with what to install.

    ``scale`` multiplies the pixels, not the layout: text keeps its size relative to the
    image (the brief renders at scale 2 for print)."""
    return to_pngs([fig], width=width, height=height, scale=scale)[0]


def to_pngs(figs: list[go.Figure], *, width: int | None = None, height: int | None = None,
            scale: float = 1) -> list[bytes]:
    """PNG bytes of several finished figures, drawn at the same time by ``RENDERER``."""
    jobs = [(fig, width or fig.layout.width or WIDTH, height or fig.layout.height or 900,
             scale) for fig in figs]
    try:
        return RENDERER.pngs(jobs)
    except Exception as exc:  # kaleido raises several kinds when no browser can start
        if "chrom" in str(exc).lower() or "browser" in str(exc).lower():
            raise ImageExportUnavailable(t(MISSING_BROWSER)) from None
        raise


def chart_height(name: str, data: dict, width: int = WIDTH) -> int:
    """Tall enough that each named row (a port) has room for its label."""
    if name == "ports":
        rows = len(data["per_port"])
    elif name == "heatmap":
        rows = data["port_month"][["port", "state"]].drop_duplicates().shape[0] \
            if not data["port_month"].empty else 0
    else:
        return round(width * 9 / 16)
    return max(round(width * 9 / 16), 330 + rows * round(TEXT_PX * 1.9))


def figure(name: str, data: dict, filters, *, made: dt.datetime | None = None,
           version: int | None = None, width: int = WIDTH, height: int | None = None,
           standalone: bool = True) -> go.Figure:
    """One image's figure, finished for handing over. ``data`` holds the query results:
    ``per_port``, ``numbers``, ``monthly`` (by type), ``yearly`` and ``port_month``."""
    from garita import charts

    made = made or dt.datetime.now()
    if name == "map":
        return map_figure(data["per_port"], data["numbers"], filters, made=made,
                          version=version, width=width, standalone=standalone)
    if name == "monthly":
        fig = charts.monthly_chart(data["monthly"], stack="type", measure="incidents",
                                   start=filters.start, end=filters.end)
    elif name == "yearly":
        fig = charts.yearly_chart(data["yearly"], "incidents")
    elif name == "ports":
        fig = charts.ranked_ports_chart(data["per_port"], "incidents")
    elif name == "heatmap":
        fig = charts.heatmap_chart(data["port_month"], filters.start, filters.end)
    else:
        raise ValueError(f"Unknown image {name!r}: use one of {', '.join(IMAGES)}.")
    return finish(fig, t(TITLES[name]), filters, made=made, version=version, width=width,
                  height=height or chart_height(name, data, width), standalone=standalone)
