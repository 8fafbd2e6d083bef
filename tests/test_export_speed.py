"""The Present page's downloads come from one browser kept for the whole server: a second
export starts no browser, a browser that died is replaced, two visitors exporting at once
both get their own file, and no browser is left behind.

Times are measured by ``python -m bench.exports``, never asserted here.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from garita import brief, images
from tests.browser import ROOT, chromium_path
from tests.test_handover import (EVERYWHERE, FILTERS, VIEW, png_size, renderer,  # noqa: F401
                                 views)

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="kaleido needs Chromium")


def chromium_processes(root: int | None = None) -> dict[int, int]:
    """Every live Chromium process under ``root`` (this process): pid -> parent pid."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        parents[int(entry.name)] = int(fields[1])
        names[int(entry.name)] = stat[stat.index("(") + 1:stat.rindex(")")]
    root = root or os.getpid()
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        for child, parent in parents.items():
            if parent == pid:
                stack.append(child)
                if names[child].startswith("chrom"):
                    found[child] = parent
    return found


def browsers() -> set[int]:
    """The main process of each running Chromium (its parent is not a Chromium)."""
    found = chromium_processes()
    return {pid for pid, parent in found.items() if parent not in found}


@pytest.fixture
def launches(monkeypatch) -> list:
    """Every browser kaleido starts from now on (each is a ``subprocess.Popen`` of the
    browser, through choreographer's wrapper)."""
    started: list = []
    popen = subprocess.Popen

    def counting(args, *rest, **kwargs):
        if any("chrom" in str(arg) for arg in (args if isinstance(args, list) else [args])):
            started.append(args)
        return popen(args, *rest, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", counting)
    return started


def image(name: str, answers: dict, filters=FILTERS) -> tuple[bytes, tuple[int, int]]:
    """A PNG as the Present page makes it, and the size its figure asks for."""
    fig = images.figure(name, answers, filters, version=3)
    return images.to_png(fig), (fig.layout.width, fig.layout.height)


def assert_drawn(png: bytes, size: tuple[int, int]) -> None:
    """A PNG of the figure's size with something drawn on it (not a blank page)."""
    assert png_size(png) == size
    picture = Image.open(io.BytesIO(png)).convert("L")
    low, high = picture.getextrema()
    assert low < 100 and high > 200


def test_exports_in_a_row_each_give_their_own_image_and_the_brief_its_pdf(renderer, views):
    answers = views["texas"]
    made = {name: image(name, answers) for name in ("map", "ports", "yearly")}
    for png, size in made.values():
        assert_drawn(png, size)
    assert made["map"][0] != made["ports"][0] != made["yearly"][0]
    document = brief.make_brief(data=answers, filters=FILTERS, url=VIEW,
                                sources=answers["sources"], n_sources=answers["n_sources"])
    assert document.startswith(b"%PDF")
    again, size = image("map", answers)
    assert_drawn(again, size)


def test_a_second_export_starts_no_browser(renderer, views, launches):
    image("map", views["texas"])  # the first export may start the browser
    before = browsers()
    launches.clear()
    image("yearly", views["texas"])
    image("heatmap", views["everywhere"], EVERYWHERE)
    brief.make_brief(data=views["texas"], filters=FILTERS, url=VIEW,
                     sources=views["texas"]["sources"], n_sources=1)
    assert launches == []
    assert before and browsers() == before  # the same browser, still up between exports


def test_a_browser_that_died_is_replaced_by_the_next_export(renderer, views, launches):
    image("map", views["texas"])
    dead = browsers()
    assert dead, "no browser kept between exports"
    for pid in dead:
        os.kill(pid, signal.SIGKILL)
    png, size = image("ports", views["texas"])
    assert_drawn(png, size)
    assert len(launches) == 1
    now = browsers()
    assert len(now) == 1 and not now & dead
    png, size = image("yearly", views["texas"])  # and the new one is kept
    assert_drawn(png, size)
    assert len(launches) == 1 and browsers() == now


def test_two_visitors_exporting_at_once_each_get_their_own_file(renderer, views):
    jobs = {"map": ("map", views["texas"], FILTERS),
            "ports": ("ports", views["everywhere"], EVERYWHERE),
            "yearly": ("yearly", views["el_paso"], FILTERS),
            "brief": None}
    results: dict = {}
    start = threading.Barrier(len(jobs))

    def export(key):
        start.wait()
        try:
            if jobs[key] is None:
                answers = views["everywhere"]
                results[key] = brief.make_brief(
                    data=answers, filters=EVERYWHERE, url=VIEW, sources=answers["sources"],
                    n_sources=answers["n_sources"])
            else:
                name, answers, filters = jobs[key]
                results[key] = image(name, answers, filters)
        except Exception as exc:  # noqa: BLE001  (said by the assertion below)
            results[key] = exc

    threads = [threading.Thread(target=export, args=(key,)) for key in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not [key for key, value in results.items() if isinstance(value, Exception)], results
    for key in ("map", "ports", "yearly"):
        assert_drawn(*results[key])
    assert len({png_size(results[key][0]) for key in ("map", "ports", "yearly")}) == 3
    assert results["brief"].startswith(b"%PDF")


def test_an_idle_browser_is_closed_and_started_again_when_needed(monkeypatch, views):
    images.RENDERER.close()  # only this test's renderer has a browser
    quick = images.Renderer(idle=1.0)
    monkeypatch.setattr(images, "RENDERER", quick)
    try:
        assert_drawn(*image("yearly", views["texas"]))
        assert browsers()
        deadline = time.monotonic() + 20
        while browsers() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not browsers()
        assert_drawn(*image("map", views["texas"]))
        assert quick.launches == 2
    finally:
        quick.close()


def test_a_server_that_exits_leaves_no_browser_behind(tmp_path):
    script = textwrap.dedent("""
        import os, sys
        sys.path.insert(0, os.getcwd())
        import plotly.graph_objects as go
        from garita import images
        from tests.test_export_speed import chromium_processes
        fig = go.Figure(go.Bar(x=[1, 2], y=[2, 1])).update_layout(width=400, height=300)
        assert images.to_png(fig).startswith(b"\\x89PNG")
        print(" ".join(str(pid) for pid in chromium_processes()))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    pids = [int(pid) for pid in done.stdout.split()]
    assert pids  # it had a browser while it ran
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.3)
    assert not [pid for pid in pids if _running(pid)]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def test_a_click_shows_the_file_being_made_then_downloads_it(tmp_path):
    from etl import load as loader
    from tests.browser import browser_page, running_app

    db_file = tmp_path / "garita.duckdb"
    loader.init(db_file)
    with running_app(db_file) as url, browser_page(1600, 1000) as page:
        page.goto(f"{url}/present")
        page.get_by_text("the button spins until the download starts").wait_for()
        for name in ("One-page brief (PDF, US Letter)", "Map (PNG)"):
            button = page.get_by_role("button", name=name)
            # Record whether the button ever spins, however quickly the file comes.
            button.evaluate("""node => { window.spun = false;
                new MutationObserver(() => { if (node.querySelector(
                    "[data-testid='stSpinnerIcon']") && node.disabled) window.spun = true; })
                .observe(node, {subtree: true, childList: true, attributes: true}); }""")
            with page.expect_download(timeout=120_000) as download:
                button.click()
            data = Path(download.value.path()).read_bytes()
            assert data[:4] in (b"%PDF", b"\x89PNG")
            assert page.evaluate("window.spun")
            button.get_by_test_id("stSpinnerIcon").wait_for(state="detached")
            assert button.is_enabled()
        assert page.get_by_test_id("stDownloadButtonError").count() == 0
