"""Filters and headline numbers said in words, the same on screen, in images and in briefs.

Each function returns plain text that can quote data and the URL (nationalities, search
text), never markup: each caller escapes it for where it goes — ``garita.ui.plain`` before
Streamlit Markdown, ``garita.charts.safe`` before plotly labels.
"""

from __future__ import annotations

from garita.filters import Filters
from garita.i18n import t
from garita.maps import type_label
from garita.reference import STATES, ports

GROUP_LABELS = {"individual": "Individual", "family": "Family", "group": "Group",
                "unaccompanied_minor": "Unaccompanied minor", "with_children": "With children"}
SOURCE_NOTE = ("Source: incidents documented in public reporting and staff records, compiled "
               "by Garita; each has a citation. Documented incidents, not a rate.")


def _names(codes) -> str:
    names = {p["port_code"]: p["port_name"] for p in ports()}
    return ", ".join(names.get(c, c) for c in codes)


def describe(filters: Filters) -> str:
    """The filters as a short line: period, places, types, nationalities, groups."""
    parts = []
    if filters.has_date_range:
        parts.append(period(filters))
    if filters.states:
        parts.append(", ".join(STATES.get(s, s) for s in filters.states))
    if filters.ports and filters.ports != ("none",):
        parts.append(_names(filters.ports) if len(filters.ports) <= 4
                     else t("{n} selected ports", n=len(filters.ports)))
    if filters.types:
        parts.append(", ".join(type_label(x) for x in filters.types))
    if filters.nationalities:
        parts.append(", ".join(filters.nationalities))
    if filters.groups:
        parts.append(", ".join(t(GROUP_LABELS[g]) for g in filters.groups))
    if filters.search:
        parts.append(t("matching “{q}”", q=filters.search))
    return " · ".join(parts) if parts else t("All documented incidents")


def period(filters: Filters, numbers: dict | None = None) -> str:
    """'Jan 2017 – Dec 2018': the filter's range, else the months the incidents cover."""
    first = filters.start or (numbers or {}).get("first_month")
    last = filters.end or (numbers or {}).get("last_month")
    if not first:
        return t("dates not known")
    return f"{first:%b %Y} – {last:%b %Y}"


def sentence(numbers: dict, filters: Filters, names=None) -> str:
    """'23 incidents documented in public reporting at 4 ports in Texas, Jan 2017 – Dec 2018'.

    ``names``: the names of the ports with incidents; three or fewer are named ('at 2 ports
    (San Ysidro and Otay Mesa)', 'at El Paso').
    """
    where = ""
    if filters.states:
        where = " " + t("in {states}", states=", ".join(STATES.get(s, s) for s in filters.states))
    ports_text = t("at {n} ports", n=numbers["ports"]) if numbers["ports"] != 1 else \
        t("at 1 port")
    names = [] if names is None else list(names)
    if 0 < len(names) <= 3 and len(names) == numbers["ports"]:
        listed = names[0] if len(names) == 1 else \
            t("{some} and {last}", some=", ".join(names[:-1]), last=names[-1])
        ports_text = t("at {port}", port=listed) if len(names) == 1 else \
            t("at {n} ports ({ports})", n=len(names), ports=listed)
    incidents = t("{n} incidents", n=f"{numbers['incidents']:,}") if numbers["incidents"] != 1 \
        else t("1 incident")
    return (f"{incidents} " + t("documented in public reporting") + f" {ports_text}{where}, "
            + period(filters, numbers))
