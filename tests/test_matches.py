"""Possible matches: the same incident from two sources is found, decided, and counted once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from etl import load as loader
from etl.cli import main
from garita import db, matches, queries
from garita.filters import Filters
from tests.conftest import load_text, read
from tests.test_app import metric, rerun

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("incident_id,date,date_precision,port_name,state,people_count,group_type,"
          "nationality,incident_types,summary,source,source_url\n")
CLINIC = HEADER + """\
CL-1,2021-06-15,day,El Paso,TX,2,family,Honduras,turned_away,"A Honduran mother and her two \
children were turned away at the bridge and told there is no asylum.",Clinic intake,\
https://clinic.example.org/1
CL-2,2021-08-10,day,San Ysidro,CA,4,family,Guatemala,turned_away,Family of four sent back \
at the pedestrian crossing.,Clinic intake,https://clinic.example.org/2
CL-3,2021-10-03,day,Nogales,AZ,1,individual,Cuba,told_no_asylum,Man told there is no \
asylum here.,Clinic intake,https://clinic.example.org/3
"""
NEWS = HEADER + """\
NW-1,2021-06-16,day,El Paso,TX,3,family,Honduras,turned_away,"Una madre hondureña y sus dos \
hijos fueron rechazados en el puente; les dijeron que no hay asilo.",Diario Fronterizo,\
https://news.example.org/1
NW-2,2021-08,month,San Ysidro,CA,4,family,Guatemala,turned_away,Guatemalan family turned \
away in August.,Diario Fronterizo,https://news.example.org/2
NW-3,2021-10-03,day,Laredo,TX,1,individual,Cuba,told_no_asylum,Man told there is no asylum \
here.,Diario Fronterizo,https://news.example.org/3
NW-4,2022-02-03,day,Nogales,AZ,1,individual,Cuba,told_no_asylum,Man told there is no asylum \
here.,Diario Fronterizo,https://news.example.org/4
"""
OURS = {"CL-1", "CL-2", "CL-3", "NW-1", "NW-2", "NW-3", "NW-4"}
STAFF = {"secrets": {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback",
                              "cookie_secret": "x" * 32, "client_id": "garita",
                              "client_secret": "secret", "server_metadata_url":
                              "https://id.example.org/.well-known/openid-configuration"},
                     "staff": {"emails": ["staff@clinic.org"]}},
         "user": {"is_logged_in": True, "email": "staff@clinic.org"}}


@pytest.fixture
def two_sources(built_db) -> Path:
    """The default incidents, then a clinic's batch (2) and a newspaper's (3)."""
    assert load_text(built_db, CLINIC, "clinic.csv").loaded == 3
    assert load_text(built_db, NEWS, "news.csv").loaded == 4
    return built_db


def ours(path: Path) -> dict[frozenset, matches.Candidate]:
    con = db.connect_reader(db.published_file(path))
    try:
        return {frozenset(c.ids): c for c in matches.candidates(con)
                if set(c.ids) & OURS}
    finally:
        con.close()


def ask(path: Path, question, *args):
    con = db.connect_reader(db.published_file(path))
    try:
        return question(con, *args)
    finally:
        con.close()


def counts(path: Path) -> dict:
    """Every public number that counts incidents, for El Paso in June 2021."""
    june = Filters.from_strings(start="2021-06", end="2021-06")
    ports = ask(path, queries.by_port, june)
    return {
        "headline": ask(path, queries.headline, Filters())["incidents"],
        "filtered": ask(path, queries.count_incidents, june),
        "port": int(ports.loc[ports["port_code"] == "2402", "incidents"].sum()),
        "monthly": int(ask(path, queries.monthly, june)["value"].sum()),
        "yearly": int(ask(path, queries.yearly, Filters())["value"].sum()),
        "state": int(ask(path, queries.by_group, june, "state")["incidents"].sum()),
        "nationality": int(ask(path, queries.breakdown, june, "nationality")["incidents"].sum()),
        "heatmap": int(ask(path, queries.port_month, june)["incidents"].sum()),
        "export": len(ask(path, queries.export_rows, Filters())),
    }


def test_pairs_built_to_match_are_found_and_near_misses_are_not(two_sources):
    found = ours(two_sources)
    assert set(found) == {frozenset({"CL-1", "NW-1"}), frozenset({"CL-2", "NW-2"})}
    day_apart = found[frozenset({"CL-1", "NW-1"})]
    assert {"same port", "1 day apart", "same nationality", "2 vs 3 people"} <= \
        set(day_apart.reasons)
    # the Spanish summary shares most of its words with the English one
    assert any(r.startswith("summaries share") for r in day_apart.reasons)
    assert "a day inside a month" in found[frozenset({"CL-2", "NW-2"})].reasons


def test_a_translated_summary_scores_more_than_an_unrelated_one(two_sources):
    con = db.connect_reader(db.published_file(two_sources))
    try:
        pair = next(c for c in matches.candidates(con) if set(c.ids) == {"CL-1", "NW-1"})
    finally:
        con.close()
    share = next(values["share"] for text, values in pair.parts if "summaries" in text)
    assert share >= 50


def test_same_incident_counts_once_everywhere_and_lists_both_sources(two_sources):
    before = counts(two_sources)
    message = matches.decide(two_sources, "NW-1", "CL-1", "same", "tester")
    assert "one incident" in message
    after = counts(two_sources)
    assert after == {key: value - 1 for key, value in before.items()}
    rows = ask(two_sources, queries.export_rows, Filters())
    linked = rows.loc[rows["incident_id"] == "CL-1"].iloc[0]
    assert "https://clinic.example.org/1" in linked["sources"]
    assert "https://news.example.org/1" in linked["sources"]
    assert "NW-1" not in set(rows["incident_id"])
    cited, _ = ask(two_sources, queries.sources, Filters(), 100_000)
    assert {"Clinic intake", "Diario Fronterizo"} <= set(cited["source"])
    assert frozenset({"CL-1", "NW-1"}) not in ours(two_sources)
    assert ask(two_sources, queries.headline, Filters())["linked"] == 1
    assert read(two_sources, "SELECT who, action FROM audit_log WHERE action LIKE 'match%'") \
        == [("tester", "match_same")]


def test_different_is_remembered_also_after_the_batch_is_loaded_again(two_sources):
    before = counts(two_sources)
    matches.decide(two_sources, "CL-2", "NW-2", "different", "tester")
    assert frozenset({"CL-2", "NW-2"}) not in ours(two_sources)
    assert counts(two_sources) == before
    loader.rollback(3, db_path=two_sources)
    assert load_text(two_sources, NEWS + "\n", "news-again.csv").loaded == 4
    assert frozenset({"CL-2", "NW-2"}) not in ours(two_sources)
    assert frozenset({"CL-1", "NW-1"}) in ours(two_sources)


def test_rolling_back_one_source_keeps_the_other(two_sources):
    matches.decide(two_sources, "CL-1", "NW-1", "same", "tester")
    loader.rollback(2, db_path=two_sources)  # the clinic's batch, whose incident was counted
    rows = ask(two_sources, queries.export_rows, Filters())
    assert "CL-1" not in set(rows["incident_id"])
    kept = rows.loc[rows["incident_id"] == "NW-1"].iloc[0]
    assert kept["sources"] == "Diario Fronterizo <https://news.example.org/1>"
    assert ask(two_sources, queries.headline, Filters())["linked"] == 0


def test_cli_lists_and_decides(two_sources):
    runner = CliRunner()
    listed = runner.invoke(main, ["matches", "--json", "--db", str(two_sources)])
    assert listed.exit_code == 0, listed.output
    pairs = {frozenset((p["a"], p["b"])) for p in json.loads(listed.output)}
    assert frozenset({"CL-1", "NW-1"}) in pairs
    decided = runner.invoke(main, ["match", "CL-1", "NW-1", "--different",
                                   "--db", str(two_sources)])
    assert decided.exit_code == 0 and "different" in decided.output
    listed = runner.invoke(main, ["matches", "--json", "--db", str(two_sources)])
    assert frozenset({"CL-1", "NW-1"}) not in {frozenset((p["a"], p["b"]))
                                               for p in json.loads(listed.output)}
    unknown = runner.invoke(main, ["match", "CL-1", "XX-9", "--same", "--db", str(two_sources)])
    assert unknown.exit_code == 1 and "no incident XX-9" in unknown.output


def _app(monkeypatch, page: str, staff: bool) -> AppTest:
    monkeypatch.setenv("GARITA_START_PAGE", page)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    if staff:
        for key, value in STAFF["secrets"].items():
            at.secrets[key] = value
        at.user = STAFF["user"]
    return at.run()


def test_staff_decide_on_the_review_page(two_sources, monkeypatch):
    at = _app(monkeypatch, "matches", staff=True)
    assert not at.exception, at.exception
    before = int(metric(at, "Incidents").replace(",", ""))
    assert any("possible matches not yet reviewed" in c.value for c in at.caption)
    same = next(b for b in at.button if b.key in ("same-CL-1|NW-1", "same-NW-1|CL-1"))
    same.click()
    rerun(at)
    assert not at.exception, at.exception
    assert any("one incident" in s.value for s in at.success)
    assert int(metric(at, "Incidents").replace(",", "")) == before - 1
    assert not any(b.key in ("same-CL-1|NW-1", "same-NW-1|CL-1") for b in at.button)
    assert read(two_sources, "SELECT decision, decided_by FROM match_decisions") == \
        [("same", "staff@clinic.org")]
    assert read(two_sources, "SELECT who, action FROM audit_log WHERE action LIKE 'match%'") \
        == [("staff@clinic.org", "match_same")]


def test_a_visitor_sees_the_numbers_but_no_review_page(two_sources, monkeypatch):
    at = _app(monkeypatch, "matches", staff=False)
    assert not at.exception, at.exception
    assert not any((b.key or "").startswith(("same-", "different-")) for b in at.button)
    assert metric(at, "Incidents")  # the public map opens instead
    waiting = ask(two_sources, queries.open_matches)
    assert any(f"{waiting} possible matches not yet reviewed" in c.value for c in at.caption)


def test_a_decision_follows_its_incidents_when_fingerprints_are_computed_again(
        built_db, monkeypatch):
    from garita import fields
    from garita.fields import Field

    header = "date,port,people,nationality,incident type,summary,source\n"
    assert load_text(built_db, header + "2021-06-15,El Paso,2,Honduras,turned_away,"
                     "Mother and two children turned away,Clinic\n", "a.csv").loaded == 1
    assert load_text(built_db, header + "2021-06-16,El Paso,2,Honduras,turned_away,"
                     "Madre y dos hijos rechazados,Diario\n", "b.csv").loaded == 1
    matches.decide(built_db, "B2-2", "B3-2", "same", "tester")
    before = counts(built_db)
    counted = Field("language", ("language",), ("idioma",), "Language", "Idioma", "text",
                    dedup=True)
    monkeypatch.setattr(fields, "FIELDS", (*fields.FIELDS, counted))
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, db.add_field("language")])
    with db.writer(built_db) as con:  # brought forward: every fingerprint computed again
        keys = con.execute("SELECT a_key, b_key FROM match_decisions").fetchall()
        fresh = {fp for (fp,) in con.execute("SELECT fingerprint FROM incidents").fetchall()}
    assert set(keys[0]) <= fresh
    assert counts(built_db) == before


def test_the_incidents_table_lists_every_source_of_a_linked_incident(two_sources, monkeypatch):
    matches.decide(two_sources, "CL-1", "NW-1", "same", "tester")
    at = _app(monkeypatch, "incidents", staff=False)
    assert not at.exception, at.exception
    table = next(frame.value for frame in at.dataframe if "incident_id" in frame.value)
    linked = table.loc[table["incident_id"] == "CL-1", "source"].iloc[0]
    assert "Clinic intake" in linked and "Diario Fronterizo" in linked
    assert "NW-1" not in set(table["incident_id"])
