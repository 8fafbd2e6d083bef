"""Every piece of text the app shows goes through ``t()``, so Spanish is a file, not a rewrite.

Catalogs are ``garita/locales/<lang>.json`` mapping the English text to its translation;
missing entries fall back to English (a test keeps the Spanish catalog complete).

The language is chosen per visitor: the app sets it at the start of every rerun from the
language switch (``?lang=es``) or the browser's language, so two visitors on one server
read their own languages at the same time. ``GARITA_LANG`` is the server's default, used
wherever no visitor is asking (the CLI, scripts, tests). ``using("es")`` makes an image or a
brief in a given language from Python.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "es": "Español"}
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("garita_language",
                                                                      default=None)
MONTHS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def default_language() -> str:
    """The server's language: ``GARITA_LANG`` if it names a known language, else English."""
    lang = os.environ.get("GARITA_LANG", "en")
    return lang if lang in LANGUAGES else "en"


def language() -> str:
    """The language of the visitor being served now (or the server's default)."""
    return _current.get() or default_language()


def set_language(lang: str | None) -> None:
    """Serve the rest of this rerun (this thread's context) in ``lang``."""
    _current.set(lang if lang in LANGUAGES else None)


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Everything inside speaks ``lang`` (an image or a brief made in a given language)."""
    token = _current.set(lang if lang in LANGUAGES else None)
    try:
        yield
    finally:
        _current.reset(token)


def from_locale(locale: str | None) -> str | None:
    """'es' for a browser locale such as ``es-MX`` or ``es``; None for anything else."""
    if locale and locale.lower().split("-")[0].split("_")[0] == "es":
        return "es"
    return None


@lru_cache(maxsize=8)
def _catalog(lang: str) -> dict[str, str]:
    path = LOCALES / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def N_(text: str) -> str:
    """Mark ``text`` for the catalog where it is written (a constant, a table of labels) and
    return it untranslated; ``t()`` translates it where it is shown. The catalog test
    collects the text of every ``t``, ``tn``, ``ui.md`` and ``N_`` call."""
    return text


def t(text: str, **values) -> str:
    """Translate ``text`` into the interface language, then fill ``{names}`` from ``values``."""
    translated = _catalog(language()).get(text, text) if language() != "en" else text
    return translated.format(**values) if values else translated


def tn(singular: str, plural: str, count: int, **values) -> str:
    """``t`` of the singular or the plural form, as ``count`` asks; ``{n}`` is the count."""
    return t(singular if count == 1 else plural, n=number(count), **values)


def number(value: int | float, decimals: int = 1) -> str:
    """A number as the reader writes it: ``1,479`` and ``2.5`` (es-MX, like English, writes
    thousands with a comma and decimals with a point)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{decimals}f}"
    return f"{int(value):,}"


def month(value: dt.date) -> str:
    """'Mar 2017' or 'mar 2017'."""
    names = MONTHS_ES if language() == "es" else MONTHS_EN
    return f"{names[value.month - 1]} {value.year}"


def month_range(first: dt.date, last: dt.date) -> str:
    """'Jan 2017 – Dec 2018' or 'ene 2017 – dic 2018'."""
    return f"{month(first)} – {month(last)}"
