"""A page opened in a fresh tab settles: its script runs once, or twice where the map asks
for the size of the screen it is on, and then the page stays still — no rerun loop, no
map refitted again and again, no "Running…" left on screen.

Counted from the websocket in headless Chromium (bench/tabs.py measures the same tabs for
speed); no time is asserted.
"""

import os

import pytest

from tests.browser import chromium_path, running_app

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium.")
    pytest.skip("no chromium on this machine (apt-get install chromium)",
                allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from etl import load as loader

    db_file = tmp_path_factory.mktemp("fresh") / "garita.duckdb"
    loader.init(db_file)
    with running_app(db_file) as url:
        yield url


@pytest.mark.parametrize("page, most", [("map", 2), ("over_time", 1), ("present", 2)])
def test_a_fresh_tab_runs_the_page_at_most_once_more_for_the_screen_size(server, page, most):
    from playwright.sync_api import sync_playwright

    from bench.tabs import CHROMIUM_ARGS, PAGES, open_tab

    path, text, drawn = PAGES[page]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            # raises when the page never settles (still running, or asking to run again)
            tab = open_tab(browser, f"{server}/{path}", text, drawn, (1440, 900))
        finally:
            browser.close()
    assert 1 <= len(tab.runs) <= most, tab.runs
    assert [why for *_, why in tab.runs][1:] in ([], ["widget"]), tab.runs  # the size only
