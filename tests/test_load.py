"""Loading batches: every row accounted for, nothing counted twice, all or nothing."""

import json

import pytest

from etl import load as loader
from garita import db
from tests.conftest import DATA, load_text, read

HEADER = "date,port,people,incident_types,summary,source_url\n"


def test_default_data_set_loads_all_57_rows_7_without_a_port(built_db):
    assert read(built_db, "SELECT count(*), count(*) FILTER (port_code IS NULL) "
                          "FROM incidents") == [(57, 7)]
    assert read(built_db, "SELECT count(*) FROM incidents_mapped WHERE latitude IS NOT NULL"
                ) == [(50,)]
    (batch,) = read(built_db, "SELECT rows_total, rows_loaded, status FROM batches")
    assert batch == (57, 57, "active")


def test_init_twice_changes_nothing(built_db):
    version = read(built_db, "SELECT value FROM meta WHERE key = 'data_version'")
    assert "nothing changed" in loader.init(built_db)
    assert read(built_db, "SELECT value FROM meta WHERE key = 'data_version'") == version
    assert read(built_db, "SELECT count(*) FROM batches") == [(1,)]


def test_default_rows_keep_their_ids_citations_and_precision(built_db):
    row = read(built_db, "SELECT date, date_precision, port_code, port_as_written, "
                         "incident_types, source_url FROM incidents "
                         "WHERE incident_id = 'CBP-INC-008'")[0]
    assert str(row[0]) == "2017-02-01" and row[1] == "month"
    assert row[2] == "2604" and row[3] == "Nogales - DeConcini"
    assert row[4] == ["turned_away", "coerced_to_withdraw", "denied_credible_fear_referral"]
    assert row[5].startswith("https://www.usatoday.com/")


@pytest.mark.parametrize("name, expected_ports", [
    ("es_cp1252_semicolon.csv", ["2506", "2402", "2504", None]),
    ("en_utf8_bom.csv", ["2604", "2305", "2301"]),
    ("utf16_tab.csv", ["2402", "2304"]),
])
def test_staff_spreadsheets_load_every_row(built_db, name, expected_ports):
    report = loader.load_bytes((DATA / name).read_bytes(), name, db_path=built_db)
    assert report.status == "loaded", report.message
    assert report.loaded == len(expected_ports) and report.rejected == 0
    got = read(built_db, "SELECT port_code FROM incidents WHERE batch_id = ? "
                         "ORDER BY source_row", [report.batch_id])
    assert [p for (p,) in got] == expected_ports


def test_spanish_file_keeps_dates_precision_and_accents(built_db):
    report = loader.load_bytes((DATA / "es_cp1252_semicolon.csv").read_bytes(), "es.csv",
                               db_path=built_db)
    rows = read(built_db, "SELECT CAST(date AS VARCHAR), date_precision, state, children, "
                          "incident_types, summary FROM incidents WHERE batch_id = ? "
                          "ORDER BY source_row", [report.batch_id])
    assert rows[0][:4] == ("2017-03-14", "day", "CA", "yes")
    assert rows[0][4] == ["turned_away"]
    assert "“no hay asilo”" in rows[0][5]
    assert rows[1][:2] == ("2018-04-25", "day")
    assert rows[2][:2] == ("2018-03-01", "month")
    assert rows[2][4] == ["turned_away", "told_no_asylum"]
    assert rows[3][:3] == ("2019-01-01", "year", "TX")


def test_unknown_columns_are_dropped_never_stored(built_db):
    report = loader.load_bytes((DATA / "en_utf8_bom.csv").read_bytes(), "en.csv",
                               db_path=built_db)
    assert report.unknown_columns == ["Reporter email"]
    dump = read(built_db, "SELECT * FROM incidents WHERE batch_id = ?", [report.batch_id])
    assert "staff@example.org" not in repr(dump)


def test_each_kind_of_bad_row_is_rejected_with_its_reason(built_db):
    report = loader.load_bytes((DATA / "bad_rows.csv").read_bytes(), "bad.csv",
                               db_path=built_db)
    by_row = {}
    for problem in report.problems:
        by_row.setdefault(problem.row, []).append(problem)
    assert (report.total, report.loaded, report.skipped, report.rejected) == (12, 1, 1, 10)
    assert by_row[2][0].suggestion == "San Ysidro"
    assert "not a date that exists" in by_row[3][0].message
    assert "future" in by_row[4][0].message
    assert "whole number" in by_row[5][0].message and "whole number" in by_row[6][0].message
    assert "Allowed: turned_away" in by_row[7][0].message
    assert "No incident type" in by_row[8][0].message
    assert "http" in by_row[9][0].message
    assert "8 cells but the header has 7" in by_row[10][0].message
    assert 11 not in by_row  # blank row: skipped, not rejected
    assert "Hidalgo is in TX" in by_row[12][0].message
    stored = read(built_db, "SELECT source_row, raw, problems FROM rejected_rows "
                            "WHERE batch_id = ? ORDER BY source_row", [report.batch_id])
    assert [r[0] for r in stored] == sorted(by_row)
    assert json.loads(stored[0][1])["port"] == "San Ysdro"
    assert "did you mean San Ysidro" in stored[0][2]


def test_same_file_twice_loads_nothing_and_names_the_batch(built_db):
    data = (DATA / "en_utf8_bom.csv").read_bytes()
    first = loader.load_bytes(data, "en.csv", db_path=built_db)
    second = loader.load_bytes(data, "en-again.csv", db_path=built_db)
    assert second.status == "already_loaded" and second.batch_id == first.batch_id
    assert str(first.batch_id) in second.message
    assert read(built_db, "SELECT count(*) FROM incidents") == [(60,)]


def test_rows_respaced_recased_and_reordered_are_duplicates(built_db):
    first = load_text(built_db, HEADER + "2018-06-12,Hidalgo,2,turned_away;threatened,"
                      "A family was turned away,https://example.org/x\n")
    assert first.loaded == 1
    again = load_text(built_db, "Summary,URL,Incident Type,People,Port,Date\n"
                      "\"  a FAMILY   was turned away \",https://EXAMPLE.org/x ,"
                      "threatened; turned_away,2,Hidalgo POE,2018-06-12\n"
                      "New row,,other,1,Tecate,2018-07\n", name="superset.csv")
    assert (again.loaded, again.duplicate) == (1, 1)
    assert again.duplicate_of_batches == [first.batch_id]


def test_identical_rows_within_one_file_load_once(built_db):
    row = "2018-06-12,Hidalgo,2,turned_away,Same row,\n"
    report = load_text(built_db, HEADER + row + row)
    assert (report.loaded, report.duplicate) == (1, 1)


def test_strict_loads_nothing_when_any_row_is_rejected(built_db):
    report = loader.load_bytes((DATA / "bad_rows.csv").read_bytes(), "bad.csv",
                               db_path=built_db, strict=True)
    assert report.status == "rejected" and report.batch_id is None
    assert read(built_db, "SELECT count(*) FROM batches") == [(1,)]


def test_dry_run_reports_the_same_counts_and_saves_nothing(built_db):
    data = (DATA / "bad_rows.csv").read_bytes()
    dry = loader.load_bytes(data, "bad.csv", db_path=built_db, dry_run=True)
    assert dry.status == "dry_run"
    assert read(built_db, "SELECT count(*) FROM batches") == [(1,)]
    real = loader.load_bytes(data, "bad.csv", db_path=built_db)
    assert (dry.total, dry.loaded, dry.duplicate, dry.skipped, dry.rejected) == \
        (real.total, real.loaded, real.duplicate, real.skipped, real.rejected)


def test_ambiguous_dates_are_refused_unless_the_order_is_given(built_db):
    data = (DATA / "ambiguous_dates.csv").read_bytes()
    refused = loader.load_bytes(data, "amb.csv", db_path=built_db)
    assert refused.status == "rejected" and "--date-order" in refused.message
    loaded = loader.load_bytes(data, "amb.csv", db_path=built_db, date_order="dmy")
    assert loaded.loaded == 2
    assert read(built_db, "SELECT CAST(min(date) AS VARCHAR) FROM incidents WHERE batch_id = ?",
                [loaded.batch_id]) == [("2017-04-03",)]


def test_refused_file_changes_nothing(built_db):
    before = read(built_db, "SELECT value FROM meta")
    report = loader.load_bytes(b"PK\x03\x04junk", "book.csv", db_path=built_db)
    assert report.status == "rejected" and "Excel" in report.message
    assert read(built_db, "SELECT value FROM meta") == before


def test_rollback_removes_rows_from_views_and_keeps_the_ledger(built_db):
    report = loader.load_bytes((DATA / "en_utf8_bom.csv").read_bytes(), "en.csv",
                               db_path=built_db)
    loader.rollback(report.batch_id, db_path=built_db)
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]
    assert read(built_db, "SELECT status FROM batches WHERE batch_id = ?",
                [report.batch_id]) == [("rolled_back",)]
    again = loader.load_bytes((DATA / "en_utf8_bom.csv").read_bytes(), "en.csv",
                              db_path=built_db)
    assert again.status == "loaded" and again.loaded == 3


def test_rollback_reinstates_rows_other_batches_held_as_duplicates(built_db):
    first = load_text(built_db, HEADER + "2018-06-12,Hidalgo,2,turned_away,Shared row,\n")
    second = load_text(built_db, HEADER + "2018-06-12,Hidalgo,2,turned_away,Shared row,\n"
                       "2018-06-13,Hidalgo,1,threatened,Only in second,\n", name="b2.csv")
    assert (second.loaded, second.duplicate) == (1, 1)
    loader.rollback(first.batch_id, db_path=built_db)
    assert read(built_db, "SELECT count(*) FROM incidents WHERE summary = 'Shared row'") == [(1,)]
    assert read(built_db, "SELECT rows_loaded, rows_duplicate FROM batches WHERE batch_id = ?",
                [second.batch_id]) == [(2, 0)]


def test_rollback_of_unknown_or_rolled_back_batch_is_a_clear_error(built_db):
    with pytest.raises(LookupError, match="no batch 99"):
        loader.rollback(99, db_path=built_db)
    loader.rollback(1, db_path=built_db)
    with pytest.raises(LookupError, match="already rolled back"):
        loader.rollback(1, db_path=built_db)


def test_an_incident_id_reused_by_its_source_for_different_content_is_rejected(built_db):
    (source,) = read(built_db, "SELECT source FROM incidents WHERE incident_id = 'CBP-INC-001'")[0]
    report = load_text(built_db, "incident_id," + HEADER +
                       "CBP-INC-001,2018-06-12,Hidalgo,2,turned_away,Not the original,\n",
                       source=source)
    assert report.rejected == 1 and report.problems[0].code == "incident_id.taken"
    assert "roll back batch 1" in report.problems[0].message


def test_readers_see_the_published_copy_while_a_writer_holds_the_lock(built_db):
    reader = db.connect_reader(db.published_file(built_db))
    with db.writer_lock(built_db):
        assert reader.execute("SELECT count(*) FROM incidents").fetchone() == (57,)
    reader.close()


def test_a_second_writer_gets_a_clear_message_when_the_first_does_not_finish(built_db):
    with db.writer_lock(built_db):
        with pytest.raises(db.DatabaseBusy, match="Another load is still writing"):
            load_text(built_db, HEADER + "2018-06-12,Hidalgo,2,turned_away,x,\n",
                      wait_seconds=0.2)
