"""Many readers at once: K simulated readers open a page and change filters at a human pace.

    make bench-readers                       # installs bench/requirements.txt, then this
    python -m bench.readers [--replicas 1 2] [--readers 1 5 10 25 50 100 150] [--quick]
    locust -f bench/readers.py --host http://127.0.0.1:8600   # by hand, against `make serve`

Each reader is a Locust user (locust.io) that speaks Streamlit's own protocol over the
websocket, as the browser does: the page's HTML and health check over HTTP, then protobuf
``BackMsg``/``ForwardMsg`` messages (the classes ship with Streamlit). It opens a page (the
map most often), then every 3 to 8 seconds changes one filter (months, states, types or
ports) by sending the widget states with a rerun, and times it until the server says the
rerun finished. Like the browser it also runs the page's 5-second "new data?" fragment,
follows the URL the app writes, and reconnects (with its old session id) when the
websocket drops. Headless Chromium pages would cost more CPU than the server under test on
this 2-core machine; the protocol route keeps the load generator small (its CPU is shown).

For each setup (1 process, then N behind nginx, started by ``garita.serve_many`` on a fresh
temporary database built by ``python -m etl init``) and each K, the app processes are
started fresh, warmed with one page each, then K readers run until at least
``--min-seconds`` and ``--changes`` filter changes (at most ``--max-seconds``). Printed: p50
and p95 time from a filter change to the finished rerun, server CPU per change (all CPU of
the app processes in the window, the 5-second checks included, divided by the changes),
resident memory per process and its growth per reader, and the K where p95 passes 1 s. With
N > 1 a last step publishes a new version (``python -m etl load``) and then kills one app
process: how long until every reader shows the new version, and what the readers of the
killed process and of the others saw.

Bounded: at most 200 readers, every step has a time limit, everything listens on 127.0.0.1
and the readers refuse any other host.
"""

from __future__ import annotations

import locust  # noqa: F401  (first: gevent patches the standard library for the readers)

import argparse
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import gevent
import requests
import websocket
from gevent.event import AsyncResult
from locust import User, between, task
from locust.env import Environment
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
MAX_READERS = 200
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PAGES = {"": 6, "over_time": 2, "by_port": 1, "incidents": 1}  # the map is what gets embedded
FILTERS = {"months": 4, "states": 3, "types": 2, "ports": 1}  # what a reader changes, how often
FINISHED = ForwardMsg.ScriptFinishedStatus
RERUN_TIMEOUT = 60.0
VERSION = re.compile(r"Data version (\d+)")


def _now() -> float:
    return time.monotonic()


@dataclass
class Tab:
    """One browser tab on a Garita page, speaking Streamlit's websocket protocol."""

    base: str
    page: str = ""
    pinned: int | None = None  # open on this app process (the proxy's cookie), else any
    http: requests.Session = field(default_factory=requests.Session)
    widgets: dict = field(default_factory=dict)    # key -> (widget id, options)
    states: dict = field(default_factory=dict)     # widget id -> WidgetState this tab set
    fragments: dict = field(default_factory=dict)  # fragment id -> (interval, timer)
    query: str = ""
    page_hash: str = ""
    session_id: str = ""
    replica: int | None = None
    versions: dict = field(default_factory=dict)   # data version -> when first shown
    outages: list = field(default_factory=list)    # (dropped at, answering again at)
    checks: int = 0
    pushed: int = 0      # full reruns the tab did not ask for (new data)
    received: int = 0    # bytes since the last rerun request
    closed: bool = False

    def __post_init__(self):
        host = urlparse(self.base).hostname
        if host not in LOOPBACK:
            raise ValueError(f"readers only run against this machine, not {host}")
        self.ws = None
        self._waiting: AsyncResult | None = None
        self._dropped_at: float | None = None
        self._greenlets: list = []

    # -- connection ---------------------------------------------------------------------
    def open(self) -> float:
        """Load the page as a browser does; returns seconds until the first run finished."""
        start = _now()
        if self.pinned:
            self.http.cookies.set("garita_replica", str(self.pinned))
        self.http.get(f"{self.base}/{self.page}", timeout=30).raise_for_status()
        self.http.get(f"{self.base}/_stcore/health", timeout=30).raise_for_status()
        self.http.get(f"{self.base}/_stcore/host-config", timeout=30)
        self._connect()
        self._greenlets.append(gevent.spawn(self._receive))
        self._request(self._client_state())
        self._wait()
        return _now() - start

    def _connect(self) -> None:
        protocols = ["streamlit", self.http.cookies.get("_streamlit_xsrf") or ""]
        if self.session_id:
            protocols.append(self.session_id)
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.ws = websocket.create_connection(
            self.base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=protocols,
            cookie=cookie, timeout=RERUN_TIMEOUT, enable_multithread=True)
        self.ws.settimeout(None)  # an open page may wait long for a message
        headers = {k.lower(): v for k, v in (self.ws.getheaders() or {}).items()}
        if headers.get("x-garita-replica"):
            self.replica = int(headers["x-garita-replica"])
            self.http.cookies.set("garita_replica", headers["x-garita-replica"])

    def close(self) -> None:
        self.closed = True
        gevent.killall(self._greenlets, block=False)
        if self.ws:
            self.ws.close()

    def _reconnect(self) -> None:
        """What the browser does when the websocket drops: ping, reconnect, rerun."""
        self._dropped_at = _now()
        delay = 0.5
        while not self.closed:
            gevent.sleep(delay)
            try:
                if self.http.get(f"{self.base}/_stcore/health", timeout=5).ok:
                    self._connect()
                    self._request(self._client_state())
                    return
            except (OSError, websocket.WebSocketException, requests.RequestException):
                pass
            delay = min(delay * 2, 4)

    def _receive(self) -> None:
        while not self.closed:
            try:
                data = self.ws.recv()
            except (OSError, websocket.WebSocketException):
                if self.closed:
                    return
                self._reconnect()
                continue
            if not data:
                continue
            self.received += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            self._handle(msg)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            if not msg.metadata.run.fragment_ids:  # a full run: the browser drops its timers
                self.fragments.clear()
            self.page_hash = msg.new_session.page_script_hash
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if self.fragments.get(fragment, (None,))[0] != interval:
                timer = object()  # this timer runs while the fragment maps to it
                self.fragments[fragment] = (interval, timer)
                self._greenlets.append(gevent.spawn(self._every, fragment, timer))
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self.fragments.pop(fragment, None)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "script_finished":
            if msg.script_finished == FINISHED.FINISHED_SUCCESSFULLY:
                if self._dropped_at is not None:
                    self.outages.append((self._dropped_at, _now()))
                    self._dropped_at = None
                if self._waiting is not None and not self._waiting.ready():
                    self._waiting.set(_now())
                else:
                    self.pushed += 1

    def _element(self, element) -> None:
        which = element.WhichOneof("type")
        inner = getattr(element, which)
        widget_id = getattr(inner, "id", "")
        if widget_id and which in ("slider", "multiselect"):
            key = widget_id.rsplit("-", 1)[-1]
            if key in FILTERS:
                self.widgets[key] = (widget_id, list(inner.options))
        elif which == "markdown":
            found = VERSION.search(inner.body)
            if found:
                self.versions.setdefault(int(found.group(1)), _now())

    # -- what the reader does -----------------------------------------------------------
    def _client_state(self, fragment: str = ""):
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = self.page if not self.page_hash else ""
        state.widget_states.widgets.extend(self.states.values())
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        return msg

    def _request(self, msg: BackMsg) -> None:
        if not msg.rerun_script.fragment_id and (self._waiting is None or self._waiting.ready()):
            self._waiting = AsyncResult()  # a change waiting over a reconnect keeps its own
            self.received = 0
        self.ws.send_binary(msg.SerializeToString())

    def _wait(self) -> float:
        try:
            return self._waiting.get(timeout=RERUN_TIMEOUT)
        except gevent.Timeout:  # a BaseException: it would end the reader, not count
            raise TimeoutError(f"no finished rerun within {RERUN_TIMEOUT:.0f} s") from None

    def _every(self, fragment: str, timer: object) -> None:
        """The browser's timer for ``st.fragment(run_every=...)``: dropped at the next full
        run and set again if the run registers the fragment again."""
        interval = self.fragments[fragment][0]
        while not self.closed:
            gevent.sleep(interval)
            if self.fragments.get(fragment, (None, None))[1] is not timer:
                return
            if self._dropped_at is None:
                try:
                    self.ws.send_binary(self._client_state(fragment).SerializeToString())
                    self.checks += 1
                except (OSError, websocket.WebSocketException):
                    pass

    def change(self, key: str, values: list[str]) -> tuple[float, int]:
        """Set one filter and rerun; returns (seconds until the rerun finished, bytes)."""
        widget_id, _ = self.widgets[key]
        deadline = _now() + RERUN_TIMEOUT
        while self._dropped_at is not None and _now() < deadline:
            gevent.sleep(0.1)  # the page says "Connecting": a person waits, then changes
        state = WidgetState(id=widget_id)
        state.string_array_value.data.extend(values)
        self.states[widget_id] = state
        start = _now()
        self._request(self._client_state())
        finished = self._wait()
        return finished - start, self.received

    def random_change(self, rng: random.Random) -> tuple[str, list[str]]:
        """One change a person might make: a new month range, or a state, type or port."""
        keys = [k for k in FILTERS if k in self.widgets]
        key = rng.choices(keys, [FILTERS[k] for k in keys])[0]
        options = self.widgets[key][1]
        if key == "months":
            first = rng.randrange(0, max(1, len(options) - 6))
            last = rng.randrange(first + 3, len(options)) if len(options) > first + 3 else first
            return key, [options[first], options[last]]
        return key, rng.sample(options, rng.choice([0, 1, 1, 2]))


@dataclass
class Record:
    """What every reader measured, for the step now running."""

    opens: list = field(default_factory=list)
    changes: list = field(default_factory=list)   # (when, seconds, bytes, replica)
    errors: list = field(default_factory=list)
    tabs: list = field(default_factory=list)

    def reset(self) -> None:
        self.opens.clear()
        self.changes.clear()
        self.errors.clear()


RECORD = Record()


class Reader(User):
    """A person reading Garita: opens a page, changes a filter every 3 to 8 seconds."""

    wait_time = between(3, 8)

    def on_start(self):
        self.rng = random.Random()
        page = self.rng.choices(list(PAGES), list(PAGES.values()))[0]
        self.tab = Tab(self.host, page)
        RECORD.tabs.append(self.tab)
        self._fire("open page", self.tab.open, size=0)

    def _fire(self, name, action, size=None):
        start = time.perf_counter()
        try:
            result = action()
        except Exception as exc:  # reported to Locust and counted; the reader goes on
            RECORD.errors.append((_now(), name, repr(exc)[:200]))
            self.environment.events.request.fire(
                request_type="WS", name=name, response_time=(time.perf_counter() - start) * 1000,
                response_length=0, exception=exc, context={})
            return None
        seconds, length = result if isinstance(result, tuple) else (result, size or 0)
        (RECORD.opens if name == "open page" else RECORD.changes).append(
            (_now(), seconds, length, self.tab.replica))
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=seconds * 1000,
            response_length=length, exception=None, context={})
        return result

    @task
    def change_filter(self):
        if not self.tab.widgets:  # the page never opened: counted as an error already
            return
        key, values = self.tab.random_change(self.rng)
        self._fire("filter change", lambda: self.tab.change(key, values))

    def on_stop(self):
        self.tab.close()


# -- measuring the server --------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy_seconds() -> float:
    """CPU time every process of the machine has used so far (other work included)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]  # nearest rank


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _warm(proxy) -> None:
    """One page per process, so each has imported its libraries before the step."""
    for replica in proxy.replicas:
        tab = Tab(proxy.url, pinned=replica.index)
        tab.open()
        tab.close()


def run_readers(proxy, readers: int, args, during=None) -> dict:
    """K readers against ``proxy`` until the step's bounds; ``during(elapsed)`` runs every
    second (the publish and kill step). Returns the step's figures."""
    RECORD.reset()
    RECORD.tabs.clear()
    _warm(proxy)
    gevent.sleep(1)
    baseline = {pid: rss_mb(pid) for pid in proxy.pids()}
    env = Environment(user_classes=[Reader], host=proxy.url)
    runner = env.create_local_runner()
    runner.start(readers, spawn_rate=max(1.0, readers / 5))
    deadline = _now() + 120
    while len(RECORD.opens) + len(RECORD.errors) < readers and _now() < deadline:
        gevent.sleep(0.2)
    RECORD.changes.clear()
    app_pids, nginx_pids = proxy.pids(), proxy.nginx_pids()
    cpu0, nginx0, own0, start = cpu_seconds(app_pids), cpu_seconds(nginx_pids), _own_cpu(), _now()
    busy0 = machine_busy_seconds()
    checks0 = sum(t.checks for t in RECORD.tabs)
    while True:
        gevent.sleep(1)
        elapsed = _now() - start
        if during:
            during(elapsed)
        if elapsed >= args.max_seconds or (elapsed >= args.min_seconds
                                           and len(RECORD.changes) >= args.changes):
            break
    window = _now() - start
    server_cpu = cpu_seconds(app_pids) - cpu0  # partial if a process was killed meanwhile
    nginx_cpu = cpu_seconds(nginx_pids) - nginx0
    own_cpu = _own_cpu() - own0
    others = machine_busy_seconds() - busy0 - server_cpu - nginx_cpu - own_cpu
    checks = sum(t.checks for t in RECORD.tabs) - checks0
    memory = {pid: rss_mb(pid) for pid in proxy.pids()}
    times = [seconds for _, seconds, _, _ in RECORD.changes]
    result = {
        "readers": readers, "processes": len(proxy.replicas), "seconds": round(window, 1),
        "changes": len(times), "errors": len(RECORD.errors),
        "p50_ms": percentile(times, 50) * 1000, "p95_ms": percentile(times, 95) * 1000,
        "max_ms": max(times, default=float("nan")) * 1000,
        "open_p50_ms": percentile([s for _, s, _, _ in RECORD.opens], 50) * 1000,
        "kb_per_change": statistics.mean([b for _, _, b, _ in RECORD.changes] or [0]) / 1024,
        "server_cpu_ms_per_change": server_cpu / max(1, len(times)) * 1000,
        "server_cores": server_cpu / window, "nginx_cores": nginx_cpu / window,
        "readers_cores": own_cpu / window, "checks_per_s": checks / window,
        "other_cores": max(0.0, others / window),  # other people's work on this machine
        "rss_mb_per_process": max(memory.values(), default=0),
        "rss_mb_total": sum(memory.values()),
        "mb_per_reader": (sum(memory.values()) - sum(baseline.values())) / readers,
    }
    result["tabs"] = list(RECORD.tabs)
    runner.quit()
    for tab in RECORD.tabs:
        tab.close()
    return result


def publish_and_kill(proxy, master: Path, args) -> dict:
    """K readers on N processes: publish a new version, then kill process 1."""
    from bench.synthetic import csv_bytes

    events = {}
    batch = Path(tempfile.mkdtemp(prefix="garita-batch-")) / "batch.csv"
    batch.write_bytes(csv_bytes(5, seed=random.randrange(10**6)))

    def during(elapsed: float) -> None:
        if "published" not in events and elapsed >= args.max_seconds * 0.2:
            events["published"] = _now()
            done = subprocess.run([sys.executable, "-m", "etl", "load", str(batch), "--db",
                                   str(master)], cwd=ROOT, capture_output=True, text=True)
            events["publish_ok"] = done.returncode == 0
            events["load_seconds"] = _now() - events["published"]
        if "killed" not in events and elapsed >= args.max_seconds * 0.5:
            events["on_killed"] = [t for t in RECORD.tabs if t.replica == 1]
            events["dropped_before"] = sum(len(t.outages) for t in RECORD.tabs)
            events["killed"] = _now()
            proxy.kill(1)
        if "killed" in events and int(elapsed) % 2 == 0:
            proxy.check()  # what `make serve` does every 2 s: start the dead process again

    args_long = argparse.Namespace(**{**vars(args), "min_seconds": args.max_seconds,
                                      "changes": 10**9})
    result = run_readers(proxy, args.event_readers, args_long, during=during)
    tabs = result["tabs"]
    published = events["published"]
    new = max((v for t in tabs for v in t.versions), default=0)
    seen = [t.versions[new] - published for t in tabs if new in t.versions]
    killed = events["killed"]
    on_killed = events["on_killed"]
    others = [t for t in tabs if t not in on_killed]
    back = [max(0.0, end - killed) for t in on_killed for start, end in t.outages
            if start >= killed]
    before = [s for when, s, _, _ in RECORD.changes if when < killed]
    after_others = [s for when, s, _, replica in RECORD.changes
                    if when >= killed and replica != 1]
    result.update({
        "publish_ok": events["publish_ok"], "load_seconds": events["load_seconds"],
        "saw_new_version": len(seen), "new_version_p50_s": percentile(seen, 50),
        "new_version_max_s": max(seen, default=float("nan")),
        "on_killed": len(on_killed), "reconnected": len(back),
        "reconnect_p50_s": percentile(back, 50), "reconnect_max_s": max(back, default=float("nan")),
        "others": len(others),
        "others_dropped": sum(1 for t in others for start, _ in t.outages if start >= killed),
        "p95_before_kill_ms": percentile(before, 95) * 1000,
        "others_p95_after_kill_ms": percentile(after_others, 95) * 1000,
    })
    return result


def _fmt(value, digits=0) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"  # NaN: no sample


def print_table(results: list[dict]) -> None:
    print("\n| processes | readers | changes | p50 | p95 | server CPU per change | server "
          "cores | KB per change | RSS per process | MB per reader | load generator cores | "
          "other work on the machine (cores) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['processes']} | {r['readers']} | {r['changes']} | {_fmt(r['p50_ms'])} ms "
              f"| {_fmt(r['p95_ms'])} ms | {_fmt(r['server_cpu_ms_per_change'])} ms "
              f"| {r['server_cores']:.2f} | {r['kb_per_change']:.0f} "
              f"| {r['rss_mb_per_process']:.0f} MB | {_fmt(r['mb_per_reader'], 1)} "
              f"| {r['readers_cores']:.2f} | {r['other_cores']:.2f} |")
    for processes in sorted({r["processes"] for r in results}):
        rows = [r for r in results if r["processes"] == processes]
        one = next((r for r in rows if r["readers"] == 1), None)
        over = next((r["readers"] for r in rows if r["p95_ms"] > 1000), None)
        print(f"\n{processes} process(es): p95 passes 1 s at K = "
              f"{over if over else 'none measured (up to ' + str(rows[-1]['readers']) + ')'}")
        if one:
            for name in ("p50", "p95"):
                print(f"  {name} against one reader: " + ", ".join(
                    f"K={r['readers']}: {r[name + '_ms'] / one[name + '_ms']:.1f}x"
                    for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2],
                        help="app processes behind nginx, one setup each (default 1 2)")
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 5, 10, 25, 50, 100, 150])
    parser.add_argument("--min-seconds", type=float, default=30)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--changes", type=int, default=40,
                        help="filter changes to measure per step, within the time bounds")
    parser.add_argument("--event-readers", type=int, default=20,
                        help="readers in the publish-and-kill step (N > 1 only; 0 skips it)")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="add this many SYNTHETIC incidents to the 57 shipped ones")
    parser.add_argument("--app-option", action="append", default=[],
                        help="passed to every app process, e.g. --app-option=--runner."
                             "postScriptGC=true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--quick", action="store_true",
                        help="readers 1 5 10, 15-30 s steps: a smoke run of the bench")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))  # stop the servers too
    if args.quick:
        args.readers, args.min_seconds, args.max_seconds, args.changes = [1, 5, 10], 15, 30, 20
    if max(args.readers + [args.event_readers]) > MAX_READERS:
        parser.error(f"at most {MAX_READERS} readers on one machine")
    from etl import load as loader
    from garita import serve_many

    steps = len(args.replicas) * len(args.readers) + (args.event_readers > 0
                                                      and max(args.replicas) > 1)
    print(f"{steps} steps of {args.min_seconds:.0f}-{args.max_seconds:.0f} s (plus about 15 s "
          f"to start each): at most {steps * (args.max_seconds + 30) / 60:.0f} minutes. "
          f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}.", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="garita-readers-") as tmp:
        master = Path(tmp) / "garita.duckdb"
        loader.init(master)
        if args.synthetic:
            from bench.synthetic import csv_bytes
            loader.load_bytes(csv_bytes(args.synthetic), "synthetic.csv", db_path=master)
        env = {"GARITA_DB": str(master)}
        for processes in args.replicas:
            for readers in args.readers:
                with serve_many.serving(processes, app_args=tuple(args.app_option),
                                        env=env) as proxy:
                    result = run_readers(proxy, readers, args)
                result.pop("tabs")
                results.append(result)
                print(f"{processes} process(es), {readers:>3} readers: p50 "
                      f"{_fmt(result['p50_ms'])} ms, p95 {_fmt(result['p95_ms'])} ms over "
                      f"{result['changes']} changes, server {result['server_cores']:.2f} cores, "
                      f"other work {result['other_cores']:.2f} cores, {result['errors']} errors",
                      flush=True)
        events = None
        if args.event_readers and max(args.replicas) > 1:
            with serve_many.serving(max(args.replicas), app_args=tuple(args.app_option),
                                    env=env) as proxy:
                events = publish_and_kill(proxy, master, args)
            events.pop("tabs")
    print_table(results)
    if events:
        print(f"\nPublish and kill, {events['readers']} readers on {events['processes']} "
              f"processes: the load took {events['load_seconds']:.1f} s; "
              f"{events['saw_new_version']} of {events['readers']} readers showed the new "
              f"version, median {_fmt(events['new_version_p50_s'], 1)} s and at most "
              f"{_fmt(events['new_version_max_s'], 1)} s after it was published.")
        print(f"Killed process 1: its {events['on_killed']} readers reconnected "
              f"({events['reconnected']}) to a live process, median "
              f"{_fmt(events['reconnect_p50_s'], 1)} s, at most "
              f"{_fmt(events['reconnect_max_s'], 1)} s; the {events['others']} readers of the "
              f"others dropped {events['others_dropped']} times; their p95 "
              f"{_fmt(events['others_p95_after_kill_ms'])} ms after the kill "
              f"(all readers before: {_fmt(events['p95_before_kill_ms'])} ms); "
              f"{events['errors']} errors.")
    if args.json:
        args.json.write_text(json.dumps({"steps": results, "events": events}, indent=1))


if __name__ == "__main__":
    main()
