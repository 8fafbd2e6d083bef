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


def test_a_rate_is_given_only_where_traffic_is_complete(built_db, tmp_path):
    from garita import db, queries
    from garita.filters import Filters

    path = tmp_path / "bts.csv"
    path.write_bytes(FIXTURE)
    CliRunner().invoke(etl_main, ["crossings", str(path), "--db", str(built_db)])
    con = db.connect_reader(db.published_file(built_db))
    traffic = queries.traffic_by_port(con, Filters.from_strings(start="2024-01", end="2024-02"))
    by_code = traffic.set_index("port_code")
    # Hidalgo reports only pedestrians, both months: complete. San Ysidro reports three
    # measures but lacks January pedestrians: incomplete, so no rate.
    assert bool(by_code.loc["2305", "traffic_complete"]) is True
    assert by_code.loc["2305", "travelers"] == 4100
    assert bool(by_code.loc["2504", "traffic_complete"]) is False
    monthly = queries.traffic_monthly(con, Filters.from_strings(start="2024-01", end="2024-02",
                                                                ports=["2504"]))
    assert [str(m)[:7] for m in monthly["month"]] == ["2024-02"]  # January is a gap
    con.close()


def test_traffic_switch_says_how_to_load_then_shows_rates(built_db, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import ROOT

    monkeypatch.setenv("GARITA_START_PAGE", "by_port")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert any("python -m etl crossings" in c.value for c in at.caption)
    path = tmp_path / "bts.csv"
    path.write_bytes(FIXTURE)
    CliRunner().invoke(etl_main, ["crossings", str(path), "--db", str(built_db)])
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["traffic"] = "true"
    at.run()
    assert not at.exception
    assert any("compares documentation, not risk" in c.value for c in at.caption)
    table = next(
        d.value for d in at.dataframe if "rate" in d.value.columns)
    assert set(table["rate"]) == {"traffic incomplete"}  # the fixture's months are not 2017–2023
