"""Text typed into a spreadsheet never runs in the app: checked in a real browser, on every
page, for dialogs and for requests the data would cause."""

import csv
import io
import time

import pytest

from tests.browser import SHOTS, browser_page, chromium_path, running_app

pytestmark = pytest.mark.browser
if chromium_path() is None:
    pytest.skip("no chromium on this machine", allow_module_level=True)

PAYLOADS = {
    "summary": "<img src=x onerror=alert(1)> summary",
    "notes": "[click me](javascript:alert(2)) notes",
    "nationality": "<img src=/leak.png onerror=alert(3)>",
    "outcome": "{port_name} ![pixel](https://evil.example/pixel.png)",
    "source": "<script>alert(4)</script> **bold** source",
    "source_url": "https://evil.example/javascript:alert(5)",
}
PAGES = [("", "Ports with incidents"), ("over_time", "Incidents per year"),
         ("by_port?port=Hidalgo%2C+TX", "One port in detail"), ("incidents", "incidents match"),
         ("sources", "Batches loaded"), ("present", "documented in public reporting")]


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    from etl import load as loader

    db_file = tmp_path_factory.mktemp("injection") / "garita.duckdb"
    loader.init(db_file)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "port", "incident_types", *PAYLOADS])
    writer.writerow(["2018-06-12", "Hidalgo", "turned_away", *PAYLOADS.values()])
    report = loader.load_bytes(buffer.getvalue().encode(), "hostile.csv", db_path=db_file)
    assert report.loaded == 1, report.problems
    with running_app(db_file) as url:
        yield url


@pytest.mark.parametrize("path, text", PAGES)
def test_injected_text_is_inert_on_every_page(hostile_app, path, text):
    dialogs, requests = [], []
    with browser_page() as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{hostile_app}/{path}")
        page.get_by_text(text).first.wait_for(timeout=60_000)
        time.sleep(3)
        name = path.split("?")[0] or "map"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"injection-{name}.png"), full_page=True)
    assert dialogs == []
    caused = [u for u in requests if "evil.example" in u or u.endswith(("/x", "/leak.png"))]
    assert caused == []


def test_injected_text_shows_as_text_in_chart_labels(hostile_app):
    with browser_page() as page:
        page.goto(f"{hostile_app}/by_port?port=Hidalgo%2C+TX")
        page.get_by_text("By nationality").first.wait_for(timeout=60_000)
        page.get_by_text("<img src=/leak.png onerror=alert(3)>").first.wait_for(timeout=30_000)
