"""Shared fixtures: a fresh database per test, built the way `make run` builds it."""

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


@pytest.fixture
def built_db(db_file, _built_template) -> Path:
    """A database after `python -m etl init`: ports and the 57 default incidents (a fresh
    copy of the session's template: the master, its published copies and pointer)."""
    for item in _built_template.iterdir():
        if item.is_dir():
            shutil.copytree(item, db_file.parent / item.name)
        else:
            shutil.copy2(item, db_file.parent / item.name)
    return db_file


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
