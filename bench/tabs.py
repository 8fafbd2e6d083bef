"""A fresh browser tab: each Garita page against a bare Streamlit page with one map and one chart.

    python -m bench.tabs [--tabs 7] [--size 0] [--pages map present] [--details]

Starts Garita (as `make run` does) on a temporary database of the shipped incidents (plus
``--size`` synthetic ones, bench/synthetic.py) and the bare page (bench/baseline/bare.py)
with the same .streamlit configuration, each on a free port. Then headless Chromium opens
every page in a new browser context (an empty cache, as a first visit), each Garita tab
followed by a bare tab so that the machine's noise falls on both; the first round is a
warm-up. A tab is timed from the start of navigation to "drawn":

- the page's own text is in the page and its figures exist (deck.gl canvas, plotly svg,
  data grid);
- Streamlit has finished the last run of the script (``data-test-script-state`` of the app
  is ``notRunning``: no "Running…", no stale elements) and asks for no other, for 1.5 s.

Runs of the ``follow_new_data`` fragment (every 5 s) are not runs of the page. Times are
the page's own clock (``performance.now()``, 0 at navigation start). Beside the time, the
CPU each tab cost until drawn and quiet: the tab's main thread (Chrome's TaskDuration in
thread time) and the server process (/proc), steadier than times on a shared machine.
``--details`` prints every tab: runs of the script and why (first, widget, timer), when
each started and ended, bytes over the websocket, DOM nodes, files the page loaded.
Target: every page within 1.3x the bare page (issue 17).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
QUIET_MS = 1500
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# page: (path, text the page writes, what must be drawn)
PAGES = {
    "map": ("", "Ports with incidents",
            ["[data-testid='stDeckGlJsonChart'] canvas", ".js-plotly-plot .main-svg"]),
    "over_time": ("over_time", "Incidents per year", [".js-plotly-plot .main-svg"]),
    "by_port": ("by_port", "One port in detail", [".js-plotly-plot .main-svg"]),
    "incidents": ("incidents", "incidents match", ["[data-testid='stDataFrame'] canvas"]),
    "sources": ("sources", "Batches loaded", ["[data-testid='stDataFrame'] canvas"]),
    "present": ("present", "To hand over",
                ["[data-testid='stDeckGlJsonChart'] canvas", ".js-plotly-plot .main-svg"]),
}
BARE = ("", "Ports of entry per state",
        ["[data-testid='stDeckGlJsonChart'] canvas", ".js-plotly-plot .main-svg"])

# Installed in every tab before the page's own scripts: records, on the page's clock, each
# change of the script-run state, whether the page's text and figures are there, and every
# websocket frame (sent frames whole, to tell a fragment's run from the page's).
_RECORDER = """
(() => {
  const tab = window.__tab = {states: [], drawn: [], sent: [], received: [], opened: null};
  const config = %s;
  const Native = window.WebSocket;
  const encode = (data) => {
    const bytes = new Uint8Array(data);
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192)
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return btoa(text);
  };
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener("open", () => { tab.opened = performance.now(); });
    socket.addEventListener("message", (event) => {
      const data = event.data;
      if (data instanceof ArrayBuffer) tab.received.push([performance.now(), encode(data)]);
    });
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      const buffer = data instanceof ArrayBuffer ? data
        : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      tab.sent.push([performance.now(), encode(buffer)]);
      return send(data);
    };
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  let state = null, drawn = null;
  const check = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const now = app ? app.getAttribute("data-test-script-state") : null;
    if (now !== state) { state = now; tab.states.push([now, performance.now()]); }
    const main = document.querySelector("[data-testid='stMain']") || document.body;
    const shown = (s) => {
      const element = document.querySelector(s);
      return element && element.getBoundingClientRect().width > 0;
    };
    const ok = main.textContent.includes(config.text) && config.selectors.every(shown);
    if (ok !== drawn) { drawn = ok; tab.drawn.push([ok, performance.now()]); }
  };
  const watch = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (app) new MutationObserver((records) => {
      for (const record of records)  // a quick run can come and go within one task
        if (record.oldValue !== state) {
          state = record.oldValue;
          tab.states.push([state, performance.now()]);
        }
      check();
    }).observe(app, {attributes: true, attributeOldValue: true,
                     attributeFilter: ["data-test-script-state"]});
    else requestAnimationFrame(watch);
  };
  document.addEventListener("DOMContentLoaded", watch);
  setInterval(check, 25);
})();
"""


@dataclass
class Tab:
    """What one fresh tab did, on the page's clock (ms from navigation start)."""
    drawn_ms: float
    runs: list = field(default_factory=list)  # (start, end, why) of each run of the page
    timer_runs: int = 0
    sent_rerun: list = field(default_factory=list)  # (time, why) of each rerun asked
    received_bytes: int = 0
    deltas: int = 0
    socket_open_ms: float | None = None
    resources: dict = field(default_factory=dict)
    browser_cpu_ms: float = 0.0  # the tab's main thread, until drawn and quiet
    script_cpu_ms: float = 0.0  # of which running JavaScript
    server_cpu_ms: float = 0.0  # the server process, for this tab alone
    nodes: int = 0  # DOM nodes at the end


def _why(client) -> str:
    """Why the browser asked for a run: the first, a widget's value (in a fragment or not),
    or a fragment's timer ("timer": ``follow_new_data``, not a run of the page)."""
    if client.is_auto_rerun:
        return "timer"
    why = "widget" if client.widget_states.widgets else "first"
    return f"{why} (fragment)" if client.fragment_id else why


def _decode(raw: dict) -> tuple[list, list]:
    """(runs asked: (time, why)), (messages received: (time, ForwardMsg, bytes))."""
    asked = []
    for at, data in raw["sent"]:
        message = BackMsg.FromString(base64.b64decode(data))
        if message.WhichOneof("type") == "rerun_script":
            asked.append((at, _why(message.rerun_script)))
    received = []
    for at, data in raw["received"]:
        payload = base64.b64decode(data)
        received.append((at, ForwardMsg.FromString(payload), len(payload)))
    return asked, received


def _runs(asked: list, received: list) -> list[tuple[float, float | None, str]]:
    """Every run of the script as the server reported it: (started, finished, why), ``why``
    being what the browser last asked for before it started."""
    runs, start = [], None
    for at, message, _ in received:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            if start is not None:
                runs.append((start, None, _asked_before(asked, start)))
            start = at
        elif kind == "script_finished" and start is not None:
            why = _asked_before(asked, start)
            if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                why += " (cut short)"
            runs.append((start, at, why))
            start = None
    if start is not None:
        runs.append((start, None, _asked_before(asked, start)))
    return runs


def _asked_before(asked: list, at: float) -> str:
    before = [why for when, why in asked if when <= at]
    return before[-1] if before else "first"


def _settled(raw: dict, now: float) -> Tab | None:
    """The tab's measurement once it has been drawn and quiet for QUIET_MS, else None."""
    asked, received = _decode(raw)
    runs = _runs(asked, received)
    page_runs = [run for run in runs if run[2] != "timer"]
    if not page_runs or page_runs[-1][1] is None or not raw["drawn"] or not raw["drawn"][-1][0]:
        return None
    if not raw["states"] or raw["states"][-1][0] != "notRunning":
        return None
    last_end = page_runs[-1][1]
    if any(at > page_runs[-1][0] and why != "timer" for at, why in asked):
        return None  # the browser has asked for another run of the page
    # when the page stopped showing "Running…" after that run (a later timer run is not it)
    shown = min([at for state, at in raw["states"] if state == "notRunning" and at >= last_end],
                default=last_end)
    drawn_ms = max(last_end, shown, raw["drawn"][-1][1])
    if now - drawn_ms < QUIET_MS:
        return None
    return Tab(drawn_ms=drawn_ms, runs=page_runs, timer_runs=len(runs) - len(page_runs),
               sent_rerun=asked, received_bytes=sum(size for _, _, size in received),
               deltas=sum(1 for _, m, _ in received if m.WhichOneof("type") == "delta"),
               socket_open_ms=raw["opened"], resources=raw.get("resources", {}))


_POLL = """(since) => {
  const tab = window.__tab;
  const all = performance.getEntriesByType("resource");
  return JSON.stringify({now: performance.now(), states: tab.states, drawn: tab.drawn,
    opened: tab.opened, sent: tab.sent.slice(since[0]), received: tab.received.slice(since[1]),
    resources: {count: all.length, fonts: all.filter((r) => /\\.woff2?$/.test(r.name)).length,
                bytes: all.reduce((n, r) => n + (r.transferSize || r.encodedBodySize || 0), 0),
                last: Math.max(0, ...all.map((r) => r.responseEnd))}});
}"""


def _cpu_seconds(pid: int | None) -> float:
    """CPU time a process (all its threads) has used so far, from /proc; 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_tab(browser, url: str, text: str, selectors: list[str], size: tuple[int, int],
             server_pid: int | None = None, timeout: float = 90) -> Tab:
    """Open ``url`` in a new browser context and measure it until drawn and quiet: the
    times, and the CPU the tab's main thread and the server (``server_pid``) spent."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        context.add_init_script(_RECORDER % json.dumps({"text": text, "selectors": selectors}))
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        server_before = _cpu_seconds(server_pid)
        page.goto(url, wait_until="commit")
        raw = {"sent": [], "received": []}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            new = json.loads(page.evaluate(_POLL, [len(raw["sent"]), len(raw["received"])]))
            raw = {**new, "sent": raw["sent"] + new["sent"],
                   "received": raw["received"] + new["received"]}
            tab = _settled(raw, raw["now"])
            if tab is not None:
                tab.server_cpu_ms = (_cpu_seconds(server_pid) - server_before) * 1000
                metrics = {m["name"]: m["value"]
                           for m in cdp.send("Performance.getMetrics")["metrics"]}
                tab.browser_cpu_ms = metrics["TaskDuration"] * 1000
                tab.script_cpu_ms = metrics["ScriptDuration"] * 1000
                tab.nodes = int(metrics["Nodes"])
                return tab
        asked, received = _decode(raw)
        raise RuntimeError(f"{url} was not drawn within {timeout:.0f} s: script states "
                           f"{raw['states']}, drawn {raw['drawn']}, runs asked {asked}, "
                           f"runs {_runs(asked, received)}")
    finally:
        context.close()


@contextlib.contextmanager
def serving(command: list[str], env: dict, log: Path, cwd: Path = ROOT):
    """A Streamlit server started with ``command`` in ``cwd`` on a free port; yields its
    base URL and process id."""
    from tests.browser import serving as server

    with server(command, env={**os.environ, **env}, cwd=cwd, log=log, wait=90) as (url, process):
        yield url, process.pid


def _database(folder: Path, size: int) -> Path:
    from etl import load as loader

    master = folder / "garita.duckdb"
    loader.init(master)
    if size:
        from bench.synthetic import csv_bytes

        report = loader.load_bytes(csv_bytes(size), "synthetic.csv", db_path=master)
        assert report.status == "loaded", report.message
    return master


def _describe(tab: Tab) -> str:
    runs = ", ".join(f"{why} {start:.0f}–{end:.0f}" for start, end, why in tab.runs)
    return (f"drawn {tab.drawn_ms:.0f} ms | CPU: tab {tab.browser_cpu_ms:.0f} ms (script "
            f"{tab.script_cpu_ms:.0f}), server {tab.server_cpu_ms:.0f} ms | {tab.nodes} DOM nodes"
            f" | socket open {tab.socket_open_ms or 0:.0f} | runs: "
            f"{runs} | timer runs {tab.timer_runs} | received "
            f"{tab.received_bytes / 1024:.0f} KB in {tab.deltas} deltas | page files "
            f"{tab.resources.get('count')} ({tab.resources.get('bytes', 0) / 1024:.0f} KB, "
            f"{tab.resources.get('fonts')} fonts, last at {tab.resources.get('last', 0):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, default=7,
                        help="measured tabs per page, after one warm-up (default 7)")
    parser.add_argument("--size", type=int, default=0,
                        help="synthetic incidents added to the shipped ones (default 0)")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--window", type=int, nargs=2, default=(1440, 900),
                        metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--details", action="store_true", help="print every tab")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("bench.tabs needs Chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        master = _database(folder, args.size)
        with serving([sys.executable, "-m", "garita.serve"], {"GARITA_DB": str(master)},
                     folder / "garita.log") as (garita, garita_pid), \
                serving([sys.executable, "-m", "streamlit", "run",
                         str(ROOT / "bench" / "baseline" / "bare.py")], {},
                        folder / "bare.log") as (bare, bare_pid), \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            ours = {name: [] for name in args.pages}
            base = {name: [] for name in args.pages}
            for round_ in range(args.tabs + 1):
                for name in args.pages:
                    path, text, selectors = PAGES[name]
                    tab = open_tab(browser, f"{garita}/{path}", text, selectors, args.window,
                                   garita_pid)
                    bare_tab = open_tab(browser, bare, *BARE[1:], args.window, bare_pid)
                    if args.details:
                        print(f"{'warm-up ' if round_ == 0 else ''}{name}: {_describe(tab)}")
                        print(f"{'warm-up ' if round_ == 0 else ''}  bare: {_describe(bare_tab)}",
                              flush=True)
                    if round_:
                        ours[name].append(tab)
                        base[name].append(bare_tab)
            browser.close()
    incidents = f"57 shipped + {args.size:,} synthetic" if args.size else "57 shipped"
    print(f"\nFresh tab, {args.window[0]}x{args.window[1]}, {incidents} incidents, median of "
          f"{args.tabs} tabs each (after a warm-up), each Garita tab followed by a bare one.\n"
          "Time from navigation to drawn; CPU until drawn and quiet of the tab's main thread "
          "and of the server.")
    print(f"{'page':<10} {'garita':>8} {'bare':>8} {'ratio':>6} {'(≤1.3x)':<7} "
          f"{'tab CPU':>8} {'server CPU':>11} {'runs':>4} {'received':>9} {'nodes':>6}")
    for name in args.pages:
        mine, theirs = ours[name], base[name]

        def ratio(value, mine=mine, theirs=theirs):
            return (statistics.median(value(t) for t in mine)
                    / max(statistics.median(value(t) for t in theirs), 1e-9))

        drawn = ratio(lambda t: t.drawn_ms)
        print(f"{name:<10} {statistics.median(t.drawn_ms for t in mine):>6.0f}ms "
              f"{statistics.median(t.drawn_ms for t in theirs):>6.0f}ms "
              f"{drawn:>5.2f}x {'ok' if drawn <= TARGET else 'over':<7} "
              f"{ratio(lambda t: t.browser_cpu_ms):>7.2f}x "
              f"{ratio(lambda t: t.server_cpu_ms):>10.2f}x "
              f"{statistics.median(len(t.runs) for t in mine):>4.0f} "
              f"{statistics.median(t.received_bytes for t in mine) / 1024:>7.0f}KB "
              f"{statistics.median(t.nodes for t in mine):>6.0f}")
    bare_all = [t for tabs in base.values() for t in tabs]
    print(f"bare page: {statistics.median(t.drawn_ms for t in bare_all):.0f} ms, tab CPU "
          f"{statistics.median(t.browser_cpu_ms for t in bare_all):.0f} ms, server CPU "
          f"{statistics.median(t.server_cpu_ms for t in bare_all):.0f} ms, "
          f"{statistics.median(len(t.runs) for t in bare_all):.0f} run, "
          f"{statistics.median(t.received_bytes for t in bare_all) / 1024:.0f} KB received, "
          f"{statistics.median(t.nodes for t in bare_all):.0f} DOM nodes")


if __name__ == "__main__":
    main()
