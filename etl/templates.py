"""Blank spreadsheets to fill in: the columns Garita reads, with English or Spanish headers.

The columns are the fields declared with ``template=True`` in ``garita.fields``, each under
its first English or Spanish header name.
"""

from __future__ import annotations

from garita import fields


def headers(lang: str) -> list[str]:
    """The template's header row in ``lang`` ('en' or 'es')."""
    return [(f.es if lang == "es" else f.en)[0] for f in fields.FIELDS if f.template]


HEADERS = {lang: headers(lang) for lang in ("en", "es")}


def template_csv(lang: str) -> bytes:
    """The header row only, UTF-8 with BOM so Excel opens accents correctly."""
    return (",".join(headers(lang)) + "\r\n").encode("utf-8-sig")
