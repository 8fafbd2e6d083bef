"""Who is staff: configuration from secrets, password hashes, and the allowlist check.

Two ways to sign staff in, both configured in ``.streamlit/secrets.toml`` (see
``.streamlit/secrets.toml.example``):

* an OpenID Connect provider (``[auth]``, used through ``st.login``) plus an allowlist of
  staff e-mails (``[staff] emails``): signing in is not enough, the address must be listed;
* for small groups without a provider, user names with salted PBKDF2 hashes
  (``[staff.passwords]``), made with ``python -m etl hash-password``.

With neither, staff pages are off. Nothing here imports Streamlit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as token_source
from dataclasses import dataclass, field
from typing import Mapping

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
OIDC_KEYS = ("redirect_uri", "cookie_secret")


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


@dataclass(frozen=True)
class StaffConfig:
    """How staff sign in here: ``oidc`` and/or ``password``; neither means uploads are off."""

    oidc: bool = False
    emails: frozenset[str] = frozenset()
    passwords: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.oidc or bool(self.passwords)

    def is_staff_email(self, email: str | None) -> bool:
        return bool(email) and email.strip().lower() in self.emails

    def check(self, user: str, password: str) -> bool:
        stored = self.passwords.get(user.strip())
        return stored is not None and check_password(stored, password)


def config_from_secrets(secrets: Mapping) -> StaffConfig:
    """Read the staff configuration; an OIDC provider counts only with an allowlist."""
    auth = dict(secrets.get("auth", {}) or {})
    staff = dict(secrets.get("staff", {}) or {})
    emails = frozenset(e.strip().lower() for e in staff.get("emails", []) if e.strip())
    has_provider = all(auth.get(k) for k in OIDC_KEYS) and (
        "client_id" in auth or any(isinstance(v, Mapping) for v in auth.values()))
    passwords = {str(k): str(v) for k, v in dict(staff.get("passwords", {}) or {}).items()}
    return StaffConfig(oidc=has_provider and bool(emails), emails=emails, passwords=passwords)
