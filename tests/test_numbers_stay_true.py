"""The numbers on an open page stay true when data changes under it.

An untouched filter means "all" after every load and rollback (new months, earlier months,
undated incidents, new nationalities); a filter the user chose stays as chosen.
"""

import contextlib
import json
import re
import time

import pytest
from click.testing import CliRunner

from etl.cli import main as etl_main
from tests.browser import browser_page, chromium_path, running_app
from tests.test_app import PAGES, exported, metric, rerun

# Later, earlier and undated rows than the 57 default incidents (2016-11 … 2023-02).
NEW_BATCH = (
    "date,port,incident_types,nationality,summary,source_url\n"
    "2025-06-14,Hidalgo,turned_away,Testland,Later test row (synthetic),https://example.org/l\n"
    "2015-03-02,Nogales,threatened,Testland,Earlier test row (synthetic),https://example.org/e\n"
    ",El Paso,told_no_asylum,Testland,Undated test row (synthetic),https://example.org/u\n"
)


def _cli(db_file, *args):
    result = CliRunner().invoke(etl_main, [*args, "--db", str(db_file)],
                                catch_exceptions=False)
    return result


def _load_batch(db_file, tmp_path) -> int:
    path = tmp_path / "later_earlier_undated.csv"
    path.write_text(NEW_BATCH, encoding="utf-8")
    report = json.loads(_cli(db_file, "load", str(path), "--json").output)
    assert report["rows"]["loaded"] == 3
    return report["batch_id"]


@pytest.mark.parametrize("page", [p for p in PAGES if not p.endswith("present.py")])
def test_an_untouched_page_shows_every_incident_after_a_load_and_a_rollback(
        app, built_db, tmp_path, page):
    at = app(page)
    assert metric(at, "Incidents") == "57"
    batch = _load_batch(built_db, tmp_path)
    rerun(at)
    assert not at.exception
    assert metric(at, "Incidents") == str(len(exported(built_db))) == "60"
    assert _cli(built_db, "rollback", str(batch)).exit_code == 0
    rerun(at)
    assert metric(at, "Incidents") == str(len(exported(built_db))) == "57"


def test_a_range_the_user_chose_stays_as_chosen(app, built_db, tmp_path):
    at = app()
    at.select_slider(key="months").set_range("2018-01", "2018-12")
    rerun(at)
    chosen = metric(at, "Incidents")
    expected = exported(built_db, "--from", "2018-01", "--to", "2018-12")
    assert chosen == str(len(expected))
    batch = _load_batch(built_db, tmp_path)
    rerun(at)
    assert tuple(at.select_slider(key="months").value) == ("2018-01", "2018-12")
    assert metric(at, "Incidents") == chosen
    _cli(built_db, "rollback", str(batch))
    rerun(at)
    assert tuple(at.select_slider(key="months").value) == ("2018-01", "2018-12")
    assert metric(at, "Incidents") == chosen


def test_a_chosen_range_beyond_the_data_after_a_rollback_stays(app, built_db, tmp_path):
    batch = _load_batch(built_db, tmp_path)
    at = app()
    at.select_slider(key="months").set_range("2020-01", "2025-06")
    rerun(at)
    assert metric(at, "Incidents") == str(len(exported(built_db, "--from", "2020-01",
                                                       "--to", "2025-06")))
    _cli(built_db, "rollback", str(batch))
    rerun(at)
    assert not at.exception
    assert tuple(at.select_slider(key="months").value) == ("2020-01", "2025-06")
    assert metric(at, "Incidents") == str(len(exported(built_db, "--from", "2020-01",
                                                       "--to", "2025-06")))


def test_a_chosen_nationality_that_leaves_the_data_stays_chosen(app, built_db,
                                                                tmp_path):
    batch = _load_batch(built_db, tmp_path)
    at = app()
    at.multiselect(key="nat").select("Testland")
    rerun(at)
    assert metric(at, "Incidents") == "3"
    _cli(built_db, "rollback", str(batch))
    rerun(at)
    assert not at.exception
    assert at.multiselect(key="nat").value == ["Testland"]
    assert metric(at, "Incidents") == "0"


def test_a_shared_link_without_a_range_shows_every_incident_after_a_load(app, built_db,
                                                                         tmp_path):
    _load_batch(built_db, tmp_path)
    at = app("pages/incidents.py", ports=["Hidalgo, TX"])
    assert metric(at, "Incidents") == str(len(exported(built_db, "--port", "2305")))


def _headline(page) -> str:
    return page.locator('[data-testid="stMetricValue"]').first.inner_text()


def _present_count(page) -> str:
    sentence = page.get_by_text(re.compile(r"^[\d,]+ incidents? documented")).first
    return sentence.inner_text().split(" ")[0]


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium")
def test_apps_in_a_browser_follow_a_cli_load_and_rollback(built_db, tmp_path, chromium):
    """As it happened: pages open in Chromium, a CLI load, then a rollback."""
    def wait_for(tab, reader, expected: str) -> str:
        deadline = time.monotonic() + 40
        seen = ""
        while time.monotonic() < deadline:
            try:
                seen = reader(tab)
            except Exception:  # the page is redrawing
                seen = ""
            if seen == expected:
                return seen
            tab.wait_for_timeout(500)
        return seen

    with running_app(built_db) as url, contextlib.ExitStack() as stack:
        tabs = {}
        for page_file in PAGES:  # each a visitor of its own
            slug = page_file.split("/")[1].removesuffix(".py")
            tab = stack.enter_context(browser_page(1440, 900, browser=chromium))
            tab.goto(f"{url}/{slug}")
            tabs[slug] = tab
        for slug, tab in tabs.items():
            reader = _present_count if slug == "present" else _headline
            assert wait_for(tab, reader, "57") == "57", slug
        batch = _load_batch(built_db, tmp_path)
        expected = str(len(exported(built_db)))
        assert expected == "60"
        for slug, tab in tabs.items():
            reader = _present_count if slug == "present" else _headline
            assert wait_for(tab, reader, expected) == expected, slug
        assert _cli(built_db, "rollback", str(batch)).exit_code == 0
        expected = str(len(exported(built_db)))
        for slug, tab in tabs.items():
            reader = _present_count if slug == "present" else _headline
            assert wait_for(tab, reader, expected) == expected, slug
