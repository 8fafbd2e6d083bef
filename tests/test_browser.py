"""The app in headless Chromium: every page draws its map or charts, with no error shown.

Screenshots go to the folder printed at the end (artifacts/screenshots by default, or
$GARITA_ARTIFACTS), to look at.
"""

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.browser import SHOTS, browser_page, chromium_path, running_app, wait_settled

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium "
                           "(.ci/run does).")
    pytest.skip("no chromium on this machine (apt-get install chromium)",
                allow_module_level=True)

pytestmark = pytest.mark.browser

PAGES = [  # path, text the page writes after its content, what must be drawn
    ("", "Ports with incidents", "canvas"),
    ("over_time", "Incidents per year", ".js-plotly-plot"),
    ("by_port", "One port in detail", ".js-plotly-plot"),
    ("incidents", "incidents match", "[data-testid='stDataFrame']"),
    ("sources", "Batches loaded", "[data-testid='stDataFrame']"),
]


@pytest.fixture
def server(shared_app):
    """The session's app server (tests/conftest.py): these tests change no data."""
    return shared_app


def _open(page, url: str, text: str, drawn: str):
    page.goto(url)
    page.get_by_text(text).first.wait_for(timeout=60_000)
    page.locator(drawn).first.wait_for(state="visible", timeout=60_000)
    wait_settled(page)  # let deck.gl and plotly finish drawing before the screenshot


@pytest.mark.parametrize("path, text, drawn", PAGES)
def test_every_page_draws_without_errors(server, chromium, path, text, drawn):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(browser=chromium) as page:
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _open(page, f"{server}/{path}", text, drawn)
        shot = SHOTS / f"{path or 'map'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        assert not errors, errors
    print(f"\nscreenshot: {shot}")


def test_map_draws_the_border_and_ports_without_basemap_tiles(server, chromium):
    with browser_page(browser=chromium) as page:
        _open(page, server, "Ports with incidents", "canvas")
        canvas = page.locator("canvas").first
        box = canvas.bounding_box()
        assert box["width"] > 400 and box["height"] > 400
        image = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20)
        # No tiles load offline, so whatever is drawn is our layers: line, circles, labels.
        assert len(colours) > 20
        dark = sum(n for n, (r, g, b) in colours if r + g + b < 300)
        assert dark > 500  # the border line and circle outlines


def test_a_link_with_filters_reopens_the_same_view(server, chromium):
    with browser_page(browser=chromium) as page:
        _open(page, f"{server}/incidents?states=TX&types=Turned+away", "incidents match",
              "[data-testid='stDataFrame']")
        caption = page.get_by_text("incidents match").first.inner_text()
        page.get_by_text("TX").first.wait_for()
        assert caption.split()[0] not in ("57", "0")


def test_search_box_writes_to_the_url(server, chromium):
    with browser_page(browser=chromium) as page:
        _open(page, f"{server}/incidents", "incidents match", "[data-testid='stDataFrame']")
        box = page.get_by_label("Search summaries and sources")
        box.fill("metering")
        box.press("Enter")
        page.wait_for_url("**q=metering**", timeout=30_000)
        page.get_by_text("incidents match").first.wait_for()


def test_a_deep_link_opened_first_after_a_restart_goes_through_the_router(built_db, chromium):
    with running_app(built_db) as url, browser_page(browser=chromium) as page:
        page.goto(f"{url}/upload")  # the very first request this server sees
        page.get_by_text("Filters").first.wait_for(timeout=60_000)
        assert page.locator("input[type=file]").count() == 0
        page.goto(f"{url}/over_time")
        page.get_by_text("Incidents per year").first.wait_for(timeout=60_000)
        assert page.get_by_text("Filters").count() > 0


def test_present_page_hands_over_a_brief_and_a_map_image(server, chromium):
    import pypdf

    from tests.test_handover import png_size

    out = SHOTS.parent / "handover"
    out.mkdir(parents=True, exist_ok=True)
    with browser_page(1600, 1000, browser=chromium) as page:
        _open(page, f"{server}/present?states=TX", "incidents documented in public reporting",
              "canvas")
        sentence = page.get_by_text("incidents documented in public reporting").first.inner_text()
        page.screenshot(path=str(SHOTS / "present.png"))
        with page.expect_download(timeout=120_000) as pdf_download:
            page.get_by_role("button", name="One-page brief (PDF, US Letter)").click()
        pdf = Path(pdf_download.value.path()).read_bytes()
        (out / "brief-from-app.pdf").write_bytes(pdf)
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        first = reader.pages[0].extract_text()
        assert sentence.split(" incidents")[0] in first
        assert reader.pages[1].extract_text().startswith("Sources")
        assert f"{server}/present?states=TX" in "".join(first.split())  # the view's address
        with page.expect_download(timeout=120_000) as png_download:
            page.get_by_role("button", name="Map (PNG)").click()
        png = Path(png_download.value.path()).read_bytes()
        (out / "map-from-app.png").write_bytes(png)
        assert png_size(png)[0] >= 1600


def test_an_open_page_shows_a_cli_load_without_being_touched(built_db, chromium):
    import subprocess
    import sys

    from tests.conftest import DATA

    db_file = built_db
    with running_app(db_file) as url, browser_page(browser=chromium) as page:
        _open(page, url, "Ports with incidents", "canvas")
        value = page.locator("[data-testid='stMetricValue']").first
        assert value.inner_text() == "57"
        result = subprocess.run([sys.executable, "-m", "etl", "load",
                                 str(DATA / "en_utf8_bom.csv"), "--db", str(db_file)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 30
        while value.inner_text() != "60":
            assert time.monotonic() < deadline, "the open page did not show the new batch"
            time.sleep(0.5)
