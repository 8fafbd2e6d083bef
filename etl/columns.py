"""Normalize: map the column names staff write, in English or Spanish, to Garita's fields.

Which names mean which field, and which fields a file must have, come from the field
declarations in ``garita.fields``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from etl.read import FileRefused
from garita import fields

def _names(f: fields.Field) -> list[str]:
    return list(dict.fromkeys((f.name, *f.headers)))


# Canonical field -> the names clinic staff use for it (compared after ``header_key``); the
# field's own name is always one of them.
SYNONYMS: dict[str, list[str]] = {f.name: _names(f) for f in fields.read()}
REQUIRED = tuple(f.name for f in fields.read() if f.required)
# Headers that suggest a column identifies people; such columns are never stored.
PERSONAL_HEADER_WORDS = ("name", "nombre", "anumber", "alien", "phone", "telefono", "celular",
                         "email", "correo", "birth", "nacimiento", "dob", "address",
                         "direccion", "passport", "pasaporte", "curp", "ssn")


def header_key(name: str) -> str:
    """Compare headers ignoring case, accents, spaces and punctuation."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


@functools.lru_cache(maxsize=2)
def _lookup(declared: tuple) -> dict[str, fields.Field]:
    return {header_key(alias): f for f in declared if f.headers
            for alias in (f.name, *f.headers)}


@dataclass
class ColumnMap:
    """Which input column feeds which field, and what was dropped."""

    fields: dict[str, int]                     # field -> column index
    unknown: list[str] = field(default_factory=list)

    @property
    def personal(self) -> list[str]:
        """Dropped columns whose header suggests personal data (never stored)."""
        return [h for h in self.unknown
                if any(word in header_key(h) for word in PERSONAL_HEADER_WORDS)]

    def header_for(self, header: list[str]) -> dict[str, str]:
        return {name: header[index] for name, index in self.fields.items()}


def _wanted(f: fields.Field) -> str:
    return f"{f.name} ({', '.join(_names(f)[:4])}…)"


def map_columns(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map a header to fields; ``overrides`` maps a header cell to a field name (or '')."""
    overrides = overrides or {}
    lookup = _lookup(fields.FIELDS)
    readable = {f.name: f for f in lookup.values()}
    found: dict[str, int] = {}
    unknown: list[str] = []
    for index, name in enumerate(header):
        if name in overrides:
            target = overrides[name]
        else:
            target = lookup[header_key(name)].name if header_key(name) in lookup else None
        if not target:
            if name:
                unknown.append(name)
            continue
        if target not in readable:
            raise FileRefused("columns.unknown_field", field=target)
        if target in found:
            raise FileRefused("columns.same_field", first=header[found[target]], second=name,
                              field=target)
        found[target] = index
    missing = [f for f in readable.values() if f.required and f.name not in found]
    if missing:
        raise FileRefused("columns.missing", wanted="; ".join(map(_wanted, missing)),
                          found=", ".join(repr(h) for h in header[:12]))
    places = [f.name for f in readable.values() if f.place]
    if places and not any(name in found for name in places):
        raise FileRefused("columns.no_place")
    return ColumnMap(fields=found, unknown=unknown)
