"""Possible matches: the blocking join against comparing every pair, on synthetic incidents.

    python -m bench.matches [--size 100000] [--sample 3000]

Builds ``--size`` synthetic incidents (bench/synthetic.py) in an in-memory database, spread
over three batches with their own sources, and times ``garita.matches.open_count``: the
blocking join on place and month, then the score. Then times the same score over every
pair of a ``--sample`` of them (no blocking) and extrapolates to ``--size`` (pairs grow as
n²), and prints the ratio. Each time is the median of three runs. SYNTHETIC data only.
"""

from __future__ import annotations

import argparse
import statistics
import time

import duckdb

from bench.synthetic import rows
from garita import db, matches
from garita.reference import ports

# The blocking step of ``matches._PAIRS``, and what a plain comparison of every pair puts
# in its place: the same conditions, checked on all n² pairs.
_BLOCKED = "FROM keyed a JOIN keyed b ON a.place = b.place AND a.month = b.month"
# (LIKE with a column as the pattern cannot be hashed: DuckDB compares every pair.)
_EVERY_PAIR = "FROM base a JOIN base b ON a.place LIKE b.place"


def build(size: int) -> duckdb.DuckDBPyConnection:
    """An in-memory Garita schema holding ``size`` synthetic incidents in three batches."""
    codes = {p["port_name"]: p["port_code"] for p in ports()}
    con = duckdb.connect()
    con.execute(db.schema_sql())
    records = []
    for i, row in enumerate(rows(size)):
        (_, date, precision, port, state, people, group, _, nationality, types, _, summary,
         source, url, _) = row
        batch = i % 3 + 1
        records.append((f"SYN-{i}", date or None, precision, codes.get(port), state,
                        int(people), group, nationality, types.split(";"), summary,
                        f"{source} #{batch}", url, batch, i + 2, f"fp{i:07d}"))
    con.execute("CREATE TEMP TABLE staged (incident_id VARCHAR, date VARCHAR, "
                "date_precision VARCHAR, port_code VARCHAR, state VARCHAR, people_count "
                "INTEGER, group_type VARCHAR, nationality VARCHAR, incident_types VARCHAR[], "
                "summary VARCHAR, source VARCHAR, source_url VARCHAR, batch_id INTEGER, "
                "source_row INTEGER, fingerprint VARCHAR)")
    con.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    records)
    con.execute("""
        INSERT INTO incidents BY NAME
        SELECT * REPLACE (CASE date_precision WHEN 'day' THEN date::DATE
                               WHEN 'month' THEN (date || '-01')::DATE
                               WHEN 'year' THEN (date || '-01-01')::DATE END AS date)
        FROM staged""")
    return con


def _timed(func, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def every_pair(con: duckdb.DuckDBPyConnection) -> int:
    """The candidates found by scoring every pair (the same SQL without the blocking join)."""
    sql = matches._PAIRS.replace(_BLOCKED, _EVERY_PAIR)
    assert sql != matches._PAIRS, "matches._PAIRS changed: update the benchmark"
    return db.one(con, f"SELECT count(*) FROM ({sql})", matches._params())[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=3_000)
    args = parser.parse_args()
    con = build(args.size)
    blocked, found = _timed(lambda: matches.open_count(con))
    print(f"blocking join: {args.size:,} incidents, {found:,} candidate pairs "
          f"in {blocked:.2f} s")
    sample = build(args.sample)
    naive, naive_found = _timed(lambda: every_pair(sample))
    blocked_sample, sample_found = _timed(lambda: matches.open_count(sample))
    assert naive_found == sample_found, "the blocking join lost pairs"
    scale = (args.size * (args.size - 1)) / (args.sample * (args.sample - 1))
    print(f"every pair: {args.sample:,} incidents in {naive:.2f} s "
          f"(blocking: {blocked_sample:.3f} s, same {sample_found:,} pairs); "
          f"extrapolated to {args.size:,}: {naive * scale:,.0f} s")
    print(f"ratio every pair / blocking join at {args.size:,}: "
          f"{naive * scale / blocked:,.0f}x")


if __name__ == "__main__":
    main()
