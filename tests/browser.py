"""Helpers for browser tests and screenshots: a real server on a free port, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("GARITA_ARTIFACTS", ROOT / "artifacts"))
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(command: list[str], *, env: dict, cwd: Path = ROOT, args: tuple = (),
            log: Path | None = None, wait: float = 60.0):
    """A Streamlit server started with ``command`` on a free localhost port (then ``args``);
    yields its base URL and process once it answers its health check, and stops it on
    leaving. Its output goes to ``log``, or is kept to say why it did not start."""
    port = free_port()
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(log, "wb")) if log else subprocess.PIPE
        process = subprocess.Popen(
            [*command, "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", *args],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            if process.poll() is not None or time.monotonic() > deadline:
                why = f"see {log}" if log else \
                    process.stdout.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{' '.join(command)} did not start: {why}")
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def running_app(db_file: Path, env: dict | None = None, args: tuple = ()):
    """Start the app as `make run` does, on a free port; yield its base URL."""
    # Without the tests' figure check (tests/conftest.py): the app skips it, as `make run` does.
    environment = {**{k: v for k, v in os.environ.items() if k != "GARITA_CHECK_FIGURES"},
                   "GARITA_DB": str(db_file), **(env or {})}
    with serving([sys.executable, "-m", "garita.serve"], env=environment, args=args) as (url, _):
        yield url


@contextlib.contextmanager
def launched_browser():
    """One headless Chromium driven by Playwright; closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, browser=None):
    """A page ``width`` × ``height`` px wide and high, as a new visitor opens it: in a context
    of its own (no cookies, storage or session carried over) of ``browser`` when one is
    given (the ``chromium`` fixture: one Chromium per test module), else of a Chromium
    started for it."""
    with contextlib.ExitStack() as stack:
        if browser is None:
            browser = stack.enter_context(launched_browser())
        context = browser.new_context(viewport={"width": width, "height": height})
        stack.callback(context.close)
        page = context.new_page()
        page.set_default_timeout(60_000)  # a busy 2-core CI machine draws pages slowly
        yield page


# The app has run its script to the end and every chart in view is drawn: plotly has made its
# SVG (titles, ticks and legends included) and deck.gl its canvas.
_SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  const shown = [...document.querySelectorAll(
      '[data-testid="stPlotlyChart"], [data-testid="stDeckGlJsonChart"]')]
      .filter(chart => chart.getClientRects().length > 0);
  return shown.every(chart => chart.querySelector('.main-svg, canvas'));
}"""


def wait_settled(page, quiet: float = 1.0, timeout: float = 60) -> None:
    """Wait until the page has finished drawing: its script ran to the end, every chart shown
    is drawn, and both stay so for ``quiet`` seconds (the app reruns once it learns the
    window's width). Instead of a fixed wait, which is too short on a busy machine and too
    long on an idle one."""
    deadline = time.monotonic() + timeout
    since = None
    while True:
        now = time.monotonic()
        if page.evaluate(_SETTLED_JS):
            since = since or now
            if now - since >= quiet:
                return
        else:
            since = None
        assert now < deadline, "the page did not finish drawing"
        page.wait_for_timeout(100)


def open_page_link(page, name: str, shows: str, attempts: int = 3) -> None:
    """Click the sidebar link ``name`` until the page shows ``shows``: a click that lands
    while the app is still redrawing (it reruns once when it learns the screen size) can be
    swallowed on a busy machine."""
    for attempt in range(attempts):
        page.get_by_role("link", name=name).click()
        try:
            page.get_by_text(shows).first.wait_for(timeout=30_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise


# --- staff sign-in ---------------------------------------------------------------------------

STAFF_USER = "ana"
STAFF_PASSWORD = "correct horse battery staple"


def staff_secrets(folder: Path) -> Path:
    """A secrets file (``--secrets.files``) with one staff password sign-in: STAFF_USER."""
    from garita.auth import hash_password

    secrets = folder / "secrets.toml"
    hashed = hash_password(STAFF_PASSWORD, iterations=1000)  # few rounds: a quick test
    secrets.write_text(f'[staff.passwords]\n{STAFF_USER} = "{hashed}"\n')
    return secrets


def sign_in(page, url: str) -> None:
    """Sign in on ``url``'s sign-in page as STAFF_USER, in English, and wait until it says so."""
    page.goto(f"{url}/sign_in")
    page.get_by_label("User name").fill(STAFF_USER)
    page.locator("input[type=password]").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as staff").wait_for(timeout=60_000)


def metric(page, label: str) -> str:
    """The value of the metric card ``label``."""
    card = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return card.locator("[data-testid='stMetricValue']").inner_text()


def wait_metric(page, label: str, value: str, seconds: float = 30) -> None:
    """Wait until the metric card ``label`` shows ``value``."""
    deadline = time.monotonic() + seconds
    while metric(page, label) != value:
        assert time.monotonic() < deadline, f"{label} stayed {metric(page, label)}, not {value}"
        time.sleep(0.3)
