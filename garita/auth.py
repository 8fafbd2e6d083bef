"""Who is staff: configuration from secrets, password hashes, the allowlist check, and the
limits on guessing passwords.

Two ways to sign staff in, both configured in ``.streamlit/secrets.toml`` (see
``.streamlit/secrets.toml.example``):

* an OpenID Connect provider (``[auth]``, used through ``st.login``) plus an allowlist of
  staff e-mails (``[staff] emails``): signing in is not enough, the address must be listed;
* for small groups without a provider, user names with salted PBKDF2 hashes
  (``[staff.passwords]``), made with ``python -m etl hash-password``.

Password sign-in goes through one :class:`SignInLimiter` per database, shared by every
session of the process: after ``PER_USER_FAILURES`` failures a user name is locked for a time
that doubles with each further failure, and past ``GLOBAL_FAILURES_PER_MINUTE`` failures in a
minute every password sign-in waits. Locks are kept in a small file beside the database so a
restart does not lift them. A name that is not staff costs the same work and locks the same
way as one that is, so neither time nor lockouts tell which names exist.

With neither way configured, staff pages are off. Nothing here imports Streamlit.
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets as token_source
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from garita import db
from garita.exports import neutralize

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
OIDC_KEYS = ("redirect_uri", "cookie_secret")

PER_USER_FAILURES = 5          # failures of one user name before it is locked
FIRST_LOCK_SECONDS = 30        # the first lock; each further failure doubles it
LONGEST_LOCK_SECONDS = 3600
GLOBAL_FAILURES_PER_MINUTE = 30
FORGET_AFTER_SECONDS = 24 * 3600  # a user name's failures are forgotten after a quiet day
AUDIT_NAME_CHARS = 64
EVERYONE = "(all password sign-ins)"

LOG = logging.getLogger("garita")


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` for the secrets file."""
    if len(password) < 12:
        raise ValueError("Use a password of at least 12 characters.")
    salt = salt or token_source.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"{ALGORITHM}${iterations}${encode(salt)}${encode(digest)}"


def check_password(stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored``; False for any malformed entry."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        if algorithm != ALGORITHM:
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                       int(iterations))
        return hmac.compare_digest(computed, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


def _iterations(stored: str) -> int | None:
    try:
        algorithm, iterations, _salt, _digest = stored.split("$")
        return int(iterations) if algorithm == ALGORITHM else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _dummy_hash(iterations: int) -> str:
    """A well-formed hash no password matches: checking it costs what a real one costs."""
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return (f"{ALGORITHM}${iterations}${encode(token_source.token_bytes(16))}$"
            f"{encode(token_source.token_bytes(32))}")


def limit_key(user: str) -> str:
    """The name a limit is kept under: ``Ana``, `` ana `` and ``ａｎａ`` share one."""
    return unicodedata.normalize("NFKC", user).strip().casefold()[:AUDIT_NAME_CHARS]


def audit_name(typed: str) -> str:
    """A typed user name as the audit log keeps it: control characters shown as ``?``,
    cut to ``AUDIT_NAME_CHARS``, and never something a spreadsheet would run."""
    shown = "".join("?" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                    for c in typed.strip())
    if len(shown) > AUDIT_NAME_CHARS:
        shown = shown[:AUDIT_NAME_CHARS] + "…"
    return neutralize(shown)


@dataclass(frozen=True)
class Attempt:
    """What became of one password sign-in.

    ``checked`` is False when a lock refused the attempt before the password was looked at.
    ``wait`` is the seconds until another attempt is allowed (a lock that refused this one,
    or one this failure started), ``scope`` whose lock it is: ``"user"`` or ``"all"``.
    """

    accepted: bool
    user: str = ""
    checked: bool = True
    wait: float = 0.0
    scope: str = ""


class SignInLimiter:
    """Failed sign-ins per user name and for everyone, shared by all sessions (thread-safe).

    An attempt counts as a failure from the moment it starts and is cleared if the password
    was right, so parallel guesses cannot all slip in before the first one fails.
    ``state_file`` (optional) keeps the counts and locks across restarts.
    """

    def __init__(self, state_file: Path | None = None, *, clock: Callable[[], float] = time.time,
                 per_user: int | None = None, per_minute: int | None = None):
        self.state_file = state_file
        self.clock = clock
        self.per_user = per_user or PER_USER_FAILURES
        self.per_minute = per_minute or GLOBAL_FAILURES_PER_MINUTE
        self._lock = threading.Lock()
        self._users: dict[str, list[float]] = {}  # key -> [failures, locked until, last failure]
        self._recent: collections.deque[float] = collections.deque()  # failures, last minute
        self._read()

    def attempt(self, user: str, check: Callable[[], bool]) -> Attempt:
        """Run ``check`` (the password check) unless ``user`` or everyone is locked."""
        key = limit_key(user)
        with self._lock:
            now = self.clock()
            self._forget(now)
            wait, scope = self._waiting(key, now)
            if wait > 0:
                return Attempt(False, checked=False, wait=wait, scope=scope)
            entry = self._users.setdefault(key, [0, 0.0, now])
            entry[0] += 1
            entry[2] = now
            lock = 0.0
            if entry[0] >= self.per_user:
                doublings = min(int(entry[0]) - self.per_user, 16)
                lock = min(FIRST_LOCK_SECONDS * 2 ** doublings, LONGEST_LOCK_SECONDS)
                entry[1] = now + lock
            self._recent.append(now)
            everyone = len(self._recent) == self.per_minute
        accepted = check()
        with self._lock:
            if accepted:
                self._users.pop(key, None)
                try:
                    self._recent.remove(now)
                except ValueError:
                    pass
            self._write()
        if accepted:
            return Attempt(True, user=user.strip())
        if everyone:
            return Attempt(False, wait=max(lock, 60.0), scope="all")
        return Attempt(False, wait=lock, scope="user" if lock else "")

    def _waiting(self, key: str, now: float) -> tuple[float, str]:
        entry = self._users.get(key)
        if entry and entry[1] > now:
            return entry[1] - now, "user"
        if len(self._recent) >= self.per_minute:
            return self._recent[0] + 60 - now, "all"
        return 0.0, ""

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - 60:
            self._recent.popleft()
        stale = [k for k, (_n, until, last) in self._users.items()
                 if until <= now and last <= now - FORGET_AFTER_SECONDS]
        for key in stale:
            del self._users[key]

    def _read(self) -> None:
        if self.state_file is None:
            return
        try:
            state = json.loads(self.state_file.read_text())
            self._users = {str(k): [float(x) for x in v] for k, v in state["users"].items()
                           if len(v) == 3}
            self._recent = collections.deque(sorted(float(x) for x in state["recent"]))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            LOG.error("sign-in limits unreadable (%s); starting afresh", type(exc).__name__)

    def _write(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"users": self._users, "recent": list(self._recent)}))
            os.replace(tmp, self.state_file)
        except OSError as exc:  # limits still hold in memory
            LOG.error("sign-in limits not saved (%s)", type(exc).__name__)


_LIMITERS: dict[Path, SignInLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limits_file(master: Path) -> Path:
    """Where the sign-in limits of a database are kept across restarts."""
    return master.with_name(master.name + ".sign-in.json")


def limiter_for(master: Path) -> SignInLimiter:
    """The one limiter of a database, shared by every session of this process."""
    with _LIMITERS_LOCK:
        if master not in _LIMITERS:
            _LIMITERS[master] = SignInLimiter(limits_file(master))
        return _LIMITERS[master]


def _default_limiter() -> SignInLimiter:
    return limiter_for(db.db_path())


@dataclass(frozen=True)
class StaffConfig:
    """How staff sign in here: ``oidc`` and/or ``password``; neither means uploads are off."""

    oidc: bool = False
    emails: frozenset[str] = frozenset()
    passwords: Mapping[str, str] = field(default_factory=dict)
    limiter: SignInLimiter = field(default_factory=_default_limiter, compare=False, repr=False)

    @property
    def enabled(self) -> bool:
        return self.oidc or bool(self.passwords)

    def is_staff_email(self, email: str | None) -> bool:
        return bool(email) and email.strip().lower() in self.emails

    @functools.cached_property
    def _unknown_user_hash(self) -> str:
        counts = [n for n in map(_iterations, self.passwords.values()) if n]
        return _dummy_hash(max(counts, default=ITERATIONS))

    def attempt(self, user: str, password: str) -> Attempt:
        """Check a password sign-in within the limits; an unknown name costs the same work."""
        stored = self.passwords.get(user.strip())
        return self.limiter.attempt(user, lambda: check_password(
            stored if stored is not None else self._unknown_user_hash, password)
            and stored is not None)

    def check(self, user: str, password: str) -> bool:
        """True when the password is right and neither the name nor everyone is locked."""
        return self.attempt(user, password).accepted


def sign_in(config: StaffConfig, user: str, password: str, master: Path) -> Attempt:
    """A password sign-in, audited in ``master``: successes, failures (the name as typed,
    never the password) and the locks they start, in one write. Refusals during a lock are
    not logged one by one. Raises ``db.DatabaseBusy`` if the audit cannot be written."""
    result = config.attempt(user, password)
    if result.accepted:
        entries = [(result.user, "sign_in", "")]
    elif not result.checked:
        return result
    else:
        entries = [(audit_name(user), "sign_in_failed", "")]
        if result.scope == "all":
            entries.append((EVERYONE, "sign_in_locked",
                            f"{config.limiter.per_minute} failures in a minute: password "
                            "sign-in paused for up to 60 s"))
        elif result.scope == "user":
            entries.append((audit_name(user), "sign_in_locked",
                            f"locked for {result.wait:.0f} s after repeated failures"))
    try:
        with db.writer(master) as con:
            for who, action, detail in entries:
                db.audit(con, who, action, None, detail)
    except db.NotPublished:  # the entries are saved; staff see them once it is published
        pass
    return result


def config_from_secrets(secrets: Mapping) -> StaffConfig:
    """Read the staff configuration; an OIDC provider counts only with an allowlist."""
    auth = dict(secrets.get("auth", {}) or {})
    staff = dict(secrets.get("staff", {}) or {})
    emails = frozenset(e.strip().lower() for e in staff.get("emails", []) if e.strip())
    has_provider = all(auth.get(k) for k in OIDC_KEYS) and (
        "client_id" in auth or any(isinstance(v, Mapping) for v in auth.values()))
    passwords = {str(k): str(v) for k, v in dict(staff.get("passwords", {}) or {}).items()}
    return StaffConfig(oidc=has_provider and bool(emails), emails=emails, passwords=passwords)
