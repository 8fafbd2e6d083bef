"""Northbound border-crossing traffic from the official BTS *Border Crossing Entry Data*.

The export is loaded as users download it from BTS (columns ``Port Name, State, Port Code,
Border, Date, Measure, Value, Latitude, Longitude, Point``; dates like ``Apr 2024``), whole
or as an extract. Only US–Mexico rows are kept, as (port code, month, measure, value).
Loading a newer export replaces the months it covers and touches nothing else. Missing
months stay missing — BTS has holes (e.g. 2024-01 pedestrians at every California port) —
and are never read as zero. BTS reports Ysleta (2401) apart from El Paso (2402) only from
2020. Garita does not ship BTS data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from etl.read import FileRefused, decode
from garita import db

COLUMNS = ["Port Name", "State", "Port Code", "Border", "Date", "Measure", "Value"]
BORDER = "US-Mexico Border"
TRAVELERS = ("Pedestrians", "Personal Vehicle Passengers", "Bus Passengers")
DOWNLOAD = ("https://data.bts.gov/Research-and-Statistics/Border-Crossing-Entry-Data/"
            "keg4-3bc2 (Export > CSV)")
MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
SCHEMA = """
CREATE TABLE IF NOT EXISTS crossings (
    port_code VARCHAR NOT NULL, month DATE NOT NULL, measure VARCHAR NOT NULL,
    value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS crossings_loads (
    loaded_at TIMESTAMP NOT NULL, file_name VARCHAR, sha256 VARCHAR, first_month DATE,
    last_month DATE, rows_kept INTEGER, rows_other_border INTEGER, rows_duplicate INTEGER,
    rows_rejected INTEGER);
"""


@dataclass
class CrossingsReport:
    """What a BTS file held and what was kept."""

    rows: int = 0
    kept: int = 0
    other_border: int = 0
    duplicate: int = 0
    rejected: list[str] = field(default_factory=list)
    first_month: dt.date | None = None
    last_month: dt.date | None = None
    message: str = ""

    def as_json(self) -> dict:
        return {"rows": self.rows, "kept": self.kept, "other_border": self.other_border,
                "duplicate": self.duplicate, "rejected": len(self.rejected),
                "problems": self.rejected[:50],
                "first_month": str(self.first_month) if self.first_month else None,
                "last_month": str(self.last_month) if self.last_month else None,
                "message": self.message}


def parse_month(text: str) -> dt.date:
    """``Apr 2024`` (current exports) or ``04/01/2024 12:00:00 AM`` (older ones)."""
    text = text.strip()
    if match := re.fullmatch(r"([A-Za-z]{3})\w* (\d{4})", text):
        return dt.date(int(match.group(2)), MONTHS[match.group(1).title()], 1)
    if match := re.match(r"(\d{1,2})/\d{1,2}/(\d{4})", text):
        return dt.date(int(match.group(2)), int(match.group(1)), 1)
    raise ValueError(f"'{text}' is not a BTS month (like 'Apr 2024')")


def read_bts(data: bytes) -> tuple[pd.DataFrame, CrossingsReport]:
    """The US–Mexico rows of a BTS export; raises ``FileRefused`` for another file."""
    text, _ = decode(data)
    try:
        table = pacsv.read_csv(io.BytesIO(text.encode("utf-8")),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={c: pa.string() for c in COLUMNS}))
    except pa.ArrowInvalid as exc:
        raise FileRefused("crossings.unreadable", reason=str(exc)) from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise FileRefused("crossings.not_bts", missing=", ".join(missing), download=DOWNLOAD)
    frame = table.select(COLUMNS).to_pandas()
    report = CrossingsReport(rows=len(frame))
    mexico = frame["Border"].str.strip() == BORDER
    report.other_border = int((~mexico).sum())
    frame = frame[mexico]
    rows = []
    for index, row in zip(frame.index, frame.itertuples(index=False)):
        try:
            code = str(row[2]).strip()
            if not code.isdigit():
                raise ValueError(f"'{code}' is not a port code")
            value = int(str(row[6]).replace(",", "").strip())
            if value < 0:
                raise ValueError(f"{value} is negative")
            rows.append((code.zfill(4), parse_month(str(row[4])), str(row[5]).strip(), value))
        except (ValueError, KeyError) as exc:
            report.rejected.append(f"row {index + 2}: {exc}")
    out = pd.DataFrame(rows, columns=["port_code", "month", "measure", "value"])
    before = len(out)
    out = out.drop_duplicates()
    report.duplicate = before - len(out)
    clashes = out.duplicated(["port_code", "month", "measure"], keep=False)
    for key, group in out[clashes].groupby(["port_code", "month", "measure"]):
        report.rejected.append(f"{key[0]} {key[1]:%Y-%m} {key[2]}: two values "
                               f"({', '.join(map(str, group['value']))}); none kept")
    out = out[~clashes]
    report.kept = len(out)
    if report.kept:
        report.first_month, report.last_month = out["month"].min(), out["month"].max()
    return out, report


def load_crossings(data: bytes, file_name: str, *, db_path: Path | None = None
                   ) -> CrossingsReport:
    """Replace the months this export covers with its US–Mexico rows, in one transaction."""
    frame, report = read_bts(data)
    if not report.kept:
        report.message = "No US–Mexico rows to load; nothing changed."
        return report
    master = db.db_path(db_path)
    with db.writer(master) as con:
        con.execute(SCHEMA)
        con.register("new_rows", frame)
        try:
            with db.transaction(con):
                con.execute("DELETE FROM crossings WHERE month IN "
                            "(SELECT DISTINCT CAST(month AS DATE) FROM new_rows)")
                con.execute("INSERT INTO crossings SELECT port_code, CAST(month AS DATE), "
                            "measure, value FROM new_rows")
                con.execute("INSERT INTO crossings_loads VALUES (now(), ?, ?, ?, ?, ?, ?, ?, ?)",
                            [Path(file_name).name, hashlib.sha256(data).hexdigest(),
                             report.first_month, report.last_month, report.kept,
                             report.other_border, report.duplicate, len(report.rejected)])
                db.bump_version(con)
        finally:
            con.unregister("new_rows")
    report.message = (f"Loaded {report.kept:,} US–Mexico rows, {report.first_month:%b %Y} – "
                      f"{report.last_month:%b %Y}, replacing those months; "
                      f"{report.other_border:,} rows of the US–Canada border skipped, "
                      f"{report.duplicate:,} duplicates, {len(report.rejected):,} rejected.")
    return report
