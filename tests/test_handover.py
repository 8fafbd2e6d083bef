"""Images and the brief: the right size, text that prints at 8 pt or more, the same numbers
and colours as the screen, labels that overlap nothing, a headline that names a few ports,
every source, and the address of the view as text and as a QR code.

Copies go to the artifacts folder (``handover/``) to look at; tests/test_ocr.py reads them
back with OCR.
"""

import csv
import io
import re
import struct
from urllib.parse import parse_qs, urlsplit

import pypdf
import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
import segno

from etl import load as loader
from garita import brief, db, exports, i18n, images, maps, queries, words
from garita.filters import Filters
from garita.reference import incident_types, ports
from tests.browser import ARTIFACTS, chromium_path

pytestmark = [pytest.mark.skipif(chromium_path() is None, reason="kaleido needs Chromium"),
              pytest.mark.filterwarnings("ignore:The kopts argument")]
FILTERS = Filters.from_strings(start="2018-01", end="2019-12", states=["TX"])
EVERYWHERE = Filters()
EL_PASO = Filters.from_strings(ports=["2402"])
VIEW = "http://garita.test:8501/present"
OUT = ARTIFACTS / "handover"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def every_port_csv() -> bytes:
    """One to five incidents at each of the 28 ports, every type, each with its own source:
    the longest port names, the fullest legend, and more sources than a page holds."""
    types = [row["code"] for row in incident_types()]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Date", "Port of Entry", "People", "Incident Type", "Source", "URL"])
    n = 0
    for i, port in enumerate(ports()):
        for j in range(1 + (i * 7) % 5):
            n += 1
            writer.writerow([f"{2017 + (i + j) % 6}-{1 + (i * 3 + j * 5) % 12:02d}",
                             f"{port['port_name']}, {port['state']}", 1 + j % 3,
                             types[(i + j) % len(types)],
                             f"Report {n} on {port['port_name']}",
                             f"https://example.org/reports/{n}"])
    return out.getvalue().encode("utf-8")


def query_all(con, filters: Filters) -> dict:
    """What the Present page asks for, for ``filters``."""
    data = {"per_port": queries.by_port(con, filters, "incidents"),
            "numbers": queries.headline(con, filters),
            "monthly": queries.monthly(con, filters, "type", "incidents"),
            "yearly": queries.yearly(con, filters, "incidents"),
            "port_month": queries.port_month(con, filters)}
    data["sources"], data["n_sources"] = queries.sources(con, filters, 100_000)
    data["urls"] = set(queries.export_rows(con, filters)["source_url"].dropna())
    return data


_BRIEFS: dict[tuple, brief.Brief] = {}


def make(data: dict, filters: Filters, url: str = VIEW):
    """The brief of ``data``, built once per session for the same view, address and language
    (several tests here and in tests/test_ocr.py read the same one)."""
    key = (id(data), filters, url, i18n.language())
    if key not in _BRIEFS:
        _BRIEFS[key] = brief.build(data=data, filters=filters, url=url, sources=data["sources"],
                                   n_sources=data["n_sources"], version=3)
    return _BRIEFS[key]


def save(name: str, data: bytes) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(data)


@pytest.fixture(scope="module")
def renderer():
    """The process's one Chromium for images (``images.RENDERER``), closed after the module."""
    yield images.RENDERER
    images.RENDERER.close()


_VIEWS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    """The shipped incidents plus incidents at every port, asked for three views (once per
    session: tests/test_ocr.py and test_spanish.py ask for them too; no test changes them)."""
    if not _VIEWS:
        master = tmp_path_factory.mktemp("handover") / "garita.duckdb"
        loader.init(master)
        report = loader.load_bytes(every_port_csv(), "every_port.csv", db_path=master)
        assert report.rejected == 0, report.problems
        con = db.connect_reader(db.published_file(master))
        _VIEWS.update(texas=query_all(con, FILTERS), everywhere=query_all(con, EVERYWHERE),
                      el_paso=query_all(con, EL_PASO))
        con.close()
    return _VIEWS


def fonts(fig) -> list[tuple[str, float]]:
    """Every font size of the figure as plotly.js lays it out (defaults filled in), except
    hover labels, which no image shows."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if "hoverlabel" in key:
                    continue
                if isinstance(value, dict) and "font" in key.lower() and "size" in value:
                    found.append((f"{path}.{key}", float(value["size"])))
                walk(value, f"{path}.{key}")
        elif isinstance(node, (list, tuple)):
            for n, value in enumerate(node):
                walk(value, f"{path}[{n}]")

    walk(fig.full_figure_for_development(warn=False).to_plotly_json(), "")
    return found


@pytest.mark.parametrize("name", list(images.IMAGES))
def test_every_image_is_a_wide_png_with_title_filters_and_source(renderer, views, name):
    answers = views["texas"]
    fig = images.figure(name, answers, FILTERS, version=3)
    text = re.sub(r"<br>", " ", fig.layout.title.text + " ".join(
        a.text for a in fig.layout.annotations))
    assert "Texas" in text and "not a rate" in text and "data version 3" in text
    png = images.to_png(fig)
    width, height = png_size(png)
    assert width >= 1600 and height >= 900
    save(exports.download_name(FILTERS, images.IMAGES[name], "png"), png)


@pytest.mark.parametrize("name", list(images.IMAGES))
def test_every_text_in_an_image_is_20px_or_more_at_1600px(renderer, views, name):
    fig = images.figure(name, views["everywhere"], EVERYWHERE, version=3)
    assert fig.layout.width >= 1600
    small = [(where, size) for where, size in fonts(fig) if size * 1600 / fig.layout.width < 20]
    assert not small


def test_map_title_says_the_numbers_in_words(views):
    fig = images.figure("map", views["texas"], FILTERS)
    n = views["texas"]["numbers"]
    assert fig.layout.title.text.replace("<br>", " ").startswith(
        f"{n['incidents']} incidents documented in public reporting at {n['ports']} ports in "
        "Texas, Jan 2018 – Dec 2019")


def test_headline_names_the_ports_when_three_or_fewer():
    numbers = {"incidents": 12, "ports": 1, "first_month": None, "last_month": None}
    assert "at El Paso in Texas, " in words.sentence(numbers, FILTERS, names=["El Paso"])
    numbers["ports"] = 3
    assert "at 3 ports (San Ysidro, Otay Mesa and Tecate) in Texas" in words.sentence(
        numbers, FILTERS, names=["San Ysidro", "Otay Mesa", "Tecate"])
    numbers["ports"] = 4
    assert "at 4 ports in Texas" in words.sentence(numbers, FILTERS,
                                                   names=["A", "B", "C", "D"])


def test_map_has_the_screens_circle_colours_and_sizes(views):
    per_port = views["everywhere"]["per_port"]
    deck = maps.incident_deck(per_port, frame=images.screen_frame())  # the Present page's
    screen = {row["port_code"]: row for row in next(
        layer for layer in deck.layers if layer.id == "incidents").data}
    fig = images.map_figure(per_port, views["everywhere"]["numbers"], EVERYWHERE)
    circles = next(trace for trace in fig.data if trace.mode == "markers"
                   and len(trace.x) == len(per_port))
    frame = images.MapFrame(fig.layout.width - 2 * images.SIDE)
    ordered = per_port.sort_values("incidents", ascending=False)
    for code, colour, size in zip(ordered["port_code"], circles.marker.color,
                                  circles.marker.size):
        r, g, b, a = screen[code]["colour"]
        assert colour == f"rgba({r},{g},{b},{a / 255:.2f})"
        assert size == pytest.approx(2 * screen[code]["radius"] * frame.screen_scale, abs=0.5)
    assert circles.marker.opacity == 1


def label_boxes(fig) -> dict[str, tuple]:
    """The map's port labels as pixel boxes in its plot area."""
    frame = images.MapFrame(fig.layout.width - 2 * images.SIDE)
    boxes = {}
    for note in fig.layout.annotations:
        if note.showarrow:
            x, y = frame.px(note.x, note.y)
            w = images.text_width(note.text, images.TEXT_PX) + 10
            h = images.TEXT_PX * images.LINE + 6
            cx, cy = x + note.ax, y + note.ay
            boxes[note.text] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, frame)
    return boxes


@pytest.mark.parametrize("alone", [True, False], ids=["png", "brief"])
def test_map_labels_overlap_nothing_and_every_port_is_named(views, alone):
    answers = views["everywhere"]
    width = images.WIDTH if alone else images.layout_width(544, min_pt=brief.IMAGE_TEXT_PT)
    fig = images.map_figure(answers["per_port"], answers["numbers"], EVERYWHERE, width=width,
                            standalone=alone)
    boxes = label_boxes(fig)
    assert len(boxes) >= len(answers["per_port"]) * 0.8
    items = list(boxes.items())
    for n, (label, (x0, y0, x1, y1, frame)) in enumerate(items):
        assert 0 <= x0 and x1 <= frame.width and 0 <= y0 and y1 <= frame.height, label
        for other, (a0, b0, a1, b1, _) in items[n + 1:]:
            assert x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0, (label, other)
    text = " ".join(a.text for a in fig.layout.annotations)
    for name, count in zip(answers["per_port"]["port_name"], answers["per_port"]["incidents"]):
        assert f"{name} {count}" in text


def test_brief_page_one_is_one_letter_page_then_every_source(renderer, views):
    answers = views["everywhere"]
    made = make(answers, EVERYWHERE)
    save(exports.download_name(EVERYWHERE, "brief", "pdf"), made.pdf)
    document = pypdfium2.PdfDocument(made.pdf)
    try:
        for n, page in enumerate(document, start=1):
            page.render(scale=150 / 72).to_pil().save(OUT / f"everywhere-brief-page-{n}.png")
    finally:
        document.close()
    reader = pypdf.PdfReader(io.BytesIO(made.pdf))
    assert len(reader.pages) >= 3  # 138 citations do not fit on one page
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == \
            (612, 792)
    first = reader.pages[0].extract_text()
    n = answers["numbers"]
    for value in (n["incidents"], n["people"], n["ports"], n["months"]):
        assert re.search(rf"\b{value:,}\b", first), value
    assert words.sentence(n, EVERYWHERE) in re.sub(r"\s+", " ", first)
    assert "data version 3" in first and "Made 20" in first
    assert VIEW in re.sub(r"\s+", "", first)
    rest = [page.extract_text() for page in reader.pages[1:]]
    assert rest[0].startswith("Sources")
    flat = re.sub(r"\s+", "", "".join(rest))
    missing = [url for url in answers["urls"] if url not in flat]
    assert not missing
    assert len(re.findall(r"(?m)^\d+\. ", "\n".join(rest))) == answers["n_sources"] == 138


def test_brief_prints_every_text_and_image_text_at_8pt_or_more(renderer, views):
    answers = views["everywhere"]
    made = make(answers, EVERYWHERE)
    document = pypdfium2.PdfDocument(made.pdf)
    try:
        for page in document:
            text = page.get_textpage()
            sizes = [pdfium_c.FPDFText_GetFontSize(text.raw, i)
                     for i in range(pdfium_c.FPDFText_CountChars(text.raw))
                     if not pdfium_c.FPDFText_IsGenerated(text.raw, i)]
            assert sizes and min(sizes) >= 8
        page = document[0]
        placed = [obj.get_bounds() for obj in
                  page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))]
        width, height = page.get_size()
    finally:
        document.close()
    assert len(placed) == 3  # map, monthly chart, QR code, top to bottom
    for box in placed:
        assert box[0] >= 30 and box[2] <= width - 30 and box[1] >= 25 and box[3] <= height
    for upper, lower in zip(placed, placed[1:]):
        assert lower[3] <= upper[1]  # nothing overlaps
    for (name, (fig, print_pt)), box in zip(made.figures.items(), placed):
        assert box[2] - box[0] == pytest.approx(print_pt, abs=0.5), name
        smallest = min(size for _, size in fonts(fig))
        printed = smallest * (box[2] - box[0]) / fig.layout.width
        assert printed >= 8, (name, smallest, printed)


def test_brief_qr_code_holds_the_address_of_the_view(renderer, views):
    address = brief.view_address(VIEW, {"start": ["2018-01"], "end": ["2019-12"],
                                        "states": ["TX"]})
    made = make(views["texas"], FILTERS, url=address)
    first = pypdf.PdfReader(io.BytesIO(made.pdf)).pages[0].extract_text()
    assert address in re.sub(r"\s+", "", first)
    document = pypdfium2.PdfDocument(made.pdf)
    try:
        qr = list(document[0].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))[-1]
        image = qr.get_bitmap(render=False).to_pil().convert("L")
    finally:
        document.close()
    code = segno.make(address, error="m", micro=False)
    size = code.symbol_size(scale=1, border=4)[0]
    modules = [[image.getpixel((int((c + 0.5) * image.width / size),
                                int((r + 0.5) * image.height / size))) < 128
                for c in range(size)] for r in range(size)]
    expected = [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=4)]
    assert modules == expected


def test_view_address_keeps_every_filter():
    query = {"ports": ["El Paso, TX", "Hidalgo, TX"], "start": ["2018-01"], "types": ["a&b"]}
    address = brief.view_address(VIEW + "?stale=1", query)
    assert address.startswith(VIEW + "?")
    assert parse_qs(urlsplit(address).query) == query
    assert brief.view_address(VIEW, {}) == VIEW


def test_downloads_are_named_for_what_they_hold():
    ysidro = Filters.from_strings(start="2018-04", end="2020-11", ports=["2504"])
    assert exports.download_name(ysidro, "brief", "pdf") == \
        "garita-brief-san-ysidro-2018-04_2020-11.pdf"
    assert exports.download_name(FILTERS, images.IMAGES["ports"], "png") == \
        "garita-ports-ranked-tx-2018-01_2019-12.png"


def test_missing_browser_is_said_plainly(monkeypatch, views):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.setattr(images, "RENDERER", images.Renderer())
    assert not images.browser_found()
    with pytest.raises(images.ImageExportUnavailable, match="apt-get install chromium"):
        images.to_png(images.figure("yearly", views["texas"], FILTERS))
