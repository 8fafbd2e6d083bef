"""`python -m etl`: each command works from the shell and speaks JSON where asked."""

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import main
from tests.conftest import DATA, read

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(built_db):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [*args, "--db", str(built_db)], catch_exceptions=False)
    return invoke


def test_load_json_has_the_documented_shape(cli, built_db):
    result = cli("load", str(DATA / "bad_rows.csv"), "--json", "--source", "Test clinic")
    report = json.loads(result.output)
    assert report["status"] == "loaded" and isinstance(report["batch_id"], int)
    assert report["rows"] == {"total": 12, "loaded": 1, "duplicate": 0, "skipped": 1,
                              "rejected": 10}
    assert set(report["problems"][0]) == {"row", "column", "value", "code", "params",
                                          "message", "suggestion"}
    assert report["problems"][0]["code"] == "port.unknown"
    assert read(built_db, "SELECT source FROM batches WHERE batch_id = ?",
                [report["batch_id"]]) == [("Test clinic",)]


def test_dry_run_json_status(cli):
    report = json.loads(cli("load", str(DATA / "en_utf8_bom.csv"), "--dry-run", "--json").output)
    assert report["status"] == "dry_run" and report["rows"]["loaded"] == 3


def test_refused_file_exits_1_with_a_message(cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = cli("load", str(empty))
    assert result.exit_code == 1 and "empty" in result.output


def test_batches_rejected_and_rollback(cli, tmp_path):
    loaded = json.loads(cli("load", str(DATA / "bad_rows.csv"), "--json").output)
    listing = json.loads(cli("batches", "--json").output)
    assert [b["batch_id"] for b in listing] == [loaded["batch_id"], 1]
    out = tmp_path / "fix.csv"
    cli("rejected", str(loaded["batch_id"]), "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 10 and "did you mean San Ysidro" in rows[0]["problems"]
    assert rows[0]["port"] == "San Ysdro"
    result = cli("rollback", str(loaded["batch_id"]))
    assert "rolled back" in result.output
    assert json.loads(cli("batches", "--json").output)[0]["status"] == "rolled_back"


def test_export_csv_filters_by_port_month_and_type(cli, built_db):
    result = cli("export", "--port", "2402", "--from", "2018-06", "--to", "2018-06",
                 "--type", "turned_away")
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    expected = read(built_db, """SELECT count(*) FROM incidents WHERE port_code = '2402'
        AND date >= DATE '2018-06-01' AND date_precision IN ('day', 'month')
        AND date < DATE '2018-07-01' AND list_contains(incident_types, 'turned_away')""")
    assert len(rows) == expected[0][0] > 0
    assert all(r["port_code"] == "2402" and r["date"].startswith("2018-06") for r in rows)
    assert list(rows[0]) == ["incident_id", "date", "date_precision", "port_code", "port_name",
                             "state", "latitude", "longitude", "people_count", "group_type",
                             "children", "nationality", "incident_types", "outcome",
                             "summary", "source", "source_url", "source_urls", "batch_id",
                             "sources"]


def test_export_geojson_leaves_out_incidents_without_a_port_and_says_so(cli, tmp_path):
    out = tmp_path / "all.geojson"
    result = cli("export", "--format", "geojson", "--out", str(out))
    features = json.loads(out.read_text())["features"]
    assert len(features) == 50
    assert "7 without a port left out" in result.output
    assert features[0]["geometry"]["type"] == "Point"


def test_export_bad_month_is_a_message(cli):
    result = cli("export", "--from", "2018-13")
    assert result.exit_code == 1 and "YYYY-MM" in result.output


def test_every_command_has_an_example_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert "Example:" in command.help, name
        assert re.search(rf"python -m etl {name}\b", readme), f"{name} missing from README"


def test_module_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "etl", "--help"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "load" in result.stdout


CASA_LOG = ("Fecha de rechazo,Ciudad,Personas,Comentario\n"
            "2021-03-04,Tijuana,2,Familia\n2021-03-05,Nogales,1,Hombre solo\n"
            "2021-03-06,Tijuana,3,Madre e hijos\n")


def test_load_map_set_and_replace_load_a_file_and_are_recorded_in_the_ledger(cli, built_db,
                                                                             tmp_path):
    log = tmp_path / "casa.csv"
    log.write_text(CASA_LOG)
    assert cli("load", str(log)).exit_code == 1  # no date or incident-type column
    result = cli("load", str(log), "--json", "--map", "Fecha de rechazo=date",
                 "--map", "Ciudad=puerto", "--map", "Comentario=ignore",
                 "--set", "incident type=turned away", "--set", "source=Casa X log",
                 "--replace", "port:Tijuana=San Ysidro")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"]["loaded"] == 3 and report["choices"]["replacements"] == [
        {"field": "port", "value": "Tijuana", "new": "San Ysidro", "rows": 2}]
    assert read(built_db, "SELECT port_code, incident_types, source, summary FROM incidents "
                          "WHERE batch_id = 2 ORDER BY source_row") == [
        ("2504", ["turned_away"], "Casa X log", None),
        ("2604", ["turned_away"], "Casa X log", None),
        ("2504", ["turned_away"], "Casa X log", None)]
    assert read(built_db, "SELECT mapping, batch_values, source FROM batches "
                          "WHERE batch_id = 2") == [
        ('{"Ciudad": "port", "Comentario": "", "Fecha de rechazo": "date"}',
         '{"incident_types": "turned away", "source": "Casa X log"}', "Casa X log")]
    listing = cli("batches").output
    assert "read 'Fecha de rechazo' as date" in listing
    assert "port: 'Tijuana' read as 'San Ysidro' (2 cells)" in listing
    assert json.loads(cli("batches", "--json").output)[0]["replacements"]


def test_replace_with_a_state_keeps_the_state_only(cli, built_db, tmp_path):
    log = tmp_path / "casa.csv"
    log.write_text(CASA_LOG)
    result = cli("load", str(log), "--map", "Fecha de rechazo=fecha", "--map", "Ciudad=port",
                 "--set", "tipo=turned_away", "--replace", "port:Tijuana=CA")
    assert result.exit_code == 0, result.output
    assert read(built_db, "SELECT port_code, state FROM incidents WHERE batch_id = 2 "
                          "ORDER BY source_row") == [(None, "CA"), ("2604", "AZ"), (None, "CA")]


def test_map_set_and_replace_that_name_no_field_say_which_fields_there_are(cli, tmp_path):
    log = tmp_path / "casa.csv"
    log.write_text(CASA_LOG)
    result = cli("load", str(log), "--map", "Fecha de rechazo=when")
    assert result.exit_code == 2 and "'when' is not a field" in result.output
    assert "incident_types" in result.output
    result = cli("load", str(log), "--replace", "Tijuana=San Ysidro")
    assert result.exit_code == 2 and "field:VALUE=NEW" in result.output
    result = cli("load", str(log), "--map", "Fecha de rechazo=date", "--set", "id=7",
                 "--set", "type=turned_away")
    assert result.exit_code == 1 and "same record" in result.output
