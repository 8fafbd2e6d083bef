"""One function per question the app and the CLI ask. SQL inline, values always bound.

Every function takes a cursor on a published copy (see ``garita.db``) and a ``Filters``
value, aggregates in DuckDB, and returns only what the caller shows.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from garita.filters import Filters

EXPORT_COLUMNS = ("incident_id", "date", "date_precision", "port_code", "port_name", "state",
                  "latitude", "longitude", "people_count", "group_type", "children",
                  "nationality", "incident_types", "outcome", "summary", "source",
                  "source_url", "batch_id")

DATE_AS_KNOWN = ("CASE date_precision WHEN 'day' THEN strftime(date, '%Y-%m-%d') "
                 "WHEN 'month' THEN strftime(date, '%Y-%m') "
                 "WHEN 'year' THEN strftime(date, '%Y') ELSE '' END")


def run(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pd.DataFrame:
    """The single choke point every query goes through."""
    return con.execute(sql, params or []).df()


def export_rows(con, filters: Filters, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The filtered incidents in the export layout, oldest first, unknown dates last."""
    where, params = filters.where()
    page = ""
    if limit is not None:
        page = " LIMIT ? OFFSET ?"
        params = [*params, int(limit), int(offset)]
    return run(con, f"""
        SELECT incident_id, {DATE_AS_KNOWN} AS date_as_known, date_precision, port_code, port_name,
               state, latitude, longitude, people_count, group_type, children, nationality,
               array_to_string(incident_types, ';') AS incident_types, outcome, summary,
               source, source_url, batch_id
        FROM incidents_mapped WHERE {where}
        ORDER BY incidents_mapped.date NULLS LAST, incident_id{page}""", params
    ).rename(columns={"date_as_known": "date"})
