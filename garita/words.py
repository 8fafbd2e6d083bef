"""Filters and headline numbers said in words, the same on screen, in images and in briefs.

Each function returns plain text that can quote data and the URL (nationalities, search
text), never markup: each caller escapes it for where it goes — ``garita.ui.plain`` before
Streamlit Markdown, ``garita.charts.safe`` before plotly labels. Text is in the language of
the visitor being served (``garita.i18n``).
"""

from __future__ import annotations

from typing import Callable

from garita.filters import Filters
from garita.i18n import LANGUAGES, N_, month_range, t, tn, using
from garita.maps import type_label
from garita.reference import ports

GROUP_LABELS = {"individual": N_("Individual"), "family": N_("Family"), "group": N_("Group"),
                "unaccompanied_minor": N_("Unaccompanied minor"),
                "with_children": N_("With children")}
STATE_NAMES = {"CA": N_("California"), "AZ": N_("Arizona"), "NM": N_("New Mexico"),
               "TX": N_("Texas")}
SOURCE_NOTE = N_("Source: incidents documented in public reporting and staff records, "
                 "compiled by Garita; each has a citation. Documented incidents, not a rate.")
# What a query answers where the data has no value, and the precisions of the yearly chart:
# shown in the reader's language.
SENTINELS = {"No port": N_("No port"), "Not known": N_("Not known"),
             "not recorded": N_("not recorded"), "year only": N_("year only"),
             "month or day": N_("month or day")}
MEASURES = {"incidents": (N_("incidents"), N_("Incidents")),
            "people": (N_("people"), N_("People"))}
BATCH_STATUS = {"active": N_("active"), "rolled_back": N_("rolled back")}
POLICY_KINDS = {"policy": N_("policy"), "court": N_("court"), "political": N_("political")}
# Column headers of the staff tables (the batch ledger, a batch's rows, the audit log).
LEDGER_COLUMNS = {
    "batch_id": N_("Batch"), "file_name": N_("File"), "loaded_at": N_("Loaded on"),
    "loaded_by": N_("Loaded by"), "source": N_("Source"), "encoding": N_("Encoding"),
    "delimiter": N_("Delimiter"), "date_order": N_("Date order"), "rows_total": N_("Rows"),
    "rows_loaded": N_("Loaded"), "rows_duplicate": N_("Duplicates"),
    "rows_skipped": N_("Blank"), "rows_rejected": N_("Rejected"), "status": N_("Status"),
    "rolled_back_at": N_("Rolled back on"), "rolled_back_by": N_("Rolled back by"),
    "rows_edited": N_("Rows edited"), "choices": N_("Chosen on upload")}
BATCH_ROW_COLUMNS = {
    "incident_id": N_("Id"), "date": N_("Date"), "port_code": N_("Port code"),
    "state": N_("State"), "people_count": N_("People"), "incident_types": N_("Types"),
    "summary": N_("Summary"), "source_url": N_("Link"), "source_row": N_("Row")}
AUDIT_COLUMNS = {"logged_at": N_("When"), "who": N_("Who"), "action": N_("Action"),
                 "batch_id": N_("Batch"), "detail": N_("Detail")}
AUDIT_ACTIONS = {"load": N_("load"), "rollback": N_("rollback"),
                 "download_rejected": N_("download of rejected rows"),
                 "sign_in": N_("sign-in"), "sign_in_failed": N_("failed sign-in"),
                 "sign_in_locked": N_("sign-in locked")}

# How the loader names a file's delimiter and day/month order (``LoadReport``).
DELIMITERS = {"comma": N_("comma"), "semicolon": N_("semicolon"), "tab": N_("tab")}
DATE_ORDERS = {"dmy": N_("day/month"), "mdy": N_("month/day")}


def delimiter_name(name: str | None) -> str:
    """'comma', 'semicolon', 'tab' in the reader's language ('—' when not known)."""
    return t(DELIMITERS[name]) if name in DELIMITERS else (name or "—")


def date_order_name(order: str | None) -> str | None:
    """'dmy' / 'mdy' as 'day/month' / 'month/day' in the reader's language."""
    return t(DATE_ORDERS[order]) if order in DATE_ORDERS else order
# The choices of the page controls kept in the URL, by URL key.
CONTROL_LABELS = {
    "colour": {"count": N_("Count"), "type": N_("Most frequent type")},
    "stack": {"type": N_("Incident type"), "port": N_("Port")},
    "events": {"key": N_("Key dates"), "all": N_("All 31"), "none": N_("None")},
    "group": {"state": N_("State"), "field_office": N_("CBP field office")},
}


def label_for(key: str) -> Callable[[str], str] | None:
    """How the control kept in the URL as ``key`` shows a value (its ``format_func``).

    A control bound to the URL writes the label it shows, so a link holds the words of its
    language; after a language switch the app writes them again with these."""
    if key == "types":
        return type_label
    if key == "groups":
        return group_label
    if key == "measure":
        return lambda measure: measure_label(measure, capital=True)
    if key in CONTROL_LABELS:
        labels = CONTROL_LABELS[key]
        return lambda value: t(labels[value]) if value in labels else value
    return None


def _choices(key: str) -> list[str]:
    from garita.filters import GROUPS
    from garita.reference import incident_types

    if key == "types":
        return [row["code"] for row in incident_types()]
    if key == "groups":
        return list(GROUPS)
    if key == "measure":
        return list(MEASURES)
    return list(CONTROL_LABELS.get(key, ()))


def choice_from_label(key: str, shown: str) -> str | None:
    """The value behind a label of the URL key ``key``, written in either language
    ('Rechazado en la garita' or 'Turned away' -> 'turned_away'); None for other text."""
    label = label_for(key)
    if label is None:
        return None
    for value in _choices(key):
        for lang in LANGUAGES:
            with using(lang):
                if label(value) == shown:
                    return value
    return None


def column_labels(columns: dict[str, str]) -> dict[str, str]:
    """``column_config`` headers for a table: each column's name in the reader's language."""
    return {name: t(label) for name, label in columns.items()}


def audit_action(action: str) -> str:
    """An audit-log action ('sign_in', 'rollback'…) in the reader's language."""
    return t(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action


def measure_label(measure: str, capital: bool = False) -> str:
    """'incidents' / 'people' ('Incidents' with ``capital``) in the reader's language."""
    return t(MEASURES[measure][1 if capital else 0])


def batch_status(status: str) -> str:
    """A batch's status ('active', 'rolled_back') in the reader's language."""
    return t(BATCH_STATUS[status]) if status in BATCH_STATUS else status


def policy_kind(kind: str) -> str:
    """A policy event's kind ('policy', 'court', 'political') in the reader's language."""
    return t(POLICY_KINDS[kind]) if kind in POLICY_KINDS else kind


def state_name(code: str) -> str:
    """'Texas', 'Nuevo México': a US state's name in the reader's language."""
    return t(STATE_NAMES[code]) if code in STATE_NAMES else code


def group_label(code: str) -> str:
    """A group type ('family') as the reader's language names it."""
    return t(GROUP_LABELS[code]) if code in GROUP_LABELS else code


def value_label(value) -> str:
    """A value from the data as shown: the placeholders queries answer with ('No port',
    'not recorded'…) translated, anything else as it is."""
    return t(SENTINELS[value]) if isinstance(value, str) and value in SENTINELS else value


def _names(codes) -> str:
    names = {p["port_code"]: p["port_name"] for p in ports()}
    return ", ".join(names.get(c, c) for c in codes)


def _states(codes) -> str:
    return ", ".join(state_name(s) for s in codes)


def describe(filters: Filters) -> str:
    """The filters as a short line: period, places, types, nationalities, groups."""
    parts = []
    if filters.has_date_range:
        parts.append(period(filters))
    if filters.states:
        parts.append(_states(filters.states))
    if filters.ports and filters.ports != ("none",):
        parts.append(_names(filters.ports) if len(filters.ports) <= 4
                     else t("{n} selected ports", n=len(filters.ports)))
    if filters.types:
        parts.append(", ".join(type_label(x) for x in filters.types))
    if filters.nationalities:
        parts.append(", ".join(filters.nationalities))
    if filters.groups:
        parts.append(", ".join(group_label(g) for g in filters.groups))
    if filters.search:
        parts.append(t("matching “{q}”", q=filters.search))
    return " · ".join(parts) if parts else t("All documented incidents")


def period(filters: Filters, numbers: dict | None = None) -> str:
    """'Jan 2017 – Dec 2018' ('ene 2017 – dic 2018'): the filter's range, else the months
    the incidents cover."""
    first = filters.start or (numbers or {}).get("first_month")
    last = filters.end or (numbers or {}).get("last_month")
    if not first:
        return t("dates not known")
    return month_range(first, last)


def _where(count: int, names: list[str], states: str) -> str:
    """'at 4 ports in Texas', 'at El Paso in Texas', 'at 2 ports (San Ysidro and Otay Mesa)'.

    One template per case, so each language can put the words in its own order."""
    if 0 < len(names) <= 3 and len(names) == count:
        if len(names) == 1:
            return (t("at {port} in {states}", port=names[0], states=states) if states
                    else t("at {port}", port=names[0]))
        listed = t("{some} and {last}", some=", ".join(names[:-1]), last=names[-1])
        return (t("at {n} ports ({ports}) in {states}", n=count, ports=listed, states=states)
                if states else t("at {n} ports ({ports})", n=count, ports=listed))
    if states:
        return tn("at {n} port in {states}", "at {n} ports in {states}", count, states=states)
    return tn("at {n} port", "at {n} ports", count)


def sentence(numbers: dict, filters: Filters, names=None) -> str:
    """'23 incidents documented in public reporting at 4 ports in Texas, Jan 2017 – Dec 2018'.

    ``names``: the names of the ports with incidents; three or fewer are named ('at 2 ports
    (San Ysidro and Otay Mesa)', 'at El Paso').
    """
    names = [] if names is None else list(names)
    incidents = tn("{n} incident documented in public reporting",
                   "{n} incidents documented in public reporting", numbers["incidents"])
    where = _where(numbers["ports"], names, _states(filters.states))
    return t("{incidents} {where}, {period}", incidents=incidents, where=where,
             period=period(filters, numbers))
