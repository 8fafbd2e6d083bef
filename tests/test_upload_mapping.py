"""The Upload page keeps what staff did: every header can be read as any field (above all when
a required column is missing), a field can be set for every row, a value that names several
ports is chosen for all its rows, a suggestion applies to every row with the value, an edit
in the grid is loaded even unchecked, the receipt speaks of the page, and the ledger records
all of it."""

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from etl.columns import map_columns
from tests.conftest import DATA, read
from tests.test_app import metric, rerun
from tests.test_staff import OIDC

ROOT = Path(__file__).resolve().parent.parent
STAFF = {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}}
# A shelter's log: no incident-type column, a date column under a name Garita does not know,
# and the city where people were turned back, Tijuana being served by three ports.
CASA = ("Fecha de rechazo,Ciudad,Personas,Comentario\n"
        "2021-03-04,Tijuana,2,Familia con dos niños\n"
        "2021-03-05,Nogales,1,Hombre solo\n"
        "2021-03-06,Tijuana,3,Madre e hijos\n").encode()


@pytest.fixture
def upload(built_db, monkeypatch):
    """``upload(name, data)``: the Upload page as signed-in staff, with the file chosen."""
    def make(name: str, data: bytes, at=None):
        if at is None:
            monkeypatch.setenv("GARITA_START_PAGE", "upload")
            at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
            for key, value in STAFF.items():
                at.secrets[key] = value
            at.user = {"is_logged_in": True, "email": "staff@clinic.org"}
            at.run()
        at.get("file_uploader")[0].set_value((name, data, "text/csv"))
        rerun(at)
        assert not at.exception, at.exception
        return at
    return make


def count(at, label: str) -> int:
    return int(metric(at, label).replace(",", ""))


def selectbox(at, label: str):
    return next(s for s in at.selectbox if s.label == label)


def button(at, starts: str):
    return next(b for b in at.button if b.label.startswith(starts))


def set_for_every_row(at, field: str, value: str) -> None:
    selectbox(at, "Field").set_value(field)
    next(t for t in at.text_input if t.key.startswith("set_value_")).input(value)
    button(at, "Set").click()
    rerun(at)


def ledger(db_file, batch_id: int):
    return read(db_file, "SELECT mapping, batch_values, replacements, rows_edited, encoding, "
                         "delimiter FROM batches WHERE batch_id = ?", [batch_id])[0]


def test_a_missing_required_column_is_mapped_and_set_for_every_row_then_loaded(upload,
                                                                              built_db):
    at = upload("casa.csv", CASA)
    # Refused, but every header is still shown with how it is read and sample values.
    assert any("No column" in e.value for e in at.error)
    assert [s.label for s in at.selectbox][1:5] == ["Fecha de rechazo", "Ciudad", "Personas",
                                                   "Comentario"]
    assert selectbox(at, "Personas").value == "people_count"
    assert any("2021\\-03\\-04" in c.value for c in at.caption)
    selectbox(at, "Fecha de rechazo").set_value("date")
    rerun(at)
    selectbox(at, "Ciudad").set_value("port")
    rerun(at)
    set_for_every_row(at, "incident_types", "turned away")
    set_for_every_row(at, "source", "Casa X log")
    assert not at.error
    assert count(at, "Rows") == 3
    # Tijuana is held with its ports, never guessed; one choice places both of its rows.
    assert count(at, "With problems") == 2
    assert selectbox(at, "'Tijuana' (2 rows) is").options == [
        "San Ysidro", "Otay Mesa", "Cross Border Xpress", "Keep only the state (CA)"]
    selectbox(at, "'Tijuana' (2 rows) is").set_value("Otay Mesa")
    button(at, "Apply to all 2 rows").click()
    rerun(at)
    assert count(at, "With problems") == 0 and count(at, "Will load") == 3
    button(at, "Load 3 rows").click()
    rerun(at)
    assert not at.exception, at.exception
    assert metric(at, "Incidents") == "60"
    assert read(built_db, "SELECT port_code, state, incident_types, source FROM incidents "
                          "WHERE batch_id = 2 ORDER BY source_row") == [
        ("2506", "CA", ["turned_away"], "Casa X log"), ("2604", "AZ", ["turned_away"],
                                                        "Casa X log"),
        ("2506", "CA", ["turned_away"], "Casa X log")]
    mapping, values, replacements, edited, encoding, delimiter = ledger(built_db, 2)
    assert mapping == '{"Ciudad": "port", "Fecha de rechazo": "date"}'
    assert values == '{"incident_types": "turned away", "source": "Casa X log"}'
    assert replacements == ('[{"field": "port", "new": "Otay Mesa", "rows": 2, '
                            '"value": "Tijuana"}]')
    assert (edited, encoding, delimiter) == (0, "UTF-8", "comma")


def test_keep_only_the_state_leaves_the_port_blank_for_every_row_with_the_value(upload,
                                                                               built_db):
    data = CASA.replace(b"Fecha de rechazo", b"fecha").replace(b"Personas", b"tipo") \
        .replace(b",2,", b",turned_away,").replace(b",1,", b",turned_away,") \
        .replace(b",3,", b",turned_away,")
    at = upload("casa.csv", data)
    selectbox(at, "Ciudad").set_value("port")
    rerun(at)
    selectbox(at, "'Tijuana' (2 rows) is").set_value("state:CA")
    button(at, "Apply to all 2 rows").click()
    rerun(at)
    assert count(at, "Will load") == 3
    button(at, "Load").click()
    rerun(at)
    assert read(built_db, "SELECT port_code, state, port_as_written FROM incidents "
                          "WHERE batch_id = 2 ORDER BY source_row") == [
        (None, "CA", None), ("2604", "AZ", "Nogales"), (None, "CA", None)]


def test_a_mapping_used_once_is_offered_for_the_next_file_with_the_same_headers(upload):
    at = upload("casa.csv", CASA)
    selectbox(at, "Fecha de rechazo").set_value("date")
    rerun(at)
    selectbox(at, "Comentario").set_value("summary")
    rerun(at)
    set_for_every_row(at, "incident_types", "turned away")
    set_for_every_row(at, "state", "CA")
    button(at, "Load").click()
    rerun(at)
    assert any("Loaded batch 2" in s.value for s in at.success)
    # Next month's log: same headers, written a little differently.
    following = CASA.replace(b"2021-03", b"2021-04").replace(b"Fecha de rechazo",
                                                              b"FECHA DE  RECHAZO")
    at = upload("casa-abril.csv", following, at)
    assert selectbox(at, "FECHA DE  RECHAZO").value == "date"
    assert selectbox(at, "Comentario").value == "summary"
    assert any("batch 2" in i.value for i in at.info)


def test_one_click_applies_a_suggestion_to_every_row_with_the_value(upload, built_db):
    data = (b"date,port,incident type\n2019-01-02,San Ysdro,turned_away\n"
            b"2019-01-03,San Ysdro,turned_away\n2019-01-04,Hidalgo,turned_away\n")
    at = upload("typo.csv", data)
    assert count(at, "With problems") == 2
    button(at, "port: read 'San Ysdro' as 'San Ysidro' in all 2 rows").click()
    rerun(at)
    assert count(at, "With problems") == 0 and count(at, "Will load") == 3
    button(at, "Load").click()
    rerun(at)
    assert read(built_db, "SELECT count(*) FROM incidents WHERE batch_id = 2 AND "
                          "port_code = '2504'") == [(2,)]


def test_a_suggestion_that_depends_on_the_row_is_not_offered_for_every_row(upload):
    data = (b"date,port,state,incident type\n2019-01-02,Hidalgo,CA,turned_away\n"
            b"2019-01-03,San Ysidro,CA,turned_away\n")
    at = upload("state.csv", data)
    assert count(at, "With problems") == 1
    assert not [b for b in at.button if "in all" in b.label]


def test_an_edit_in_the_grid_is_loaded_without_checking_it_first(upload, built_db):
    """A Windows-1252, semicolon file with a typo in one row: the fix typed in the grid is
    loaded by Load alone, and the ledger keeps the file's encoding and delimiter."""
    data = ("fecha;garita;tipo de incidente;resumen\n"
            "2019-01-02;Hidalgo;turned_away;Rechazados en el puente, según testigos\n"
            "2019-01-03;San Ysdrooo;turned_away;Otra familia\n").encode("cp1252")
    at = upload("cp1252.csv", data)
    assert count(at, "With problems") == 1
    grid = f"fix_{hashlib.sha256(data).hexdigest()[:16]}_0"
    typed = {"edited_rows": {0: {"garita": "San Ysidro"}}, "added_rows": [], "deleted_rows": []}
    at.session_state[grid] = typed  # the grid as the browser sends it, edited
    rerun(at)
    assert any("1 rows changed here" in c.value for c in at.caption)
    load = button(at, "Load, with the 1 rows changed here")
    at.session_state[grid] = typed  # AppTest does not send a grid's edits again by itself
    load.click()
    rerun(at)
    assert not at.exception, at.exception
    assert read(built_db, "SELECT port_code, summary FROM incidents WHERE batch_id = 2 "
                          "ORDER BY source_row") == [
        ("2305", "Rechazados en el puente, según testigos"), ("2504", "Otra familia")]
    assert ledger(built_db, 2)[3:] == (1, "Windows-1252", "semicolon")


def test_the_receipt_speaks_of_the_page_not_of_commands(upload):
    at = upload("bad.csv", (DATA / "bad_rows.csv").read_bytes())
    button(at, "Load").click()
    rerun(at)
    said = " ".join(s.value for s in at.success)
    assert "Loaded batch 2" in said and "Batches page" in said and "download" in said
    assert "python" not in said and "etl" not in said and "--out" not in said
    assert any(b.label.startswith("Download the 10 rejected rows") for b in
               at.get("download_button"))


def test_problem_messages_name_the_column_as_written():
    """``This 'Descripción' cell…``, not the internal field name."""
    from etl.load import check_file

    checked = check_file("fecha,garita,tipo,Descripción\n2019-01-02,Hidalgo,turned_away,"
                         "llamar al 619-555-0100\n".encode())
    (problem,) = checked.problems[0]
    assert problem.column == "Descripción" and "'Descripción' cell" in problem.message
    assert "summary" not in problem.message


def test_a_phone_like_word_flags_personal_data_only_as_a_whole_word():
    mapping = map_columns(["date", "type", "state", "Celular", "Tipo intracelular",
                           "Teléfono celular", "Notas extracelulares"])
    assert mapping.personal == ["Celular", "Teléfono celular"]
