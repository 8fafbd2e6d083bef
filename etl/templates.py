"""Blank spreadsheets to fill in: the columns Garita reads, with English or Spanish headers."""

from __future__ import annotations

HEADERS = {
    "en": ["date", "port of entry", "state", "people", "group", "children", "nationality",
           "incident type", "outcome", "summary", "source", "url", "notes"],
    "es": ["fecha", "garita", "estado", "personas", "tipo de grupo", "niños", "nacionalidad",
           "tipo de incidente", "resultado", "descripción", "fuente", "enlace", "notas"],
}


def template_csv(lang: str) -> bytes:
    """The header row only, UTF-8 with BOM so Excel opens accents correctly."""
    return (",".join(HEADERS[lang]) + "\r\n").encode("utf-8-sig")
