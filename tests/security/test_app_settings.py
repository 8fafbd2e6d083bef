"""Promises about the running app: safe settings, no traceback or data in errors, and
staff-only answers never reaching public sessions."""

import logging
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from garita import ui
from tests.conftest import DATA
from tests.test_app import rerun
from tests.test_staff import OIDC

ROOT = Path(__file__).resolve().parent.parent.parent


def test_running_configuration_is_production_safe():
    script = ("from streamlit import config; config.get_config_options(force_reparse=True); "
              "print([config.get_option(k) for k in ('browser.gatherUsageStats', "
              "'server.enableXsrfProtection', 'client.showErrorDetails', "
              "'server.maxUploadSize', 'client.toolbarMode', 'server.headless')])")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[False, True, 'none', 20, 'viewer', True]"


def test_an_error_on_a_page_shows_no_traceback_and_logs_no_data(built_db, monkeypatch,
                                                                 caplog):
    from garita import queries

    def broken(*args, **kwargs):
        raise RuntimeError("value from a row: SECRET-ROW-CONTENT")
    broken.__name__ = "monthly"  # pages ask for queries.monthly, which is now this
    monkeypatch.setattr(queries, "monthly", broken)
    monkeypatch.setenv("GARITA_START_PAGE", "over_time")
    with caplog.at_level(logging.ERROR, logger="garita"):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert any("Something went wrong" in e.value for e in at.error)
    assert "SECRET-ROW-CONTENT" not in sent(at)
    assert "RuntimeError" in caplog.text and "SECRET-ROW-CONTENT" not in caplog.text


def test_staff_answers_are_not_public_questions():
    staff_only = {"staff_batches", "batch_incidents", "rejected_rows", "audit_log"}
    assert not staff_only & ui.PUBLIC_QUESTIONS
    for page in ("upload.py", "batches.py"):
        assert "ui.ask(" not in (ROOT / "pages" / page).read_text()


def sent(at) -> str:
    """Everything a run sends to the browser, as text (tables included, as raw bytes)."""
    out, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "proto", None) is not None:
            out.append(str(node.proto))
        stack.extend(getattr(node, "children", {}).values())
    return "\n".join(out)


def staff_app(monkeypatch, page: str) -> AppTest:
    monkeypatch.setenv("GARITA_START_PAGE", page)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.secrets["auth"] = OIDC
    at.secrets["staff"] = {"emails": ["staff@clinic.org"]}
    at.user = {"is_logged_in": True, "email": "staff@clinic.org"}
    return at.run()


def test_a_staff_session_leaves_nothing_for_a_public_one(built_db, monkeypatch):
    at = staff_app(monkeypatch, "upload")
    at.get("file_uploader")[0].set_value(
        ("en.csv", (DATA / "en_utf8_bom.csv").read_bytes(), "text/csv"))
    rerun(at)
    next(b for b in at.button if b.label.startswith("Load ")).click()
    rerun(at)
    staff_view = staff_app(monkeypatch, "batches")
    assert "staff@clinic.org" in sent(staff_view)  # the check can see it where it is shown
    for page in ("sources", "incidents", "map", "batches", "upload"):
        monkeypatch.setenv("GARITA_START_PAGE", page)
        public = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
        assert not public.exception
        assert "staff@clinic.org" not in sent(public), page
        assert len(public.get("file_uploader")) == 0
