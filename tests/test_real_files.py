"""Files as other tools write them (issue 12): KoboToolbox, Ushahidi 2.x and platform,
Google Forms, a Sheets log with title rows, Excel in Spanish, Excel serial dates and a CBP
table of counts. ``tests/data/real/README.md`` is the spec of each fixture (where each
shape comes from: PROVENANCE.md there); every test here checks a rule staff rely on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl import load as loader
from etl.columns import map_columns
from etl.read import read_table
from tests.conftest import load_text, read

REAL = Path(__file__).parent / "data" / "real"
# A held row waits for staff to choose (a name shared by several ports) or for its tool's
# reviewers (not approved); it counts as rejected until then.
HELD = {"port.ambiguous", "review.not_approved", "review.unknown"}


def dry_run(name: str, tmp_path: Path, **options) -> loader.LoadReport:
    return loader.load_bytes((REAL / name).read_bytes(), name,
                             db_path=tmp_path / "garita.duckdb", dry_run=True, **options)


def outcome(report: loader.LoadReport) -> tuple[list[int], list[int]]:
    """(held rows, rejected rows), as spreadsheet row numbers."""
    codes: dict[int, set[str]] = {}
    for problem in report.problems:
        codes.setdefault(problem.row, set()).add(problem.code)
    held = sorted(row for row, found in codes.items() if found <= HELD)
    return held, sorted(row for row in codes if row not in held)


def records(name: str, **options) -> dict[int, dict]:
    """The rows that would load, by spreadsheet row number, as stored."""
    checked = loader.check_file((REAL / name).read_bytes(), **options)
    columns = {field: values.to_pylist() for field, values in checked.records.items()}
    return {int(row): {field: values[i] for field, values in columns.items()}
            for i, row in enumerate(checked.good_rows + checked.table.first_row)}


def problems_of(report: loader.LoadReport, row: int) -> list:
    return [p for p in report.problems if p.row == row]


# --- each fixture, as its spec says -----------------------------------------------------

@pytest.mark.parametrize("name, total, loaded, duplicate, held, rejected, header_row, tool", [
    ("kobo_xml_names.csv", 10, 5, 1, [4, 9, 10], [7], 1, "KoboToolbox"),
    ("kobo_labels_es.csv", 8, 4, 0, [4, 7, 9], [6], 1, "KoboToolbox"),
    ("ushahidi_v2.csv", 8, 4, 0, [3, 6, 7], [8], 1, "Ushahidi"),
    ("ushahidi_v2_7.csv", 5, 3, 0, [3, 6], [], 1, "Ushahidi"),
    ("ushahidi_v3.csv", 7, 3, 0, [4, 5, 8], [7], 1, "Ushahidi platform"),
    ("google_forms.csv", 7, 5, 0, [4], [8], 1, "Google Forms"),
    ("excel_es_cp1252.csv", 7, 5, 0, [3, 7], [], 1, None),
    ("excel_serial_dates.csv", 5, 0, 0, [], [2, 3, 4, 5, 6], 1, None),
])
def test_each_fixture_loads_as_its_spec_says(tmp_path, name, total, loaded, duplicate, held,
                                             rejected, header_row, tool):
    report = dry_run(name, tmp_path)
    assert (report.total, report.loaded, report.duplicate) == (total, loaded, duplicate)
    assert outcome(report) == (held, rejected)
    assert report.loaded + report.duplicate + report.skipped + report.rejected == report.total
    assert (report.header_row, report.tool) == (header_row, tool)
    assert report.as_json()["header_row"] == header_row and report.as_json()["tool"] == tool


def test_title_rows_above_the_header_are_skipped_and_said(tmp_path):
    report = dry_run("sheets_title_rows.csv", tmp_path)
    assert report.header_row == 4 and report.total == 8 and report.loaded == 6
    assert {p.row for p in report.problems} == {7, 12}        # the spreadsheet's rows
    assert outcome(report)[0][0] == 7                          # Tijuana: held
    note = report.notes[0]
    assert note["code"] == "header.found_at_row" and note["params"]["row"] == 4
    assert note["params"]["texts"] == ["Incident log - border clinic (synthetic data)",
                                       "Last updated 3/21/2020"]
    assert report.message.startswith("Column names found on row 4;")
    rows = records("sheets_title_rows.csv")
    assert rows[5]["date"] == dt.date(2020, 1, 13) and rows[5]["port_code"] == "2304"
    assert rows[6]["date"] == dt.date(2020, 1, 13)                   # 13-Jan-2020
    assert rows[8]["date"] == dt.date(2020, 3, 17)                   # 3/17/2020 1415
    assert rows[9]["date"] == dt.date(2020, 3, 7)                    # -08:00, as written
    assert rows[10]["date"] == dt.date(2020, 3, 7)                   # 03:12Z = 19:12 PST
    assert rows[11]["date"] == dt.date(2020, 3, 9)                   # 16:20Z = 11:20 CDT
    assert rows[11]["port_code"] == "2303"


def test_the_header_is_found_under_a_title_with_no_delimiter_and_its_own_delimiter_used():
    table = read_table("Informe de incidentes\n\nFecha;Garita;Tipo de incidente\n"
                       "2020-03-07;San Ysidro;turned_away\n".encode())
    assert (table.header_row, table.delimiter_name) == (3, "semicolon")
    assert table.header == ["Fecha", "Garita", "Tipo de incidente"]
    assert table.row_number(0) == 4 and table.index_of(4) == 0


def test_a_file_edited_in_the_app_keeps_its_title_rows_and_row_numbers():
    table = read_table((REAL / "sheets_title_rows.csv").read_bytes())
    again = read_table(table.to_csv({2: table.row(2)[:2] + ["San Ysidro"] + table.row(2)[3:]}))
    assert again.header_row == 4 and again.row_number(2) == 7
    assert again.row(2)[2] == "San Ysidro" and again.n_rows == table.n_rows


def test_without_two_field_names_anywhere_the_first_row_stays_the_header(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "a,b\n1,2\nfecha,x\n", dry_run=True)
    assert report.status == "rejected" and report.params["headers"] == ["a", "b"]


# --- KoboToolbox ------------------------------------------------------------------------

def test_kobo_tag_row_is_skipped_and_not_counted(tmp_path):
    report = dry_run("kobo_xml_names.csv", tmp_path)
    assert report.total == 10 and report.header_row == 1
    assert problems_of(report, 4)[0].value == "Tijuana"       # row 4 is still row 4
    tag = next(n for n in report.notes if n["code"] == "header.tag_row")
    assert tag["params"]["row"] == 2 and "#case+id" in tag["params"]["tags"]


def test_kobo_groups_codes_and_metadata_are_read_as_kobo_means_them(tmp_path):
    report = dry_run("kobo_xml_names.csv", tmp_path)
    mapping = report.column_mapping
    assert mapping["date"] == "caso/fecha" and mapping["incident_id"] == "caso/numero_de_caso"
    assert mapping["record_id"] == "_uuid" and mapping["review_status"] == "_validation_status"
    assert report.unknown_columns == []            # per-choice and metadata columns: read
    assert {"start", "end", "_id", "_submission_time", "_index", "meta/rootUuid",
            "lugar/_ubicacion_latitude"} <= set(report.tool_columns)
    assert "date" not in {mapping.get(h) for h in ("start", "end", "_submission_time")}
    assert "_submitted_by" in report.personal_columns
    rows = records("kobo_xml_names.csv")
    first = rows[3]
    assert (first["date"], first["port_code"], first["people_count"]) == (
        dt.date(2019, 3, 7), "2504", 3)
    assert first["incident_types"] == ["turned_away", "told_no_asylum"]
    assert first["children"] == "yes" and first["incident_id"] == "CL-2019-001"
    assert first["record_id"] == "bdb922ab-5d4e-5ad4-9917-d6925db41895"
    assert first["source_url"] == "https://example.org/nota/101"
    assert first["source_urls"] == ["https://example.org/nota/101",
                                    "https://example.org/video/101"]
    assert rows[8]["date"] is None and rows[8]["date_precision"] == "unknown"  # not `start`
    assert rows[8]["port_code"] == "2303"
    assert rows[11]["source_urls"] == ["https://example.org/nota/109",
                                       "https://example.org/doc/109.pdf"]  # a line break
    assert [p.code for p in problems_of(report, 7)] == ["incident_types.unknown"]
    assert problems_of(report, 7)[0].params["values"] == ["retenido_horas"]
    held = problems_of(report, 10)[0]
    assert (held.code, held.column) == ("review.not_approved", "_validation_status")
    assert problems_of(report, 4)[0].suggestion == "Otay Mesa"     # from the geopoint


def test_kobo_label_export_reads_types_from_its_choice_columns_and_keeps_id_apart(tmp_path):
    report = dry_run("kobo_labels_es.csv", tmp_path)
    assert report.column_mapping["incident_id"] == "Número de caso"    # not _id
    assert report.column_mapping["record_id"] == "_uuid"
    assert report.unknown_columns == ["¿Había niños?"]
    rows = records("kobo_labels_es.csv")
    assert rows[2]["date"] == dt.date(2020, 1, 13) and rows[2]["port_code"] == "2304"
    assert rows[3]["incident_types"] == ["told_no_asylum", "threatened"]
    assert "«no hay asilo»" in rows[3]["summary"]
    assert rows[8]["date"] is None and rows[8]["port_code"] == "2305"
    assert [p.code for p in problems_of(report, 6)] == ["incident_types.missing"]
    assert problems_of(report, 7)[0].value == "On Hold"
    assert problems_of(report, 9)[0].suggestion == "San Ysidro"
    assert problems_of(report, 4)[0].suggestion is None               # Mexicali, no point


def test_kobo_record_id_is_the_incident_id_when_the_form_has_no_case_id():
    mapping = map_columns(["_id", "fecha", "garita", "tipo_de_incidente", "_submission_time"])
    assert mapping.fields["record_id"] == 0 and mapping.fields["incident_id"] == 0
    assert mapping.machine_made("incident_id")       # never read as personal data
    with_uuid = map_columns(["_id", "_uuid", "fecha", "garita", "tipo", "_submission_time"])
    assert with_uuid.fields["record_id"] == 1 and "_id" in with_uuid.own


def test_underscored_tool_columns_never_become_incident_fields():
    mapping = map_columns(["fecha", "garita", "tipo", "_id", "_notes", "_tags"])
    assert set(mapping.fields) == {"date", "port", "incident_types"}
    assert mapping.own == ["_id", "_notes", "_tags"] and mapping.unknown == []


# --- Ushahidi ----------------------------------------------------------------------------

def test_ushahidi_v2_entities_categories_and_post_numbers(tmp_path):
    report = dry_run("ushahidi_v2.csv", tmp_path)
    assert report.column_mapping["port"] == "LOCATION"       # a place name, not a point
    assert report.column_mapping["record_id"] == "#" == report.column_mapping["incident_id"]
    rows = records("ushahidi_v2.csv")
    assert rows[2]["date"] == dt.date(2019, 3, 7) and rows[2]["port_code"] == "2504"
    assert rows[2]["incident_types"] == ["turned_away", "told_no_asylum"]   # trailing ", "
    assert rows[2]["summary"] == ('Synthetic: les dijeron "no hay asilo" y los regresaron '
                                  'a Tijuana.')
    assert rows[4]["port_code"] == "2304"                # its point in Mexico adds nothing
    assert rows[5]["port_code"] == "2301" and "<formulario>" in rows[5]["summary"]  # B&amp;M
    assert rows[2]["record_id"] == "12"
    assert problems_of(report, 3)[0].suggestion == "San Ysidro"
    assert problems_of(report, 6)[0].code == "review.not_approved"       # APPROVED = NO
    assert problems_of(report, 8)[0].params["values"] == ["Noticias"]


def test_ushahidi_2_7_form_suffixes_are_read(tmp_path):
    report = dry_run("ushahidi_v2_7.csv", tmp_path)
    assert report.column_mapping["people_count"] == "Personas-1"
    assert report.column_mapping["source_url"] == "Enlaces-1"
    assert "FORM #" in report.tool_columns
    assert records("ushahidi_v2_7.csv")[5]["incident_types"] == ["threatened",
                                                                 "coerced_to_withdraw"]


def test_ushahidi_platform_empty_tag_row_dates_and_personal_columns(tmp_path):
    report = dry_run("ushahidi_v3.csv", tmp_path)
    assert report.total == 7 and any(n["code"] == "header.empty_tag_row" for n in report.notes)
    assert report.column_mapping["record_id"] == "Post ID"
    assert "source" not in report.column_mapping                 # its Source is a channel
    assert {"Contact", "Contact ID"} <= set(report.personal_columns)
    rows = records("ushahidi_v3.csv")
    assert rows[3]["date"] == dt.date(2019, 3, 7) and rows[3]["port_code"] == "2504"
    assert rows[6]["date"] is None                               # not the Post Date
    assert rows[9]["source_urls"] == ["https://example.org/p/307-a",
                                      "https://example.org/p/307-b"]
    assert [p.value for p in problems_of(report, 5)] == ["draft"]
    assert [p.value for p in problems_of(report, 8)] == ["archived"]


def test_a_hash_column_in_a_clinic_file_is_not_a_record_id():
    mapping = map_columns(["#", "date", "port", "incident type"])
    assert "record_id" not in mapping.fields and mapping.unknown == ["#"]


# --- Google Forms, Excel ------------------------------------------------------------------

def test_google_forms_timestamp_is_never_the_incident_date(tmp_path):
    report = dry_run("google_forms.csv", tmp_path)
    assert report.column_mapping["incident_types"] == "Incident type (check all that apply)"
    assert report.column_mapping["source_url"] == "Links (news, video, documents)"
    assert "Timestamp" in report.tool_columns and "Email Address" in report.personal_columns
    rows = records("google_forms.csv")
    assert rows[5]["date"] is None and rows[5]["port_code"] == "2304"
    assert rows[6]["date"] == dt.date(2020, 1, 13)
    assert rows[6]["incident_types"] == ["threatened", "coerced_to_withdraw"]
    assert rows[2]["source_url"] == "https://example.org/g/1"


def test_excel_spanish_mexican_states_do_not_reject_a_row_whose_port_resolves(tmp_path):
    rows = records("excel_es_cp1252.csv")
    assert rows[4]["port_code"] == "2304" and rows[4]["state"] == "TX"   # Tamaulipas
    assert rows[6]["date"] == dt.date(2020, 1, 13)                       # 13-ene-2020
    assert "“no hay asilo”" in rows[2]["summary"]
    report = dry_run("excel_es_cp1252.csv", tmp_path)
    assert [p.code for p in problems_of(report, 3)] == ["port.ambiguous"]   # no state error
    assert problems_of(report, 7)[0].suggestion == "Calexico East"      # 32,6731 -115,3880


def test_a_mexican_state_alone_or_across_from_another_port_is_a_problem(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "date,port,state,incident type\n"
                       "2020-01-01,,Sonora,turned_away\n"
                       "2020-01-01,San Ysidro,Tamaulipas,turned_away\n", dry_run=True)
    assert [(p.row, p.code) for p in report.problems] == [(2, "state.mexican"),
                                                          (3, "state.mexican_mismatch")]
    assert "Arizona" in report.problems[0].message


def test_excel_serial_dates_load_only_when_confirmed(tmp_path):
    report = dry_run("excel_serial_dates.csv", tmp_path)
    assert {p.code for p in report.problems} == {"date.excel_serial"}
    assert report.problems[0].column == "Fecha" and "2020-01-13" in report.problems[0].message
    assert any(n["code"] == "date.excel_serials" and n["params"]["column"] == "Fecha"
               for n in report.notes)
    confirmed = loader.Choices(excel_dates=True)
    assert dry_run("excel_serial_dates.csv", tmp_path, choices=confirmed).loaded == 5
    rows = records("excel_serial_dates.csv", choices=confirmed)
    assert [(r["date"], r["port_code"]) for r in rows.values()] == [
        (dt.date(2020, 1, 13), "2504"), (dt.date(2020, 3, 7), "2506"),
        (dt.date(2020, 3, 17), "2604"), (dt.date(2019, 6, 11), "2402"),
        (dt.date(2019, 12, 31), "2305")]


def test_excel_dates_confirmed_after_a_first_load_are_not_taken_for_the_same_file(built_db):
    data = (REAL / "excel_serial_dates.csv").read_bytes()
    first = loader.load_bytes(data, "serial.csv", db_path=built_db)
    assert (first.status, first.rejected) == ("loaded", 5)
    again = loader.load_bytes(data, "serial.csv", db_path=built_db,
                              choices=loader.Choices(excel_dates=True))
    assert (again.status, again.loaded) == ("loaded", 5)


# --- refusals ----------------------------------------------------------------------------

def test_a_table_of_counts_is_told_it_holds_counts_not_incidents(built_db):
    report = loader.load_bytes((REAL / "cbp_encounters_counts.csv").read_bytes(), "cbp.csv",
                               db_path=built_db)
    assert (report.status, report.batch_id, report.code) == ("rejected", None,
                                                             "file.counts_table")
    assert "counts" in report.message and "'Encounter Count'" in report.message
    assert "No column" not in report.message
    assert read(built_db, "SELECT count(*) FROM batches") == [(1,)]


def test_a_header_refusal_lists_every_header_in_the_words_staff_see(tmp_path):
    header = [f"Column {i}" for i in range(14)] + ["Fecha", "Garita"]
    report = load_text(tmp_path / "g.duckdb", ",".join(header) + "\n" + "x," * 15 + "x\n",
                       dry_run=True)
    assert report.code == "columns.missing" and report.params["headers"] == header
    assert all(f"'{h}'" in report.message for h in header)
    assert "incident type (tipo de incidente)" in report.message
    assert "incident_types" not in report.message
    assert "delimit" not in report.message and "semicolon" not in report.message


def test_a_header_read_as_one_column_blames_the_delimiter(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "fecha|garita|tipo\n2020-01-01|x|y\n",
                       dry_run=True)
    assert report.code == "columns.missing_one_column" and "commas" in report.message


# --- several links in one cell ------------------------------------------------------------

@pytest.mark.parametrize("cell", [
    "https://a.example/1 https://b.example/2",
    "https://a.example/1;https://b.example/2",
    "https://a.example/1; https://b.example/2",
    '"https://a.example/1, https://b.example/2"',
    '"https://a.example/1\nhttps://b.example/2"',
])
def test_a_cell_with_several_links_keeps_all_and_the_first_is_the_source_link(built_db, cell):
    report = load_text(built_db, "date,port,incident type,url\n"
                       f"2020-03-07,San Ysidro,turned_away,{cell}\n")
    assert report.loaded == 1, report.message
    assert read(built_db, "SELECT source_url, source_urls FROM incidents WHERE batch_id = ?",
                [report.batch_id]) == [("https://a.example/1",
                                        ["https://a.example/1", "https://b.example/2"])]


def test_a_link_cell_with_text_that_is_not_a_link_is_still_rejected(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "date,port,incident type,url\n"
                       "2020-03-07,San Ysidro,turned_away,https://a.example/1 see notes\n"
                       '2020-03-08,San Ysidro,turned_away,"https://a.example/q?a=1,2"\n',
                       dry_run=True)
    assert [(p.row, p.code) for p in report.problems] == [(2, "text.not_a_url")]


def test_a_blank_row_under_an_ordinary_header_is_still_a_counted_blank_row(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "date,port,incident type\n,,\n"
                       "2020-03-07,San Ysidro,turned_away\n", dry_run=True)
    assert (report.total, report.skipped, report.loaded) == (2, 1, 1)


@pytest.mark.parametrize("header, field", [
    ("Incident type (check all that apply)", "incident_types"),   # a hint in brackets
    ("Date (dd/mm/yyyy)", "date"),
    ("caso/fecha", "date"),                                       # a Kobo group path
    ("grupo/caso/garita", "port"),
    ("Personas-1", "people_count"),                               # Ushahidi 2.7 form id
    ("Location.lat", "latitude"), ("Location.lon", "longitude"),  # Ushahidi point parts
    ("Enlaces", "source_url"), ("Links", "source_url"),           # plurals
    ("CATEGORY", "incident_types"), ("Categorías", "incident_types"),
])
def test_headers_are_read_through_the_decorations_tools_add(header, field):
    others = [name for name, meant in (("fecha", "date"), ("tipo", "incident_types"),
                                       ("estado", "state")) if meant != field]
    assert map_columns([*others, header]).fields[field] == len(others)


def test_a_lone_hash_cell_under_an_ordinary_header_is_a_row_not_a_tag_row(tmp_path):
    report = load_text(tmp_path / "g.duckdb", "date,port,incident type,summary\n"
                       ",,,#urgent\n2020-03-07,San Ysidro,turned_away,x\n", dry_run=True)
    assert report.total == 2 and report.header_row == 1
