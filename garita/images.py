"""Images to hand over: the map and the charts as PNG at presentation size.

pydeck cannot export an image, so the map is drawn again here with plotly from the same
per-port rows: the border line, every port, circles sized by count and labelled — no tile
server. Every image carries its title, legend, the filters in words, the source note and
the date it was made. PNGs are rendered by kaleido with the machine's Chromium.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go

from garita import words
from garita.charts import FONT, safe
from garita.maps import TYPE_COLOURS, border_paths, place_labels, type_label
from garita.reference import ports

WIDTH, HEIGHT = 1800, 1000
MISSING_BROWSER = ("Making images needs Chromium on the server, which kaleido drives. On "
                   "Debian or Ubuntu: `apt-get install chromium`; elsewhere install Chrome "
                   "or Chromium, then try again.")


class ImageExportUnavailable(RuntimeError):
    """No browser for kaleido; the message says what to install."""


def footer(filters, made: dt.datetime | None = None, version: int | None = None) -> str:
    """The line under every image: filters in words, source note, when it was made."""
    made = made or dt.datetime.now()
    data = f" · data version {version}" if version is not None else ""
    return (f"{safe(words.describe(filters))}<br>{safe(words.SOURCE_NOTE)} "
            f"Made {made:%Y-%m-%d %H:%M}{data} with Garita.")


def finish(fig: go.Figure, title: str, filters, *, made=None, version=None,
           width: int = WIDTH, height: int = HEIGHT) -> go.Figure:
    """Give a figure the title, large type and footer it needs outside the app.

    ``title`` is plotly markup: escape anything from data in it (``charts.safe``).
    """
    fig = go.Figure(fig)
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=30)),
        font=dict(family=FONT["family"], size=20), width=width, height=height,
        margin=dict(l=40, r=40, t=110, b=110),
        legend=dict(orientation="v", yanchor="top", y=1, x=1.01, xanchor="left",
                    font=dict(size=17)))
    fig.add_annotation(text=footer(filters, made, version), showarrow=False, xref="paper",
                       yref="paper", x=0, y=0, yshift=-60, xanchor="left", yanchor="top",
                       align="left", font=dict(size=15, color="#444"))
    return fig


def map_figure(per_port: pd.DataFrame, numbers: dict, filters, *, made=None,
               version=None, width: int = WIDTH, height: int = HEIGHT) -> go.Figure:
    """The border, all ports, and a labelled circle per port sized by incidents."""
    fig = go.Figure()
    xs, ys = [], []
    for path in border_paths():
        xs += [p[0] for p in path["path"]] + [None]
        ys += [p[1] for p in path["path"]] + [None]
    fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color="#333", width=2),
                    name="US–Mexico border", hoverinfo="skip")
    every = pd.DataFrame(list(ports()))
    fig.add_scatter(x=every["longitude"], y=every["latitude"], mode="markers",
                    marker=dict(size=9, color="white", line=dict(color="#333", width=1.5)),
                    name="Port of entry", hoverinfo="skip")
    if not per_port.empty:
        top = max(float(per_port["incidents"].max()), 1.0)
        sizes = [16 + 60 * math.sqrt(v / top) for v in per_port["incidents"]]
        labels = per_port.assign(radius=[s / 2 for s in sizes],
                                 label=[f"{n} {v}" for n, v in zip(per_port["port_name"],
                                                                  per_port["incidents"])])
        offsets = place_labels(labels, zoom=5.8)
        fig.add_scatter(
            x=per_port["longitude"], y=per_port["latitude"], mode="markers+text",
            marker=dict(size=sizes, color=[f"rgb{tuple(TYPE_COLOURS.get(t, [179, 32, 42]))}"
                                           for t in per_port["top_type"]],
                        opacity=0.85, line=dict(color="#111", width=1.5)),
            text=[safe(label) if o else "" for label, o in zip(labels["label"], offsets)],
            textposition=[_position(o) for o in offsets], textfont=dict(size=18, color="#111"),
            name="Incidents at the port (area = count, colour = most frequent type)",
            hoverinfo="skip")
        for code in per_port["top_type"].dropna().unique():  # legend entries for colours
            fig.add_scatter(x=[None], y=[None], mode="markers", name=safe(type_label(code)),
                            marker=dict(size=14, color=f"rgb{tuple(TYPE_COLOURS.get(code))}"))
    for text, lon, lat in (("UNITED STATES", -103.0, 33.4), ("MÉXICO", -105.5, 27.4)):
        fig.add_annotation(x=lon, y=lat, text=text, showarrow=False,
                           font=dict(size=20, color="#999"))
    unmapped = numbers.get("no_port", 0)
    note = (f"<br><sup>{unmapped} incidents have no port of entry: counted, not mapped.</sup>"
            if unmapped else "")
    fig.update_xaxes(visible=False, range=[-118.2, -96.3])
    # Equirectangular with the aspect of the border's middle latitude.
    fig.update_yaxes(visible=False, range=[24.8, 34.6], scaleanchor="x",
                     scaleratio=1 / math.cos(math.radians(30)))
    fig.update_layout(plot_bgcolor="white", paper_bgcolor="white")
    title = safe(words.sentence(numbers, filters)) + note
    return finish(fig, title, filters, made=made, version=version, width=width, height=height)


def _position(offset) -> str:
    """plotly's text position for a label offset from ``maps.place_labels``."""
    if not offset:
        return "top center"
    dx, dy = offset
    if dy < 0:
        return "top center"
    if dy > 0:
        return "bottom center"
    return "middle right" if dx > 0 else "middle left"


def to_png(fig: go.Figure, width: int | None = None, height: int | None = None) -> bytes:
    """PNG bytes of a finished figure, or ``ImageExportUnavailable`` with what to install."""
    try:
        return fig.to_image(format="png", width=width or fig.layout.width or WIDTH,
                            height=height or fig.layout.height or HEIGHT)
    except Exception as exc:  # kaleido raises several kinds when no browser can start
        if "chrom" in str(exc).lower() or "browser" in str(exc).lower():
            raise ImageExportUnavailable(MISSING_BROWSER) from None
        raise


IMAGES = {"map": "Map", "monthly": "Incidents per month", "yearly": "Incidents per year",
          "ports": "Ports ranked", "heatmap": "Ports by month"}


def figure(name: str, data: dict, filters, *, made: dt.datetime | None = None,
           version: int | None = None) -> go.Figure:
    """One image's figure, finished for handing over. ``data`` holds the query results:
    ``per_port``, ``numbers``, ``monthly`` (by type), ``yearly`` and ``port_month``."""
    from garita import charts

    made = made or dt.datetime.now()
    if name == "map":
        return map_figure(data["per_port"], data["numbers"], filters, made=made,
                          version=version)
    if name == "monthly":
        fig = charts.monthly_chart(data["monthly"], stack="type", measure="incidents",
                                   start=filters.start, end=filters.end)
        title = "Incidents per month (dated to the month or day)"
    elif name == "yearly":
        fig, title = charts.yearly_chart(data["yearly"], "incidents"), "Incidents per year"
    elif name == "ports":
        fig = charts.ranked_ports_chart(data["per_port"], "incidents")
        title = "Ports ranked by incidents"
    elif name == "heatmap":
        fig = charts.heatmap_chart(data["port_month"], filters.start, filters.end)
        title = "Incidents by port and month"
    else:
        raise ValueError(f"Unknown image {name!r}: use one of {', '.join(IMAGES)}.")
    return finish(fig, safe(title), filters, made=made, version=version, width=1600,
                  height=900)
