"""Personal data never reaches a public page: the hostile tester's look-alikes, every public
text field, the batch source and the file name."""

import pytest

from etl import load as loader
from etl import personal
from garita import db, queries
from tests.conftest import load_text, read

LOOK_ALIKES = [
    "a123456789", "A 123 456 789", "A-123-456-789", "A\u200b123456789",
    "A\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19", "A#123456789", "A12345678",
    "6195550100", "(619)5550100", "(619) 555-0100", "664-123-45-67", "+52 664 123 4567",
    "maria@example.org", "maria\uff20example.org", "maria [at] example.org",
    "maria (arroba) example (punto) org",
]
FIELDS = ["summary", "notes", "outcome", "nationality", "source", "source_page", "incident_id"]
HEADER = "incident_id,date,port,incident_types,summary,notes,outcome,nationality,source," \
         "source_page,source_url\n"


def _row(**cells) -> str:
    values = {"incident_id": "", "summary": "Turned away at the bridge", "notes": "",
              "outcome": "", "nationality": "Honduras", "source": "Clinic log",
              "source_page": "", **cells}
    quoted = {k: '"' + v.replace('"', '""') + '"' for k, v in values.items()}
    return (f"{quoted['incident_id']},2019-02-03,Hidalgo,turned_away,{quoted['summary']},"
            f"{quoted['notes']},{quoted['outcome']},{quoted['nationality']},"
            f"{quoted['source']},{quoted['source_page']},https://example.org/report\n")


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_each_look_alike_is_held_back_in_a_summary(built_db, text):
    report = load_text(built_db, HEADER + _row(summary=f"Test woman ({text}) turned away"))
    assert (report.loaded, report.rejected) == (0, 1)
    assert "Public fields must not identify anyone" in report.problems[0].message
    assert read(built_db, "SELECT count(*) FROM incidents WHERE summary LIKE 'Test woman%'") == [(0,)]


@pytest.mark.parametrize("field", FIELDS)
def test_every_public_text_field_is_checked(built_db, field):
    report = load_text(built_db, HEADER + _row(**{field: "A-123-456-789 / 6195550100"}))
    assert report.loaded == 0
    assert any(p.column == field for p in report.problems)


@pytest.mark.parametrize("text", [
    "Family of 4 turned away on 2018-06-15 after 3 days; 12 people waited 100 days.",
    "Case 2018-06-15 / 2019-01-02, page 12, 45 minutes, 20170314.",
    "Agents said at El Paso.Then they were returned.",
    "Se les dijo en el punto de entrada que no había asilo.",
    "Report no. 12345, p. 7",
])
def test_ordinary_text_with_numbers_and_dates_is_not_flagged(text):
    assert personal.find(text) is None


def test_the_default_incidents_have_no_false_alarm(built_db):
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]


def test_a_batch_source_with_personal_data_is_refused(built_db):
    before = read(built_db, "SELECT count(*) FROM batches")
    report = load_text(built_db, HEADER + _row(source=""), "intake.csv",
                       source="Intake by maria@example.org, tel 664-123-45-67")
    assert report.status == "rejected" and "batch source" in report.message
    assert read(built_db, "SELECT count(*) FROM batches") == before


def test_file_names_are_not_on_public_pages(built_db):
    report = load_text(built_db, HEADER + _row(), "Maria Lopez A123456789.csv",
                       source="Clinic intake")
    assert report.loaded == 1
    con = db.connect_reader(db.published_file(built_db))
    try:
        public = queries.batches(con)
    finally:
        con.close()
    assert "file_name" not in public.columns
    assert not public.astype(str).apply(lambda col: col.str.contains("A123456789")).any().any()


def test_cells_of_rejected_personal_rows_stay_staff_only(built_db):
    report = load_text(built_db, HEADER + _row(notes="call 6195550100"))
    assert report.rejected == 1
    assert read(built_db, "SELECT count(*) FROM incidents WHERE notes LIKE '%555%'") == [(0,)]
    assert read(built_db, "SELECT count(*) FROM rejected_rows WHERE raw LIKE '%6195550100%'") \
        == [(1,)]
    assert loader.LoadReport  # the rejected rows are kept for staff review, not published
