"""The parsers that ``garita.fields`` declarations name: one cell's text to a value.

Each parser takes the cell's text, its ``Field`` and the file's ``Context``, and returns the
value to store or raises ``Invalid`` (a problem code and its parameters, see
``etl.problems``). ``etl.validate`` calls a parser once per distinct value of a column.
Fields whose parser is ``text`` or ``url`` are checked column-wise in ``etl.validate``
(length, web address, garbled encoding, personal data) instead.

A new kind of field needs a function here and an entry in ``PARSERS``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from etl import dates, places
from etl.ports import (MX_STATES, STATE_LIST, PortIndex, PortMatch, place_unknown, plain,
                       resolve_state)
from etl.problems import Invalid, TEMPLATES
from garita import fields
from garita.fields import Field
from garita.reference import incident_types, ports

COLUMN_CHECKED = ("text", "url")
ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "INTEGER": pa.int32(),
               "VARCHAR[]": pa.list_(pa.string())}
_COUNT = re.compile(r"^\d+(?:\.0{1,2})?$|^\d{1,3}(?:,\d{3})+$")
_DOTTED_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_CHOICE_NAME = re.compile(r"^[a-z0-9_]+$")  # a choice's name in a KoboToolbox form


@functools.lru_cache(maxsize=4096)  # a file repeats a few types in many combinations
def _type_key(value: str) -> str:
    return plain(value).replace(" ", "_")


@dataclass
class Context:
    """What reading one file needs beyond a cell: its day/month order, whether its dates
    are Excel serial numbers, the ports of entry and the incident-type vocabulary."""

    date_order: str | None
    ports: PortIndex
    types: dict[str, str]       # folded code or label -> code
    allowed_types: str
    codes: frozenset[str] = frozenset()
    excel_dates: bool = False

    @classmethod
    def for_file(cls, date_order: str | None, excel_dates: bool = False) -> Context:
        vocabulary = incident_types()
        return cls(date_order, PortIndex(ports()),
                   {_type_key(name): entry["code"] for entry in vocabulary
                    for name in (entry["code"], entry["label_en"], entry["label_es"])},
                   ", ".join(entry["code"] for entry in vocabulary),
                   frozenset(entry["code"] for entry in vocabulary), excel_dates)


def parse_date(value: str, field: Field, ctx: Context) -> tuple:
    """``(first day of the period, precision)`` (see ``etl.dates``)."""
    try:
        return dates.parse_date(value, ctx.date_order, excel=ctx.excel_dates)
    except (dates.DateProblem, dates.DateOrderUnknown) as exc:
        raise Invalid(exc.code, **exc.params) from None


def parse_precision(value: str, field: Field, ctx: Context) -> str:
    """A stated date precision (blank: as the date is written)."""
    key = value.strip().lower()
    if key in ("", *fields.PRECISIONS):
        return key
    raise Invalid("date_precision.unknown", value=value)


def parse_port(value: str, field: Field, ctx: Context) -> str | None:
    """A port name, alias or code to its CBP code; blank is None (never guessed)."""
    match = ctx.ports.resolve(value)
    if match.problem:
        raise Invalid(match.problem, **dict(match.params))
    return match.code


def parse_latitude(value: str, field: Field, ctx: Context) -> float | None:
    """Decimal degrees north (see ``etl.places.parse_coordinate``)."""
    return places.parse_coordinate(value, "latitude")


def parse_longitude(value: str, field: Field, ctx: Context) -> float | None:
    """Decimal degrees east, negative in the Americas (see ``etl.places.parse_coordinate``)."""
    return places.parse_coordinate(value, "longitude")


def parse_location(value: str, field: Field, ctx: Context) -> PortMatch | None:
    """A geopoint (``"32.54 -117.03 0 5"``) or a place name, also inside free text
    ("rechazados en Tijuana"), to where it places the row; whether that is a problem
    depends on the other place columns (``etl.validate``)."""
    if not value.strip():
        return None
    if places.looks_like_point(value):
        return places.resolve_geopoint(value)
    return ctx.ports.resolve(value)


def parse_port_code(value: str, field: Field, ctx: Context) -> str | None:
    """A CBP port code (leading zeros optional)."""
    code = value.strip()
    if not code:
        return None
    if code.isdigit() and code.zfill(4) in ctx.ports.names:
        return code.zfill(4)
    raise Invalid("port_code.unknown", value=value)


# The US border states across from each Mexican border state.
ACROSS = {"Baja California": ("CA",), "Sonora": ("AZ",), "Chihuahua": ("NM", "TX"),
          "Coahuila": ("TX",), "Nuevo León": ("TX",), "Tamaulipas": ("TX",)}
MEXICAN = "MX:"   # how ``parse_state`` marks a Mexican state, checked against the port


def parse_state(value: str, field: Field, ctx: Context) -> str | None:
    """A border state by code or name, to its two-letter code; blank, or a place stated
    unknown ("unknown", "desconocido"), is None. A Mexican border state (``Tamaulipas``)
    is ``MX:`` and its name: the row's state then comes from its port (``etl.validate``)."""
    if not value.strip() or place_unknown(value):
        return None
    state = resolve_state(value)
    if state is None:
        mexican = next((name for name, words in MX_STATES.items() if plain(value) in words),
                       None)
        if mexican:
            return MEXICAN + mexican
        raise Invalid("state.unknown", value=value, states=STATE_LIST)
    return state


def parse_count(value: str, field: Field, ctx: Context) -> int | None:
    """A whole number of 0 or more up to ``field.maximum``; ``1,200`` is 1200, while
    ``2.000`` (2, or 2,000 as Spanish writes it?) is refused with a suggestion."""
    text = value.strip()
    if not text:
        return None
    if _DOTTED_THOUSANDS.match(text):
        whole = text.replace(".", "")
        raise Invalid(f"{field.name}.thousands_dot", suggestion=whole, value=value,
                      small=int(text.split(".")[0]), whole=int(whole))
    if not _COUNT.match(text):
        raise Invalid(f"{field.name}.not_a_count", value=value)
    number = int(text.split(".")[0].replace(",", ""))
    if field.maximum is not None and number > field.maximum:
        raise Invalid(f"{field.name}.implausible", count=number)
    return number


def parse_choice(value: str, field: Field, ctx: Context) -> str | None:
    """One of ``field.choices`` (keys folded with ``plain``); blank is None unless the
    choices say otherwise."""
    key = plain(value)
    if key in field.choices:
        return field.choices[key]
    if not key:
        return None
    code = f"{field.name}.unknown"
    if code not in TEMPLATES:
        code = "choice.unknown"
    raise Invalid(code, value=value, allowed=sorted(set(field.choices.values())))


def parse_incident_types(value: str, field: Field, ctx: Context) -> list[str]:
    """One or more incident types (codes or English/Spanish labels) separated by ';' (or
    ',' as Google Forms and Ushahidi write them); codes may also be separated by spaces,
    as KoboToolbox writes the choices of a question."""
    found, unknown = [], []
    for token in re.split(r"[;|,\n]", value):
        if not token.strip():
            continue
        code = ctx.types.get(_type_key(token))
        words = token.split()
        if (code is None and len(words) > 1 and any(w in ctx.codes for w in words)
                and all(_CHOICE_NAME.match(w) for w in words)):
            for word in words:
                if word not in ctx.codes:
                    unknown.append(word)
                elif word not in found:
                    found.append(word)
        elif code is None:
            unknown.append(token.strip())
        elif code not in found:
            found.append(code)
    if unknown:
        raise Invalid("incident_types.unknown", values=unknown, allowed=ctx.allowed_types)
    if not found:
        raise Invalid("incident_types.missing", allowed=ctx.allowed_types)
    return found


# Review states tools write (folded with ``plain``): approved, or held for review.
APPROVED = {"", "approved", "validation status approved", "aprobado", "yes", "si",
            "published", "publicado", "true", "1"}
NOT_APPROVED = {"not approved", "validation status not approved", "no aprobado", "on hold",
                "validation status on hold", "en espera", "no", "draft", "borrador",
                "archived", "archivado", "in review", "en revision", "false", "0"}


def parse_review(value: str, field: Field, ctx: Context) -> None:
    """A tool's review state: approved or blank passes; a record not approved (Kobo
    "Not Approved"/"On Hold", Ushahidi ``APPROVED`` = NO, a draft or archived post) is held,
    and so is a state Garita does not know."""
    key = plain(value)
    if key in APPROVED:
        return None
    raise Invalid("review.not_approved" if key in NOT_APPROVED else "review.unknown",
                  value=value.strip())


PARSERS: dict[str, Callable[[str, Field, Context], object]] = {
    "date": parse_date, "precision": parse_precision, "port": parse_port,
    "port_code": parse_port_code, "state": parse_state, "count": parse_count,
    "latitude": parse_latitude, "longitude": parse_longitude, "location": parse_location,
    "choice": parse_choice, "incident_types": parse_incident_types, "review": parse_review,
}


def check_declarations(declared=None) -> None:
    """Refuse fields whose parser is unknown or whose SQL type has no Arrow type (a typo in
    ``garita.fields`` fails here, at import, not in the middle of a load)."""
    for f in declared or fields.FIELDS:
        if f.parser is not None and f.parser not in PARSERS and f.parser not in COLUMN_CHECKED:
            raise ValueError(f"Field {f.name}: no parser {f.parser!r} in etl.fields.PARSERS.")
        if f.sql and f.sql not in ARROW_TYPES:
            raise ValueError(f"Field {f.name}: no Arrow type for SQL type {f.sql!r}.")
        if f.parser == "choice" and not f.choices:
            raise ValueError(f"Field {f.name}: a choice field needs choices.")


check_declarations()
