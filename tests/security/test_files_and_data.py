"""Promises about input and stored data (see SECURITY.md): hostile files change nothing,
text that looks personal is held back, formulas never run, user text is never SQL, the
app's connection cannot read files, and a backup restores."""

import csv
import io
import zipfile

import duckdb
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from etl import load as loader
from etl.cli import main as etl_main
from garita import db
from tests.conftest import load_text, read
from tests.test_app import ROOT, metric

HEADER = "date,port,incident_types,summary,notes,nationality,outcome,source,source_url\n"


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


HOSTILE = {
    "empty": b"",
    "header only": HEADER.encode(),
    "unbalanced quotes": (HEADER + '2018,Hidalgo,turned_away,"never closed\n').encode(),
    "NUL bytes": HEADER.encode() + b"2018,Hidalgo\x00,turned_away\n",
    "xlsx renamed": _xlsx(),
    "pdf renamed": b"%PDF-1.4\n1 0 obj<<>>endobj\n",
    "gzip renamed": b"\x1f\x8b\x08\x00" + b"\x00" * 20,
    "invalid in every encoding": HEADER.encode() + b"2018,Hidalgo,turned_away,\x81\x8d\x90\n",
    "10,000 columns": (",".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode(),
    "a 5 MB line": (HEADER + "2018,Hidalgo,turned_away,\"" + "x" * 5_000_000 + "\"\n").encode(),
    "only ragged rows": (HEADER + "2018,Hidalgo\n").encode(),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_get_a_message_and_change_nothing(built_db, name):
    before = read(built_db, "SELECT (SELECT value FROM meta WHERE key = 'data_version'), "
                            "(SELECT count(*) FROM incidents)")
    report = loader.load_bytes(HOSTILE[name], f"{name}.csv", db_path=built_db)
    assert report.loaded == 0
    assert report.message and "Traceback" not in report.message
    if report.batch_id is None:
        after = read(built_db, "SELECT (SELECT value FROM meta WHERE key = 'data_version'), "
                               "(SELECT count(*) FROM incidents)")
        assert after == before
    else:  # a file whose every row was rejected: the rows are kept, nothing is published
        assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]


def test_utf16_and_windows_1252_are_read_not_refused(built_db):
    text = HEADER + "2018-06,Hidalgo,turned_away,“Dijeron que no hay asilo”,,,,,\n"
    for data in (text.encode("utf-16"), text.encode("cp1252")):
        report = loader.load_bytes(data, "x.csv", db_path=built_db, dry_run=True)
        assert report.loaded == 1


@pytest.mark.parametrize("text, what", [
    ("Client A123456789 was sent back", "A-number"),
    ("Reach her at 619-555-0100", "phone number"),
    ("Contact maria@example.org", "e-mail address"),
])
def test_text_that_looks_personal_is_held_for_review_not_published(built_db, text, what):
    report = load_text(built_db, HEADER + f"2018-06,Hidalgo,turned_away,{text},,,,,\n")
    assert report.loaded == 0 and report.rejected == 1
    assert what in report.problems[0].message
    assert read(built_db, "SELECT count(*) FROM incidents WHERE summary = ?", [text]) == [(0,)]
    assert read(built_db, "SELECT count(*) FROM rejected_rows WHERE batch_id = ?",
                [report.batch_id]) == [(1,)]


def test_columns_named_like_personal_data_are_reported_and_never_stored(built_db):
    report = load_text(built_db, "date,port,type,Client name,A-number\n"
                                 "2018-06,Hidalgo,turned_away,Maria,A123456789\n")
    assert report.personal_columns == ["Client name", "A-number"]
    assert "Maria" not in repr(read(built_db, "SELECT * FROM incidents"))


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rcr",
            "＝1+1"]


def test_every_csv_export_neutralizes_formulas_and_keeps_numbers(built_db, tmp_path):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # quotes cells holding a CR
    for i, formula in enumerate(FORMULAS):
        writer.writerow([f"2018-06-{i + 1:02d}", "Hidalgo", "turned_away", formula, formula,
                         "", "", formula, ""])
    writer.writerow(["2018-07", "Hidalgo", "teleported", "=bad", "", "", "", "", ""])
    load_text(built_db, HEADER + buffer.getvalue())
    runner = CliRunner()
    out = runner.invoke(etl_main, ["export", "--from", "2018-06", "--to", "2018-06",
                                   "--db", str(built_db)]).stdout
    exported = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    ours = [r for r in exported if r["batch_id"] != "1"]
    assert len(ours) == len(FORMULAS)
    from garita.exports import FORMULA_LEADS

    numeric = {"latitude", "longitude", "people_count", "batch_id"}
    for row in ours:  # no text cell starts a formula; leading tabs and CRs were trimmed at load
        assert not any(cell.startswith(FORMULA_LEADS) for name, cell in row.items()
                       if name not in numeric), row
        assert float(row["longitude"]) < 0 and row["longitude"].startswith("-")  # still a number
    assert {r["summary"] for r in ours} >= {"'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'-2+3",
                                            "'@SUM(A1)", "'＝1+1"}
    rejected = tmp_path / "r.csv"
    runner.invoke(etl_main, ["rejected", "2", "--out", str(rejected), "--db", str(built_db)])
    cells = list(csv.reader(io.StringIO(rejected.read_text(encoding="utf-8-sig"))))[1]
    assert "'=bad" in cells


def test_the_apps_connection_cannot_read_files(built_db):
    con = db.connect_reader(db.published_file(built_db))
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "COPY incidents TO '/tmp/x.csv'",
                "ATTACH '/tmp/other.duckdb'", "INSTALL httpfs"):
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    with pytest.raises(duckdb.Error):
        con.execute("DELETE FROM incidents")  # and it is read-only


@pytest.mark.parametrize("params", [
    {"ports": ["' OR 1=1 --"]}, {"types": ["x'); DROP TABLE incidents; --"]},
    {"months": ["2018-01' OR '1'='1", "2019-01"]}, {"nat": ["Honduras' OR 1=1 --"]},
])
def test_sql_in_url_filters_is_ignored_not_run(built_db, monkeypatch, params):
    monkeypatch.setenv("GARITA_START_PAGE", "incidents")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    shown = int(metric(at, "Incidents").replace(",", ""))
    if "months" in params:  # the bad end of the range is dropped; the good one may apply
        assert shown <= 57
    elif "nat" in params:  # a linked nationality stays chosen: a literal that matches none
        assert shown == 0
        assert at.multiselect(key="nat").value == params["nat"]
    else:
        assert shown == 57  # an unknown option is dropped, never matched
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]


def test_a_backup_restores_the_database_it_was_taken_from(built_db, tmp_path):
    backup = tmp_path / "backup.duckdb"
    runner = CliRunner()
    assert runner.invoke(etl_main, ["backup", "--out", str(backup), "--db", str(built_db)]
                         ).exit_code == 0
    load_text(built_db, HEADER + "2018-06,Hidalgo,turned_away,after the backup,,,,,\n")
    assert read(built_db, "SELECT count(*) FROM incidents") == [(58,)]
    result = runner.invoke(etl_main, ["restore", str(backup), "--db", str(built_db)])
    assert result.exit_code == 0, result.output
    assert read(built_db, "SELECT count(*), count(DISTINCT batch_id) FROM incidents") == \
        [(57, 1)]
    not_a_backup = tmp_path / "x.duckdb"
    not_a_backup.write_bytes(b"nope")
    result = runner.invoke(etl_main, ["restore", str(not_a_backup), "--db", str(built_db)])
    assert result.exit_code == 1 and "not a DuckDB database" in result.output
