"""Extract: bytes of an uploaded file to a header and rows of text cells.

Refuses, with a message a staff member can act on, anything that is not a delimited text
file: empty files, header-only files, spreadsheets and archives renamed ``.csv``, binary
content, broken quoting and runaway cells.

The header is the first row that names two or more fields (``etl.columns``), among the first
20 non-blank rows: a title and blank rows above it (a Google Sheets or Excel report) are
skipped and said. A row of HXL tags under it (``#case+id``, written by KoboToolbox), or the
empty one Ushahidi writes, is not data either. Row numbers stay the spreadsheet's.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl import columns as headers
from etl.problems import FileRefused  # noqa: F401  (callers import it from here)

MAX_CELL_CHARS = 20_000
MAX_COLUMNS = 200
# What one load reads at most: the app takes 20 MB uploads; the CLI loads millions of rows.
MAX_FILE_BYTES = 1 << 30
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
HEADER_SEARCH_ROWS = 20
# An HXL hashtag with its attributes: ``#affected``, ``#case +id``.
_HXL = re.compile(r"^#[a-z][a-z0-9_]*(?:\s*\+\s*[a-z][a-z0-9_]*)*$", re.I)

# File signatures that are not text, and the problem code each is refused with.
_SIGNATURES = [
    (b"PK\x03\x04", "file.xlsx"),
    (b"PK\x05\x06", "file.zip_empty"),
    (b"\xd0\xcf\x11\xe0", "file.xls"),
    (b"%PDF", "file.pdf"),
    (b"\x1f\x8b", "file.gzip"),
    (b"{\\rtf", "file.rtf"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_CONTROL = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\t\n\r"
_NOT_MARKS = bytes(b for b in _NOT_CONTROL if b not in b'"\n')  # all but controls, '"', LF

csv.field_size_limit(MAX_CELL_CHARS)


@dataclass
class Table:
    """A decoded file: how it was read, its header and its cells, column by column.

    ``columns[j][i]`` is the text of row ``i``, column ``j``. Rows whose cell count differs
    from the header's are in ``ragged`` (their cells as read) and blank in ``columns``.
    ``header_row`` is the header's row in the spreadsheet; ``above`` the rows skipped above
    it, ``tag_row`` the tag row skipped under it. Row ``i`` is the spreadsheet's row
    ``row_number(i)``.
    """

    encoding: str
    delimiter: str
    header: list[str]
    columns: list[pa.Array]
    n_rows: int
    ragged: dict[int, list[str]]
    header_row: int = 1
    above: list[list[str]] = field(default_factory=list)
    tag_row: list[str] | None = None

    @property
    def first_row(self) -> int:
        """The spreadsheet's row number of the first data row (2 in a plain file)."""
        return self.header_row + 1 + (self.tag_row is not None)

    def row_number(self, index: int) -> int:
        """The spreadsheet's row number of data row ``index``."""
        return self.first_row + int(index)

    def index_of(self, row_number: int) -> int:
        """The data row shown as ``row_number`` in the spreadsheet."""
        return int(row_number) - self.first_row

    def to_csv(self, edits: dict[int, list[str]] | None = None) -> bytes:
        """The file again as UTF-8 CSV, with ``edits`` (row index -> cells) applied; rows
        skipped above the header and the tag row are written back where they were."""
        edits = edits or {}
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerows(self.above)
        out.writerow(self.header)
        if self.tag_row is not None:
            out.writerow(self.tag_row)
        for index in range(self.n_rows):
            out.writerow(edits[index] if index in edits else self.row(index))
        return buffer.getvalue().encode("utf-8")

    def row(self, index: int) -> list[str]:
        """The cells of one row as read."""
        if index in self.ragged:
            return self.ragged[index]
        return [col[index].as_py() for col in self.columns]

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


def _refuse_signatures(data: bytes) -> None:
    if not data or data.isspace():
        raise FileRefused("file.empty")
    for magic, code in _SIGNATURES:
        if data.startswith(magic):
            raise FileRefused(code)


def _has_controls(data: bytes) -> bool:
    """Control bytes other than tab, CR and LF (deleting every other byte is fast)."""
    return bool(data.translate(None, _NOT_CONTROL))


def _refuse_controls(text) -> None:
    found = _has_controls(text) if isinstance(text, bytes) else _CONTROL.search(text)
    if found:
        raise FileRefused("file.control_characters")


def decode(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding name)`` for UTF-8 (with or without BOM), UTF-16, Windows-1252."""
    _refuse_signatures(data)
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", "UTF-8 with BOM")]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", "UTF-16")]
    elif b"\x00" in data:
        raise FileRefused("file.nul_bytes")
    else:
        candidates = [("utf-8", "UTF-8"), ("cp1252", "Windows-1252")]
    for codec, name in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        _refuse_controls(text)
        if codec == "cp1252":
            _refuse_mixed_encodings(data)
        return text, name
    raise FileRefused("file.encoding")


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _refuse_mixed_encodings(data: bytes) -> None:
    """Refuse a file whose lines mix UTF-8 and Windows-1252 (rows pasted from two files).

    Read as Windows-1252, its UTF-8 rows would publish "TomÃ¡s" for "Tomás"; read as UTF-8,
    the others cannot be read at all. Line numbers are the spreadsheet's row numbers.
    """
    utf8_rows, cp1252_rows = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            cp1252_rows.append(number)
        else:
            if _UTF8_MULTIBYTE.search(line):
                utf8_rows.append(number)
    if utf8_rows and cp1252_rows:
        raise FileRefused("file.mixed_encodings", utf8_rows=utf8_rows,
                          cp1252_rows=cp1252_rows)


def sniff_delimiter(text: str) -> str:
    """The delimiter used most in the header line: comma, semicolon or tab."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line.rstrip("\r")], delimiter=delimiter), [])
    except csv.Error:
        return []


@dataclass
class _Layout:
    """Where the header is: its line (0-based), the delimiter, the rows above it."""

    line: int = 0
    delimiter: str = ","
    above: list[list[str]] = field(default_factory=list)


def find_header(head: str, extra=frozenset()) -> _Layout:
    """The header line of a file starting with ``head``: the first line, unless it names
    fewer than two fields and one of the next non-blank lines (up to
    ``HEADER_SEARCH_ROWS``) names two or more (header cells in ``extra`` count too). The
    delimiter is the one that splits that line into field names."""
    text = head.lstrip("\ufeff")
    first = sniff_delimiter(text)
    lines = text.split("\n")
    if headers.field_names(_cells(lines[0], first), extra) >= 2 or len(lines) < 2:
        return _Layout(0, first)
    seen = 0
    for number, line in enumerate(lines[:-1]):
        if not line.strip(" \t\r,;"):
            continue
        seen += 1
        if seen > HEADER_SEARCH_ROWS:
            break
        unquoted = re.sub(r'"[^"]*"', "", line)
        for delimiter in sorted(DELIMITERS, key=lambda d: -unquoted.count(d)):
            if number and headers.field_names(_cells(line, delimiter), extra) >= 2:
                return _Layout(number, delimiter,
                               [_cells(above, delimiter) for above in lines[:number]])
    return _Layout(0, first)


def _line_start(data, lines: int, start: int = 0) -> int:
    """Where line ``lines`` (0-based) of ``data`` starts, counting from ``start``."""
    for _ in range(lines):
        start = data.index(b"\n" if isinstance(data, bytes) else "\n", start) + 1
    return start


def _check_header(header: list[str]) -> list[str]:
    if not any(cell.strip() for cell in header):
        raise FileRefused("file.header_empty")
    if len(header) > MAX_COLUMNS:
        raise FileRefused("file.too_many_columns", columns=len(header), limit=MAX_COLUMNS)
    return [cell.strip().lstrip("\ufeff") for cell in header]


def _no_rows() -> FileRefused:
    return FileRefused("file.no_rows")


def _fast_parse(utf8, delimiter: str, head: str) -> Table | None:
    """Parse well-formed UTF-8 with Arrow's multi-threaded reader; None if it is not."""
    invalid = []

    def on_invalid(row):
        invalid.append(row)
        return "skip"
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    try:
        width = len(next(csv.reader([first_line], delimiter=delimiter), []))
    except csv.Error:  # a stray CR or quote: the slow reader says what is wrong
        return None
    if not width or width > MAX_COLUMNS:
        return None
    # Reading blocks split at any line break is twice as fast. A quoted cell that holds a
    # line break is still read whole inside a block; one cut at a block's end makes Arrow
    # fail or report a bad row, and the file is read again the slow way.
    for newlines_in_values in (False, True):
        invalid.clear()
        try:
            parsed = pacsv.read_csv(
                pa.BufferReader(utf8),
                read_options=pacsv.ReadOptions(autogenerate_column_names=True,
                                               block_size=1 << 22),
                parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                  newlines_in_values=newlines_in_values,
                                                  ignore_empty_lines=False,
                                                  invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={f"f{i}": pa.string() for i in range(width)},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
            continue
        if not invalid and parsed.num_columns == width:
            break
    else:
        return None
    if parsed.num_rows == 0:
        return None
    header = _check_header([col[0].as_py() for col in parsed.columns])
    body = parsed.slice(1)
    # A trailing empty line is the end of the file, not a row.
    while body.num_rows and width == 1 and body.column(0)[body.num_rows - 1].as_py() == "":
        body = body.slice(0, body.num_rows - 1)
    columns = list(body.columns)
    # Bytes are at least characters, and counting bytes reads only the offsets.
    if any((pc.max(pc.binary_length(col)).as_py() or 0) > MAX_CELL_CHARS
           and (pc.max(pc.utf8_length(col)).as_py() or 0) > MAX_CELL_CHARS for col in columns):
        return None
    return Table("", delimiter, header, columns, body.num_rows, {})


def _slow_parse(text: str, delimiter: str, above: int = 0) -> Table:
    """Python's csv reader: exact row numbers and messages for files Arrow will not take.
    ``above``: lines (and rows) of the file before ``text``."""
    # The limit is process-wide and other libraries raise it (frictionless does): set ours
    # again before every read, so a runaway cell is always refused.
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    started = 1
    try:
        header = next(reader, None)
        if header is None:
            raise FileRefused("file.header_empty")
        header = _check_header(header)
        while True:
            started = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            rows.append(row)
    except csv.Error as exc:
        reason = str(exc)
        if "EOF" in reason or "end of data" in reason:
            raise FileRefused("file.unclosed_quote", row=len(rows) + 2 + above,
                              line=started + above) from None
        if "field larger" in reason:
            raise FileRefused("file.cell_too_long", line=reader.line_num + above,
                              limit=MAX_CELL_CHARS) from None
        raise FileRefused("file.unreadable_line", line=reader.line_num + above,
                          reason=reason) from None
    while rows and not rows[-1]:
        rows.pop()  # the newline at the end of the file is not a row
    width = len(header)
    ragged = {i: row for i, row in enumerate(rows) if len(row) != width and any(
        cell.strip() for cell in row)}
    columns = [pa.array([row[j] if len(row) == width else "" for row in rows], pa.string())
               for j in range(width)]
    return Table("", delimiter, header, columns, len(rows), ragged)


def read_table(data: bytes, header_names=frozenset()) -> Table:
    """Decode and parse a CSV file into a header and columns, or raise ``FileRefused``.

    ``header_names``: header cells that count as field names when looking for the header
    row (those staff mapped by hand)."""
    _refuse_signatures(data)
    table = None
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    # One pass keeps the bytes that decide how to read the file: control characters, double
    # quotes and line breaks (a few MB of a file of hundreds).
    marks = b"" if utf16 else data.translate(None, _NOT_MARKS)
    quotes, breaks = marks.count(b'"'), marks.count(b"\n")
    # An odd number of double quotes means a quote never closes (or a literal quote sits in
    # an unquoted cell): only the slow reader reads those exactly and names the row.
    if not utf16 and b"\x00" not in marks and quotes % 2 == 0:
        if len(marks) > quotes + breaks:
            raise FileRefused("file.control_characters")
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        head = data[bom:65536].decode("utf-8", "ignore")
        layout = find_header(head, header_names)
        start = _line_start(data, layout.line, bom)
        table = _fast_parse(pa.py_buffer(data)[start:], layout.delimiter,
                            head[_line_start(head, layout.line):])
        if table is not None:
            table.encoding = "UTF-8 with BOM" if bom else "UTF-8"
    if table is None:
        text, encoding = decode(data)
        layout = find_header(text[:65536], header_names)
        text = text.lstrip("\ufeff")
        text = text[_line_start(text, layout.line):]
        table = (_fast_parse(text.encode("utf-8"), layout.delimiter, text[:65536])
                 if encoding != "UTF-8" and text.count('"') % 2 == 0 else None)
        if table is None:
            table = _slow_parse(text, layout.delimiter, layout.line)
        table.encoding = encoding
    table.header_row, table.above = layout.line + 1, layout.above
    _skip_tag_row(table)
    if not table.n_rows:
        raise _no_rows()
    # Only a cell can hold a line break beyond one per row read.
    if utf16 or breaks > table.header_row + (table.tag_row is not None) + table.n_rows:
        _refuse_swallowed_rows(table)
    return table


def _skip_tag_row(table: Table) -> None:
    """Drop the row under the header when it holds HXL tags (every non-blank cell a
    ``#tag``: two or more, or one in a known tool's file) or is the empty tag row a tool
    writes (``etl.columns.Tool``)."""
    if not table.n_rows:
        return
    cells = table.row(0)
    written = [cell.strip() for cell in cells if cell.strip()]
    tool = headers.detect_tool(table.header)
    if written:
        if not all(_HXL.match(cell) for cell in written) or (len(written) < 2 and not tool):
            return
    elif tool is None or not tool.empty_tag_row:
        return
    table.tag_row = cells
    table.columns = [column.slice(1) for column in table.columns]
    table.ragged = {i - 1: row for i, row in table.ragged.items() if i}
    table.n_rows -= 1


def _refuse_swallowed_rows(table: Table) -> None:
    """Refuse a cell that holds lines shaped like whole rows: two quotes that never closed
    pair up across lines and would load many rows as one cell."""
    width = len(table.header)
    if width < 2:
        return
    for j, column in enumerate(table.columns):
        for i in _indices(pc.match_substring(column, "\n")):
            lines = column[int(i)].as_py().split("\n")[1:]
            shaped = [line for line in lines if line.count(table.delimiter) >= width - 1]
            if shaped:
                raise FileRefused("file.swallowed_rows", row=table.row_number(i),
                                  column=table.header[j],
                                  lines=len(lines), shaped=len(shaped))


def _indices(mask) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def read_path(path) -> bytes:
    """The bytes of a file to load: a regular file of at most ``MAX_FILE_BYTES``.

    Devices (``/dev/zero``), pipes with no writer and directories are refused before they
    are opened, so a load never hangs or runs out of memory.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise FileRefused("file.cannot_open", reason=exc.strerror) from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("file.not_regular")
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused("file.too_large", limit_mb=MAX_FILE_BYTES >> 20)
    return data
