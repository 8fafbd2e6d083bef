"""What the user chose: one frozen value that every query takes, and its SQL ``WHERE``.

Date rule: with a month range set, an incident counts when its whole period is known to lie
inside the range (a day or month inside it; a year only when the range covers the whole
year). Incidents with no date count only when no range is set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

GROUPS = ("individual", "family", "group", "unaccompanied_minor", "with_children")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")



def period_end(alias: str = "") -> str:
    """SQL for the last day of an incident's period (its date, month or year)."""
    a = alias
    return (f"CASE {a}date_precision WHEN 'day' THEN {a}date WHEN 'month' THEN "
            f"last_day({a}date) WHEN 'year' THEN make_date(year({a}date), 12, 31) END")


def parse_month(value: str | None) -> dt.date | None:
    """``'2017-03'`` to the first day of that month; None for blank. Raises ValueError."""
    if value is None or value == "":
        return None
    match = _MONTH.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"'{value}' is not a month: write it as YYYY-MM, e.g. 2017-03.")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_span(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``'YYYY-MM'``), both included."""
    start, end = parse_month(first), parse_month(last)
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year}-{month:02d}")
        year, month = year + (month == 12), month % 12 + 1
    return months


def month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


@dataclass(frozen=True)
class Filters:
    """The user's selection. Empty tuples mean "all"."""

    start: dt.date | None = None            # first day of the first month
    end: dt.date | None = None              # first day of the last month
    ports: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    search: str = ""

    @classmethod
    def from_strings(cls, *, start=None, end=None, ports=(), types=(), nationalities=(),
                     groups=(), states=(), search="") -> "Filters":
        """Build from text (CLI, URL); raises ValueError with a message for bad values."""
        first, last = parse_month(start), parse_month(end)
        if first and last and first > last:
            raise ValueError(f"The range starts ({start}) after it ends ({end}).")
        bad = [g for g in groups if g not in GROUPS]
        if bad:
            raise ValueError(f"Unknown group {bad[0]!r}: use one of {', '.join(GROUPS)}.")
        return cls(first, last, tuple(sorted(set(ports))), tuple(sorted(set(types))),
                   tuple(sorted(set(nationalities))), tuple(sorted(set(groups))),
                   tuple(sorted(set(states))), (search or "").strip())

    def with_search(self, text: str | None) -> "Filters":
        """The same filters with a free-text search over summaries and sources."""
        return replace(self, search=(text or "").strip()[:200])

    def only_port(self, code: str) -> "Filters":
        """The same filters narrowed to one port (the map's click, the port detail)."""
        return replace(self, ports=(code,))

    @property
    def has_date_range(self) -> bool:
        return self.start is not None or self.end is not None

    def where(self, alias: str = "") -> tuple[str, list]:
        """A ``WHERE`` clause and its bound parameters (no value is ever in the SQL text)."""
        a = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list = []
        if self.start is not None:
            clauses.append(f"{a}date IS NOT NULL AND {a}date >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append(f"{a}date IS NOT NULL AND "
                           f"{period_end(a)} <= ?")
            params.append(month_end(self.end))
        if self.ports:
            clauses.append(f"{a}port_code IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(self.ports))
        if self.states:
            clauses.append(f"{a}state IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(self.states))
        if self.types:
            clauses.append(f"list_has_any({a}incident_types, ?::VARCHAR[])")
            params.append(list(self.types))
        if self.nationalities:
            clauses.append(f"{a}nationality IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(self.nationalities))
        if self.groups:
            kinds = [g for g in self.groups if g != "with_children"]
            parts = []
            if kinds:
                parts.append(f"{a}group_type IN (SELECT unnest(?::VARCHAR[]))")
                params.append(kinds)
            if "with_children" in self.groups:
                parts.append(f"{a}children = 'yes'")
            clauses.append("(" + " OR ".join(parts) + ")")
        if self.search:
            clauses.append(f"(contains(lower(coalesce({a}summary, '')), ?) OR "
                           f"contains(lower(coalesce({a}source, '')), ?) OR "
                           f"contains(lower(coalesce({a}source_url, '')), ?))")
            params += [self.search.lower()] * 3
        return (" AND ".join(f"({c})" for c in clauses) or "TRUE"), params
