"""CSV and GeoJSON of exactly what is filtered; text a spreadsheet would run is neutralized."""

from __future__ import annotations

import io
import re
import unicodedata

import geopandas as gpd
import pandas as pd

from garita.i18n import N_, t
from garita.reference import ports

# Cells starting with these are run as formulas by Excel, LibreOffice or Google Sheets
# (OWASP "CSV injection"); full-width forms are folded to ASCII by some of them.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) with text cells neutralized."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralize)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_geojson(frame: pd.DataFrame) -> tuple[bytes, int]:
    """GeoJSON points at each incident's port; returns the bytes and how many had no port."""
    mapped = frame[frame["latitude"].notna() & frame["longitude"].notna()]
    points = gpd.GeoDataFrame(
        mapped.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(mapped["longitude"], mapped["latitude"]),
        crs="EPSG:4326",
    )
    return points.to_json(drop_id=True).encode("utf-8"), len(frame) - len(mapped)


BRIEF = N_("brief")  # the word for the brief in its file name


def download_name(filters, what: str, extension: str) -> str:
    """A file name that says what a download holds: ``garita-san-ysidro-2018-04_2020-11.csv``.

    ``what`` names the kind in English ("", "brief", an ``images.IMAGES`` label …), put in
    the reader's language (``garita-resumen-…pdf``, ``garita-mapa-…png``); one to three
    ports are named, more are counted; then states, and the month range when one is set.
    """
    names = {p["port_code"]: p["port_name"] for p in ports()}
    parts = ["garita", t(what) if what else ""]
    chosen = [c for c in filters.ports if c != "none"]
    if 0 < len(chosen) <= 3:
        parts += [names.get(code, code) for code in chosen]
    elif chosen:
        parts.append(t("{n}-ports", n=len(chosen)))
    parts += [state.lower() for state in filters.states]
    if filters.start:
        parts.append(f"{filters.start:%Y-%m}_{filters.end:%Y-%m}")
    slug = "-".join(_slug(part) for part in parts if part)
    return f"{slug}.{extension}"


def _slug(text: str) -> str:
    # 'año' must not lose its tilde to become another word: written 'anio', as is usual.
    text = text.replace("ñ", "ni").replace("Ñ", "NI")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_]+", "-", plain).strip("-")
