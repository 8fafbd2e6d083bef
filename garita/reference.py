"""Reference data shipped in ``data/``: ports of entry and the incident-type vocabulary."""

from __future__ import annotations

import csv
from functools import lru_cache

from garita.db import DATA_DIR

PORTS_CSV = DATA_DIR / "ports.csv"
TYPES_CSV = DATA_DIR / "incident_types.csv"
BORDER_GEOJSON = DATA_DIR / "us_mexico_border.geojson"
DEFAULT_INCIDENTS_CSV = DATA_DIR / "incidents_public_reports.csv"
POLICY_EVENTS_CSV = DATA_DIR / "policy_events.csv"

STATES = {"CA": "California", "AZ": "Arizona", "NM": "New Mexico", "TX": "Texas"}


def _read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def ports() -> tuple[dict, ...]:
    """The 28 ports of entry, as rows of ``data/ports.csv`` (codes kept as text)."""
    rows = _read(PORTS_CSV)
    for row in rows:
        row["latitude"] = float(row["latitude"])
        row["longitude"] = float(row["longitude"])
    return tuple(rows)


@lru_cache(maxsize=1)
def incident_types() -> tuple[dict, ...]:
    """The controlled vocabulary of incident types: code, English and Spanish labels."""
    return tuple(_read(TYPES_CSV))


def data_readme() -> str:
    """The text of ``data/README.md``: where every shipped file comes from, and its caveats
    (``data/README.es.md`` for a reader of Spanish)."""
    from garita.i18n import language

    spanish = DATA_DIR / "README.es.md"
    if language() == "es" and spanish.exists():
        return spanish.read_text(encoding="utf-8")
    return (DATA_DIR / "README.md").read_text(encoding="utf-8")
