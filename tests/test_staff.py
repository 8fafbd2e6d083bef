"""Staff pages: hidden from anonymous visitors and from signed-in non-staff; usable by staff."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from garita.auth import check_password, config_from_secrets, hash_password
from tests.conftest import DATA, read
from tests.test_app import metric, rerun

ROOT = Path(__file__).resolve().parent.parent
OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "garita", "client_secret": "secret",
        "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"}
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD, iterations=1000)


@pytest.fixture
def app(built_db, monkeypatch):
    def make(page="map", secrets=None, user=None):
        monkeypatch.setenv("GARITA_START_PAGE", page)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        for key, value in (secrets or {}).items():
            at.secrets[key] = value
        if user is not None:
            at.user = user
        return at.run()
    return make


def test_password_hashes_are_salted_and_checked():
    one, two = hash_password(PASSWORD, iterations=1000), hash_password(PASSWORD, iterations=1000)
    assert one != two and check_password(one, PASSWORD) and not check_password(one, "wrong")
    assert not check_password("garbage", PASSWORD)
    with pytest.raises(ValueError):
        hash_password("short")


def test_oidc_counts_only_with_an_allowlist():
    assert not config_from_secrets({"auth": OIDC}).enabled
    assert config_from_secrets({"auth": OIDC, "staff": {"emails": ["A@x.org"]}}).oidc
    assert config_from_secrets({"auth": OIDC, "staff": {"emails": ["A@x.org"]}}
                               ).is_staff_email("a@X.org ")


def test_anonymous_without_configuration_gets_no_upload_and_no_setup_details(app):
    """Visitors learn at most that staff sign-in is off; how to configure it is in the
    README, not on a public page."""
    at = app("sources")
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    assert any("Staff sign-in is off" in c.value for c in at.caption)
    shown = " ".join(e.value for e in [*at.markdown, *at.info, *at.caption, *at.warning])
    assert "secrets.toml" not in shown and "hash-password" not in shown


def test_anonymous_asking_for_the_upload_page_gets_no_uploader(app, password_hash):
    at = app("upload", secrets={"staff": {"passwords": {"ana": password_hash}}})
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    assert metric(at, "Incidents") == "57"  # the public map opens instead


def test_signed_in_non_staff_gets_no_uploader(app):
    someone = {"secrets": {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}},
               "user": {"is_logged_in": True, "email": "someone@else.org"}}
    at = app("upload", **someone)
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    at = app("sign_in", **someone)
    assert any("not on this deployment's staff list" in w.value for w in at.warning)


def test_wrong_password_is_refused_and_right_one_signs_in(app, password_hash):
    at = app("sign_in", secrets={"staff": {"passwords": {"ana": password_hash}}})
    at.text_input[0].input("ana")
    at.text_input[1].input("not the password")
    at.get("form_submit_button")[0].click()
    rerun(at)
    assert any("not recognised" in e.value for e in at.error)
    at.text_input[1].input(PASSWORD)
    at.get("form_submit_button")[0].click()
    rerun(at)
    assert at.session_state["_staff_user"] == "ana"


def test_staff_uploads_a_file_sees_problems_loads_and_the_count_changes(app, built_db):
    staff = {"secrets": {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}},
             "user": {"is_logged_in": True, "email": "Staff@clinic.org"}}
    at = app("upload", **staff)
    assert not at.exception
    assert metric(at, "Incidents") == "57"
    at.get("file_uploader")[0].set_value(
        ("bad.csv", (DATA / "bad_rows.csv").read_bytes(), "text/csv"))
    rerun(at)
    assert not at.exception, at.exception
    assert metric(at, "With problems") == "10" and metric(at, "Will load") == "1"
    load = next(b for b in at.button if b.label.startswith("Load "))
    load.click()
    rerun(at)
    assert not at.exception, at.exception
    assert any("Loaded batch 2" in s.value for s in at.success)
    assert metric(at, "Incidents") == "58"
    assert read(built_db, "SELECT loaded_by FROM batches WHERE batch_id = 2") == \
        [("staff@clinic.org",)]
    assert read(built_db, "SELECT who, action, batch_id FROM audit_log WHERE batch_id = 2") == \
        [("staff@clinic.org", "load", 2)]


def test_staff_rolls_back_a_batch_with_confirmation(app, built_db):
    staff = {"secrets": {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}},
             "user": {"is_logged_in": True, "email": "staff@clinic.org"}}
    at = app("batches", **staff)
    assert not at.exception
    at.get("form_submit_button")[0].click()
    rerun(at)
    assert any("Tick the box" in w.value for w in at.warning)
    assert read(built_db, "SELECT status FROM batches") == [("active",)]
    at.checkbox[0].check()
    at.get("form_submit_button")[0].click()
    rerun(at)
    assert read(built_db, "SELECT status FROM batches") == [("rolled_back",)]
    assert metric(at, "Incidents") == "0"


def test_a_file_one_byte_over_the_limit_is_refused_on_its_bytes(app, built_db):
    staff = {"secrets": {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}},
             "user": {"is_logged_in": True, "email": "staff@clinic.org"}}
    at = app("upload", **staff)
    data = b"date,port,type\n" + b"x" * (20 * 1024 * 1024 + 1 - 15)
    at.get("file_uploader")[0].set_value(("big.csv", data, "text/csv"))
    rerun(at)
    assert not at.exception
    assert any("the limit is 20 MB" in e.value for e in at.error)
    assert read(built_db, "SELECT count(*) FROM batches") == [(1,)]
