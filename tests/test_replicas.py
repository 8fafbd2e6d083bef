"""Readers on two app processes behind nginx (``make serve``, ``garita.serve_many``), in
headless Chromium: each browser stays on its process, a new published version reaches both,
and when one process dies its page reconnects to the other and answers while the other
page never notices.
"""

import os
import subprocess
import sys
import time

import pytest

from garita import serve_many
from tests.browser import chromium_path, wait_settled
from tests.conftest import DATA

for missing, install in ((serve_many.nginx_binary() is None, "nginx"),
                         (chromium_path() is None, "chromium")):
    if missing:
        if os.environ.get("CI"):
            raise RuntimeError(f"CI must run the proxy tests: install Debian's {install} "
                               "(.ci/run does).")
        pytest.skip(f"no {install} on this machine (apt-get install {install})",
                    allow_module_level=True)

pytestmark = [pytest.mark.proxy, pytest.mark.browser]


def _wait(page, condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(300)  # lets Playwright deliver the page's events meanwhile


def _pinned_page(browser, url: str, replica: int):
    """A browser whose cookie pins it to app process ``replica``, on the map; returns the
    page and the list of websockets it opens."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.add_cookies([{"name": "garita_replica", "value": str(replica), "url": url}])
    page = context.new_page()
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    page.goto(url)
    page.get_by_text("Ports with incidents").first.wait_for(timeout=60_000)
    wait_settled(page)  # every metric drawn before one is read
    return page, sockets


def _replica(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "garita_replica")


def _incidents(page) -> str:
    return page.locator("[data-testid='stMetricValue']").first.inner_text()


def test_a_page_survives_its_process_dying_and_both_processes_follow_new_data(built_db,
                                                                              chromium):
    db_file = built_db
    with serve_many.serving(2, env={"GARITA_DB": str(db_file)}) as proxy:
        (first, first_sockets), (second, second_sockets) = (
            _pinned_page(chromium, proxy.url, n) for n in (1, 2))
        assert (_replica(first), _replica(second)) == ("1", "2")
        assert _incidents(first) == _incidents(second) == "57"

        # A load through the CLI: each process sees the new published copy by itself.
        loaded = subprocess.run([sys.executable, "-m", "etl", "load",
                                 str(DATA / "en_utf8_bom.csv"), "--db", str(db_file)],
                                capture_output=True, text=True, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        _wait(first, lambda: _incidents(first) == "60" and _incidents(second) == "60",
              "an open page on one of the processes did not show the new batch", 30)

        proxy.kill(1)
        _wait(first, lambda: first_sockets[0].is_closed(), "the first page's websocket stayed open")
        # It reconnects through the proxy to the live process and the cookie follows.
        _wait(first, lambda: len(first_sockets) > 1 and not first_sockets[-1].is_closed()
              and _replica(first) == "2", "the first page did not reconnect to process 2")
        for page in (first, second):
            page.get_by_text("Español", exact=True).first.click()
            page.get_by_text("Filtros").first.wait_for(timeout=60_000)
            assert _incidents(page) == "60"
        # The other page never lost its connection.
        assert len(second_sockets) == 1 and not second_sockets[0].is_closed()
        assert _replica(second) == "2"
        first.context.close()
        second.context.close()
