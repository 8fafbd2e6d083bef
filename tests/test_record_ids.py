"""A source's own record ids: rows with different ids from one source are different records
even when every other cell matches; the same id from the same source is the same record
(a duplicate with the same content, rejected with different content); ids of different
sources never collide. Rows without ids are compared by content, as before."""

import duckdb
import pytest

from etl import load as loader
from garita import db, fields
from tests.conftest import load_text, read

HEADER = "case number,date,port,people,incident type\n"


def cases(ids, date="2020-05-01", port="Nogales", people="1") -> str:
    return HEADER + "".join(f"{i},{date},{port},{people},turned_away\n" for i in ids)


def test_distinct_ids_from_one_source_are_never_duplicates_of_each_other(built_db):
    """A medical examiner's cases: same day, port and count, one row per case."""
    report = load_text(built_db, cases([f"ME-{n:04d}" for n in range(971)]),
                       source="County medical examiner")
    assert (report.loaded, report.duplicate, report.rejected) == (971, 0, 0)
    assert read(built_db, "SELECT count(DISTINCT incident_id) FROM incidents "
                          "WHERE batch_id = ?", [report.batch_id]) == [(971,)]


def test_the_same_id_from_the_same_source_again_is_the_same_record(built_db):
    first = load_text(built_db, cases(["ME-1", "ME-2"]), source="County medical examiner")
    again = load_text(built_db, cases(["ME-2", "ME-3"]), name="next.csv",
                      source="County  medical examiner ")  # spacing and case do not matter
    assert (again.loaded, again.duplicate, again.rejected) == (1, 1, 0)
    assert again.duplicate_of_batches == [first.batch_id]


def test_the_same_id_and_source_with_different_content_is_rejected_saying_how_to_replace(
        built_db):
    first = load_text(built_db, cases(["ME-1"]), source="County medical examiner")
    changed = load_text(built_db, cases(["ME-1"], people="4"), name="fixed.csv",
                        source="County medical examiner")
    assert (changed.loaded, changed.rejected) == (0, 1)
    problem = changed.problems[0]
    assert problem.code == "incident_id.taken" and problem.column == "case number"
    assert f"roll back batch {first.batch_id}" in problem.message
    loader.rollback(first.batch_id, db_path=built_db)
    replaced = load_text(built_db, cases(["ME-1"], people="4"), name="fixed.csv",
                         source="County medical examiner")
    assert replaced.loaded == 1
    assert read(built_db, "SELECT people_count FROM incidents WHERE incident_id = 'ME-1'"
                ) == [(4,)]


def test_ids_of_different_sources_never_collide(built_db):
    one = load_text(built_db, cases(["17"]), source="Casa del Migrante log")
    other = load_text(built_db, cases(["17"]), name="other.csv", source="Clinic intake")
    assert (one.loaded, other.loaded, other.duplicate, other.rejected) == (1, 1, 0, 0)


def test_within_one_file_a_repeated_id_is_a_duplicate_or_a_problem(built_db):
    text = cases(["A-1", "A-1"]) + "A-2,2020-05-01,Nogales,1,turned_away\n" \
        "A-2,2020-05-02,Nogales,1,turned_away\n"
    report = load_text(built_db, text, source="Clinic intake")
    assert (report.loaded, report.duplicate, report.rejected) == (2, 1, 1)
    assert [p.code for p in report.problems] == ["incident_id.repeated"]
    assert report.problems[0].row == 5


def test_rows_without_ids_are_still_compared_by_content(built_db):
    text = "date,port,people,incident type\n2020-05-01,Nogales,1,turned_away\n"
    assert load_text(built_db, text).loaded == 1
    again = load_text(built_db, text + "\n", name="again.csv")
    assert (again.loaded, again.duplicate) == (0, 1)


def test_rolling_back_a_record_reinstates_the_same_record_loaded_later(built_db):
    first = load_text(built_db, cases(["ME-1"]), source="County medical examiner")
    second = load_text(built_db, cases(["ME-1", "ME-2"]), name="b.csv",
                       source="County medical examiner")
    assert (second.loaded, second.duplicate) == (1, 1)
    loader.rollback(first.batch_id, db_path=built_db)
    assert read(built_db, "SELECT incident_id, batch_id FROM incidents WHERE incident_id "
                          "LIKE 'ME-%' ORDER BY 1") == [("ME-1", second.batch_id),
                                                        ("ME-2", second.batch_id)]


@pytest.fixture
def before_ids(built_db):
    """The database as Garita left it before this rule: no ledger columns for choices and
    fingerprints of content only."""
    step = next(i for i, m in enumerate(db.MIGRATIONS)
                if any(name == "header_signature" for _, name, _ in m.adds_columns))
    con = duckdb.connect(str(built_db))
    for later in db.MIGRATIONS[step:]:  # this step and those after it, undone
        for table, name, _ in later.adds_columns:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        for table in db.INCIDENT_TABLES if later.adds_field else ():
            con.execute(f"ALTER TABLE {table} DROP COLUMN {later.adds_field}")
    for table in db.INCIDENT_TABLES:
        con.execute(f"UPDATE {table} SET fingerprint = {fields.content_fingerprint_sql()}")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(step + 1)])
    con.close()
    return built_db


def test_an_older_database_is_brought_forward_and_keeps_its_batches(before_ids):
    before = read(before_ids, "SELECT batch_id, sha256, rows_loaded FROM batches")
    with db.writer(before_ids) as con:
        assert db.stored_schema_version(con) == db.schema_version()
    assert read(before_ids, "SELECT batch_id, sha256, rows_loaded FROM batches") == before
    assert read(before_ids, "SELECT count(*) FILTER (fingerprint = "
                            f"{fields.fingerprint_sql()}), count(*) FROM incidents"
                ) == [(57, 57)]
    assert read(before_ids, "SELECT mapping, rows_edited FROM batches") == [(None, None)]
    # The shipped rows, with their ids and sources, are still the same records.
    from garita.reference import DEFAULT_INCIDENTS_CSV

    again = loader.load_bytes(DEFAULT_INCIDENTS_CSV.read_bytes() + b"\n", "again.csv",
                              db_path=before_ids, dry_run=True)
    assert again.loaded == 0 and again.duplicate == 57 - again.rejected > 50
