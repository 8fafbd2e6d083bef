"""Validate: columns of text cells to typed incident records, or to problems with reasons.

Every data row ends in exactly one of three places here: ``skipped`` (all cells blank),
``rejected`` (one or more problems, each with row, column, value, code, message, suggestion)
or the typed ``records`` that the load stage deduplicates and stores. Each check runs once
per distinct value of a column and the results are spread back over the rows with Arrow, so
a million rows with a few hundred distinct dates and ports validate in about a second.

The checks come from the field declarations (``garita.fields``): ``validate`` runs each
read field's parser (``etl.fields``), checks text fields column-wise (length, web address,
garbled encoding, personal data), then applies the rules that span fields: a stated date
precision lowers the date's, a port's name and code must agree, and so must a state and
its port.
"""

from __future__ import annotations

import functools
import html
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import dates, personal, places
from etl.columns import ColumnMap, map_columns
from etl.fields import ACROSS, ARROW_TYPES, COLUMN_CHECKED, MEXICAN, PARSERS, Context
from etl.ports import PortMatch, place_unknown
from etl.problems import Invalid, render
from etl.read import Table
from garita import fields
from garita.fields import Field
from garita.reference import STATES

URL_PATTERN = r"^https?://[^\s<>\"]+$"
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
# What ``personal.find`` needs to find anything, in the text as it reads it (NFKC, its
# invisible characters dropped): 8 digits (an A-number has 8 or 9, a phone number 10) or
# an e-mail address's '@', '[at]' or 'arroba'.
_EIGHT_DIGITS = r"(?:\p{N}[^\p{N}]*){8}"
_E_MAIL_SIGN = r"(?i)@|arroba|[\[(][^a-z]*at[^a-z]*[\])]"


@dataclass
class Problem:
    """One reason a row cannot be loaded (``row`` counts the header as row 1, as Excel does).

    ``code`` and ``params`` say what is wrong (see ``etl.problems``); ``message`` is the
    English text rendered from them.
    """

    row: int
    column: str
    value: str
    code: str
    params: dict = field(default_factory=dict)
    suggestion: str | None = None

    @property
    def message(self) -> str:
        return render(self.code, self.params)

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value,
                "code": self.code, "params": self.params, "message": self.message,
                "suggestion": self.suggestion}


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

    def notes(self) -> list[dict]:
        """How the file was read, beyond its encoding and delimiter: the tool that wrote it,
        rows skipped above the header and the tag row under it (code, params, message)."""
        table, tool = self.table, self.columns.tool
        said: list[tuple[str, dict]] = []
        if tool:
            said.append(("file.tool", {"tool": tool.name, "own": self.columns.own[:6]}))
        if table.above:
            texts = [" ".join(c.strip() for c in row if c.strip())[:80] for row in table.above]
            texts = [text for text in texts if text]
            said.append(("header.found_at_row", {"row": table.header_row,
                                                 "skipped": len(table.above), "texts": texts})
                        if texts else ("header.found_at_row_blank", {"row": table.header_row}))
        if table.tag_row is not None:
            tags = [c.strip() for c in table.tag_row if c.strip()]
            said.append(("header.tag_row", {"row": table.header_row + 1, "tags": tags[:6]})
                        if tags else ("header.empty_tag_row", {
                            "row": table.header_row + 1, "tool": tool.name if tool else ""}))
        serials = [p for problems in self.problems.values() for p in problems
                   if p.code == "date.excel_serial"]
        if serials:
            said.append(("date.excel_serials", {"column": serials[0].column,
                                                "rows": len(serials),
                                                "value": serials[0].value,
                                                "date": serials[0].params["date"]}))
        return [{"code": code, "params": params, "message": render(code, params)}
                for code, params in said]

    def raw_row(self, index: int) -> dict[str, str]:
        """The cells of a row under their original headers (the columns read only)."""
        row = self.table.row(index)
        return {self.table.header[i]: (row[i] if i < len(row) else "")
                for i in self.columns.read_columns()}


class _Mapped:
    """Per-distinct-value results spread back over the rows of a column."""

    def __init__(self, results: list, indices: pa.Array):
        self.results, self.indices = results, indices

    def array(self, type_: pa.DataType, pick=lambda r: r) -> pa.Array:
        values = pa.array([None if r is None else pick(r) for r in self.results], type_)
        return values.take(self.indices)


def _each(value, i: int):
    return value(i) if callable(value) else value


class _Validator:
    """Holds the problems found so far; rows set aside (blank, ragged) are not re-reported."""

    def __init__(self, checked: Checked, set_aside: np.ndarray, cols: dict[str, pa.Array]):
        self.checked, self.set_aside, self.cols = checked, set_aside, cols
        self.headers = checked.columns.header_for(checked.table.header)
        self.links: dict[str, pa.Array] = {}   # a link field -> every link of each cell
        self._apart = threading.local()

    def header(self, name: str) -> str:
        return self.headers[name]

    def add(self, rows, name: str, code, params=None, suggestion=None) -> None:
        """Record a problem for each row index in ``rows``; ``code``, ``params`` and
        ``suggestion`` may be functions of the row index."""
        column = self.cols.get(name)
        apart = getattr(self._apart, "found", None)
        for i in rows:
            i = int(i)
            if self.set_aside[i]:
                continue
            value = column[i].as_py() if column is not None else ""
            problem = Problem(self.checked.table.row_number(i), self.header(name), value,
                              _each(code, i), _each(params, i) or {}, _each(suggestion, i))
            if apart is None:
                self.checked.problems.setdefault(i, []).append(problem)
            else:
                apart.append((i, problem))

    def apart(self, work):
        """``(work(), the problems it found)``, run with those problems kept apart, so
        several checks can run in threads and their problems be kept in a fixed order."""
        self._apart.found = []
        try:
            return work(), self._apart.found
        finally:
            self._apart.found = None

    def keep(self, found: list) -> None:
        """Record problems kept apart by ``apart``."""
        for i, problem in found:
            self.checked.problems.setdefault(i, []).append(problem)

    def map(self, name: str, parse) -> _Mapped:
        """Run ``parse`` once per distinct value of a column; its ``Invalid`` errors become
        problems of every row holding that value."""
        column = self.cols[name]
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)     # one pass: the distinct values, and which
        results, bad = [], {}                       # of them each row holds
        for position, value in enumerate(encoded.dictionary.to_pylist()):
            try:
                results.append(parse(value))
            except Invalid as exc:
                results.append(None)
                bad[position] = exc
        if bad:
            mask = pc.is_in(encoded.indices, value_set=pa.array(list(bad), pa.int32()))
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            which = encoded.indices
            self.add(rows, name, lambda i: bad[which[i].as_py()].code,
                     lambda i: bad[which[i].as_py()].params,
                     lambda i: bad[which[i].as_py()].suggestion)
        return _Mapped(results, encoded.indices)


def _rows(mask) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def _nulls(n: int, type_=pa.string()) -> pa.Array:
    return pa.nulls(n, type_)


def _check_personal(v: _Validator, name: str, text: pa.Array) -> None:
    """Hold back rows whose ``name`` text seems to identify someone. Two cheap Arrow
    filters pick the few cells worth the exact (slow) check of ``personal.find``."""
    picked = _rows(pc.match_substring_regex(text, personal.CANDIDATE))
    if not len(picked):
        return
    seen = text.take(pa.array(picked))
    if not pc.all(pc.string_is_ascii(seen)).as_py():
        seen = pc.replace_substring_regex(pc.utf8_normalize(seen, "NFKC"),
                                          personal.INVISIBLE.pattern, "")
    worth = pc.or_(pc.match_substring_regex(seen, _EIGHT_DIGITS),
                   pc.match_substring_regex(seen, _E_MAIL_SIGN))
    for i in picked[pc.fill_null(worth, False).to_numpy(zero_copy_only=False)]:
        kind = personal.find(text[int(i)].as_py())
        if kind:
            v.add([i], name, f"text.personal.{kind}", {"field": v.header(name)})


def _check_mojibake(v: _Validator, name: str, text: pa.Array) -> None:
    """Reject text garbled by a wrong encoding ("TomÃ¡s"), suggesting the repaired text."""
    for i in _rows(pc.match_substring_regex(text, MOJIBAKE)):
        value = text[int(i)].as_py()
        try:
            repaired = value.encode("cp1252").decode("utf-8")[:200]
        except UnicodeError:
            v.add([i], name, "text.garbled_unrepairable", {"field": v.header(name)})
        else:
            v.add([i], name, "text.garbled", {"field": v.header(name), "repaired": repaired},
                  repaired)


def _links(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A link cell's first link, and all its links as a list where it holds several (NULL
    where it holds one or none). Links are separated by spaces or line breaks, or by ';' or
    ',' before the next ``http``; a cell that does not split into links is kept whole (and
    reported as not a link)."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    every = pa.nulls(n, pa.list_(pa.string()))
    several = _rows(pc.match_substring_regex(text, r"[\s;,]"))
    if not len(several):
        return text, every
    spaced = pc.replace_substring_regex(text.take(pa.array(several)),
                                        r"[;,]\s*(https?://)", r" \1")
    parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(spaced), r"\s+")
    ok = pc.match_substring_regex(pc.list_flatten(parts), URL_PATTERN, ignore_case=True)
    all_ok = np.ones(len(several), dtype=bool)
    bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
    all_ok[pc.list_parent_indices(parts).to_numpy()[bad]] = False
    split = several[all_ok]
    if not len(split):
        return text, every
    parts = parts.filter(pa.array(all_ok))
    where = np.arange(n)
    where[split] = n + np.arange(len(split))
    first = pa.concat_arrays([text, pc.list_element(parts, 0)]).take(pa.array(where))
    kept = pc.if_else(pc.greater(pc.list_value_length(parts), 1), parts.cast(every.type),
                      pa.nulls(len(parts), every.type))
    every = pa.concat_arrays([every, kept]).take(pa.array(where))
    return first, every


def _text(v: _Validator, f: Field, n: int) -> pa.Array:
    """A text field: spaces made plain, then its length, web address, encoding and
    personal data checked; blank cells are NULL."""
    if f.name not in v.cols:
        return _nulls(n)
    text = v.cols[f.name]
    ascii_only = pc.all(pc.string_is_ascii(text)).as_py()
    if not ascii_only:  # replacing is slow; most columns have nothing to replace
        for pattern, by in ((INVISIBLE, ""), (ODD_SPACE, " ")):
            if pc.any(pc.match_substring_regex(text, pattern)).as_py():
                text = pc.replace_substring_regex(text, pattern, by)
    text = pc.utf8_trim_whitespace(text)
    if f.max_length:
        too_long = _rows(pc.greater(pc.utf8_length(text), f.max_length))
        v.add(too_long, f.name, "text.too_long", lambda i: {
            "field": v.header(f.name), "length": len(text[i].as_py()), "limit": f.max_length})
    if f.parser == "url":
        text, v.links[f.name] = _links(text)
        bad_url = pc.and_(pc.not_equal(text, ""), pc.invert(
            pc.match_substring_regex(text, URL_PATTERN, ignore_case=True)))
        v.add(_rows(bad_url), f.name, "text.not_a_url", {"field": v.header(f.name)})
    if not ascii_only:
        _check_mojibake(v, f.name, text)
    if f.personal_check and not v.checked.columns.machine_made(f.name):
        _check_personal(v, f.name, text)
    return pc.if_else(pc.equal(text, ""), None, text)


def _dates(v: _Validator, parsed: dict[str, _Mapped]) -> dict[str, pa.Array]:
    """The date and its precision; a stated precision coarser than the written date
    lowers it, never the reverse."""
    date = parsed["date"].array(pa.date32(), lambda r: r[0])
    precision = parsed["date"].array(pa.string(), lambda r: r[1])
    if "date_precision" in parsed:
        wanted = parsed["date_precision"].array(pa.string())
        lower = _rows(pc.and_(pc.is_in(wanted, value_set=pa.array(["month", "year"])),
                              pc.not_equal(wanted, precision)))
        if len(lower):
            values, precisions = date.to_pylist(), precision.to_pylist()
            for i in lower:
                values[i], precisions[i] = dates.coarsen(values[i], precisions[i],
                                                         wanted[int(i)].as_py())
            date = pa.array(values, pa.date32())
            precision = pa.array(precisions, pa.string())
    return {"date": date, "date_precision": precision}


def _place(v: _Validator, parsed: dict[str, _Mapped], ctx: Context,
           n: int, placeless: bool = False) -> dict[str, pa.Array]:
    """The port (by name or code; the two must agree), the port as written, and the state
    (the port's; a stated state must agree). A blank port keeps the stated state."""
    names = ctx.ports.names
    by_name = parsed["port"].array(pa.string()) if "port" in parsed else _nulls(n)
    by_code = parsed["port_code"].array(pa.string()) if "port_code" in parsed else _nulls(n)
    if "port" in parsed and "port_code" in parsed:
        codes = by_code.to_pylist()
        v.add(_rows(pc.not_equal(by_name, by_code)), "port", "port.code_mismatch",
              lambda i: {"name_port": names[by_name[i].as_py()], "code_port": names[codes[i]],
                         "code": codes[i]},
              lambda i: names[codes[i]])
    port_code = pc.coalesce(by_code, by_name)
    located_code, located_state = _located(v, parsed, ctx, port_code, n)
    port_code = pc.coalesce(port_code, located_code)
    written = (pc.utf8_trim_whitespace(v.cols["port"]) if "port" in v.cols else None)
    code_list = sorted(names)
    port_state = pa.array([ctx.ports.states[c] for c in code_list], pa.string()).take(
        pc.index_in(port_code, value_set=pa.array(code_list, pa.string())))
    state = port_state
    if "state" in parsed:
        stated = _mexican_states(v, parsed["state"].array(pa.string()), port_code,
                                 port_state, located_state, names)
        v.add(_rows(pc.not_equal(stated, port_state)), "state", "state.port_mismatch",
              lambda i: {"port": names[port_code[i].as_py()], "port_state":
                         port_state[i].as_py(), "state": stated[i].as_py()},
              lambda i: port_state[i].as_py())
        v.add(_rows(pc.not_equal(stated, located_state)), "state", "place.state_mismatch",
              lambda i: {"column": _point_column(v), "place": located_state[i].as_py(),
                         "state": stated[i].as_py()})
        state = pc.coalesce(port_state, stated)
    state = pc.coalesce(state, located_state)
    # The README promises it: a row placed nowhere is rejected, not loaded without a place.
    nowhere = pc.and_(pc.is_null(port_code), pc.is_null(state))
    if "state" in v.cols:
        said = [u for u in pc.unique(v.cols["state"]).to_pylist() if u and place_unknown(u)]
        nowhere = pc.and_(nowhere, pc.invert(pc.is_in(v.cols["state"],
                                                      value_set=pa.array(said, pa.string()))))
    nowhere = [] if placeless else _rows(nowhere)
    place_column = next(f.name for f in fields.read() if f.place and f.name in v.cols)
    v.add([i for i in nowhere if int(i) not in v.checked.problems], place_column,
          "place.missing")
    return {"port_code": port_code, "state": state,
            "port_as_written": _nulls(n) if written is None
            else pc.if_else(pc.equal(written, ""), None, written)}


def _mexican_states(v: _Validator, stated: pa.Array, port_code: pa.Array,
                    port_state: pa.Array, located_state: pa.Array,
                    names: dict[str, str]) -> pa.Array:
    """The stated US states, with Mexican states (``Tamaulipas``) blanked: the row's state
    comes from its port. A Mexican state is a problem only when it does not border the
    port's state, or when nothing else places the row (and no port is written)."""
    mexican = _rows(pc.starts_with(stated, MEXICAN))
    if not len(mexican):
        return stated
    written = v.cols.get("port")
    for i in mexican:
        i = int(i)
        mx = stated[i].as_py()[len(MEXICAN):]
        across = ACROSS[mx]
        if port_state[i].is_valid and port_state[i].as_py() not in across:
            v.add([i], "state", "state.mexican_mismatch",
                  {"value": v.cols["state"][i].as_py().strip(),
                   "port_state": STATES[port_state[i].as_py()],
                   "port": names[port_code[i].as_py()]})
        elif (not port_state[i].is_valid and not located_state[i].is_valid
              and (written is None or not written[i].as_py().strip())):
            v.add([i], "state", "state.mexican", {
                "value": v.cols["state"][i].as_py().strip(),
                "across": [STATES[code] for code in across]})
    return pc.if_else(pc.starts_with(stated, MEXICAN), None, stated)


_FAR = ("point.far", "point.far_sign", "point.far_swapped", "point.not_on_earth",
        "point.outside")


def _point_column(v: _Validator) -> str:
    name = next(n for n in ("latitude", "longitude", "location") if n in v.cols)
    return v.header(name)


def _located(v: _Validator, parsed: dict[str, _Mapped], ctx: Context, known: pa.Array,
             n: int) -> tuple[pa.Array, pa.Array]:
    """Where coordinates (latitude and longitude, or a location cell) place each row: a
    port, or only a state (``etl.places``). With no port from the port columns, that is the
    row's place, or its problem. With one, coordinates must not name another port or state;
    a point in Mexico or a location that names nothing then adds nothing (a port with
    several crossings has one point). For a row held because its port names several ports,
    a point at one of them is the suggestion."""
    if not {"latitude", "longitude", "location"} & parsed.keys():
        return _nulls(n), _nulls(n)
    codes: list[str | None] = [None] * n
    states: list[str | None] = [None] * n
    sources: list[tuple[str, dict[int, PortMatch]]] = []
    if "latitude" in parsed or "longitude" in parsed:
        column = "latitude" if "latitude" in parsed else "longitude"
        lat = (parsed["latitude"].array(pa.float64()) if "latitude" in parsed
               else _nulls(n, pa.float64())).to_pylist()
        lon = (parsed["longitude"].array(pa.float64()) if "longitude" in parsed
               else _nulls(n, pa.float64())).to_pylist()
        for i in range(n):
            if (lat[i] is None) != (lon[i] is None):
                v.add([i], column, "point.no_longitude" if lon[i] is None
                      else "point.no_latitude")
        rows = [i for i in range(n) if lat[i] is not None and lon[i] is not None]
        pairs = sorted({(lat[i], lon[i]) for i in rows})
        placed = dict(zip(pairs, places.resolve_points([p[0] for p in pairs],
                                                       [p[1] for p in pairs])))
        sources.append((column, {i: placed[(lat[i], lon[i])] for i in rows}))
    if "location" in parsed:
        results, indices = parsed["location"].results, parsed["location"].indices.to_pylist()
        sources.append(("location", {i: results[k] for i, k in enumerate(indices)
                                     if k is not None and results[k] is not None}))
    known = known.to_pylist()
    port_header = v.header("port") if "port" in v.cols else None
    for column, matches in sources:
        for i, m in matches.items():
            if m.kind == "blank":
                continue
            port = known[i] or codes[i]
            held = [p for p in v.checked.problems.get(i, ())
                    if p.code == "port.ambiguous" and p.column == port_header]
            if port is None and held:
                if m.code in held[0].params.get("candidates", ()):
                    held[0].suggestion = ctx.ports.names[m.code]
            elif port is None:
                if m.code or m.kind == "state":
                    codes[i], states[i] = m.code, m.state
                elif m.problem:
                    v.add([i], column, m.problem, m.params, m.suggestion)
            elif (m.code and m.code != port) or (m.candidates and port not in m.candidates):
                v.add([i], column, "place.port_mismatch",
                      {"column": v.header(column), "port": ctx.ports.names[port],
                       "place": " or ".join(ctx.ports.names[c] for c in
                                            ((m.code,) if m.code else m.candidates))})
            elif m.kind == "state" and m.state != ctx.ports.states[port]:
                v.add([i], column, "place.state_mismatch",
                      {"column": v.header(column), "place": m.state,
                       "state": ctx.ports.states[port]})
            elif m.problem in _FAR:
                v.add([i], column, m.problem, m.params, m.suggestion)
    return pa.array(codes, pa.string()), pa.array(states, pa.string())


# A choice column's cell that says the choice was ticked (Kobo writes 1 and 0).
TICKED = ["1", "1.0", "true", "True", "TRUE", "yes", "Yes", "YES", "x", "X", "sí", "Sí", "si",
          "Si"]


def _unescaped(column: pa.Array) -> pa.Array:
    """Text with HTML entities decoded (Ushahidi 2.x exports ``B&amp;M``), once per
    distinct cell that has an ``&``."""
    with_entity = pc.unique(column.filter(pc.match_substring(column, "&")))
    if not len(with_entity):
        return column
    found = pc.index_in(column, value_set=with_entity)
    decoded = pa.array([html.unescape(value) for value in with_entity.to_pylist()])
    return pc.coalesce(decoded.take(found), column)


def _read_columns(table: Table, columns: ColumnMap) -> dict[str, pa.Array]:
    """Each field's cells as the file's tool means them: a list field built from its
    per-choice columns (the ticked choices, ';'-separated) where they tick any, a
    fallback column where the field's own is blank, HTML entities decoded."""
    cols = {name: table.columns[i] for name, i in columns.fields.items()}
    for name, index in columns.fallbacks.items():
        fallback = table.columns[index]
        cols[name] = fallback if name not in cols else pc.if_else(
            pc.equal(pc.utf8_trim_whitespace(cols[name]), ""), fallback, cols[name])
    for name, choices in columns.choices.items():
        ticked = pa.array([""] * table.n_rows, pa.string())
        for index, choice in choices:
            tick = pc.is_in(pc.utf8_trim_whitespace(table.columns[index]),
                            value_set=pa.array(TICKED))
            ticked = pc.if_else(tick, pc.binary_join_element_wise(ticked, choice, ";"), ticked)
        ticked = pc.utf8_ltrim(ticked, ";")
        cols[name] = ticked if name not in cols else pc.if_else(
            pc.equal(ticked, ""), cols[name], ticked)
    if columns.tool and columns.tool.escaped_html:
        cols = {name: _unescaped(column) for name, column in cols.items()}
    return cols


def _local_dates(v: _Validator, out: dict[str, pa.Array]) -> None:
    """A date written as a UTC time (``2020-03-08T03:12:00Z``) is the date at the port (or
    in the state) where the incident happened: 7 March, 19:12 at San Ysidro."""
    if "date" not in v.cols:
        return
    column = v.cols["date"]
    instants = {value: dates.utc_instant(value) for value in pc.unique(column).to_pylist()
                if value and "z" in value.lower()}
    instants = {value: instant for value, instant in instants.items() if instant}
    if not instants:
        return
    date, precision = out["date"].to_pylist(), out["date_precision"]
    for i in _rows(pc.is_in(column, value_set=pa.array(list(instants), pa.string()))):
        zone = dates.zone(out["port_code"][int(i)].as_py(), out["state"][int(i)].as_py())
        if zone and date[i] is not None and precision[int(i)].as_py() == "day":
            date[i] = instants[column[int(i)].as_py()].astimezone(ZoneInfo(zone)).date()
    out["date"] = pa.array(date, pa.date32())


def _blank_rows(table: Table, types: pa.Array) -> np.ndarray:
    """Rows whose every cell is blank. Only rows with no incident type can be: the other
    columns are checked for those alone."""
    n = table.n_rows
    blank = np.zeros(n, dtype=bool)
    candidates = _rows(pc.equal(pc.utf8_trim_whitespace(types), ""))
    if len(candidates):
        blank[candidates] = True
        picked = pa.array(candidates)
        for column in table.columns:
            empty = pc.equal(pc.utf8_trim_whitespace(column.take(picked)), "")
            blank[candidates] &= empty.to_numpy(zero_copy_only=False)
    return blank


def validate(table: Table, *, date_order: str | None = None,
             column_overrides: dict[str, str] | None = None,
             placeless: bool = False, excel_dates: bool = False) -> Checked:
    """Check every row of ``table``; raises ``FileRefused``/``DateOrderUnknown`` for the file.

    ``placeless`` lets rows with neither a port nor a state load (the shipped public-reporting
    set has four whose sources do not say where; they count everywhere but on the map).
    ``excel_dates``: staff confirmed that the date column holds Excel serial numbers."""
    columns = map_columns(table.header, column_overrides)
    n = table.n_rows
    checked = Checked(table=table, columns=columns, date_order=date_order, total=n)
    cols = _read_columns(table, columns)
    blank = _blank_rows(table, cols["incident_types"])
    ragged = np.zeros(n, dtype=bool)
    width = len(table.header)
    for i, cells in table.ragged.items():
        ragged[i] = True
        blank[i] = False
        code = "row.too_many_cells" if len(cells) > width else "row.too_few_cells"
        checked.problems[i] = [Problem(table.row_number(i), "(row)", f"{len(cells)} cells", code,
                                       {"cells": len(cells), "width": width})]
    checked.skipped = np.flatnonzero(blank).tolist()
    v = _Validator(checked, blank | ragged, cols)

    # The day/month order is decided once per file.
    if date_order is None:
        date_order = dates.decide_order(pc.unique(v.cols["date"]).to_pylist())
        checked.date_order = date_order
    ctx = Context.for_file(date_order, excel_dates)
    read = fields.read()
    # The text checks are Arrow kernels, which let go of the GIL: they run in two threads
    # while the other fields are parsed, and their problems are kept after those.
    texts = [f for f in read if f.sql and f.parser in COLUMN_CHECKED]
    with ThreadPoolExecutor(max_workers=2) as pool:
        checking = [pool.submit(v.apart, functools.partial(_text, v, f, n)) for f in texts]
        parsed = {f.name: v.map(f.name, functools.partial(PARSERS[f.parser], field=f, ctx=ctx))
                  for f in read if f.parser not in COLUMN_CHECKED and f.name in v.cols}
        out = {**_dates(v, parsed), **_place(v, parsed, ctx, n, placeless)}
        _local_dates(v, out)
        for f, done in zip(texts, checking):
            out[f.name], found = done.result()
            v.keep(found)
    for f in read:
        if f.name in out or not f.sql:
            continue
        if f.name in parsed:
            out[f.name] = parsed[f.name].array(ARROW_TYPES[f.sql])
        else:
            out[f.name] = pa.array([f.default] * n, ARROW_TYPES[f.sql]) \
                if f.default is not None else _nulls(n, ARROW_TYPES[f.sql])

    out["source_urls"] = v.links.get("source_url", _nulls(n, ARROW_TYPES["VARCHAR[]"]))
    keep = ~(blank | ragged)
    if checked.problems:
        keep[np.fromiter(checked.problems, dtype=np.int64)] = False
    checked.good_rows = np.flatnonzero(keep)
    if len(checked.good_rows) == n:   # every row is good: nothing to filter out
        checked.records = {f.name: out[f.name] for f in fields.stored()}
        return checked
    mask = pa.array(keep)
    checked.records = {f.name: out[f.name].filter(mask) for f in fields.stored()}
    return checked
