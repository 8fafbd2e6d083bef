"""Text typed into a spreadsheet or a URL never runs, and no visitor's browser contacts any
host but the app: checked in a real browser, on every public page, with every request it
makes recorded."""

import csv
import io
import re
import time
import urllib.parse

import pytest

from tests.browser import SHOTS, browser_page, chromium_path, running_app
from tests.security.test_markup import MARKUP, build_hostile_db

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
# Every public page, each with a text it writes once drawn; all get the hostile nationalities
# in the URL, as a shared link would carry them.
PAGES = [("", "Ports with incidents"), ("over_time", "Incidents per year"),
         ("by_port?port=Hidalgo%2C+TX", "One port in detail"), ("incidents", "incidents match"),
         ("sources", "Batches loaded"), ("present", "documented in public reporting")]
HOSTILE_URL = urllib.parse.urlencode(
    {"nat": [*MARKUP.values(), PAYLOADS["nationality"]], "q": MARKUP["colour"],
     "ports": MARKUP["image"], "types": MARKUP["link"]}, doseq=True)
# What the page holds once drawn: images and links with their targets, formulas, Markdown
# colours and icons, and the main area's text as a reader sees it.
IN_PAGE = """() => {
  const markdown = '[data-testid="stMarkdownContainer"] ';
  return {
    images: [...document.querySelectorAll('img, image')].map(
        i => i.src || i.href?.baseVal || ''),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    formulas: document.querySelectorAll('.katex, math').length,
    coloured: [...document.querySelectorAll(['[class*="stMarkdownColored"]',
        '[class*="stMarkdownBadge"]', 'span[role="img"]'].map(c => markdown + c).join())]
        .map(s => s.textContent),
    icons: [...document.querySelectorAll('link[rel~="icon"]')].map(l => l.href),
    text: document.querySelector('[data-testid="stMain"]').innerText.replaceAll('\\u2060', ''),
  };
}"""


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    from etl import load as loader

    db_file = tmp_path_factory.mktemp("injection") / "garita.duckdb"
    build_hostile_db(db_file)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "port", "incident_types", *PAYLOADS])
    writer.writerow(["2018-06-12", "Hidalgo", "turned_away", *PAYLOADS.values()])
    report = loader.load_bytes(buffer.getvalue().encode(), "hostile.csv", db_path=db_file)
    assert report.loaded == 1, report.problems
    with running_app(db_file) as url:
        yield url


def _outside(urls, app):
    """URLs that would reach a host other than the app (data: and blob: reach none)."""
    return [u for u in urls if not u.startswith((app + "/", "data:", "blob:", "about:"))
            and u != app]


_VISITS: dict[tuple[str, str], dict] = {}


def visit(browser, app: str, path: str, text: str) -> dict:
    """Open a page with the hostile URL once; what it asked for, showed and held."""
    if (app, path) not in _VISITS:
        dialogs, requests = [], []
        with browser_page(browser=browser) as page:
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.on("websocket", lambda w: requests.append(
                w.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)))
            page.goto(f"{app}/{path}{'&' if '?' in path else '?'}{HOSTILE_URL}")
            page.get_by_text(text).first.wait_for(timeout=60_000)
            page.get_by_text(re.compile(r"^Data version \d+")).first.wait_for(timeout=30_000)
            time.sleep(3)
            found = page.evaluate(IN_PAGE)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"injection-{path.split('?')[0] or 'map'}.png"),
                            full_page=True)
        _VISITS[app, path] = {**found, "dialogs": dialogs, "requests": requests}
    return _VISITS[app, path]


@pytest.mark.parametrize("path, text", PAGES)
def test_no_request_leaves_the_app(hostile_app, chromium, path, text):
    """Not an image named in the data, not a tile server, not a font host for the icon."""
    assert _outside(visit(chromium, hostile_app, path, text)["requests"], hostile_app) == []


@pytest.mark.parametrize("path, text", PAGES)
def test_the_page_icon_is_drawn_in_the_browser(hostile_app, chromium, path, text):
    icons = visit(chromium, hostile_app, path, text)["icons"]
    assert icons and _outside(icons, hostile_app) == []


@pytest.mark.parametrize("path, text", PAGES)
def test_no_image_or_link_to_another_host_is_drawn(hostile_app, chromium, path, text):
    found = visit(chromium, hostile_app, path, text)
    assert _outside(found["images"], hostile_app) == []
    # Source links are clickable only in the tables' link columns, drawn on a canvas.
    assert _outside(found["links"], hostile_app) == []


@pytest.mark.parametrize("path, text", PAGES)
def test_data_draws_no_formula_colour_or_icon(hostile_app, chromium, path, text):
    found = visit(chromium, hostile_app, path, text)
    assert found["formulas"] == 0
    assert found["coloured"] == []


@pytest.mark.parametrize("path, text", PAGES)
def test_hostile_text_shows_as_typed_and_runs_nothing(hostile_app, chromium, path, text):
    found = visit(chromium, hostile_app, path, text)
    assert found["dialogs"] == []
    for kind, typed in MARKUP.items():  # the filters in words quote them as typed
        assert typed in found["text"], kind


def test_injected_text_shows_as_text_in_chart_labels(hostile_app, chromium):
    with browser_page(browser=chromium) as page:
        page.goto(f"{hostile_app}/by_port?port=Hidalgo%2C+TX")
        page.get_by_text("By nationality").first.wait_for(timeout=60_000)
        page.get_by_text("<img src=/leak.png onerror=alert(3)>").first.wait_for(timeout=30_000)
