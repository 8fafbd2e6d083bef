"""Each incident field is declared once (garita/fields.py) and everything else follows: the
headers the loader reads, the tables, the templates, the exports, what counts for
duplicates, the README; adding a field migrates existing databases and keeps their batches;
every change runs in one transaction helper; loader problems carry stable codes."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from etl import load as loader
from etl.columns import SYNONYMS, header_key, map_columns
from etl.fields import check_declarations
from etl.problems import TEMPLATES, render
from etl.templates import headers, template_csv
from garita import db, fields, queries
from garita.fields import Field
from garita.filters import Filters
from tests.conftest import ROOT, load_text, read

# Garita's first schema, as it was written by hand before the fields were declared: the
# derived schema must build exactly these tables, so databases made before keep working.
FIRST_SCHEMA = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE ports (
    port_code VARCHAR PRIMARY KEY, port_name VARCHAR NOT NULL, state VARCHAR NOT NULL,
    latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, field_office VARCHAR,
    mexican_city VARCHAR, aliases VARCHAR, source VARCHAR);
CREATE TABLE incident_types (
    code VARCHAR PRIMARY KEY, label_en VARCHAR NOT NULL, label_es VARCHAR NOT NULL);
CREATE TABLE batches (
    batch_id INTEGER PRIMARY KEY, file_name VARCHAR, sha256 VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL, loaded_by VARCHAR NOT NULL, source VARCHAR,
    encoding VARCHAR, delimiter VARCHAR, date_order VARCHAR,
    rows_total INTEGER NOT NULL, rows_loaded INTEGER NOT NULL, rows_duplicate INTEGER NOT NULL,
    rows_skipped INTEGER NOT NULL, rows_rejected INTEGER NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('active', 'rolled_back')),
    rolled_back_at TIMESTAMP, rolled_back_by VARCHAR);
CREATE TABLE incidents (
    incident_id VARCHAR NOT NULL, date DATE,
    date_precision VARCHAR NOT NULL CHECK (date_precision IN ('day', 'month', 'year', 'unknown')),
    port_code VARCHAR, port_as_written VARCHAR, state VARCHAR, people_count INTEGER,
    group_type VARCHAR, children VARCHAR, nationality VARCHAR, incident_types VARCHAR[] NOT NULL,
    outcome VARCHAR, summary VARCHAR, source VARCHAR, source_page VARCHAR, source_url VARCHAR,
    notes VARCHAR, batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL);
CREATE TABLE incidents_rolled_back AS SELECT * FROM incidents LIMIT 0;
CREATE TABLE rejected_rows (
    batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL, raw VARCHAR NOT NULL,
    problems VARCHAR NOT NULL);
CREATE TABLE duplicate_rows AS
    SELECT *, NULL::VARCHAR AS duplicate_of, NULL::INTEGER AS duplicate_of_batch
    FROM incidents LIMIT 0;
CREATE TABLE audit_log (
    logged_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, action VARCHAR NOT NULL, batch_id INTEGER,
    detail VARCHAR);
"""
# The fingerprint as it was written by hand: stored fingerprints must stay comparable.
_NORM = ("lower(CASE WHEN contains(coalesce({c}, ''), '  ') OR contains(coalesce({c}, ''), "
         "chr(9)) OR contains(coalesce({c}, ''), chr(10)) OR contains(coalesce({c}, ''), "
         "chr(13)) THEN regexp_replace(coalesce({c}, ''), '\\s+', ' ', 'g') "
         "ELSE coalesce({c}, '') END)")
FIRST_FINGERPRINT = (
    "md5(concat_ws(chr(31), coalesce(CAST(date AS VARCHAR), ''), date_precision, "
    "coalesce(port_code, ''), coalesce(CAST(people_count AS VARCHAR), ''), "
    f"{_NORM.format(c='nationality')}, array_to_string(list_sort(incident_types), ';'), "
    f"{_NORM.format(c='summary')}, {_NORM.format(c='source_url')}))")


def columns_of(con, table: str) -> list[tuple]:
    return con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                       "WHERE table_name = ? ORDER BY column_index", [table]).fetchall()


def shape(schema: str) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    try:
        con.execute(schema)
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: columns_of(con, t) for t in tables}
    finally:
        con.close()


# --- derived from the declaration -------------------------------------------------------

def test_the_derived_schema_builds_the_tables_of_the_first_schema_exactly():
    assert shape(db.schema_sql(1)) == shape(FIRST_SCHEMA)
    # later versions only add (the decisions on possible matches came with version 2)
    assert set(shape(db.schema_sql())) >= set(shape(FIRST_SCHEMA)) | {"match_decisions"}


def test_the_derived_fingerprint_matches_the_fingerprints_already_stored(built_db):
    """Content is compared as it always was; a row with its source's own id is identified
    by source and id (``tests/test_record_ids.py``), and the stored fingerprints say so."""
    sql = (f"SELECT count(*), count(*) FILTER ({fields.content_fingerprint_sql()} = "
           f"{FIRST_FINGERPRINT}), count(*) FILTER (fingerprint = {fields.fingerprint_sql()})"
           " FROM incidents")
    assert read(built_db, sql) == [(57, 57, 57)]


@pytest.mark.parametrize("f", fields.read(), ids=lambda f: f.name)
def test_each_header_name_reads_as_its_field(f):
    others = ["fecha" if f.name != "date" else "x", "tipo" if f.name != "incident_types"
              else "y", "estado" if f.name != "state" else "z"]
    for name in f.headers:
        mapping = map_columns([*others, name.upper()])
        assert mapping.fields[f.name] == 3, name


def test_no_header_name_means_two_fields():
    meaning: dict[str, set[str]] = {}
    for f in fields.read():
        for name in (f.name, *f.headers):
            meaning.setdefault(header_key(name), set()).add(f.name)
    assert {key: names for key, names in meaning.items() if len(names) > 1} == {}
    assert set(SYNONYMS) == {f.name for f in fields.read()}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_templates_hold_the_template_fields_under_their_first_names(lang):
    names = headers(lang)
    assert names == [(f.en if lang == "en" else f.es)[0] for f in fields.FIELDS if f.template]
    assert set(map_columns(names).fields) == {f.name for f in fields.FIELDS if f.template}
    assert template_csv(lang).decode("utf-8-sig").strip().split(",") == names


def test_readme_lists_each_fields_first_english_and_spanish_header():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"- \*\*Headers\*\*.*?\n- \*\*", readme, re.S).group(0)
    names = set(re.findall(r"`([^`]+)`", listed))
    missing = [name for f in fields.read() for name in (f.en[0], f.es[0]) if name not in names]
    assert not missing, f"README.md's header list lacks {missing}"


def test_exports_carry_the_public_fields_and_never_the_others(built_db):
    con = db.connect_reader(db.published_file(built_db))
    try:
        frame = queries.export_rows(con, Filters())
    finally:
        con.close()
    assert {f.name for f in fields.public()} <= set(frame.columns)
    hidden = {f.name for f in fields.stored() if not f.public}
    assert hidden == {"port_as_written", "source_page", "notes", "record_id"}
    assert not hidden & set(frame.columns)


def test_labels_follow_the_interface_language():
    from garita.i18n import using

    with using("es"):
        assert fields.field("summary").label == "Resumen"
    assert fields.field("summary").label == "Summary"


def test_a_typo_in_a_declaration_fails_at_import_not_during_a_load():
    typo = Field("language", ("language",), ("idioma",), "Language", "Idioma", "txet")
    with pytest.raises(ValueError, match="no parser 'txet'"):
        check_declarations((*fields.FIELDS, typo))


# --- problems carry codes ---------------------------------------------------------------

def test_problems_carry_a_code_and_params_and_render_their_message(db_file):
    loader.init(db_file)
    report = load_text(db_file, "date,port,incident type,people\n"
                                "2019-02-30,San Ysdro,turned_away,2.000\n", dry_run=True)
    found = {p.code: p for p in report.problems}
    assert set(found) == {"date.does_not_exist", "port.unknown", "people_count.thousands_dot"}
    port = found["port.unknown"]
    assert port.params == {"value": "San Ysdro", "suggestion": "San Ysidro"}
    assert port.message == render("port.unknown", port.params) == (
        "'San Ysdro' is not a known port of entry: did you mean San Ysidro?")
    assert json.loads(json.dumps([p.as_dict() for p in report.problems]))  # all JSON


def test_a_refused_file_has_a_code_in_the_report(db_file):
    report = loader.load_bytes(b"date,summary\n2019-01-01,x\n", "x.csv", db_path=db_file)
    assert report.status == "rejected" and report.as_json()["code"] == "columns.missing"
    assert "incident type" in report.message and "'date', 'summary'" in report.message


def test_every_template_renders_with_its_own_placeholders():
    for code, template in TEMPLATES.items():
        names = set(re.findall(r"{(\w+)(?::[^}]*)?}", template))
        params = {name: ["a", "b"] if name in ("utf8_rows", "cp1252_rows", "ports", "values",
                                                "allowed", "missing", "headers", "texts",
                                                "tags", "own", "across") else 1
                  for name in names}
        assert "{" not in render(code, params), code


# --- a new field: one declaration and one migration step --------------------------------

INTERPRETER = Field("interpreter", ("interpreter language", "interpreter"),
                    ("idioma del intérprete", "intérprete"), "Interpreter", "Intérprete",
                    "text", max_length=100, personal_check=True, template=True)


def declare_interpreter(monkeypatch) -> None:
    """Garita after a developer declared one more field and appended its migration step."""
    monkeypatch.setattr(fields, "FIELDS", (*fields.FIELDS, INTERPRETER))
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, db.add_field("interpreter")])


def incident_tables(path) -> dict[str, list[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: [c[0] for c in columns_of(con, t)] for t in db.INCIDENT_TABLES}
    finally:
        con.close()


def test_a_declared_field_is_added_to_an_existing_database_which_keeps_its_batches(
        built_db, monkeypatch):
    assert load_text(built_db, "date,port,incident type,summary\n"
                               "2019-03-01,Hidalgo,turned_away,before the field\n").batch_id == 2
    before = read(built_db, "SELECT * FROM batches ORDER BY batch_id")
    released = db.schema_version()
    declare_interpreter(monkeypatch)
    assert all("interpreter" not in cols for cols in incident_tables(built_db).values())
    with db.writer(built_db) as con:  # opened as a writer: brought forward
        version = db.stored_schema_version(con)
    assert version == db.schema_version() == released + 1
    assert all(cols[-1] == "interpreter" for cols in incident_tables(built_db).values())
    assert read(built_db, "SELECT * FROM batches ORDER BY batch_id") == before
    assert read(built_db, "SELECT count(*), count(interpreter) FROM incidents") == [(58, 0)]
    # The new column is read, checked and stored like any other.
    report = load_text(built_db, "fecha,garita,tipo de incidente,idioma del intérprete\n"
                                 "2019-03-02,Hidalgo,turned_away,mam\n"
                                 "2019-03-03,Hidalgo,turned_away,call 619-555-0100\n")
    assert (report.loaded, report.rejected) == (1, 1)
    assert report.problems[0].code == "text.personal.phone"
    assert read(built_db, "SELECT interpreter FROM incidents WHERE interpreter IS NOT NULL"
                ) == [("mam",)]
    assert headers("es")[-1] == "idioma del intérprete"
    # A fresh database has the same shape as the one brought forward.
    fresh = shape(db.schema_sql())
    con = duckdb.connect(str(built_db), read_only=True)
    try:
        assert {t: columns_of(con, t) for t in db.INCIDENT_TABLES} == {
            t: fresh[t] for t in db.INCIDENT_TABLES}
    finally:
        con.close()


def test_readers_see_the_new_field_before_any_writer_runs(built_db, monkeypatch):
    declare_interpreter(monkeypatch)
    con = db.connect_reader(db.published_file(built_db))  # the copy is brought forward
    try:
        assert "interpreter" in queries.export_rows(con, Filters()).columns
    finally:
        con.close()
    assert all("interpreter" not in cols for cols in incident_tables(built_db).values())


def test_a_backup_from_before_the_field_restores_and_is_brought_forward(
        built_db, tmp_path, monkeypatch):
    backup = tmp_path / "before.duckdb"
    db.backup(built_db, backup)
    declare_interpreter(monkeypatch)
    db.restore(built_db, backup)
    assert incident_tables(built_db)["incidents"][-1] == "interpreter"
    assert read(built_db, "SELECT count(*) FROM incidents") == [(57,)]


def test_a_field_that_counts_for_duplicates_recomputes_the_fingerprints(built_db,
                                                                        monkeypatch):
    rows = "date,port,incident type,summary\n2019-03-01,Hidalgo,turned_away,same\n"
    assert load_text(built_db, rows).loaded == 1
    counted = Field("language", ("language",), ("idioma",), "Language", "Idioma", "text",
                    dedup=True)
    monkeypatch.setattr(fields, "FIELDS", (*fields.FIELDS, counted))
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, db.add_field("language")])
    again = load_text(built_db, rows + "\n", name="again.csv")  # migrates, then loads
    assert (again.loaded, again.duplicate) == (0, 1)
    assert read(built_db, f"SELECT count(*) FILTER (fingerprint <> {fields.fingerprint_sql()})"
                          " FROM incidents") == [(0,)]


def test_a_database_from_a_newer_garita_is_refused_and_left_alone(built_db):
    con = duckdb.connect(str(built_db))
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '99')")
    con.close()
    with pytest.raises(db.DatabaseDamaged, match="newer than this Garita"):
        with db.writer(built_db):
            pass


# --- one transaction helper -------------------------------------------------------------

def test_the_transaction_helper_commits_a_block_that_ends():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    with db.transaction(con):
        con.execute("INSERT INTO t VALUES (1), (2)")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_the_transaction_helper_rolls_back_a_block_that_raises_and_reraises():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    with pytest.raises(RuntimeError, match="stop"):
        with db.transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("stop")
    with pytest.raises(duckdb.ConstraintException):  # the database's own error goes on
        with db.transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
            con.execute("INSERT INTO t VALUES (NULL)")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with db.transaction(con):  # and the connection is usable again
        con.execute("INSERT INTO t VALUES (3)")
    assert con.execute("SELECT x FROM t").fetchall() == [(3,)]


def test_no_hand_written_transactions_are_left():
    for path in [*ROOT.glob("etl/*.py"), *ROOT.glob("garita/*.py")]:
        text = path.read_text(encoding="utf-8")
        hits = re.findall(r"""execute\(\s*["'](?:BEGIN|COMMIT|ROLLBACK)""", text)
        assert path.name == "db.py" and len(hits) == 3 or not hits, path
