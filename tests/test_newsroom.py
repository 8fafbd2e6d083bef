"""For the newsroom: citations, earlier data versions, incident permalinks, embeds and the
data package. AppTest for the pages; the embed in another site's iframe and the permalink in
headless Chromium (marked ``browser``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import json
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from etl import load as loader
from garita import db, fields, newsroom, queries, ui
from garita.filters import Filters
from tests.conftest import ROOT, load_text

ONE_INCIDENT = ("incident_id,date,port,incident_types,summary,source,url\r\n"
                "NR-TEST-1,2019-05-03,San Ysidro,turned_away,Turned away at the pedestrian "
                "entrance.,Newsroom test,https://example.org/nr-1\r\n")


def _version(path: Path) -> int:
    con = db.connect_reader(db.published_file(path))
    try:
        return queries.data_version(con)["version"]
    finally:
        con.close()


def _run(page: str, monkeypatch, context: dict | None = None, **params):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GARITA_START_PAGE", Path(page).stem)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.context = context or {}
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _opened(at):
    """The same view with "Cite this view" and "Embed this view" opened (they are filled
    only when open), as a visitor's click does."""
    at.session_state[ui.CITE_OPEN] = at.session_state[ui.EMBED_OPEN] = True
    at._finished_page_script_hash = at._page_hash = ""  # run the router too
    return at.run()


def _texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "code", "subheader"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)


# --- citation and embed snippet -----------------------------------------------------------

def test_citation_has_title_filters_date_version_and_address():
    filters = Filters.from_strings(start="2018-04", end="2020-11", ports=["2504"])
    address = newsroom.view_address("https://garita.example", "map",
                                    [("ports", "San Ysidro, CA"), ("embed", "true")],
                                    version=14)
    text = newsroom.citation(filters, 14, dt.date(2026, 11, 29), address)
    assert text == ('Garita, "Incidents documented at San Ysidro, Apr 2018 – Nov 2020" '
                    '(data version 14), viewed 2026-11-29, '
                    '<https://garita.example/map?ports=San+Ysidro%2C+CA&version=14>')


def test_embed_snippet_is_an_escaped_iframe_of_the_embed_address():
    src = newsroom.view_address("https://garita.example/", "over_time",
                                [("states", "TX"), ("lang", "es"), ("version", "3")],
                                version=5, embed=True)
    assert src == "https://garita.example/over_time?states=TX&lang=es&version=5&embed=true"
    snippet = newsroom.embed_snippet(src, 'Garita: "<b>"')
    assert snippet.startswith('<iframe src="https://garita.example/over_time?states=TX&amp;'
                              'lang=es&amp;version=5&amp;embed=true"')
    assert "<b>" not in snippet and "&quot;&lt;b&gt;&quot;" in snippet


# --- earlier versions ---------------------------------------------------------------------

def test_a_cited_version_reopens_the_same_headline_after_a_later_load(app, built_db,
                                                                      monkeypatch):
    cited = _version(built_db)
    before = _opened(app("pages/map.py"))
    assert before.metric[0].value == "57"
    citation = [c.value for c in before.code if "data version" in c.value][0]
    assert f"(data version {cited})" in citation and f"version={cited}" in citation

    report = load_text(built_db, ONE_INCIDENT)
    assert report.loaded == 1
    assert _version(built_db) > cited
    assert app("pages/map.py").metric[0].value == "58"

    again = app("pages/map.py", version=str(cited))
    assert not again.exception
    assert again.metric[0].value == "57"
    assert "Newer data exists" in _texts(again)


def test_a_version_no_longer_kept_says_so_instead_of_showing_numbers(app, built_db):
    current = _version(built_db)
    load_text(built_db, ONE_INCIDENT)
    for old in db.published_dir(built_db).glob(f"v{current:06d}-*.duckdb"):
        old.unlink()
    at = app("pages/map.py", version=str(current))
    assert not at.exception
    assert len(at.metric) == 0
    assert "no longer kept" in _texts(at)
    future = app("pages/map.py", version="999999")
    assert len(future.metric) == 0 and "There is no data version 999999" in _texts(future)


def test_a_rollback_withdraws_every_earlier_version_that_held_the_batch(app, built_db):
    """A batch may be rolled back because it should never have been public: no cited
    version that still holds it stays reachable."""
    report = load_text(built_db, ONE_INCIDENT)
    holding = _version(built_db)
    assert app("pages/map.py", version=str(holding)).metric[0].value == "58"
    loader.rollback(report.batch_id, db_path=built_db)
    assert newsroom.version_file(built_db, holding) is None
    at = app("pages/map.py", version=str(holding))
    assert len(at.metric) == 0 and "no longer kept" in _texts(at)
    assert app("pages/map.py").metric[0].value == "57"


def _fake_copy(folder: Path, version: int, age_days: float, size: int) -> Path:
    path = folder / f"v{version:06d}-{time.time_ns()}.duckdb"
    path.write_bytes(b"\0" * size)
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))
    return path


def test_retention_prunes_by_age_and_disk_space_and_never_the_current(tmp_path, monkeypatch):
    monkeypatch.setenv("GARITA_KEEP_DAYS", "30")
    monkeypatch.setenv("GARITA_KEEP_MB", "1")
    monkeypatch.setattr(db, "KEEP_PUBLISHED", 1)
    ancient = _fake_copy(tmp_path, 1, 400, 10)
    old_dupe = _fake_copy(tmp_path, 2, 5, 10)
    kept = _fake_copy(tmp_path, 2, 4, 10)
    large = _fake_copy(tmp_path, 3, 2, 900_000)
    recent = _fake_copy(tmp_path, 4, 1, 200_000)
    current = _fake_copy(tmp_path, 5, 500, 10)  # even old, the current copy stays
    db._prune(tmp_path, keep=current.name)
    left = {p.name for p in tmp_path.iterdir()}
    assert current.name in left and recent.name in left
    assert ancient.name not in left  # past 30 days
    assert old_dupe.name not in left  # an older copy of a version kept newer
    assert large.name not in left and kept.name not in left  # beyond 1 MB, oldest go first


def test_retention_settings_have_sensible_defaults(monkeypatch):
    monkeypatch.delenv("GARITA_KEEP_DAYS", raising=False)
    monkeypatch.delenv("GARITA_KEEP_MB", raising=False)
    assert (db.keep_days(), db.keep_mb()) == (365, 2048)
    monkeypatch.setenv("GARITA_KEEP_DAYS", "ninety")
    assert db.keep_days() == 365


# --- incident permalinks ------------------------------------------------------------------

def test_an_incident_permalink_shows_it_in_full(app):
    at = _opened(app("pages/incidents.py", id="CBP-INC-011"))
    assert not at.exception
    assert "Incident CBP\\-INC\\-011" in _texts(at)
    text = _texts(at)
    for label in ("Date", "Port", "People", "Types", "Summary", "Source", "Link", "Batch"):
        assert f"**{label}\\:**" in text or f"**{label}:**" in text, label
    assert "**Batch:** batch 1\\, loaded" in text and "https\u2060\\:" in text
    assert len(at.metric) == 0  # one incident, not the filtered totals
    assert any(b.label == "Open the source" for b in at.get("link_button"))
    assert any('"Incident CBP-INC-011"' in c.value and "id=CBP-INC-011" in c.value
               for c in at.code)


def test_the_incidents_table_and_the_maps_port_list_link_to_permalinks(app):
    at = app("pages/incidents.py")  # the page the app opens first is served at /
    frame = at.dataframe[0].value
    assert frame["permalink"].iloc[0].endswith(f"/?id={frame['incident_id'].iloc[0]}")
    at = app("pages/map.py", port_detail="2402")
    frame = at.dataframe[0].value
    assert len(frame) and all(link.endswith(f"/incidents?id={i}") for link, i in
                              zip(frame["permalink"], frame["incident_id"]))


def test_a_withdrawn_incident_says_when_instead_of_a_blank_page(app, built_db):
    report = load_text(built_db, ONE_INCIDENT)
    loader.rollback(report.batch_id, db_path=built_db, by="test")
    at = app("pages/incidents.py", id="NR-TEST-1")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "withdrawn" in text and f"batch {report.batch_id}" in text
    unknown = app("pages/incidents.py", id="NO-SUCH-ID")
    assert "No incident has the id" in _texts(unknown)


# --- cite on every page, embed layout -----------------------------------------------------

@pytest.mark.parametrize("page", ["pages/map.py", "pages/over_time.py", "pages/by_port.py",
                                  "pages/incidents.py", "pages/sources.py"])
def test_every_page_offers_a_citation(app, page):
    at = app(page, states=["TX"])
    assert not at.exception
    assert any(e.label == "Cite this view" for e in at.expander)
    assert not at.code  # closed, the boxes hold nothing for the browser to load
    at = _opened(at)
    assert any(c.value.startswith('Garita, "Incidents documented in Texas"') for c in at.code)
    embeddable = Path(page).stem in newsroom.EMBEDDABLE
    assert any(e.label == "Embed this view" for e in at.expander) == embeddable


@pytest.mark.parametrize("page", ["pages/map.py", "pages/over_time.py", "pages/by_port.py"])
def test_an_embedded_view_shows_only_its_figure_sentence_source_and_link(built_db, monkeypatch,
                                                                        page):
    at = _run(page, monkeypatch, context={"is_embedded": True}, states=["TX"])
    assert not at.exception
    assert len(at.title) == 0 and len(at.metric) == 0  # no page title, no headline numbers
    assert not any(e.label in ("Cite this view", "Embed this view") for e in at.expander)
    text = _texts(at)
    assert "documented in public reporting" in text and "in Texas" in text
    assert "Source: incidents documented" in text
    assert [b.label for b in at.get("link_button")][-1] == "Open the full view"
    assert len(at.dataframe) == 0  # no port list, table or ranking beside the figure


# --- the data package ---------------------------------------------------------------------

def test_the_data_package_validates_and_holds_the_apps_counts(built_db, tmp_path):
    frictionless = pytest.importorskip("frictionless")
    con = db.connect_reader(db.published_file(built_db))
    try:
        descriptor = newsroom.write_package(con, tmp_path / "pkg")
        headline = queries.headline(con, Filters())
        per_port = queries.by_port(con, Filters())
        version = queries.data_version(con)["version"]
    finally:
        con.close()
    report = frictionless.Package(str(tmp_path / "pkg" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])[:5]
    assert descriptor["version"] == str(version) and descriptor["created"]
    incidents = pd.read_csv(tmp_path / "pkg" / "incidents.csv", dtype=str)
    assert len(incidents) == headline["incidents"] == 57
    assert len(pd.read_parquet(tmp_path / "pkg" / "incidents.parquet")) == 57
    staff_only = {f.name for f in fields.FIELDS if not f.public}
    assert staff_only and not staff_only & set(incidents.columns)
    schema = {f["name"]: f for f in descriptor["resources"][0]["schema"]["fields"]}
    assert set(schema) == set(incidents.columns)
    assert schema["people_count"]["unit"] == "people"
    geo = json.loads((tmp_path / "pkg" / "incidents_by_port.geojson").read_text())
    assert sum(f["properties"]["incidents"] for f in geo["features"]) == \
        int(per_port["incidents"].sum())
    names = {r["name"] for r in descriptor["resources"]}
    assert {"incidents", "ports", "incident_types", "policy_events",
            "incidents_by_port"} <= names
    assert descriptor["licenses"] and descriptor["sources"]


def test_the_package_command_writes_the_package(built_db, tmp_path):
    from click.testing import CliRunner

    from etl.cli import main

    result = CliRunner().invoke(main, ["package", "--out", str(tmp_path / "out"),
                                       "--db", str(built_db)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "datapackage.json").exists()


def test_a_rolled_back_incident_is_not_in_the_package(built_db, tmp_path):
    report = load_text(built_db, ONE_INCIDENT)
    loader.rollback(report.batch_id, db_path=built_db, by="test")
    con = db.connect_reader(db.published_file(built_db))
    try:
        newsroom.write_package(con, tmp_path / "pkg")
    finally:
        con.close()
    assert "NR-TEST-1" not in (tmp_path / "pkg" / "incidents.csv").read_text()


# --- in a browser -------------------------------------------------------------------------

@contextlib.contextmanager
def _static_site(folder: Path):
    """Another site, on another port: serves ``folder`` (the page that embeds the view)."""
    from tests.browser import free_port

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_an_embed_works_in_an_iframe_on_another_site(shared_app, chromium, tmp_path):
    from tests.browser import SHOTS, browser_page

    url = shared_app  # the session's server: nothing here changes its data
    snippets = []
    with browser_page(browser=chromium) as page:  # the snippets as the app gives them
        for path, drawn in (("over_time", ".js-plotly-plot"), ("", "canvas")):
            page.goto(f"{url}/{path}?states=TX")
            page.locator(drawn).first.wait_for(state="visible", timeout=90_000)
            page.get_by_text("Embed this view").first.click()
            code = page.locator("[data-testid='stCode']").filter(has_text="<iframe")
            code.first.wait_for(timeout=30_000)
            snippets.append(code.first.inner_text().strip())
    assert all(s.startswith("<iframe") and "embed=true" in s and "version=" in s
               for s in snippets), snippets
    site = tmp_path / "site"
    site.mkdir()
    (site / "story.html").write_text(
        "<!doctype html><html><body><h1>A newsroom story</h1><p>Our chart:</p>"
        + snippets[0] + "<p>Our map:</p>"
        + snippets[1].replace('height="720"', 'height="900"')
        + "<p>End of story.</p></body></html>")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with _static_site(site) as other, browser_page(1200, 1900, browser=chromium) as page:
        page.goto(f"{other}/story.html")
        for n, drawn in enumerate((".js-plotly-plot", "canvas")):
            frame = page.frame_locator("iframe").nth(n)
            frame.get_by_text("documented in public reporting").first.wait_for(
                timeout=90_000)
            frame.locator(drawn).first.wait_for(state="visible", timeout=60_000)
        time.sleep(3)
        page.screenshot(path=str(SHOTS / "embed-over-time.png"), full_page=True)
        for n in range(2):
            frame = page.frame_locator("iframe").nth(n)
            assert "in Texas" in frame.get_by_text("documented in public reporting"
                                                   ).first.inner_text()
            assert frame.get_by_text("Open the full view").count() == 1
            assert frame.locator("[data-testid='stSidebar']:visible").count() == 0
            assert frame.get_by_text("Filters", exact=True).locator("visible=true"
                                                                    ).count() == 0
            assert frame.get_by_text("Cite this view").count() == 0
            assert frame.get_by_text("Upload").count() == 0
            assert frame.locator("[data-testid='stException']").count() == 0
    print(f"\nscreenshot: {SHOTS / 'embed-over-time.png'}")


@pytest.mark.browser
def test_an_incident_permalink_opens_in_a_browser(shared_app, chromium):
    from tests.browser import SHOTS, browser_page

    url = shared_app  # the session's server: nothing here changes its data
    with browser_page(browser=chromium) as page:
        page.goto(f"{url}/incidents?id=CBP-INC-011")
        page.get_by_text("Incident CBP-INC-011").first.wait_for(timeout=90_000)
        page.get_by_text("Open the source").first.wait_for(state="visible")
        time.sleep(2)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "incident-permalink.png"), full_page=True)
        assert page.get_by_text("Open the source").count() == 1
        assert page.locator("[data-testid='stException']").count() == 0
    print(f"\nscreenshot: {SHOTS / 'incident-permalink.png'}")
