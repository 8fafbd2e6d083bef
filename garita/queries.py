"""One function per question the app and the CLI ask. SQL inline, values always bound.

Every function takes a cursor on a published copy (see ``garita.db``) and a ``Filters``
value, aggregates in DuckDB, and returns only what the caller shows: a row per port, per
month or per page of incidents, never the whole table.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from garita import db, fields
from garita.filters import Filters, month_span

MEASURES = {"incidents": "count(*)", "people": "coalesce(sum(people_count), 0)"}
STACKS = ("type", "port")

DATE_AS_KNOWN = ("CASE date_precision WHEN 'day' THEN strftime(date, '%Y-%m-%d') "
                 "WHEN 'month' THEN strftime(date, '%Y-%m') "
                 "WHEN 'year' THEN strftime(date, '%Y') ELSE '' END")


def run(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pd.DataFrame:
    """The choke point every query goes through: SQL from this module (identifiers from
    allowlists, filters from ``Filters.where``), every value bound as a parameter."""
    return con.execute(_counting(con, sql), params or []).df()


def one(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple:
    """The same choke point for a single row."""
    return db.one(con, _counting(con, sql), params)


def _grouped(con) -> bool:
    """Whether staff decided any two incidents are one (``garita.matches``)."""
    return db.one(con, "SELECT count(*) FROM match_decisions WHERE decision = 'same'")[0] > 0


# ``match_groups`` where no two incidents were ever decided to be one: empty, and typed.
_NO_GROUPS = ("(SELECT NULL::VARCHAR AS fingerprint, NULL::VARCHAR AS primary_key, "
              "0::BIGINT AS members WHERE false)")


def _counting(con, sql: str, grouped: bool | None = None) -> str:
    """``incidents_counted`` leaves out the other members of incidents decided to be one,
    and ``match_groups`` finds them by following every decision; both read every incident's
    fingerprint (at a million incidents, more than the question itself) and take a few
    milliseconds to plan even when there is nothing to find. Where no two incidents were
    ever decided to be one, every incident counts and no group exists: the question reads
    ``incidents`` directly and an empty table for the groups."""
    if ("incidents_counted" in sql or "match_groups" in sql) and not (
            _grouped(con) if grouped is None else grouped):
        return sql.replace("incidents_counted", "incidents").replace("match_groups", _NO_GROUPS)
    return sql


def _measure(measure: str) -> str:
    if measure not in MEASURES:
        raise ValueError(f"Unknown measure {measure!r}: use incidents or people.")
    return MEASURES[measure]


# Where the export layout puts the port's name and place, from the ports table.
_EXPORT_AFTER = {"port_code": ("p.port_name",), "state": ("p.latitude", "p.longitude")}


def _export_columns() -> str:
    """The public fields in declaration order, each as an export shows it (the date as
    precise as known, lists joined by ';'), the port's name and place, then the batch."""
    columns = []
    for f in fields.public():
        if f.name == "date":
            columns.append(f"{DATE_AS_KNOWN.replace('date', 'i.date')} AS date_as_known")
        elif f.sql == "VARCHAR[]":
            columns.append(f"array_to_string(i.{f.name}, ';') AS {f.name}")
        else:
            columns.append(f"i.{f.name}")
        columns += _EXPORT_AFTER.get(f.name, ())
    return ", ".join([*columns, "i.batch_id"])


# A source as an export cites it: "Name <url>" (several joined by " | " when incidents
# decided to be the same, ``garita.matches``, stand for one).
_CITED = "coalesce({m}.source, '') || coalesce(' <' || {m}.source_url || '>', '')"


def export_rows(con, filters: Filters, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The filtered incidents in the export layout (the public fields, see
    ``_export_columns``), oldest first, unknown dates last."""
    where, params = filters.where()
    page = ""
    if limit is not None:
        page = " LIMIT ? OFFSET ?"
        params = [*params, int(limit), int(offset)]
    # Only incidents decided to be one with others are joined to their members (see
    # ``sources``): looking every chosen incident up among all others reads every fingerprint.
    return run(con, f"""
        WITH chosen AS MATERIALIZED (
            SELECT * FROM incidents_counted WHERE {where}
            ORDER BY date NULLS LAST, incident_id{page}),
        sourced AS (
            SELECT c.fingerprint, {_CITED.format(m="c")} AS sources FROM chosen c
            WHERE c.fingerprint NOT IN (SELECT primary_key FROM match_groups)
            UNION ALL
            SELECT c.fingerprint, string_agg({_CITED.format(m="m")}, ' | '
                                             ORDER BY m.batch_id, m.source_row)
            FROM chosen c JOIN match_groups g ON g.primary_key = c.fingerprint
                 JOIN incidents m ON m.fingerprint = g.fingerprint GROUP BY 1)
        SELECT {_export_columns()}, s.sources
        FROM chosen i LEFT JOIN ports p USING (port_code)
             LEFT JOIN sourced s ON s.fingerprint = i.fingerprint
        ORDER BY i.date NULLS LAST, i.incident_id""", params
    ).rename(columns={"date_as_known": "date"})


def count_incidents(con, filters: Filters) -> int:
    where, params = filters.where()
    return one(con, f"SELECT count(*) FROM incidents_counted WHERE {where}", params)[0]


def headline(con, filters: Filters) -> dict:
    """The numbers above every page: incidents, people, ports, months, what is missing, and
    how many of them more than one source reported (``linked``)."""
    where, params = filters.where()
    grouped = _grouped(con)
    linked = ("count(*) FILTER (fingerprint IN (SELECT fingerprint FROM match_groups))"
              if grouped else "0")
    row = db.one(con, _counting(con, f"""
        SELECT count(*), coalesce(sum(people_count), 0), count(DISTINCT port_code),
               count(DISTINCT date_trunc('month', date))
                   FILTER (date_precision IN ('day', 'month')),
               count(*) FILTER (port_code IS NULL),
               count(*) FILTER (date_precision = 'year'),
               count(*) FILTER (date_precision = 'unknown'),
               count(*) FILTER (people_count IS NULL),
               min(date) FILTER (date_precision IN ('day', 'month')),
               max(date) FILTER (date_precision IN ('day', 'month')),
               {linked}
        FROM incidents_counted WHERE {where}""", grouped), params)
    keys = ("incidents", "people", "ports", "months", "no_port", "year_only", "no_date",
            "people_unknown", "first_month", "last_month", "linked")
    return dict(zip(keys, row))


def filter_options(con) -> dict:
    """What the filter bar offers: ports, types, nationalities and the months with data."""
    ports = run(con, "SELECT port_code, port_name, state, field_office FROM ports "
                     "ORDER BY state, port_name")
    types = run(con, "SELECT code, label_en, label_es FROM incident_types")
    nationalities = [n for (n,) in con.execute(
        "SELECT nationality FROM incidents_counted WHERE nationality IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()]
    first, last = one(con, "SELECT min(date), max(date) FROM incidents WHERE date IS NOT NULL")
    return {"ports": ports, "types": types, "nationalities": nationalities,
            "months": _month_range(first, last)}


def _month_range(first: dt.date | None, last: dt.date | None) -> list[str]:
    if first is None:
        return []
    return month_span(f"{first:%Y-%m}", f"{last:%Y-%m}")


def by_port(con, filters: Filters, measure: str = "incidents") -> pd.DataFrame:
    """A row per port with incidents: location, counts and its most frequent types."""
    where, params = filters.where("i")
    return run(con, f"""
        WITH chosen AS MATERIALIZED (  -- the incidents are read once for both counts
            SELECT i.port_code, i.people_count, i.incident_types FROM incidents_counted i
            WHERE i.port_code IS NOT NULL AND {where}),
        hits AS (
            SELECT port_code, count(*) AS incidents, coalesce(sum(people_count), 0) AS people
            FROM chosen GROUP BY 1),
        type_counts AS (
            SELECT c.port_code, t.type, count(*) AS n
            FROM chosen c, unnest(c.incident_types) AS t(type) GROUP BY 1, 2),
        ranked AS (
            SELECT port_code, type, n,
                   row_number() OVER (PARTITION BY port_code ORDER BY n DESC, type) AS rank
            FROM type_counts)
        SELECT p.port_code, p.port_name, p.state, p.field_office, p.mexican_city,
               p.latitude, p.longitude, h.incidents, h.people,
               h.{'people' if measure == 'people' else 'incidents'} AS value,
               max(r.type) FILTER (r.rank = 1) AS top_type,
               string_agg(r.type || ' (' || r.n || ')', ', ' ORDER BY r.rank)
                   FILTER (r.rank <= 3) AS top_types
        FROM hits h JOIN ports p USING (port_code) LEFT JOIN ranked r USING (port_code)
        GROUP BY ALL ORDER BY value DESC, p.port_name""", params)


def monthly(con, filters: Filters, stack: str = "type", measure: str = "incidents"
            ) -> pd.DataFrame:
    """Incidents (or people) per month for incidents known to the month or day.

    Stacked by type (an incident counts once under each of its types) or by port
    (incidents with no port under "No port"). Months with nothing are absent here; the
    chart fills them with zero.
    """
    if stack not in STACKS:
        raise ValueError(f"Unknown stack {stack!r}: use type or port.")
    where, params = filters.where("i")
    value = _measure(measure).replace("people_count", "i.people_count")
    if stack == "type":
        return run(con, f"""
            SELECT date_trunc('month', i.date) AS month, t.type AS key, {value} AS value
            FROM incidents_counted i, unnest(i.incident_types) AS t(type)
            WHERE i.date_precision IN ('day', 'month') AND {where}
            GROUP BY 1, 2 ORDER BY 1, 2""", params)
    return run(con, f"""
        SELECT date_trunc('month', i.date) AS month,
               coalesce(p.port_name, 'No port') AS key, {value} AS value
        FROM incidents_counted i LEFT JOIN ports p USING (port_code)
        WHERE i.date_precision IN ('day', 'month') AND {where}
        GROUP BY 1, 2 ORDER BY 1, 2""", params)


def yearly(con, filters: Filters, measure: str = "incidents") -> pd.DataFrame:
    """Per year, split by how precisely the date is known (day/month vs year only)."""
    where, params = filters.where()
    return run(con, f"""
        SELECT year(date) AS year,
               CASE WHEN date_precision = 'year' THEN 'year only' ELSE 'month or day' END
                   AS precision,
               {_measure(measure)} AS value
        FROM incidents_counted WHERE date IS NOT NULL AND {where}
        GROUP BY 1, 2 ORDER BY 1, 2""", params)


def port_month(con, filters: Filters) -> pd.DataFrame:
    """Incidents per port and month (ports with incidents, months known to the month)."""
    where, params = filters.where("i")
    return run(con, f"""
        SELECT p.port_name AS port, p.state, date_trunc('month', i.date) AS month,
               count(*) AS incidents
        FROM incidents_counted i JOIN ports p USING (port_code)
        WHERE i.date_precision IN ('day', 'month') AND {where}
        GROUP BY ALL ORDER BY 1, 3""", params)


def by_group(con, filters: Filters, group: str) -> pd.DataFrame:
    """Incidents and people per state or per field office (no port: by its state)."""
    if group not in ("state", "field_office"):
        raise ValueError(f"Unknown grouping {group!r}: use state or field_office.")
    where, params = filters.where("i")
    key = "i.state" if group == "state" else "p.field_office"
    return run(con, f"""
        SELECT coalesce({key}, 'Not known') AS name, count(*) AS incidents,
               coalesce(sum(i.people_count), 0) AS people,
               count(DISTINCT i.port_code) AS ports
        FROM incidents_counted i LEFT JOIN ports p USING (port_code)
        WHERE {where} GROUP BY 1 ORDER BY incidents DESC, name""", params)


def breakdown(con, filters: Filters, field: str) -> pd.DataFrame:
    """Counts by incident type or by nationality for the filtered incidents."""
    where, params = filters.where("i")
    if field == "type":
        return run(con, f"""
            SELECT t.type AS name, count(*) AS incidents
            FROM incidents_counted i, unnest(i.incident_types) AS t(type)
            WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1""", params)
    if field == "nationality":
        return run(con, f"""
            SELECT coalesce(i.nationality, 'not recorded') AS name, count(*) AS incidents
            FROM incidents_counted i WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1""", params)
    raise ValueError(f"Unknown breakdown {field!r}: use type or nationality.")


def sources(con, filters: Filters, limit: int = 200) -> tuple[pd.DataFrame, int]:
    """The citations behind the filtered incidents, most used first, and how many in all."""
    where, params = filters.where()
    # An incident outside any group of matches is its own only member: its source is read
    # with it, and only the few grouped incidents are joined to their members.
    frame = run(con, f"""
        WITH chosen AS (SELECT fingerprint, source, source_url FROM incidents_counted
                        WHERE {where}),
        grouped AS (SELECT DISTINCT primary_key FROM match_groups),
        cited AS (
            SELECT c.source, c.source_url FROM chosen c
            WHERE c.fingerprint NOT IN (SELECT primary_key FROM grouped)
            UNION ALL
            SELECT m.source, m.source_url FROM chosen c
            JOIN match_groups g ON g.primary_key = c.fingerprint
            JOIN incidents m ON m.fingerprint = g.fingerprint)
        SELECT count(*) AS incidents, source, source_url, count(*) OVER () AS n_sources
        FROM cited GROUP BY 2, 3 ORDER BY 1 DESC, 2 LIMIT ?""", [*params, int(limit)])
    total = int(frame["n_sources"].iloc[0]) if len(frame) else 0
    return frame.drop(columns="n_sources"), total


def open_matches(con) -> int:
    """How many possible matches in all the data wait for staff review. It does not depend
    on the filters, so it is answered once per data version."""
    from garita import matches

    return matches.open_count(con)


def batches(con) -> pd.DataFrame:
    """The batch ledger's public fields, newest first (who loaded it and the file's name
    are staff-only: a file may be named after the person it concerns)."""
    return run(con, """
        SELECT batch_id, loaded_at, source, rows_total, rows_loaded,
               rows_duplicate, rows_skipped, rows_rejected, status
        FROM batches ORDER BY batch_id DESC""")


def data_version(con) -> dict:
    """The version and time of the data, and the last batch loaded."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    last = one(con, "SELECT batch_id, loaded_at FROM batches ORDER BY batch_id DESC LIMIT 1")
    return {"version": int(meta.get("data_version", 0)), "changed_at": meta.get("changed_at"),
            "last_batch": last[0] if last else None, "last_loaded_at": last[1] if last else None}


# Staff-only questions: never cached in the shared cache (garita.ui.staff_reader).

def staff_batches(con) -> pd.DataFrame:
    """The whole batch ledger, with who loaded and rolled back each batch."""
    return run(con, "SELECT * FROM batches ORDER BY batch_id DESC")


def batch_incidents(con, batch_id: int, limit: int = 500) -> pd.DataFrame:
    """The incidents a batch loaded (or held, if it was rolled back), first ``limit``."""
    return run(con, f"""
        SELECT incident_id, {DATE_AS_KNOWN} AS date, port_code, state, people_count,
               array_to_string(incident_types, ';') AS incident_types, summary, source_url,
               source_row
        FROM (SELECT * FROM incidents WHERE batch_id = ?
              UNION ALL SELECT * FROM incidents_rolled_back WHERE batch_id = ?)
        ORDER BY source_row LIMIT ?""", [batch_id, batch_id, int(limit)])


def rejected_rows(con, batch_id: int) -> list[tuple]:
    """A batch's rejected rows: (row number, raw cells as JSON, problems as JSON)."""
    return con.execute("SELECT source_row, raw, problems FROM rejected_rows "
                       "WHERE batch_id = ? ORDER BY source_row", [batch_id]).fetchall()


def audit_log(con, limit: int = 200) -> pd.DataFrame:
    """The newest entries of the audit log (who, when, what, which batch; no row content)."""
    return run(con, "SELECT * FROM audit_log ORDER BY logged_at DESC LIMIT ?", [int(limit)])


# Border-crossing traffic (BTS). Northbound travelers = pedestrians + personal vehicle
# passengers + bus passengers. A rate is given only where traffic is known for every month.
TRAVELERS = ("Pedestrians", "Personal Vehicle Passengers", "Bus Passengers")


def has_crossings(con) -> bool:
    """Whether BTS traffic has been loaded (python -m etl crossings FILE)."""
    return bool(one(con, "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'crossings'")[0]) and \
        bool(one(con, "SELECT count(*) > 0 FROM crossings")[0])


def traffic_range(con, filters: Filters) -> tuple:
    """The months traffic is summed over: the filter's range, else the incidents' months."""
    if filters.start and filters.end:
        return filters.start, filters.end
    numbers = headline(con, filters)
    first = filters.start or numbers["first_month"]
    last = filters.end or numbers["last_month"]
    return first, last


def traffic_by_port(con, filters: Filters) -> pd.DataFrame:
    """Per port: travelers over the range and whether every month of it is known.

    A month is known when every traveler measure the port reports at all is there for it:
    BTS holes (e.g. 2024-01 pedestrians at California ports) make the range incomplete.
    """
    if not has_crossings(con):
        return pd.DataFrame(columns=["port_code", "travelers", "months_known", "months",
                                     "traffic_complete"])
    first, last = traffic_range(con, filters)
    if first is None:
        return pd.DataFrame(columns=["port_code", "travelers", "months_known", "months",
                                     "traffic_complete"])
    kinds = list(TRAVELERS)
    return run(con, """
        WITH reported AS (
            SELECT port_code, count(DISTINCT measure) AS measures FROM crossings
            WHERE measure IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1),
        monthly AS (
            SELECT port_code, month, count(DISTINCT measure) AS measures, sum(value) AS n
            FROM crossings WHERE measure IN (SELECT unnest(?::VARCHAR[]))
              AND month BETWEEN date_trunc('month', ?::DATE) AND ? GROUP BY 1, 2)
        SELECT r.port_code, coalesce(sum(m.n), 0) AS travelers,
               count(m.month) FILTER (m.measures = r.measures) AS months_known,
               date_diff('month', date_trunc('month', ?::DATE), date_trunc('month', ?::DATE))
                   + 1 AS months
        FROM reported r LEFT JOIN monthly m USING (port_code)
        GROUP BY r.port_code""", [kinds, kinds, first, last, first, last]
    ).assign(traffic_complete=lambda f: f["months_known"] == f["months"])


def by_port_with_traffic(con, filters: Filters, measure: str = "incidents") -> pd.DataFrame:
    """``by_port`` plus travelers and incidents per million travelers (complete ranges only)."""
    ports_frame = by_port(con, filters, measure)
    traffic = traffic_by_port(con, filters)
    merged = ports_frame.merge(traffic, on="port_code", how="left")
    merged["traffic_complete"] = merged["traffic_complete"].fillna(False).astype(bool)
    rate = merged["incidents"] / merged["travelers"].where(merged["travelers"] > 0) * 1e6
    merged["per_million"] = rate.where(merged["traffic_complete"]).round(2)
    return merged


def traffic_monthly(con, filters: Filters) -> pd.DataFrame:
    """Northbound travelers per month for the filtered ports (all ports if none chosen).

    Months where any chosen port lacks a measure it reports are left out: a gap, not a dip.
    """
    if not has_crossings(con):
        return pd.DataFrame(columns=["month", "travelers"])
    first, last = traffic_range(con, filters)
    if first is None:
        return pd.DataFrame(columns=["month", "travelers"])
    ports_list = [p for p in filters.ports if p != "none"]
    kinds = list(TRAVELERS)
    return run(con, """
        WITH chosen AS (
            SELECT port_code, count(DISTINCT measure) AS measures FROM crossings
            WHERE measure IN (SELECT unnest(?::VARCHAR[]))
              AND (len(?::VARCHAR[]) = 0 OR port_code IN (SELECT unnest(?::VARCHAR[])))
            GROUP BY 1),
        monthly AS (
            SELECT c.port_code, c.month, count(DISTINCT c.measure) AS measures,
                   sum(c.value) AS n
            FROM crossings c JOIN chosen USING (port_code)
            WHERE c.measure IN (SELECT unnest(?::VARCHAR[]))
              AND c.month BETWEEN date_trunc('month', ?::DATE) AND ? GROUP BY 1, 2)
        SELECT m.month, sum(m.n) AS travelers
        FROM monthly m JOIN chosen c USING (port_code)
        GROUP BY m.month
        HAVING count(*) FILTER (m.measures = c.measures) = (SELECT count(*) FROM chosen)
        ORDER BY 1""", [kinds, ports_list, ports_list, kinds, first, last])


def incident(con, incident_id: str) -> dict | None:
    """One incident in full (public fields, its port and its batch), or, for an incident
    whose batch was rolled back, ``{"withdrawn": True, "rolled_back_at": …}``; None if the
    id is unknown."""
    columns = [f.name for f in fields.public()]
    listed = ", ".join(f"i.{c}" for c in columns)
    frame = run(con, f"""
        SELECT {listed}, {DATE_AS_KNOWN.replace('date', 'i.date')} AS date_as_known,
               i.batch_id, p.port_name, p.mexican_city, b.loaded_at, b.source AS batch_source
        FROM incidents i LEFT JOIN ports p USING (port_code)
        LEFT JOIN batches b USING (batch_id)
        WHERE i.incident_id = ? ORDER BY i.batch_id LIMIT 1""", [incident_id])
    if len(frame):
        row = {k: v.tolist() if hasattr(v, "tolist") and not isinstance(v, str) else v
               for k, v in frame.iloc[0].to_dict().items()}  # lists arrive as arrays
        row["incident_types"] = row["incident_types"] or []
        return {**{k: (None if not isinstance(v, list) and pd.isna(v) else v)
                   for k, v in row.items()}, "withdrawn": False}
    gone = one(con, """
        SELECT r.batch_id, b.rolled_back_at FROM incidents_rolled_back r
        JOIN batches b USING (batch_id)
        WHERE r.incident_id = ? ORDER BY b.rolled_back_at DESC LIMIT 1""", [incident_id])
    if gone:
        return {"incident_id": incident_id, "withdrawn": True, "batch_id": gone[0],
                "rolled_back_at": gone[1]}
    return None
