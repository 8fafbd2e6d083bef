"""Shared fixtures: a fresh database per test, built the way `make run` builds it; one
Chromium per test module and one app server per session for the browser tests that only read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from etl import load as loader
from garita import db

# Plotly checks every property of every figure the tests build (the app skips it:
# garita/charts.py CHECK); set before garita.charts is imported.
os.environ["GARITA_CHECK_FIGURES"] = "1"

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_file(tmp_path, monkeypatch) -> Path:
    """A path for a database that does not exist yet (GARITA_DB points at it)."""
    path = tmp_path / "garita.duckdb"
    monkeypatch.setenv(db.DB_ENV, str(path))
    return path


@pytest.fixture(scope="session")
def _built_template(tmp_path_factory) -> Path:
    """One database built by `python -m etl init` per test session, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    loader.init(folder / "garita.duckdb")
    return folder


def _copy_template(template: Path, folder: Path) -> None:
    for item in template.iterdir():
        if item.is_dir():
            shutil.copytree(item, folder / item.name)
        else:
            shutil.copy2(item, folder / item.name)


@pytest.fixture
def built_db(db_file, _built_template) -> Path:
    """A database after `python -m etl init`: ports and the 57 default incidents (a fresh
    copy of the session's template: the master, its published copies and pointer)."""
    _copy_template(_built_template, db_file.parent)
    return db_file


@pytest.fixture(scope="session")
def shared_app(_built_template, tmp_path_factory) -> str:
    """The base URL of one app server for every browser test that changes no data: a copy of
    the session's template (ports and the 57 default incidents), with staff password sign-in
    (tests.browser.STAFF_USER). Signing in writes only the audit log. A test that loads,
    rolls back or needs a server nobody has asked anything yet starts its own."""
    from tests.browser import chromium_path, running_app, staff_secrets

    if chromium_path() is None:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("shared_app")
    _copy_template(_built_template, folder)
    with running_app(folder / "garita.duckdb",
                     args=("--secrets.files", str(staff_secrets(folder)))) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module's browser tests; each test opens its pages in a
    context of their own (``tests.browser.browser_page(..., browser=chromium)``).

    Module, not session, scope: Playwright's sync API keeps its event loop marked as running
    while a browser is open, which stops ``asyncio.run`` in any other test meanwhile. Modules
    keep their browser tests last."""
    from tests.browser import chromium_path, launched_browser

    if chromium_path() is None:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    with launched_browser() as browser:
        yield browser


@pytest.fixture
def app(built_db, monkeypatch):
    """``app(page, **query_params)``: the dashboard run by AppTest, opened on ``page``."""
    from streamlit.testing.v1 import AppTest

    def make(page: str = "pages/map.py", **params):
        monkeypatch.setenv("GARITA_START_PAGE", Path(page).stem)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        return at.run()
    return make


def read(path: Path, sql: str, params=None):
    """Run a query on the newest published copy, as the dashboard would."""
    con = db.connect_reader(db.published_file(path))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def load_text(path: Path, text: str, name: str = "batch.csv", **kwargs):
    return loader.load_bytes(text.encode("utf-8"), name, db_path=path, **kwargs)


def pytest_terminal_summary(terminalreporter):
    """Say where the browser tests left their screenshots, to look at."""
    from tests.browser import ARTIFACTS

    if ARTIFACTS.exists() and any(ARTIFACTS.iterdir()):
        terminalreporter.write_line(f"screenshots, images and briefs to look at: {ARTIFACTS}")
