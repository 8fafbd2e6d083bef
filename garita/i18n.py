"""Every piece of text the app shows goes through ``t()``, so Spanish is a file, not a rewrite.

Catalogs are ``garita/locales/<lang>.json`` mapping the English text to its translation;
missing entries fall back to English. ``GARITA_LANG=es`` picks the language.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"


@lru_cache(maxsize=8)
def _catalog(lang: str) -> dict[str, str]:
    path = LOCALES / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def t(text: str, **values) -> str:
    """Translate ``text`` into the interface language, then fill ``{names}`` from ``values``."""
    translated = _catalog(os.environ.get("GARITA_LANG", "en")).get(text, text)
    return translated.format(**values) if values else translated


def tn(singular: str, plural: str, count: int, **values) -> str:
    """``t`` of the singular or the plural form, as ``count`` asks; ``{n}`` is the count."""
    return t(singular if count == 1 else plural, n=f"{count:,}", **values)
