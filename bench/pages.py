"""Page reruns after a filter change, Garita against a straightforward pandas version.

    python -m bench.pages [--sizes 2000 1000000] [--runs 7]

For each page: the median server-side time of a rerun after the month range changes
(a new range each time, so no cached answer helps), and the bytes the page sends to the
browser (the serialized elements; for the map, the deck JSON). The baseline is
bench/baseline/app.py, measured in the same run on the same synthetic data
(bench/synthetic.py). Also the shared chrome alone: Garita with an empty page, against
bench/baseline/chrome.py, which draws the same elements with no data work (Streamlit's own
cost of drawing them).

Targets (issue #17): every page at the largest size within 1.5x the same page at the
smallest; at the smallest size every page within 1.5x of the pandas page; at 1M every page
<= 250 ms and the map <= 100 KB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import streamlit.testing.v1.app_test as app_test
import streamlit.testing.v1.local_script_runner as local_script_runner
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
import streamlit as st
from streamlit.testing.v1 import AppTest

from bench.synthetic import csv_bytes
from etl import load as loader

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["map", "over_time", "by_port", "incidents", "sources"]
RANGES = [("2017-01", "2018-12"), ("2018-03", "2020-06"), ("2019-01", "2022-12"),
          ("2016-06", "2017-09"), ("2020-02", "2024-11"), ("2018-07", "2019-02"),
          ("2016-03", "2023-04"), ("2021-01", "2021-12"), ("2017-05", "2019-09")]


def share_script_cache() -> None:
    """A served app compiles each script once and keeps the bytecode (one ScriptCache per
    server); AppTest makes a new cache on every run, so every rerun would pay for parsing
    and compiling the entry script and the page again. Share one, as the server does."""
    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _sent_bytes(at: AppTest) -> tuple[int, int]:
    """(all element bytes, map deck JSON bytes) of the last run."""
    total = 0
    stack = [at._tree]
    while stack:
        node = stack.pop()
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            total += proto.ByteSize()
        stack.extend(getattr(node, "children", {}).values())
    decks = at.get("deck_gl_json_chart")
    return total, (len(decks[0].proto.json.encode()) if decks else 0)


def _rerun(at: AppTest) -> float:
    at._finished_page_script_hash = ""  # rerun the router too (see tests/test_app.py)
    at._page_hash = ""
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def chrome_only(folder: Path) -> Path:
    """A copy of the dashboard whose incidents page is empty: the shared chrome alone."""
    shutil.copy(ROOT / "dashboard.py", folder / "dashboard.py")
    shutil.copytree(ROOT / "pages", folder / "pages")
    (folder / "pages" / "incidents.py").write_text('"""Empty: the chrome alone (bench)."""\n')
    return folder / "dashboard.py"


def measure(script: Path, page: str, runs: int) -> tuple[float, int, int]:
    os.environ["GARITA_START_PAGE"] = os.environ["BASELINE_PAGE"] = page
    at = AppTest.from_file(str(script), default_timeout=600)
    st.cache_data.clear()  # no answers left from the page measured before (same filters)
    _rerun(at)  # first run: caches the connection (Garita) or the whole DataFrame (baseline)
    times = []
    for first, last in RANGES[:runs]:
        at.select_slider(key="months").set_value((first, last))
        times.append(_rerun(at))
    total, deck = _sent_bytes(at)
    return statistics.median(times), total, deck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    share_script_cache()
    print("Synthetic incidents (bench/synthetic.py). Median of reruns after a filter change.")
    results: dict[int, dict[str, tuple[float, float]]] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            master = Path(tmp) / "garita.duckdb"
            os.environ["GARITA_DB"] = str(master)
            loader.init(master)
            report = loader.load_bytes(csv_bytes(size), "synthetic.csv", db_path=master)
            assert report.status == "loaded", report.message
            chrome_app = chrome_only(Path(tmp))
            print(f"\n{report.loaded + 57:,} incidents")
            print(f"{'page':<10} {'garita':>9} {'pandas':>9} {'ratio':>8} "
                  f"{'sent':>10} {'pandas sent':>12}  map deck")
            results[size] = {}
            for page in PAGES:
                ours, sent, deck = measure(ROOT / "dashboard.py", page, args.runs)
                base, base_sent, base_deck = measure(ROOT / "bench" / "baseline" / "app.py",
                                                     page, args.runs)
                results[size][page] = (ours, base)
                deck_note = f"{deck / 1024:,.0f} KB vs {base_deck / 1024:,.0f} KB" if deck else ""
                print(f"{page:<10} {ours * 1000:>7.0f}ms {base * 1000:>7.0f}ms "
                      f"{ours / base:>7.2f}x {sent / 1024:>8,.0f}KB {base_sent / 1024:>10,.0f}KB"
                      f"  {deck_note}")
            chrome, _, _ = measure(chrome_app, "incidents", args.runs)
            floor, _, _ = measure(ROOT / "bench" / "baseline" / "chrome.py", "incidents",
                                  args.runs)
            results[size]["chrome"] = (chrome, floor)
            print(f"{'chrome':<10} {chrome * 1000:>7.0f}ms {floor * 1000:>7.0f}ms "
                  f"{chrome / floor:>7.2f}x   (Garita with an empty page / the same "
                  "elements drawn with no data work)")
    small, large = min(results), max(results)
    print(f"\nTargets: garita/pandas at {small:,} <= 1.5x; {large:,} / {small:,} <= 1.5x")
    print(f"{'page':<10} {'garita/pandas':>14} {'growth':>8}")
    for page in [*PAGES, "chrome"]:
        ours_small, base_small = results[small][page]
        growth = results[large][page][0] / ours_small if large != small else float("nan")
        print(f"{page:<10} {ours_small / base_small:>13.2f}x {growth:>7.2f}x")


if __name__ == "__main__":
    main()
