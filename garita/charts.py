"""plotly figures from query results. Text from data is escaped before it reaches a label.

Every title, axis, legend and hover text is in the reader's language (``garita.i18n``).
plotly.js names months in English unless a locale file is loaded in the browser (and in
kaleido), so month axes get their ticks and hover text from ``i18n.month`` instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import os
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import make_colorscale, sequential

from garita import i18n
from garita.i18n import N_, t
from garita.maps import TYPE_COLOURS, type_label
from garita.reference import POLICY_EVENTS_CSV
from garita.words import value_label

FONT = dict(family="DejaVu Sans, Arial, sans-serif", size=14)
# Plotly checks every property a figure is given: most of a chart's cost on each rerun. The
# figures here are built by this code, never from data, and the tests build every one of
# them with the check on (GARITA_CHECK_FIGURES=1, tests/conftest.py); the app skips it.
CHECK = os.environ.get("GARITA_CHECK_FIGURES") == "1"
REDS = make_colorscale(sequential.Reds)  # spelled out: only the check expands a name
# The events people expect on the timeline by default (the full file has 31).
KEY_EVENTS = {("2017-01-20", "political"), ("2018-04-27", "policy"), ("2019-01-29", "policy"),
              ("2020-03-20", "policy"), ("2023-01-12", "policy")}
EMPTY_NOTE = N_("No incidents match these filters.")
TITLES = {
    ("monthly", "incidents"): N_("Incidents per month"),
    ("monthly", "people"): N_("People per month"),
    ("yearly", "incidents"): N_("Incidents per year"),
    ("yearly", "people"): N_("People per year"),
    ("ranked", "incidents"): N_("Ports ranked by incidents"),
    ("ranked", "people"): N_("Ports ranked by people"),
    ("state", "incidents"): N_("Incidents by state"),
    ("state", "people"): N_("People by state"),
    ("field_office", "incidents"): N_("Incidents by field office"),
    ("field_office", "people"): N_("People by field office"),
    ("breakdown", "type"): N_("By incident type"),
    ("breakdown", "nationality"): N_("By nationality"),
}
PRECISIONS = {"month or day": N_("date known to the month or day"),
              "year only": N_("date known to the year only")}
MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24, 36, 60, 120)
MOST_MONTH_TICKS = 7   # on a screen; an image fits as many as its width allows


def safe(text) -> str:
    """Escape & < > so text from data is shown, never interpreted, by plotly."""
    return html.escape(str(text), quote=False)


@lru_cache(maxsize=1)
def policy_events() -> tuple[dict, ...]:
    """Dated policy, court and political events with their sources (data/policy_events.csv)."""
    with open(POLICY_EVENTS_CSV, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["start"] = _as_date(row["date"])
        row["end"] = _as_date(row["end_date"]) if row["end_date"] else None
        row["key"] = (row["date"], row["kind"]) in KEY_EVENTS
    return tuple(rows)


def event_label(event: dict) -> str:
    """A policy event's short label in the reader's language."""
    return event["label_es"] if i18n.language() == "es" and event.get("label_es") \
        else event["label_en"]


def _as_date(text: str) -> dt.date:
    parts = [int(p) for p in text.split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


def _title(kind: str, which: str) -> str:
    return t(TITLES[(kind, which if (kind, which) in TITLES else "incidents")])


def month_axis(first, last, most: int = MOST_MONTH_TICKS) -> dict:
    """Ticks for a month axis from ``first`` to ``last``, named in the reader's language:
    every month, or every 2, 3, 4, 6 months (from January), or every year or more (then
    just the year), whichever gives ``most`` ticks or fewer."""
    months = _all_months(first, last)
    for step in MONTH_STEPS:
        if len(months) / step <= most:
            break
    if step < 12:
        chosen = [m for m in months if (m.month - 1) % step == 0] or months[:1]
        text = [i18n.month(m) for m in chosen]
    else:
        chosen = [m for m in months if m.month == 1 and m.year % (step // 12) == 0] \
            or months[:1]
        text = [str(m.year) for m in chosen]
    return dict(tickmode="array", tickvals=[m.strftime("%Y-%m-%d") for m in chosen],
                ticktext=text)


def _figure(trace) -> go.Figure:
    return go.Figure(trace, _validate=CHECK)


def _as_text(counts: pd.Series) -> list[str]:
    """Counts written at the end of their bars."""
    return [str(int(n)) for n in counts]


def _layout(fig: go.Figure, title: str, height: int = 460, **extra) -> go.Figure:
    """Shared look, applied in one call (plotly validates each update: fewer is faster)."""
    layout = dict(
        title=dict(text=safe(title), x=0, xanchor="left"), font=FONT, height=height,
        margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white", paper_bgcolor="white",
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
        xaxis=dict(showgrid=False, linecolor="#888"),
        yaxis=dict(gridcolor="#e6e6e6", rangemode="tozero"))
    for key, value in extra.items():
        layout[key] = {**layout[key], **value} if isinstance(layout.get(key), dict) else value
    fig.update_layout(**layout)
    return fig


def empty(title: str) -> go.Figure:
    fig = go.Figure(_validate=CHECK)
    return _layout(fig, title, 300, xaxis=dict(visible=False), yaxis=dict(visible=False),
                   annotations=[dict(text=safe(t(EMPTY_NOTE)), showarrow=False,
                                     font=dict(size=16), xref="paper", yref="paper",
                                     x=0.5, y=0.5)])


def _all_months(first, last) -> list[pd.Timestamp]:
    return list(pd.date_range(pd.Timestamp(first).to_period("M").to_timestamp(),
                              pd.Timestamp(last).to_period("M").to_timestamp(), freq="MS"))


def _month_layout(index: list[pd.Timestamp]) -> dict:
    """A month x axis: ticks named in the reader's language, and the months it spans kept
    in ``meta`` so an image can fit more ticks to its width (``images.finish``)."""
    first, last = index[0], index[-1]
    return dict(xaxis=dict(showgrid=False, linecolor="#888", **month_axis(first, last),
                           range=[first - pd.Timedelta(days=20), last + pd.Timedelta(days=20)]),
                meta=dict(months=[first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")]))


def monthly_chart(frame: pd.DataFrame, *, stack: str, measure: str, start=None, end=None,
                  events: str = "key", title: str | None = None) -> go.Figure:
    """Stacked bars per month, empty months shown as zero, with policy events marked."""
    title = title or _title("monthly", measure)
    if frame.empty:
        return empty(title)
    months = pd.to_datetime(frame["month"])
    first = start or months.min().date()
    last = end or months.max().date()
    index = _all_months(first, last)
    # (month, key) pairs are unique in the query result: a plain pivot is enough.
    table = (frame.assign(month=months).pivot(index="month", columns="key", values="value")
             .reindex(index, fill_value=0).fillna(0))
    order = table.sum().sort_values(ascending=False).index
    x = [m.strftime("%Y-%m-%d") for m in table.index]
    said = [i18n.month(m) for m in table.index]
    traces = []
    for key in order:
        name = safe(type_label(key) if stack == "type" else value_label(key))
        colour = TYPE_COLOURS.get(key) if stack == "type" else None
        traces.append(go.Bar(x=x, y=table[key].to_numpy(), name=name, customdata=said,
                             **({"marker_color": f"rgb{tuple(colour)}"} if colour else {}),
                             hovertemplate=f"{name}<br>%{{customdata}}: %{{y}}<extra></extra>",
                             _validate=CHECK))
    shapes, notes = _event_marks(table.index.min(), table.index.max(), events)
    fig = go.Figure(data=traces, _validate=CHECK)
    return _layout(fig, title, barmode="stack", bargap=0.1, shapes=shapes, annotations=notes,
                   **_month_layout(list(table.index)))


def _event_marks(first: pd.Timestamp, last: pd.Timestamp, which: str) -> tuple[list, list]:
    """Dotted lines, shaded periods and staggered labels for the policy events in range."""
    if which == "none":
        return [], []
    shown = [e for e in policy_events() if (which == "all" or e["key"])
             and pd.Timestamp(e["start"]) <= last + pd.Timedelta(days=31)
             and pd.Timestamp(e["end"] or e["start"]) >= first]
    shapes, notes = [], []
    for n, event in enumerate(shown):
        begin = pd.Timestamp(event["start"])
        if event["end"]:
            shapes.append(dict(type="rect", xref="x", yref="paper", x0=max(begin, first),
                               x1=min(pd.Timestamp(event["end"]), last), y0=0, y1=1,
                               fillcolor="#999", opacity=0.12, line=dict(width=0), layer="below"))
        shapes.append(dict(type="line", xref="x", yref="paper", x0=begin, x1=begin, y0=0, y1=1,
                           line=dict(width=1, dash="dot", color="#555")))
        late = begin > first + (last - first) * 0.75
        notes.append(dict(x=begin, y=1 - 0.07 * (n % 4), xref="x", yref="paper",
                          text=safe(event_label(event)), showarrow=False,
                          xanchor="right" if late else "left", font=dict(size=11),
                          bgcolor="rgba(255,255,255,0.8)"))
    return shapes, notes


def yearly_chart(frame: pd.DataFrame, measure: str) -> go.Figure:
    """Per year, with the incidents known only to the year shown apart."""
    title = _title("yearly", measure)
    if frame.empty:
        return empty(title)
    fig = go.Figure(_validate=CHECK)
    for precision, colour in zip(PRECISIONS, ("#b3202a", "#e7a3a8")):
        part = frame[frame["precision"] == precision]
        fig.add_bar(x=part["year"].astype(str), y=part["value"],
                    name=safe(t(PRECISIONS[precision])), marker_color=colour,
                    hovertemplate=f"%{{x}} ({safe(value_label(precision))}): %{{y}}"
                                  "<extra></extra>", _validate=CHECK)
    return _layout(fig, title, 380, barmode="stack")


def ranked_ports_chart(frame: pd.DataFrame, measure: str) -> go.Figure:
    title = _title("ranked", measure)
    if frame.empty:
        return empty(title)
    data = frame.sort_values("value")
    fig = _figure(go.Bar(
        x=data["value"], y=[safe(f"{n}, {s}") for n, s in zip(data["port_name"], data["state"])],
        orientation="h", marker_color="#b3202a", text=_as_text(data["value"]),
        textposition="outside",
        cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>", _validate=CHECK))
    return _layout(fig, title, max(300, 28 * len(data) + 120))


def heatmap_chart(frame: pd.DataFrame, start=None, end=None) -> go.Figure:
    """Ports × months, incidents known to the month or day; empty months are zero."""
    title = t("Incidents by port and month")
    if frame.empty:
        return empty(title)
    months = pd.to_datetime(frame["month"])
    index = _all_months(start or months.min().date(), end or months.max().date())
    table = (frame.assign(month=months, port=[safe(f"{p}, {s}") for p, s in
                                              zip(frame["port"], frame["state"])])
             .pivot_table(index="port", columns="month", values="incidents", aggfunc="sum")
             .reindex(columns=index, fill_value=0).fillna(0))
    table = table.loc[table.sum(axis=1).sort_values().index]
    said = [i18n.month(m) for m in table.columns]
    fig = _figure(go.Heatmap(z=table.values, x=table.columns, y=table.index,
                               customdata=[said] * len(table),
                               colorscale=REDS,
                               colorbar=dict(title=dict(text=safe(t("incidents")))),
                               hovertemplate="%{y}<br>%{customdata}: %{z}<extra></extra>",
                               xgap=1, ygap=1, _validate=CHECK))
    return _layout(fig, title, max(300, 30 * len(table) + 140), **_month_layout(index))


def breakdown_chart(frame: pd.DataFrame, field: str) -> go.Figure:
    title = _title("breakdown", field)
    if frame.empty:
        return empty(title)
    data = frame.head(15).iloc[::-1]
    names = [type_label(n) if field == "type" else value_label(n) for n in data["name"]]
    colours = [f"rgb{tuple(TYPE_COLOURS.get(n, [179, 32, 42]))}" for n in data["name"]] \
        if field == "type" else "#b3202a"
    fig = _figure(go.Bar(x=data["incidents"], y=[safe(n) for n in names], orientation="h",
                           marker_color=colours, text=_as_text(data["incidents"]),
                           textposition="outside",
                           cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>",
                           _validate=CHECK))
    return _layout(fig, title, max(260, 26 * len(data) + 110))


def group_chart(frame: pd.DataFrame, group: str, measure: str) -> go.Figure:
    title = _title("state" if group == "state" else "field_office", measure)
    if frame.empty:
        return empty(title)
    fig = _figure(go.Bar(x=[safe(value_label(n)) for n in frame["name"]], y=frame[measure],
                           marker_color="#b3202a", text=_as_text(frame[measure]),
                           textposition="outside",
                           cliponaxis=False, hovertemplate="%{x}: %{y}<extra></extra>",
                           _validate=CHECK))
    return _layout(fig, title, 360)


def type_legend(per_port: pd.DataFrame) -> go.Figure:
    """Legend for the map coloured by type: how many ports have each as most frequent."""
    counts = per_port["top_type"].value_counts()
    data = counts.iloc[::-1]
    said = safe(t("most frequent at {n} ports", n="%{x}"))
    fig = _figure(go.Bar(
        x=data.values, y=[safe(type_label(code)) for code in data.index], orientation="h",
        marker_color=[f"rgb{tuple(TYPE_COLOURS.get(code, [90, 90, 90]))}"
                      for code in data.index],
        hovertemplate=f"%{{y}}: {said}<extra></extra>", _validate=CHECK))
    return _layout(fig, t("Colour: most frequent type at the port"), 70 + 26 * len(data),
                   xaxis=dict(title=safe(t("ports")), dtick=1, showgrid=False),
                   margin=dict(l=10, r=10, t=40, b=10))
def size_legend(samples: list[dict], *, units: tuple[str, str], none: str,
                coloured: bool = True, font_px: int = 14) -> go.Figure:
    """The map's key: example circles drawn at the map's own pixel sizes (``samples`` from
    ``maps.legend_sizes``), each with its value and unit (``units``: one, many), then the
    white dot of a port with none (``none`` says so). Grey circles when colour says
    something else (the most frequent type). The page writes the key's title above it."""
    gap = max(8, font_px // 2)
    rows = [(s["radius"], s["colour"] if coloured else [150, 150, 150, 220],
             f"{i18n.number(s['value'])} {units[0] if s['value'] == 1 else units[1]}")
            for s in samples]
    rows.append((4, [255, 255, 255, 255], none))
    largest = max(r for r, _, _ in rows)
    heights = [max(2 * r, font_px * 1.3) + gap for r, _, _ in rows]
    total = sum(heights)
    ys, top = [], total
    for height in heights:
        ys.append(top - height / 2)
        top -= height
    fig = _figure(go.Scatter(
        x=[0] * len(rows), y=ys, mode="markers", hoverinfo="skip",
        marker=dict(size=[2 * r for r, _, _ in rows], sizemode="diameter", opacity=1,
                    color=[f"rgba({c[0]},{c[1]},{c[2]},{c[3] / 255:.2f})" for _, c, _ in rows],
                    line=dict(color="#282828", width=1)), _validate=CHECK))
    for y, (_, _, text) in zip(ys, rows):
        fig.add_annotation(x=0, y=y, text=safe(text), showarrow=False, xanchor="left",
                           xshift=largest + 10, font=dict(size=font_px, color="#222"),
                           _validate=CHECK)
    # y in pixels (the height is fixed); the circles' column takes a fifth of the width.
    fig.update_layout(
        font=FONT, height=int(total + 8), showlegend=False, margin=dict(l=4, r=4, t=4, b=4),
        plot_bgcolor="white", paper_bgcolor="white",
        xaxis=dict(visible=False, range=[-0.25, 1], fixedrange=True),
        yaxis=dict(visible=False, range=[0, total], fixedrange=True))
    return fig


def traffic_chart(frame: pd.DataFrame, start=None, end=None) -> go.Figure:
    """Northbound travelers per month (BTS); months with a hole are gaps, never zero."""
    title = t("Northbound travelers per month (BTS)")
    if frame.empty:
        return empty(title)
    months = pd.to_datetime(frame["month"])
    index = _all_months(start or months.min().date(), end or months.max().date())
    series = frame.assign(month=months).set_index("month")["travelers"].reindex(index)
    fig = _figure(go.Scatter(
        x=[m.strftime("%Y-%m-%d") for m in series.index], y=series.to_numpy(),
        customdata=[i18n.month(m) for m in series.index],
        mode="lines+markers", connectgaps=False, line=dict(color="#444"),
        hovertemplate=f"%{{customdata}}: %{{y:,.0f}} {safe(t('travelers'))}<extra></extra>",
        _validate=CHECK))
    return _layout(fig, title, 260, **_month_layout(index))
