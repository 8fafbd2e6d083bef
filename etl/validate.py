"""Validate: columns of text cells to typed incident records, or to problems with reasons.

Every data row ends in exactly one of three places here: ``skipped`` (all cells blank),
``rejected`` (one or more problems, each with row, column, value, message, suggestion) or
the typed ``records`` that the load stage deduplicates and stores. Each check runs once per
distinct value of a column and the results are spread back over the rows with Arrow, so a
million rows with a few hundred distinct dates and ports validate in about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import dates, personal
from etl.columns import ColumnMap, map_columns
from etl.ports import STATE_LIST, PortIndex, plain, resolve_state
from etl.read import Table
from garita.reference import incident_types, ports

MAX_TEXT = {"summary": 5000, "notes": 5000, "source": 1000, "source_url": 2000,
            "nationality": 200, "outcome": 200, "source_page": 100, "incident_id": 100}
TEXT_FIELDS = ("incident_id", "nationality", "outcome", "summary", "source", "source_page",
               "source_url", "notes")
GROUP_TYPES = {
    "individual": "individual", "single adult": "individual", "adult": "individual",
    "family": "family", "familia": "family", "group": "group", "grupo": "group",
    "unaccompanied minor": "unaccompanied_minor", "menor no acompanado": "unaccompanied_minor",
    "menor no acompanada": "unaccompanied_minor",
}
CHILDREN = {"yes": "yes", "y": "yes", "si": "yes", "true": "yes", "1": "yes",
            "no": "no", "n": "no", "false": "no", "0": "no",
            "unknown": "unknown", "desconocido": "unknown", "se desconoce": "unknown",
            "nd": "unknown", "n a": "unknown", "": "unknown"}
URL_PATTERN = r"^https?://[^\s<>\"]+$"
# Text that looks like it identifies a person is held back for staff review, not published:
# every free-text field that can reach a public page is checked (see etl/personal.py).
PERSONAL_FIELDS = ("incident_id", "nationality", "outcome", "summary", "source", "source_page",
                   "notes")
# Unicode spaces (no-break, em, thin, ideographic …) and invisible characters become a plain
# space, so the same incident typed with them is the same incident (see the fingerprint).
ODD_SPACE = r"[\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]"
INVISIBLE = r"[\x{00AD}\x{180E}\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
# Windows-1252 read of UTF-8 text ("TomÃ¡s"): two-character sequences that real text
# almost never has; a cell with one is checked by decoding it back.
MOJIBAKE = (r"[\x{00C2}\x{00C3}][\x{0080}-\x{00BF}\x{0152}\x{0153}\x{0160}\x{0161}"
            r"\x{0178}\x{017D}\x{017E}\x{0192}\x{02C6}\x{02DC}\x{2013}\x{2014}"
            r"\x{2018}-\x{201E}\x{2020}-\x{2022}\x{2026}\x{2030}\x{2039}\x{203A}"
            r"\x{20AC}\x{2122}]|\x{00E2}\x{20AC}")
_COUNT = re.compile(r"^\d+(?:\.0{1,2})?$|^\d{1,3}(?:,\d{3})+$")
_DOTTED_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")


@dataclass
class Problem:
    """One reason a row cannot be loaded (``row`` counts the header as row 1, as Excel does)."""

    row: int
    column: str
    value: str
    message: str
    suggestion: str | None = None

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value,
                "message": self.message, "suggestion": self.suggestion}


@dataclass
class Checked:
    """The validated file: typed columns for the good rows and problems for the rest."""

    table: Table
    columns: ColumnMap
    date_order: str | None
    total: int
    skipped: list[int] = field(default_factory=list)           # row indexes (0-based)
    problems: dict[int, list[Problem]] = field(default_factory=dict)
    records: dict[str, pa.Array] = field(default_factory=dict)  # good rows only
    good_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def rejected(self) -> int:
        return len(self.problems)

    def raw_row(self, index: int) -> dict[str, str]:
        """The cells of a row under their original headers (mapped columns only)."""
        row = self.table.row(index)
        return {self.table.header[i]: (row[i] if i < len(row) else "")
                for i in sorted(self.columns.fields.values())}


class _Bad(Exception):
    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


def _type_key(value: str) -> str:
    return plain(value).replace(" ", "_")


def _type_lookup() -> dict[str, str]:
    return {_type_key(name): entry["code"] for entry in incident_types()
            for name in (entry["code"], entry["label_en"], entry["label_es"])}


class _Mapped:
    """Per-distinct-value results spread back over the rows of a column."""

    def __init__(self, results: list, indices: pa.Array):
        self.results, self.indices = results, indices

    def array(self, type_: pa.DataType, pick=lambda r: r) -> pa.Array:
        values = pa.array([None if r is None else pick(r) for r in self.results], type_)
        return values.take(self.indices)


class _Validator:
    """Holds the problems found so far; rows set aside (blank, ragged) are not re-reported."""

    def __init__(self, checked: Checked, set_aside: np.ndarray):
        self.checked, self.set_aside = checked, set_aside
        self.cols = {name: checked.table.columns[i]
                     for name, i in checked.columns.fields.items()}

    def header(self, name: str) -> str:
        return self.checked.table.header[self.checked.columns.fields[name]]

    def add(self, rows, name: str, message, suggestion=None, values=None) -> None:
        """Record a problem for each row index in ``rows`` (messages may depend on the row)."""
        column = self.cols.get(name)
        for i in rows:
            i = int(i)
            if self.set_aside[i]:
                continue
            value = values[i] if values is not None else (
                column[i].as_py() if column is not None else "")
            text = message(i) if callable(message) else message
            hint = suggestion(i) if callable(suggestion) else suggestion
            self.checked.problems.setdefault(i, []).append(
                Problem(i + 2, self.header(name), value, text, hint))

    def map(self, name: str, parse) -> _Mapped:
        column = self.cols[name]
        uniques = pc.unique(column)
        results, bad = [], {}
        for value in uniques.to_pylist():
            try:
                results.append(parse(value))
            except _Bad as exc:
                results.append(None)
                bad[value] = exc
        if bad:
            mask = pc.is_in(column, value_set=pa.array(list(bad), pa.string()))
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            self.add(rows, name, lambda i: bad[column[i].as_py()].message,
                     lambda i: bad[column[i].as_py()].suggestion)
        return _Mapped(results, pc.index_in(column, value_set=uniques))


def _rows(mask) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def _nulls(n: int, type_=pa.string()) -> pa.Array:
    return pa.nulls(n, type_)


def _check_personal(v: _Validator, name: str, text: pa.Array) -> None:
    """Hold back rows whose ``name`` text seems to identify someone (exact check on the few
    cells the prefilter picks)."""
    for i in _rows(pc.match_substring_regex(text, personal.CANDIDATE)):
        kind = personal.find(text[int(i)].as_py())
        if kind:
            v.add([i], name, f"This {name} seems to contain {personal.describe(kind)}. "
                  "Public fields must not identify anyone: remove it, then load the row "
                  "again. The row is kept for staff review and is not published.")


def _check_mojibake(v: _Validator, name: str, text: pa.Array) -> None:
    """Reject text garbled by a wrong encoding ("TomÃ¡s"), suggesting the repaired text."""
    for i in _rows(pc.match_substring_regex(text, MOJIBAKE)):
        value = text[int(i)].as_py()
        try:
            repaired = value.encode("cp1252").decode("utf-8")
        except UnicodeError:
            repaired = None
        shown = f" It probably reads: {repaired[:200]}" if repaired else ""
        v.add([i], name, f"This {name} looks garbled by an encoding mix-up (accented letters "
              f"shown as two characters, like 'Ã¡' for 'á').{shown} Fix the text, or save the "
              "file again as 'CSV UTF-8'.", repaired[:200] if repaired else None)


def validate(table: Table, *, date_order: str | None = None,
             column_overrides: dict[str, str] | None = None) -> Checked:
    """Check every row of ``table``; raises ``FileRefused``/``DateOrderUnknown`` for the file."""
    columns = map_columns(table.header, column_overrides)
    n = table.n_rows
    checked = Checked(table=table, columns=columns, date_order=date_order, total=n)
    blank = np.zeros(n, dtype=bool)
    # Only rows with no incident type can be blank: check the other columns for those alone.
    candidates = _rows(pc.equal(pc.utf8_trim_whitespace(
        table.columns[columns.fields["incident_types"]]), ""))
    if len(candidates):
        blank[candidates] = True
        picked = pa.array(candidates)
        for column in table.columns:
            empty = pc.equal(pc.utf8_trim_whitespace(column.take(picked)), "")
            blank[candidates] &= empty.to_numpy(zero_copy_only=False)
    ragged = np.zeros(n, dtype=bool)
    width = len(table.header)
    for i, cells in table.ragged.items():
        ragged[i] = True
        blank[i] = False
        where = "more" if len(cells) > width else "fewer"
        checked.problems[i] = [Problem(
            i + 2, "(row)", f"{len(cells)} cells",
            f"This row has {len(cells)} cells but the header has {width} ({where}); a "
            "delimiter or a quote is probably missing or extra in this row.")]
    checked.skipped = np.flatnonzero(blank).tolist()
    v = _Validator(checked, blank | ragged)
    cols = v.cols
    out: dict[str, pa.Array] = {}

    # Dates: the day/month order is decided once per file.
    if date_order is None:
        date_order = dates.decide_order(pc.unique(cols["date"]).to_pylist())
        checked.date_order = date_order

    def parse_date(value):
        try:
            return dates.parse_date(value, date_order)
        except (dates.DateProblem, dates.DateOrderUnknown) as exc:
            raise _Bad(str(exc)) from None

    parsed = v.map("date", parse_date)
    out["date"] = parsed.array(pa.date32(), lambda r: r[0])
    out["date_precision"] = parsed.array(pa.string(), lambda r: r[1])
    if "date_precision" in cols:
        def parse_precision(value):
            key = value.strip().lower()
            if key in ("", *dates.PRECISIONS):
                return key
            raise _Bad(f"'{value}' is not a precision: use day, month, year or unknown.")
        wanted = v.map("date_precision", parse_precision).array(pa.string())
        # A stated precision coarser than the written date lowers it; never the reverse.
        lower = _rows(pc.and_(pc.is_in(wanted, value_set=pa.array(["month", "year"])),
                              pc.not_equal(wanted, out["date_precision"])))
        if len(lower):
            values, precisions = out["date"].to_pylist(), out["date_precision"].to_pylist()
            for i in lower:
                values[i], precisions[i] = dates.coarsen(values[i], precisions[i],
                                                         wanted[int(i)].as_py())
            out["date"] = pa.array(values, pa.date32())
            out["date_precision"] = pa.array(precisions, pa.string())

    # Ports: by name or code; a blank port keeps the state.
    index = PortIndex(ports())

    def parse_port(value):
        match = index.resolve(value)
        if match.message:
            raise _Bad(match.message, match.suggestion)
        return match.code

    by_name = v.map("port", parse_port).array(pa.string()) if "port" in cols else _nulls(n)
    if "port_code" in cols:
        def parse_code(value):
            code = value.strip()
            if not code:
                return None
            if code.isdigit() and code.zfill(4) in index.names:
                return code.zfill(4)
            raise _Bad(f"'{value}' is not a CBP port code on the US–Mexico border.")
        by_code = v.map("port_code", parse_code).array(pa.string())
        clash = _rows(pc.not_equal(by_name, by_code))
        codes = by_code.to_pylist()
        v.add(clash, "port", lambda i: f"The port name says {index.names[by_name[i].as_py()]} "
              f"but the port code says {index.names[codes[i]]} ({codes[i]}).",
              lambda i: index.names[codes[i]])
    else:
        by_code = _nulls(n)
    port_code = pc.coalesce(by_code, by_name)
    out["port_code"] = port_code
    out["port_as_written"] = (pc.if_else(pc.equal(pc.utf8_trim_whitespace(cols["port"]), ""),
                                         None, pc.utf8_trim_whitespace(cols["port"]))
                              if "port" in cols else _nulls(n))

    code_list = sorted(index.names)
    port_state = pa.array([index.states[c] for c in code_list], pa.string()).take(
        pc.index_in(port_code, value_set=pa.array(code_list, pa.string())))
    if "state" in cols:
        def parse_state(value):
            if not value.strip():
                return None
            state = resolve_state(value)
            if state is None:
                raise _Bad(f"'{value}' is not a US border state: use {STATE_LIST}.")
            return state
        stated_state = v.map("state", parse_state).array(pa.string())
        clash = _rows(pc.not_equal(stated_state, port_state))
        v.add(clash, "state",
              lambda i: f"{index.names[port_code[i].as_py()]} is in {port_state[i].as_py()}, "
                        f"not {stated_state[i].as_py()}.",
              lambda i: port_state[i].as_py())
        out["state"] = pc.coalesce(port_state, stated_state)
    else:
        out["state"] = port_state

    if "people_count" in cols:
        def parse_count(value):
            text = value.strip()
            if not text:
                return None
            if _DOTTED_THOUSANDS.match(text):
                whole = text.replace(".", "")
                raise _Bad(f"'{value}' could be {int(text.split('.')[0])} people or "
                           f"{int(whole):,} (a dot between thousands, as Spanish writes "
                           f"them). Write the number with no dot: {int(whole)} or "
                           f"{int(text.split('.')[0])}.", whole)
            if not _COUNT.match(text):
                raise _Bad(f"'{value}' is not a whole number of people (0 or more); "
                           "leave it blank if unknown and explain in notes.")
            number = int(text.split(".")[0].replace(",", ""))
            if number > 100_000:
                raise _Bad(f"{number:,} people in one incident is not plausible; check the cell.")
            return number
        out["people_count"] = v.map("people_count", parse_count).array(pa.int32())
    else:
        out["people_count"] = _nulls(n, pa.int32())

    if "group_type" in cols:
        def parse_group(value):
            key = plain(value)
            if not key:
                return None
            if key in GROUP_TYPES or key.replace(" ", "_") == "unaccompanied_minor":
                return GROUP_TYPES.get(key, "unaccompanied_minor")
            raise _Bad(f"'{value}' is not a group type: use individual, family, group or "
                       "unaccompanied_minor (individual, familia, grupo, menor no acompañado).")
        out["group_type"] = v.map("group_type", parse_group).array(pa.string())
    else:
        out["group_type"] = _nulls(n)

    if "children" in cols:
        def parse_children(value):
            key = plain(value)
            if key in CHILDREN:
                return CHILDREN[key]
            raise _Bad(f"'{value}' is not yes, no or unknown (sí, no, desconocido).")
        out["children"] = v.map("children", parse_children).array(pa.string())
    else:
        out["children"] = pa.array(["unknown"] * n, pa.string())

    lookup = _type_lookup()
    allowed = ", ".join(e["code"] for e in incident_types())

    def parse_types(value):
        found, unknown = [], []
        for token in re.split(r"[;|,\n]", value):
            if not token.strip():
                continue
            code = lookup.get(_type_key(token))
            if code is None:
                unknown.append(token.strip())
            elif code not in found:
                found.append(code)
        if unknown:
            names = ", ".join(f"'{u}'" for u in unknown)
            raise _Bad(f"Unknown incident type {names}. Allowed: {allowed} "
                       "(or their English or Spanish labels), separated by ';'.")
        if not found:
            raise _Bad(f"No incident type. Use one or more of: {allowed}, separated by ';'.")
        return found
    out["incident_types"] = v.map("incident_types", parse_types).array(pa.list_(pa.string()))

    for name in TEXT_FIELDS:
        if name not in cols:
            out[name] = _nulls(n)
            continue
        text = pc.utf8_trim_whitespace(pc.replace_substring_regex(
            pc.replace_substring_regex(cols[name], INVISIBLE, ""), ODD_SPACE, " "))
        limit = MAX_TEXT[name]
        too_long = _rows(pc.greater(pc.utf8_length(text), limit))
        v.add(too_long, name, lambda i, t=text, nm=name, lim=limit:
              f"This {nm} has {len(t[i].as_py()):,} characters; the limit is {lim:,}.")
        if name == "source_url":
            bad_url = pc.and_(pc.not_equal(text, ""), pc.invert(
                pc.match_substring_regex(text, URL_PATTERN, ignore_case=True)))
            v.add(_rows(bad_url), name, "A source URL must be a web address starting with "
                  "http:// or https://, with no spaces.")
        _check_mojibake(v, name, text)
        if name in PERSONAL_FIELDS:
            _check_personal(v, name, text)
        out[name] = pc.if_else(pc.equal(text, ""), None, text)

    keep = ~(blank | ragged)
    if checked.problems:
        keep[np.fromiter(checked.problems, dtype=np.int64)] = False
    checked.good_rows = np.flatnonzero(keep)
    mask = pa.array(keep)
    checked.records = {name: values.filter(mask) for name, values in out.items()}
    return checked
