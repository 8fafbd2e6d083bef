"""The Present page's downloads: the brief (PDF) and each PNG, from the click to the bytes.

    python -m bench.exports [--synthetic N] [--runs 5] [--profile]

Builds a temporary database as ``make run`` does (``etl.load.init``: the 57 shipped
incidents), plus ``N`` synthetic incidents (bench/synthetic.py) with ``--synthetic N``.
Each export is made exactly as pages/present.py makes it when its button is clicked: the
same queries, ``images.to_png(images.figure(name, data, filters, version=...))`` for a PNG
and ``brief.make_brief(...)`` for the brief. Times are the median of ``--runs`` runs after
one warm-up in one process, as a running server makes them; "cold" is the first export of
a fresh process (a new Python process per export, nothing rendered before), and "first
click" the same when the Present page was opened 5 s before the click (the page starts the
image renderer while it is read, when the code has one). Targets: the brief in 3 s, each
PNG in 1.5 s. ``--profile`` prints where one warm brief and one warm map spend their time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"brief": 3.0, "png": 1.5}
VIEW = "http://localhost:8501/present"


def _connect():
    from garita import db

    return db.connect_reader(db.published_file(Path(os.environ["GARITA_DB"])))


def export(name: str) -> bytes:
    """One download, as the Present page's button makes it for the whole data (no filter):
    the queries, then the PNG or the brief."""
    from garita import brief, images, queries
    from garita.filters import Filters

    filters = Filters()
    con = _connect()
    try:
        data = {"per_port": queries.by_port(con, filters, "incidents"),
                "numbers": queries.headline(con, filters),
                "monthly": queries.monthly(con, filters, "type", "incidents"),
                "yearly": queries.yearly(con, filters, "incidents"),
                "port_month": queries.port_month(con, filters)}
        version = queries.data_version(con)["version"]
        if name == "brief":
            cited, n_cited = queries.sources(con, filters, 100_000)
            return brief.make_brief(data=data, filters=filters, url=VIEW, sources=cited,
                                    n_sources=n_cited, made=dt.datetime.now(),
                                    version=version)
        return images.to_png(images.figure(name, data, filters, version=version))
    finally:
        con.close()


def _timed(name: str) -> float:
    start = time.perf_counter()
    out = export(name)
    elapsed = time.perf_counter() - start
    assert out[:4] in (b"%PDF", b"\x89PNG"), f"{name}: not a PDF or PNG"
    return elapsed


def _cold(name: str, page_open: float = 0) -> float:
    """The first export of a fresh Python process (imports done before the clock starts),
    ``page_open`` seconds after the Present page was shown."""
    out = subprocess.run([sys.executable, "-m", "bench.exports", "--cold-one", name,
                          "--page-open", str(page_open)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def _line(what: str, target: float, *times: float) -> str:
    return f"{what:<16} {target:>5.1f}s" + "".join(
        f" {seconds:>7.2f}s {seconds / target:>5.2f}" for seconds in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cold-one", help=argparse.SUPPRESS)
    parser.add_argument("--page-open", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_one:
        import garita.brief  # noqa: F401  (as the page has: imports are not the click)
        import garita.images

        if args.page_open:
            if hasattr(garita.images, "RENDERER"):
                garita.images.RENDERER.warm()  # what the Present page does when shown
            time.sleep(args.page_open)
        print(json.dumps({"seconds": _timed(args.cold_one)}))
        return

    from bench.synthetic import csv_bytes
    from etl import load as loader
    from garita import images

    with tempfile.TemporaryDirectory() as tmp:
        master = Path(tmp) / "garita.duckdb"
        os.environ["GARITA_DB"] = str(master)
        loader.init(master)
        described = "the 57 shipped incidents (etl.load.init)"
        if args.synthetic:
            report = loader.load_bytes(csv_bytes(args.synthetic), "synthetic.csv",
                                       db_path=master)
            assert report.status == "loaded", report.message
            described += f" + {report.loaded:,} synthetic (bench/synthetic.py)"
        print(f"Data: {described}. Median of {args.runs} runs after one warm-up; "
              "cold = first export of a fresh process.")
        print("ratio = time / target (under 1 meets it)")
        print(f"{'export':<16} {'target':>6} {'warm':>8} {'ratio':>5} {'cold':>8} {'ratio':>5}"
              f" {'1st click':>8} {'ratio':>5}")
        for name in ["brief", *images.IMAGES]:
            cold, first = _cold(name), _cold(name, page_open=5)
            _timed(name)
            warm = statistics.median(_timed(name) for _ in range(args.runs))
            what = "brief (PDF)" if name == "brief" else f"{name} (PNG)"
            target = TARGETS["brief" if name == "brief" else "png"]
            print(_line(what, target, warm, cold, first), flush=True)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(export, "brief")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
            print("\nOne warm brief, by cumulative time:\n" + out.getvalue())
            profile = cProfile.Profile()
            profile.runcall(export, "map")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
            print("\nOne warm map PNG, by own time:\n" + out.getvalue())


if __name__ == "__main__":
    main()
