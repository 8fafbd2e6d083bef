"""The official BTS layout loads as it comes; holes stay holes; a newer export replaces."""

import datetime as dt
import json

from click.testing import CliRunner

from etl.cli import main as etl_main
from etl.crossings import parse_month, read_bts
from tests.conftest import DATA, read

FIXTURE = (DATA / "bts_fixture.csv").read_bytes()  # made-up values in the BTS layout


def test_bts_dates_in_both_export_styles():
    assert parse_month("Apr 2024") == dt.date(2024, 4, 1)
    assert parse_month("03/01/2019 12:00:00 AM") == dt.date(2019, 3, 1)


def test_layout_parses_keeps_mexico_rows_drops_duplicates_and_reports_bad_values():
    frame, report = read_bts(FIXTURE)
    assert report.rows == 11 and report.other_border == 1 and report.duplicate == 1
    assert len(report.rejected) == 1 and "not known" in report.rejected[0]
    assert report.kept == 8
    assert set(frame["port_code"]) == {"2504", "2305"}  # text codes, spaces trimmed
    hidalgo_jan = frame[(frame.port_code == "2305") & (frame.month == dt.date(2024, 1, 1))]
    assert hidalgo_jan["value"].tolist() == [2000]


def test_holes_stay_missing_and_a_reload_replaces_not_doubles(built_db, tmp_path):
    runner = CliRunner()
    path = tmp_path / "bts.csv"
    path.write_bytes(FIXTURE)
    for _ in range(2):
        result = runner.invoke(etl_main, ["crossings", str(path), "--json", "--db",
                                          str(built_db)])
        assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kept"] == 8
    assert read(built_db, "SELECT count(*), sum(value) FROM crossings") == [(8, 7010)]
    # San Ysidro has no pedestrians for Jan 2024 in the file: no row, not a zero.
    assert read(built_db, "SELECT count(*) FROM crossings WHERE port_code = '2504' AND "
                          "measure = 'Pedestrians' AND month = DATE '2024-01-01'") == [(0,)]
    newer = FIXTURE.decode().replace("Feb 2024,Pedestrians,400", "Feb 2024,Pedestrians,450")
    only_feb = "\n".join(line for line in newer.splitlines()
                         if "Jan 2024" not in line) + "\n"
    path.write_text(only_feb)
    runner.invoke(etl_main, ["crossings", str(path), "--db", str(built_db)])
    assert read(built_db, "SELECT value FROM crossings WHERE port_code = '2504' AND "
                          "measure = 'Pedestrians'") == [(450,)]
    assert read(built_db, "SELECT count(*) FROM crossings WHERE month = DATE '2024-01-01'"
                ) == [(3,)]  # January untouched


def test_a_file_that_is_not_the_bts_export_is_refused(built_db, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("date,port\n2024-01,Hidalgo\n")
    result = CliRunner().invoke(etl_main, ["crossings", str(path), "--db", str(built_db)])
    assert result.exit_code == 1 and "Border Crossing Entry Data" in result.output
