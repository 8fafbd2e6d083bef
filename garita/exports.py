"""CSV and GeoJSON of exactly what is filtered; text a spreadsheet would run is neutralized."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd

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
