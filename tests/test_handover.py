"""Images and the one-page brief: the right size, one page, the same numbers as the app,
and the sources of the incidents included. Copies go to the artifacts folder to look at."""

import io
import re
import struct

import pypdf
import pypdfium2
import pytest

from garita import brief, db, images, queries
from garita.filters import Filters
from tests.browser import ARTIFACTS, chromium_path

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="kaleido needs Chromium")
FILTERS = Filters.from_strings(start="2018-01", end="2019-12", states=["TX"])
OUT = ARTIFACTS / "handover"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    from etl import load as loader

    master = tmp_path_factory.mktemp("handover") / "garita.duckdb"
    loader.init(master)
    con = db.connect_reader(db.published_file(master))
    data = {"per_port": queries.by_port(con, FILTERS), "numbers": queries.headline(con, FILTERS),
            "monthly": queries.monthly(con, FILTERS, "type", "incidents"),
            "yearly": queries.yearly(con, FILTERS, "incidents"),
            "port_month": queries.port_month(con, FILTERS)}
    data["sources"], _ = queries.sources(con, FILTERS)
    data["urls"] = set(queries.export_rows(con, FILTERS)["source_url"].dropna())
    con.close()
    return data


@pytest.mark.parametrize("name", list(images.IMAGES))
def test_every_image_is_a_wide_png_with_title_filters_and_source(answers, name):
    fig = images.figure(name, answers, FILTERS, version=3)
    text = fig.layout.title.text + " ".join(a.text for a in fig.layout.annotations)
    assert "Texas" in text and "not a rate" in text and "data version 3" in text
    png = images.to_png(fig)
    width, height = png_size(png)
    assert width >= 1600 and height >= 900
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.png").write_bytes(png)


def test_map_title_says_the_numbers_in_words(answers):
    fig = images.figure("map", answers, FILTERS)
    n = answers["numbers"]
    assert fig.layout.title.text.startswith(
        f"{n['incidents']} incidents documented in public reporting at {n['ports']} ports in "
        "Texas, Jan 2018 – Dec 2019")


def test_brief_is_one_letter_page_with_the_apps_numbers_and_sources(answers):
    made = images.figure("map", answers, FILTERS)
    pdf = brief.brief_pdf(
        numbers=answers["numbers"], filters=FILTERS, per_port=answers["per_port"],
        sources=answers["sources"], map_png=images.to_png(made, height=900),
        monthly_png=images.to_png(images.figure("monthly", answers, FILTERS)), version=3)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    text = reader.pages[0].extract_text()
    n = answers["numbers"]
    for value in (n["incidents"], n["people"], n["ports"], n["months"]):
        assert re.search(rf"\b{value:,}\b", text), value
    flat = re.sub(r"\s+", "", text)
    assert any(url in flat for url in answers["urls"])
    assert "data version 3" in text and "Generated on" in text
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "brief.pdf").write_bytes(pdf)
    page = pypdfium2.PdfDocument(pdf)[0]
    page.render(scale=1.5).to_pil().save(OUT / "brief-page-1.png")


def test_missing_browser_is_said_plainly(monkeypatch, answers):
    def no_browser(*args, **kwargs):
        raise RuntimeError("Could not find Chrome or Chromium")
    monkeypatch.setattr(images.go.Figure, "to_image", no_browser)
    with pytest.raises(images.ImageExportUnavailable, match="apt-get install chromium"):
        images.to_png(images.figure("yearly", answers, FILTERS))
