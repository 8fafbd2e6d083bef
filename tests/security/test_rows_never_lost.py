"""Rows are never silently lost or miscounted: the hostile tester's files, built here.

Each file is loaded the way staff load it (the library and the CLI); the promise is that
every row read is accounted for, a file that cannot be read exactly changes nothing and says
which row to fix, and the exit code says when nothing loaded.
"""

import json
import os
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from etl import load as loader
from etl.cli import main as etl_main
from tests.conftest import load_text, read
from tests.test_app import ROOT

HEADER = "date,port,incident_types,people,summary,source_url\n"


def _rows(n: int, start: int = 0) -> list[str]:
    return [f"2018-05-{(i % 28) + 1:02d},Hidalgo,turned_away,2,Test row {i} (synthetic),"
            f"https://example.org/{i}" for i in range(start, start + n)]


def _incidents(path) -> int:
    return read(path, "SELECT count(*) FROM incidents")[0][0]


def _cli(db_file, *args):
    return CliRunner().invoke(etl_main, [*args, "--db", str(db_file)], catch_exceptions=False)


@pytest.mark.parametrize("where", ["first row", "middle", "last row"])
def test_a_quote_that_never_closes_refuses_the_file_and_names_its_row(built_db, tmp_path,
                                                                      where):
    rows = _rows(50)
    position = {"first row": 0, "middle": 25, "last row": 50}[where]
    rows.insert(position, '2018-06-01,Hidalgo,turned_away,1,"opens a quote and never closes,'
                          'https://example.org/q')
    path = tmp_path / "unclosed.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    before = _incidents(built_db)
    result = _cli(built_db, "load", str(path), "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["status"] == "rejected"
    assert f"Row {position + 2}" in report["message"]
    assert "never closed" in report["message"]
    assert _incidents(built_db) == before


def test_two_unclosed_quotes_that_pair_up_across_rows_are_refused(built_db):
    rows = _rows(40)
    rows[5] = rows[5].replace("Test row 5", '"Test row 5')
    rows[30] = rows[30].replace("Test row 30", '"Test row 30')
    before = _incidents(built_db)
    report = load_text(built_db, HEADER + "\n".join(rows) + "\n")
    assert report.status == "rejected"
    assert "Row 7" in report.message and "shaped like rows" in report.message
    assert _incidents(built_db) == before


def test_a_quoted_cell_over_several_lines_still_loads(built_db):
    text = HEADER + "\n".join(_rows(3)) + ('\n2018-06-01,Hidalgo,turned_away,1,"First line.\n'
                                           'Second line, with a comma.",https://e.org/m\n')
    report = load_text(built_db, text)
    assert (report.status, report.loaded, report.total) == ("loaded", 4, 4)


def test_a_file_mixing_utf8_and_windows_1252_rows_is_refused_naming_the_rows(built_db):
    data = (HEADER + "2018-05-01,Hidalgo,turned_away,1,Tomás was refused,https://e.org/1\n"
            ).encode("utf-8") + (
        "2018-05-02,Hidalgo,turned_away,1,José was refused,https://e.org/2\n"
        "2018-05-03,Hidalgo,turned_away,1,Inés was refused,https://e.org/3\n").encode("cp1252")
    before = _incidents(built_db)
    report = loader.load_bytes(data, "mixed.csv", db_path=built_db)
    assert report.status == "rejected"
    assert "row 2 is UTF-8" in report.message and "rows 3, 4 are Windows-1252" in report.message
    assert _incidents(built_db) == before
    assert not read(built_db, "SELECT 1 FROM incidents WHERE summary LIKE '%Ã%'")


def test_text_garbled_by_an_earlier_wrong_encoding_is_never_published(built_db):
    report = load_text(built_db, HEADER + "2018-05-01,Hidalgo,turned_away,1,TomÃ¡s was refused,"
                                          "https://e.org/1\n" + _rows(1)[0] + "\n")
    assert (report.loaded, report.rejected) == (1, 1)
    problem = report.problems[0]
    assert problem.column == "summary" and problem.suggestion == "Tomás was refused"
    assert not read(built_db, "SELECT 1 FROM incidents WHERE summary LIKE '%Ã%'")


def test_a_load_where_no_row_loads_exits_1(built_db, tmp_path):
    bad = tmp_path / "all_bad.csv"
    bad.write_text(HEADER + "2018-05-01,San Ysdro,turned_away,1,x,https://e.org/1\n"
                   "not a date,Hidalgo,turned_away,1,y,https://e.org/2\n", encoding="utf-8")
    result = _cli(built_db, "load", str(bad))
    assert result.exit_code == 1
    dry = _cli(built_db, "load", str(bad), "--dry-run")
    assert dry.exit_code == 1
    good = tmp_path / "good.csv"
    good.write_text(HEADER + _rows(1)[0] + "\n", encoding="utf-8")
    assert _cli(built_db, "load", str(good)).exit_code == 0
    assert _cli(built_db, "load", str(good)).exit_code == 1  # already loaded: nothing loads


def test_a_header_followed_only_by_blank_lines_is_refused_not_already_loaded(built_db,
                                                                               tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(HEADER + ",,,,,\n\n,,,,,\n", encoding="utf-8")
    result = _cli(built_db, "load", str(path), "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["status"] == "rejected"
    assert "blank" in report["message"] and "(batch )" not in report["message"]


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u2009", "\u202f", "\u3000"])
def test_the_same_incident_typed_with_unicode_spaces_is_a_duplicate(built_db, space):
    row = "2018-05-01,Hidalgo,turned_away,2,Family of four turned away,https://e.org/a\n"
    assert load_text(built_db, HEADER + row, "first.csv").loaded == 1
    spaced = row.replace("Family of four", f"Family{space}of{space}four")
    spaced = spaced.replace("turned away,", f"turned{space}{space}away{space},")
    again = load_text(built_db, HEADER + spaced, "second.csv")
    assert (again.loaded, again.duplicate) == (0, 1)


@pytest.mark.parametrize("count, suggestion", [("2.000", "2000"), ("1.500", "1500"),
                                               ("12.000.000", "12000000")])
def test_a_people_count_with_a_thousands_dot_is_rejected_with_a_suggestion(built_db, count,
                                                                            suggestion):
    report = load_text(built_db, HEADER + f"2018-05-01,Hidalgo,turned_away,{count},x,"
                                          "https://e.org/1\n")
    assert report.loaded == 0
    problem = report.problems[0]
    assert problem.column == "people" and problem.suggestion == suggestion
    assert not read(built_db, "SELECT 1 FROM incidents WHERE people_count IN (1, 2, 12)"
                              " AND source_url = 'https://e.org/1'")


def test_plain_whole_counts_still_load(built_db):
    text = HEADER + "".join(f"2018-05-0{i + 1},Hidalgo,turned_away,{c},row {i},https://e.org/{i}\n"
                            for i, c in enumerate(["2", "2.0", "\"1,200\"", "0"]))
    report = load_text(built_db, text)
    assert report.loaded == 4
    assert sorted(r[0] for r in read(built_db, "SELECT people_count FROM incidents WHERE "
                                               "source_url LIKE 'https://e.org/%'")) == [0, 2, 2, 1200]


def test_dev_zero_is_refused_without_reading_it(built_db):
    result = _cli(built_db, "load", "/dev/zero")
    assert result.exit_code == 1
    assert "not a regular file" in result.output
    assert "Traceback" not in result.output


def test_a_fifo_with_no_writer_is_refused_without_hanging(built_db, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "etl", "load", str(fifo), "--db", str(built_db)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "not a regular file" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_file_over_the_read_cap_is_refused(built_db, tmp_path, monkeypatch):
    from etl import read as reader

    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n".join(_rows(100)) + "\n", encoding="utf-8")
    report = loader.load_file(path, db_path=built_db)
    assert report.status == "rejected" and "larger than" in report.message


def test_a_writer_thread_and_a_refused_file_change_nothing_else(built_db):
    """A refused file in one thread while another loads: the good batch lands whole."""
    results = {}

    def good():
        results["good"] = load_text(built_db, HEADER + "\n".join(_rows(30, 1000)) + "\n", "g.csv")

    def bad():
        results["bad"] = load_text(built_db, HEADER + '2018-06-01,Hidalgo,turned_away,1,"open\n'
                                   + "\n".join(_rows(30, 2000)) + "\n", "b.csv")
    threads = [threading.Thread(target=good), threading.Thread(target=bad)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["good"].loaded == 30 and results["bad"].status == "rejected"
    assert read(built_db, "SELECT count(*) FROM incidents WHERE summary LIKE 'Test row 2%' "
                          "AND source_url LIKE 'https://example.org/20%'") == [(0,)]
