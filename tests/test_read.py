"""Bytes to text: the encodings spreadsheets write, and clear refusals for everything else."""

import gzip
import io
import zipfile

import pytest

from etl.read import FileRefused, read_table
from tests.conftest import DATA

HEADER = "date,port,incident_types,summary\n"
ROW = "2018-06-12,Hidalgo,turned_away,Familia de Tomás rechazada\n"


@pytest.mark.parametrize("encoded, encoding", [
    ((HEADER + ROW).encode("utf-8"), "UTF-8"),
    (b"\xef\xbb\xbf" + (HEADER + ROW).encode("utf-8"), "UTF-8 with BOM"),
    ((HEADER + ROW).encode("utf-16"), "UTF-16"),
    ((HEADER + ROW).encode("cp1252"), "Windows-1252"),
])
def test_each_spreadsheet_encoding_reads_the_same_cells(encoded, encoding):
    table = read_table(encoded)
    assert table.encoding == encoding
    assert table.header == ["date", "port", "incident_types", "summary"]
    assert table.n_rows == 1
    assert table.row(0) == ["2018-06-12", "Hidalgo", "turned_away", "Familia de Tomás rechazada"]


def test_windows_1252_smart_quotes_are_read_as_text():
    data = (HEADER + "2018-06,Hidalgo,threatened,“no hay asilo” — dijo\n").encode("cp1252")
    assert read_table(data).row(0)[3] == "“no hay asilo” — dijo"


@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"),
                                              ("\t", "tab")])
def test_delimiter_is_detected_from_the_header(delimiter, name):
    text = (HEADER + ROW).replace(",", delimiter)
    table = read_table(text.encode())
    assert table.delimiter_name == name
    assert len(table.row(0)) == 4


def _zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (HEADER.encode(), "header but no rows"),
    (_zip_bytes(), "Excel workbook"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    (gzip.compress((HEADER + ROW).encode()), "gzip"),
    (b"date,port\x00,x\n1,2,3\n", "NUL"),
    (b"date,port\x07\n1,2\n", "control characters"),
    (b'date,port,incident_types\n2018,"Hidalgo,turned_away\n', "never closed"),
    (("date," + ",".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode(), "columns"),
    (("date,summary\n2018,\"" + "x" * 5_000_000 + "\"\n").encode(), "longer than"),
])
def test_files_that_are_not_a_csv_table_are_refused_with_a_reason(data, words):
    with pytest.raises(FileRefused, match=words):
        read_table(data)


def test_fixture_files_read_with_their_encodings():
    assert read_table((DATA / "es_cp1252_semicolon.csv").read_bytes()).encoding == "Windows-1252"
    assert read_table((DATA / "utf16_tab.csv").read_bytes()).delimiter_name == "tab"
    assert read_table((DATA / "en_utf8_bom.csv").read_bytes()).header[0] == "Date"


def test_ragged_rows_are_kept_as_read_with_their_row_index():
    data = (HEADER + ROW + "2018-06,Laredo,threatened,too,many\n" + ROW).encode()
    table = read_table(data)
    assert table.n_rows == 3
    assert table.ragged == {1: ["2018-06", "Laredo", "threatened", "too", "many"]}
    assert table.row(2)[1] == "Hidalgo"


def test_a_quoted_cell_may_span_lines_and_is_still_one_row():
    data = (HEADER + '2018-06,Laredo,threatened,"first line\nsecond line"\n' + ROW).encode()
    table = read_table(data)
    assert table.n_rows == 2 and table.row(0)[3] == "first line\nsecond line"


def test_a_line_break_in_a_cell_at_the_edge_of_a_read_block_is_read_whole():
    """Arrow reads in 4 MB blocks split at line breaks: a quoted line break that is the last
    one of a block must not cut its row in two."""
    header, row = b"date,port,incident type,summary\n", b"2020-03-07,Hidalgo,other,plain\n"
    body = header + row * ((4 * 2**20 - len(header)) // len(row) - 2)
    start = b'2020-03-07,Hidalgo,other,"first'
    pad = 4 * 2**20 - 5 - len(body) - len(start)
    data = body + start + b"x" * pad + b'\nsecond line"\n' + row * 3
    table = read_table(data)
    rows = (len(body) - len(header)) // len(row)
    assert table.n_rows == rows + 4
    assert table.row(rows)[3] == "first" + "x" * pad + "\nsecond line"
    assert table.row(rows + 1) == ["2020-03-07", "Hidalgo", "other", "plain"]
