"""Extract: bytes of an uploaded file to a header and rows of text cells.

Refuses, with a message a staff member can act on, anything that is not a delimited text
file: empty files, header-only files, spreadsheets and archives renamed ``.csv``, binary
content, broken quoting and runaway cells.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.problems import LoaderError

MAX_CELL_CHARS = 20_000
MAX_COLUMNS = 200
# What one load reads at most: the app takes 20 MB uploads; the CLI loads millions of rows.
MAX_FILE_BYTES = 1 << 30
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

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

csv.field_size_limit(MAX_CELL_CHARS)


class FileRefused(LoaderError):
    """The whole file cannot be read as a table; nothing was loaded. Carries a ``code`` and
    ``params`` (see ``etl.problems``); ``str()`` is the English message."""


@dataclass
class Table:
    """A decoded file: how it was read, its header and its cells, column by column.

    ``columns[j][i]`` is the text of row ``i``, column ``j``. Rows whose cell count differs
    from the header's are in ``ragged`` (their cells as read) and blank in ``columns``.
    """

    encoding: str
    delimiter: str
    header: list[str]
    columns: list[pa.Array]
    n_rows: int
    ragged: dict[int, list[str]]

    def to_csv(self, edits: dict[int, list[str]] | None = None) -> bytes:
        """The file again as UTF-8 CSV, with ``edits`` (row index -> cells) applied."""
        edits = edits or {}
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerow(self.header)
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
    try:
        parsed = pacsv.read_csv(
            pa.BufferReader(utf8),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                              ignore_empty_lines=False,
                                              invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    if invalid or parsed.num_columns != width:
        return None
    if parsed.num_rows == 0:
        return None
    header = _check_header([col[0].as_py() for col in parsed.columns])
    body = parsed.slice(1)
    # A trailing empty line is the end of the file, not a row.
    while body.num_rows and width == 1 and body.column(0)[body.num_rows - 1].as_py() == "":
        body = body.slice(0, body.num_rows - 1)
    columns = list(body.columns)
    if any((pc.max(pc.utf8_length(col)).as_py() or 0) > MAX_CELL_CHARS for col in columns):
        return None
    return Table("", delimiter, header, columns, body.num_rows, {})


def _slow_parse(text: str, delimiter: str) -> Table:
    """Python's csv reader: exact row numbers and messages for files Arrow will not take."""
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
            raise FileRefused("file.unclosed_quote", row=len(rows) + 2, line=started) from None
        if "field larger" in reason:
            raise FileRefused("file.cell_too_long", line=reader.line_num,
                              limit=MAX_CELL_CHARS) from None
        raise FileRefused("file.unreadable_line", line=reader.line_num, reason=reason) from None
    while rows and not rows[-1]:
        rows.pop()  # the newline at the end of the file is not a row
    width = len(header)
    ragged = {i: row for i, row in enumerate(rows) if len(row) != width and any(
        cell.strip() for cell in row)}
    columns = [pa.array([row[j] if len(row) == width else "" for row in rows], pa.string())
               for j in range(width)]
    return Table("", delimiter, header, columns, len(rows), ragged)


def read_table(data: bytes) -> Table:
    """Decode and parse a CSV file into a header and columns, or raise ``FileRefused``."""
    _refuse_signatures(data)
    table = None
    # An odd number of double quotes means a quote never closes (or a literal quote sits in
    # an unquoted cell): only the slow reader reads those exactly and names the row.
    if (not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" not in data
            and data.count(b'"') % 2 == 0):
        _refuse_controls(data)
        bom = data.startswith(b"\xef\xbb\xbf")
        body = pa.py_buffer(data)[3:] if bom else pa.py_buffer(data)
        head = data[3 if bom else 0:65536].decode("utf-8", "ignore")
        table = _fast_parse(body, sniff_delimiter(head), head)
        if table is not None:
            table.encoding = "UTF-8 with BOM" if bom else "UTF-8"
    if table is None:
        text, encoding = decode(data)
        delimiter = sniff_delimiter(text)
        table = (_fast_parse(text.encode("utf-8"), delimiter, text[:65536])
                 if encoding != "UTF-8" and text.count('"') % 2 == 0 else None)
        if table is None:
            table = _slow_parse(text, delimiter)
        table.encoding = encoding
    if not table.n_rows:
        raise _no_rows()
    _refuse_swallowed_rows(table)
    return table


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
                raise FileRefused("file.swallowed_rows", row=int(i) + 2, column=table.header[j],
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
