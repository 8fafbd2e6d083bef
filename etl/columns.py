"""Normalize: map the column names staff write, in English or Spanish, to Garita's fields.

Which names mean which field, and which fields a file must have, come from the field
declarations in ``garita.fields``. A header is also read without the decorations tools add
(``header_keys``: a group path, a hint in brackets, a form number, a plural). Files that
KoboToolbox, Ushahidi and Google Forms export are recognised by their columns (``TOOLS``):
their own columns (form and server metadata) are never incident fields, their record id is
kept, and a question's one-column-per-choice answers are read as one list.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from etl.problems import FileRefused
from garita import fields

def _names(f: fields.Field) -> list[str]:
    return list(dict.fromkeys((f.name, *f.headers)))


# Canonical field -> the names clinic staff use for it (compared after ``header_key``); the
# field's own name is always one of them.
SYNONYMS: dict[str, list[str]] = {f.name: _names(f) for f in fields.read()}
REQUIRED = tuple(f.name for f in fields.read() if f.required)
# Headers that suggest a column identifies people; such columns are never stored.
PERSONAL_HEADER_WORDS = ("name", "nombre", "anumber", "alien", "phone", "telefono",
                         "email", "correo", "birth", "nacimiento", "dob", "address",
                         "direccion", "passport", "pasaporte", "curp", "ssn")


# Personal-data words that are also the end of ordinary words ("intracelular"): these
# count only as whole words.
PERSONAL_WHOLE_WORDS = frozenset({"celular", "cel", "movil"})


def _header_words(name: str) -> set[str]:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def header_key(name: str) -> str:
    """Compare headers ignoring case, accents, spaces and punctuation."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


_HINT = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_FORM_ID = re.compile(r"-\d+$")
_POINT_PART = re.compile(r"^.*\.(lat|lon|lng|latitude|longitude)$", re.I)
_GEOPOINT_PART = re.compile(r"^_.+_(latitude|longitude|altitude|precision)$")


def header_keys(name: str) -> list[str]:
    """The keys a header may be read as, the most literal first: the header itself; then
    without a hint in brackets (``Incident type (check all that apply)``), a group path
    (Kobo's ``caso/fecha``), a form number (Ushahidi 2.7's ``Personas-1``) or the point
    it is part of (Ushahidi's ``Location.lat``); then as a singular (``Enlaces``, ``Links``).
    """
    text = _HINT.sub(" ", name).strip().rsplit("/", 1)[-1].strip()
    text = _FORM_ID.sub("", text)
    point = _POINT_PART.match(text)
    key = header_key(point.group(1) if point else text)
    keys = [header_key(name), key, key[:-1] if key.endswith("s") else "",
            key[:-2] if key.endswith("es") else ""]
    return [k for k in dict.fromkeys(keys) if k]


@functools.lru_cache(maxsize=2)
def _lookup(declared: tuple) -> dict[str, fields.Field]:
    return {header_key(alias): f for f in declared if f.headers
            for alias in (f.name, *f.headers)}


def _field_for(name: str) -> fields.Field | None:
    lookup = _lookup(fields.FIELDS)
    return next((lookup[key] for key in header_keys(name) if key in lookup), None)


def _exact(name: str) -> str:
    """A header as written, ignoring case and runs of spaces (tools' names are exact)."""
    return " ".join(name.lstrip("\ufeff").split()).casefold()


@dataclass(frozen=True)
class Tool:
    """A tool whose CSV exports Garita recognises by their columns, and its conventions.

    Headers are compared as written, ignoring case and spacing. ``signatures``: sets of
    headers that, all present, mark the tool's files (or ``first_column``, the header of
    its first column). ``record_ids``: the columns holding the tool's own id of a record,
    best first. ``review``: the column of its review state. ``reads``: (column, field) it
    means otherwise than the names staff write (Ushahidi's ``LOCATION`` is a place name,
    read as the port, not a point). ``own``: its other columns
    (form and server metadata: never incident fields, not stored), with ``own_prefixes``;
    ``underscored``: every column whose name, or last group, starts with ``_`` is its own
    too. ``personal``: own columns that identify people. ``fallbacks``: (field, column)
    read where the field's column is blank. ``escaped_html``: its text carries HTML
    entities (``&amp;``). ``empty_tag_row``: it writes an empty row under the header.
    """

    name: str
    signatures: tuple[frozenset[str], ...] = ()
    first_column: str | None = None
    record_ids: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    reads: tuple[tuple[str, str], ...] = ()
    own: frozenset[str] = frozenset()
    own_prefixes: tuple[str, ...] = ()
    underscored: bool = False
    personal: frozenset[str] = frozenset()
    fallbacks: tuple[tuple[str, str], ...] = ()
    escaped_html: bool = False
    empty_tag_row: bool = False

    def writes(self, header: list[str]) -> bool:
        """Whether ``header`` is this tool's."""
        names = {_exact(h) for h in header}
        if self.first_column and header and _exact(header[0]) == self.first_column:
            return True
        return any(signature <= names for signature in self.signatures)


_KOBO_PERSONAL = frozenset({"_submitted_by", "username", "phonenumber", "deviceid",
                            "subscriberid", "simserial"})
# KoboToolbox (formpack/KPI CSV), Ushahidi 2.x "Download reports", Ushahidi platform (v3+)
# post exports, Google Forms responses downloaded from their Sheet (tests/data/real/).
TOOLS: tuple[Tool, ...] = (
    Tool("KoboToolbox", signatures=(frozenset({"_uuid"}), frozenset({"_submission_time"})),
         record_ids=("_uuid", "_id"), review=("_validation_status",),
         own=frozenset({"start", "end", "today", "audit", "instanceid"}) | _KOBO_PERSONAL,
         own_prefixes=("meta/", "formhub/"), underscored=True, personal=_KOBO_PERSONAL),
    Tool("Ushahidi", signatures=(frozenset({"#", "incident title", "incident date"}),),
         record_ids=("#",), review=("approved",), reads=(("location", "port"),),
         own=frozenset({"form #", "verified"}), escaped_html=True),
    Tool("Ushahidi platform", signatures=(frozenset({"post id", "post status"}),),
         record_ids=("post id",), review=("post status",),
         own=frozenset({"survey", "created (utc)", "updated (utc)", "post date (utc)",
                        "contact id", "contact", "data source id", "source", "sets",
                        "completed stages"}),
         personal=frozenset({"contact id", "contact"}),
         fallbacks=(("summary", "unstructured description"),), empty_tag_row=True),
    Tool("Google Forms", first_column="timestamp",
         own=frozenset({"timestamp", "email address", "score"}),
         personal=frozenset({"email address"})),
)


def detect_tool(header: list[str]) -> Tool | None:
    """The tool that wrote a file with this header, if Garita knows it."""
    return next((tool for tool in TOOLS if tool.writes(header)), None)


@dataclass
class ColumnMap:
    """Which input column feeds which field, and what was dropped.

    ``tool``: the tool the file comes from; ``own``: that tool's columns (metadata, not
    stored); ``choices``: for a list field, its one-column-per-choice columns (index,
    choice as written; Kobo's ``tipo/amenazado`` holding 1 or 0); ``fallbacks``: field ->
    column read where the field's column is blank. ``record_column``: the column of the
    tool's own record id.
    """

    fields: dict[str, int]                     # field -> column index
    unknown: list[str] = field(default_factory=list)
    tool: Tool | None = None
    own: list[str] = field(default_factory=list)
    choices: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    record_column: int | None = None

    def machine_made(self, name: str) -> bool:
        """Whether a field is read from the tool's record id (made by the tool, not typed
        by a person, so never checked for personal data)."""
        return self.record_column is not None and self.fields.get(name) == self.record_column

    @property
    def personal(self) -> list[str]:
        """Dropped columns whose header suggests personal data (never stored)."""
        mine = self.tool.personal if self.tool else frozenset()
        return [h for h in (*self.unknown, *self.own)
                if any(word in header_key(h) for word in PERSONAL_HEADER_WORDS)
                or _header_words(h) & PERSONAL_WHOLE_WORDS or _exact(h) in mine]

    def header_for(self, header: list[str]) -> dict[str, str]:
        """Field -> the header it is read from (``question/…`` for per-choice columns)."""
        mapping = {name: header[index] for name, index in self.fields.items()}
        for name, columns in self.choices.items():
            mapping.setdefault(name, header[columns[0][0]].rsplit("/", 1)[0] + "/…")
        return mapping

    def read_columns(self) -> list[int]:
        """Every column read, in file order (the raw cells kept with a rejected row)."""
        read = {*self.fields.values(), *self.fallbacks.values(),
                *(i for columns in self.choices.values() for i, _ in columns)}
        return sorted(read)


def _wanted(f: fields.Field) -> str:
    return f"{f.en[0]} ({f.es[0]})"


def _choice_columns(header: list[str]) -> dict[int, tuple[str, str]]:
    """Columns ``question/choice`` of a list field's question (incident types), read as
    one choice each: two or more of them, or one beside the question's own column."""
    lists = {f.name for f in fields.read() if f.sql == "VARCHAR[]"}
    exact = {_exact(h) for h in header}
    by_parent: dict[str, list[tuple[int, str, str]]] = {}
    for index, name in enumerate(header):
        if "/" not in name:
            continue
        parent, choice = (part.strip() for part in name.rsplit("/", 1))
        found = _field_for(parent) if parent and choice else None
        if found is not None and found.name in lists:
            by_parent.setdefault(parent, []).append((index, found.name, choice))
    return {index: (name, choice) for parent, columns in by_parent.items()
            if len(columns) > 1 or _exact(parent) in exact
            for index, name, choice in columns}


def _readings(header: list[str], tool: Tool | None) -> list[tuple[str, object]]:
    """How each header cell is read: ``("field", name)``, ``("record", rank)``,
    ``("choice", (field, choice))``, ``("fallback", field)``, ``("geo", axis)``,
    ``("own", None)`` or ``("unknown", None)``."""
    choices = _choice_columns(header)
    out: list[tuple[str, object]] = []
    for index, name in enumerate(header):
        exact = _exact(name)
        last = exact.rsplit("/", 1)[-1]
        if tool and exact in tool.record_ids:
            out.append(("record", tool.record_ids.index(exact)))
        elif tool and exact in tool.review:
            out.append(("field", "review_status"))
        elif tool and exact in dict(tool.reads):
            out.append(("field", dict(tool.reads)[exact]))
        elif tool and exact in dict((c, f) for f, c in tool.fallbacks):
            out.append(("fallback", dict((c, f) for f, c in tool.fallbacks)[exact]))
        elif tool and (exact in tool.own or exact.startswith(tool.own_prefixes)):
            out.append(("own", None))
        elif tool and tool.underscored and _GEOPOINT_PART.match(last):
            out.append(("geo", _GEOPOINT_PART.match(last).group(1)))
        elif last.startswith("_"):
            out.append(("own", None))   # a tool's metadata (Kobo's _id, _index): never a field
        elif index in choices:
            out.append(("choice", choices[index]))
        else:
            found = _field_for(name) if exact else None
            out.append(("field", found.name) if found else ("unknown", None))
    return out


def read_headers(header: list[str], overrides: dict[str, str] | None = None
                 ) -> list[str | None]:
    """How each header cell is read: the field it names (``overrides``, header cell ->
    field name or '', first), or None. Never refuses: the upload page shows it even for a
    file ``map_columns`` refuses."""
    overrides = overrides or {}
    readings = _readings(header, detect_tool(header))
    return [(overrides[name] or None) if name in overrides
            else value if kind == "field" else "record_id" if kind == "record" and value == 0
            else None for name, (kind, value) in zip(header, readings)]


def field_names(cells: list[str], extra=frozenset()) -> int:
    """How many cells of a row name a field (or are in ``extra``): a header row has two or
    more."""
    return sum(1 for cell in cells if cell.strip() and (cell in extra or _field_for(cell)))


_PERIODS = {"fiscalyear", "fy", "year", "month", "monthgrouping", "mes", "ano", "anio",
            "period", "periodo"}


def _counts_table(header: list[str]) -> tuple[str, str] | None:
    """(count column, period column) of a table of counts per period (CBP's encounter
    statistics: ``Encounter Count`` beside ``Fiscal Year`` and ``Month``), if it is one."""
    count = next((h for h in header if header_key(h).endswith(("count", "conteo"))
                  or header_key(h) in ("total", "encounters")), None)
    period = next((h for h in header if set(header_keys(h)) & _PERIODS), None)
    return (count, period) if count and period else None


def map_columns(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map a header to fields; ``overrides`` maps a header cell to a field name (or '')."""
    overrides = overrides or {}
    lookup = _lookup(fields.FIELDS)
    readable = {f.name: f for f in lookup.values()}
    tool = detect_tool(header)
    found: dict[str, int] = {}
    unknown: list[str] = []
    columns = ColumnMap(fields=found, unknown=unknown, tool=tool)
    records: list[tuple[int, int]] = []
    geo: dict[str, int] = {}
    for index, (name, (kind, value)) in enumerate(zip(header, _readings(header, tool))):
        if name in overrides:
            kind, value = ("field", overrides[name]) if overrides[name] else ("unknown", None)
        if kind == "field":
            if value not in readable:
                raise FileRefused("columns.unknown_field", field=value)
            if value in found:
                raise FileRefused("columns.same_field", first=header[found[value]],
                                  second=name, field=value, label=readable[value].label)
            found[value] = index
        elif kind == "record":
            records.append((value, index))
        elif kind == "choice":
            columns.choices.setdefault(value[0], []).append((index, value[1]))
        elif kind == "fallback":
            columns.fallbacks[value] = index
        elif kind == "geo":
            geo.setdefault(value, index)
        elif kind == "own":
            columns.own.append(name)
        elif name:
            unknown.append(name)
    if records:
        best = columns.record_column = min(records)[1]
        found.setdefault("record_id", best)
        # With no case id of its own, a record is known by the tool's id.
        found.setdefault("incident_id", found["record_id"])
        columns.own += [header[i] for _, i in records if i not in found.values()]
    for axis, index in geo.items():
        if axis in ("latitude", "longitude") and "location" not in found and axis not in found:
            found[axis] = index
        else:
            columns.own.append(header[index])
    named = [h for h in header if h.strip()]
    missing = [f for f in readable.values()
               if f.required and f.name not in found and f.name not in columns.choices]
    if missing:
        counts = _counts_table(header)
        if counts:
            raise FileRefused("file.counts_table", count=counts[0], period=counts[1])
        if len(header) == 1:
            raise FileRefused("columns.missing_one_column", header=header[0][:200])
        raise FileRefused("columns.missing", missing=[_wanted(f) for f in missing],
                          headers=named)
    places = [f.name for f in readable.values() if f.place]
    if places and not any(name in found for name in places):
        raise FileRefused("columns.no_place", headers=named)
    return columns
