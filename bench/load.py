"""Loader speed against DuckDB's bare ``read_csv`` on the same synthetic file, same run.

    python -m bench.load [--sizes 100000 1000000]

Prints rows/s and the ratio loader / bare read (target: <= 3x at 1M rows), and the time of a
10k-row dry run (target: < 1 s). Each time is the median of three runs (this machine's
timings vary by a third from run to run). Data is synthetic (bench/synthetic.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from bench.synthetic import csv_bytes
from etl import load as loader


def _timed(func, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_read(csv_path: Path, folder: Path) -> float:
    target = folder / "bare.duckdb"

    def run():
        target.unlink(missing_ok=True)
        con = duckdb.connect(str(target))
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)",
                    [str(csv_path)])
        con.close()
    return _timed(run, repeat=3)


def full_load(csv_path: Path, folder: Path, repeat: int = 3) -> float:
    master = folder / "garita.duckdb"
    data = csv_path.read_bytes()

    def run():
        for path in folder.glob("garita.duckdb*"):
            if path.is_dir():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            else:
                path.unlink()
        loader.init(master)
        start = time.perf_counter()
        report = loader.load_bytes(data, csv_path.name, db_path=master)
        elapsed = time.perf_counter() - start
        assert report.status == "loaded", report.message
        return elapsed
    return statistics.median(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print("Synthetic data (bench/synthetic.py). Medians of three runs, this machine.")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = csv_bytes(10_000, seed=3)
        master = folder / "dry.duckdb"
        loader.init(master)
        dry = _timed(lambda: loader.load_bytes(small, "dry.csv", db_path=master,
                                               dry_run=True), repeat=3)
        print(f"dry run, 10,000 rows: {dry:.2f} s (target < 1 s)")
        for size in args.sizes:
            csv_path = folder / f"synthetic-{size}.csv"
            csv_path.write_bytes(csv_bytes(size))
            bare = bare_read(csv_path, folder)
            full = full_load(csv_path, folder)
            print(f"{size:>9,} rows: bare read_csv {bare:.2f} s ({size / bare:,.0f} rows/s); "
                  f"loader {full:.2f} s ({size / full:,.0f} rows/s); "
                  f"ratio {full / bare:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
