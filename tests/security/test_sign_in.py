"""Password sign-in resists guessing: per-user and global limits with backoff shared by every
session, unknown names cost the same time as known ones, and every failure and lockout is in
the audit log that staff read on the Batches page (never the password)."""

import re
import statistics
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from garita import auth
from garita.auth import config_from_secrets, hash_password
from tests.conftest import read
from tests.test_app import rerun
from tests.test_staff import OIDC, PASSWORD, ROOT, app, password_hash  # noqa: F401

WRONG = "hunter2 is not it"
STAFF = {"auth": OIDC, "staff": {"emails": ["staff@clinic.org"]}}


def staff_config(stored: str) -> auth.StaffConfig:
    return config_from_secrets({"staff": {"passwords": {"ana": stored}}})


def later(config, seconds: float) -> None:
    """Move the shared limiter's clock on, as if ``seconds`` had passed."""
    config.limiter.clock = lambda: time.time() + seconds


def submit(at, user: str, password: str) -> None:
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    at.get("form_submit_button")[0].click()
    rerun(at)


def audit_entries(db_file) -> list[tuple]:
    """The audit log as the dashboard reads it: from the published copy."""
    return read(db_file, "SELECT who, action, detail FROM audit_log ORDER BY logged_at")


def test_25_wrong_passwords_then_the_right_one_is_refused_until_the_lock_ends(
        built_db, password_hash):  # noqa: F811
    config = staff_config(password_hash)
    for n in range(25):
        assert not config.check("ana", f"{WRONG} {n}")
    assert not config.check("ana", PASSWORD)
    refused = config.attempt(" ANA ", PASSWORD)  # the same name, however typed
    assert not refused.accepted and not refused.checked and refused.wait > 0
    later(config, auth.LONGEST_LOCK_SECONDS + 1)
    assert config.check("ana", PASSWORD)


def test_each_failure_after_the_lock_doubles_it(built_db, password_hash):  # noqa: F811
    config = staff_config(password_hash)
    clock = [time.time()]
    config.limiter.clock = lambda: clock[0]
    locks = []
    for _ in range(auth.PER_USER_FAILURES + 3):
        attempt = config.attempt("ana", WRONG)
        assert attempt.checked
        locks.append(attempt.wait)
        clock[0] += attempt.wait + 1
    assert locks[-4:] == [30, 60, 120, 240]


def test_a_lock_outlives_a_restart(built_db, password_hash, monkeypatch):  # noqa: F811
    config = staff_config(password_hash)
    for n in range(5):
        config.check("ana", f"{WRONG} {n}")
    monkeypatch.setattr(auth, "_LIMITERS", {}, raising=False)  # a new process
    assert not staff_config(password_hash).check("ana", PASSWORD)


def test_parallel_sessions_share_one_limit(built_db, password_hash, monkeypatch):  # noqa: F811
    """Six sessions guessing at once get five guesses between them, not five each."""
    checked = []
    real_check = auth.check_password

    def slow_check(stored, password):
        checked.append(password)
        time.sleep(0.02)  # let the sessions overlap
        return real_check(stored, password)

    monkeypatch.setattr(auth, "check_password", slow_check)
    config = staff_config(password_hash)
    start = threading.Barrier(6)

    def session(number: int) -> None:
        start.wait()
        for guess in range(4):  # fewer than a lock needs, in any one session
            config.check("ana", f"{WRONG} {number}-{guess}")

    threads = [threading.Thread(target=session, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) <= 5
    assert not config.check("ana", PASSWORD)


def test_many_names_trip_the_limit_for_everyone(built_db, password_hash):  # noqa: F811
    config = staff_config(password_hash)
    per_minute = getattr(auth, "GLOBAL_FAILURES_PER_MINUTE", 30)
    for n in range(per_minute):
        assert not config.check(f"guess{n}", WRONG)
    refused = config.attempt("ana", PASSWORD)
    assert not refused.accepted and refused.scope == "all" and 0 < refused.wait <= 60
    later(config, 61)
    assert config.check("ana", PASSWORD)


def test_an_unknown_name_takes_as_long_to_refuse_as_a_known_one(built_db, monkeypatch):
    monkeypatch.setattr(auth, "PER_USER_FAILURES", 10**6, raising=False)
    monkeypatch.setattr(auth, "GLOBAL_FAILURES_PER_MINUTE", 10**6, raising=False)
    config = staff_config(hash_password(PASSWORD, iterations=100_000))

    def seconds(user: str) -> float:
        began = time.perf_counter()
        assert not config.check(user, WRONG)
        return time.perf_counter() - began

    known, unknown = [], []
    for n in range(15):
        known.append(seconds("ana"))
        unknown.append(seconds(f"nadie{n}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 <= ratio <= 1.4, f"unknown/known = {ratio:.2f}"


def test_failures_are_audited_as_typed_and_never_with_the_password(built_db, password_hash):  # noqa: F811,E501
    config = staff_config(password_hash)
    typed = "=HYPERLINK(\"http://x\")\n" + "x" * 100
    auth.sign_in(config, typed, WRONG, built_db)
    for n in range(auth.PER_USER_FAILURES):
        auth.sign_in(config, "ana", f"{WRONG} {n}", built_db)
    auth.sign_in(config, "ana", PASSWORD, built_db)  # refused, locked: not logged one by one
    entries = audit_entries(built_db)
    odd = entries[1][0]
    assert odd.startswith("'=HYPERLINK") and "\n" not in odd and len(odd) <= 66
    assert [e[:2] for e in entries[1:]] == [(odd, "sign_in_failed")] + [
        ("ana", "sign_in_failed")] * 5 + [("ana", "sign_in_locked")]
    assert not any(WRONG in str(cell) or PASSWORD in str(cell)
                   for entry in entries for cell in entry)


def test_the_page_refuses_the_right_password_while_locked_and_says_when(
        app, password_hash):  # noqa: F811
    at = app("sign_in", secrets={"staff": {"passwords": {"ana": password_hash}}})
    for n in range(5):
        submit(at, "ana", f"{WRONG} {n}")
    submit(at, "ana", PASSWORD)
    assert not at.exception
    assert "_staff_user" not in at.session_state
    assert any(re.search(r"Try again in \d+ seconds", e.value) for e in at.error)


def test_a_name_that_is_not_staff_locks_the_same_way(app, password_hash):  # noqa: F811
    messages = {}
    for user in ("ana", "nadie"):
        at = app("sign_in", secrets={"staff": {"passwords": {"ana": password_hash}}})
        for n in range(6):
            submit(at, user, f"{WRONG} {n}")
        messages[user] = [re.sub(r"\d+", "N", e.value) for e in at.error]
    assert messages["ana"] == messages["nadie"]
    assert any("Try again" in m for m in messages["ana"])


def test_sign_ins_and_failures_show_on_the_batches_page(app, built_db, password_hash):  # noqa: F811,E501
    secrets = {**STAFF, "staff": {**STAFF["staff"], "passwords": {"ana": password_hash}}}
    at = app("sign_in", secrets=secrets)
    submit(at, "nadie", WRONG)
    submit(at, "ana", WRONG)
    submit(at, "ana", PASSWORD)
    assert at.session_state["_staff_user"] == "ana"
    batches = app("batches", secrets=secrets,
                  user={"is_logged_in": True, "email": "staff@clinic.org"})
    assert not batches.exception
    shown = batches.dataframe[-1].value
    from garita import words

    expected = {("nadie", "sign_in_failed"), ("ana", "sign_in_failed"), ("ana", "sign_in")}
    assert {(who, words.audit_action(action)) for who, action in expected} <= set(
        zip(shown["who"], shown["action"]))
    assert not shown.astype(str).apply(lambda col: col.str.contains(WRONG)).any().any()
