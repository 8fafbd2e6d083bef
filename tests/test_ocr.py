"""Legibility read back: each image and the brief's pages are rendered, then read with OCR
(Debian's ``tesseract-ocr``, called as a program). Every port name a chart shows must be
read in full, the headline sentence must be read back, and the brief's chart text, measured
on the page at print resolution, must be 8 pt or more.

The pages and images are saved to the artifacts folder (``handover/``) to look at.
"""

import difflib
import html
import io
import re
import shutil
import subprocess
import unicodedata

import numpy as np
import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from garita import images, words
from tests.browser import chromium_path
from tests.test_handover import (EL_PASO, EVERYWHERE, FILTERS, OUT, make, renderer,  # noqa: F401
                                 views)

pytestmark = [
    pytest.mark.skipif(shutil.which("tesseract") is None,
                       reason="OCR needs tesseract: apt-get install tesseract-ocr "
                              "(.ci/run installs it)"),
    pytest.mark.skipif(chromium_path() is None, reason="kaleido needs Chromium"),
    pytest.mark.filterwarnings("ignore:The kopts argument")]
DPI = 300  # print resolution


def ink(image: Image.Image) -> Image.Image:
    """Black where the image has dark, uncoloured ink (text, lines); white elsewhere.

    Bars and circles are coloured, so OCR is left with the words: it then reads a label
    beside a bar as well as a person does."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    grey = (pixels.max(axis=2) - pixels.min(axis=2)) < 70
    dark = pixels.mean(axis=2) < 150
    return Image.fromarray(np.where(grey & dark, 0, 255).astype(np.uint8))


def ocr(image: Image.Image, psm: int = 11) -> str:
    """The words tesseract reads in ``image``, as its TSV table (one word a row, with box);
    ``psm`` 11 finds sparse text anywhere, 7 reads one line."""
    buffer = io.BytesIO()
    ink(image).save(buffer, format="PNG", dpi=(DPI, DPI))
    done = subprocess.run(["tesseract", "stdin", "stdout", "--psm", str(psm), "tsv"],
                          input=buffer.getvalue(), capture_output=True, timeout=120,
                          check=True)
    return done.stdout.decode("utf-8", "replace")


def said(table: str) -> str:
    """The words of a TSV table, in reading order."""
    return " ".join(row.split("\t")[11] for row in table.splitlines()[1:]
                    if len(row.split("\t")) >= 12 and row.split("\t")[11].strip())


def norm(text: str) -> str:
    """Lower case, ASCII, letters and digits only: what OCR noise cannot disturb."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("|", "l")).split())


def best_match(wanted: str, read: str) -> float:
    """The best similarity (0..1) of ``wanted`` to any run of as many words in ``read``."""
    target, said = norm(wanted), norm(read).split()
    size = len(target.split())
    runs = [" ".join(said[i:i + n]) for n in (size - 1, size, size + 1) if n > 0
            for i in range(max(1, len(said) - n + 1))]
    return max((difflib.SequenceMatcher(None, target, run).ratio() for run in runs),
               default=0.0)


def assert_reads_back(sentence: str, read: str, names: list[str]) -> None:
    """The sentence is read back (OCR noise allowed), and each port it names in full."""
    assert best_match(sentence, read) >= 0.9, (sentence, read)
    for name in names:
        assert norm(name) in norm(read), (name, read)


def png(fig) -> Image.Image:
    return Image.open(io.BytesIO(images.to_png(fig)))


@pytest.mark.parametrize("name", ["ports", "heatmap"])
def test_charts_show_every_port_name_in_full(renderer, views, name):
    fig = images.figure(name, views["everywhere"], EVERYWHERE, version=3)
    image = png(fig)
    OUT.mkdir(parents=True, exist_ok=True)
    image.save(OUT / f"every-port-{name}.png")
    read = norm(said(ocr(image)))
    shown = [html.unescape(label) for label in fig.data[0].y]
    assert len(shown) == 28
    missing = [label for label in shown if norm(label) not in read]
    assert not missing, read
    assert norm("not a rate. Made") in read and norm("with Garita.") in read


@pytest.mark.parametrize("view", ["texas", "everywhere"])
def test_map_reads_back_its_headline_and_labels(renderer, views, view):
    answers, filters = views[view], {"texas": FILTERS, "everywhere": EVERYWHERE}[view]
    fig = images.figure("map", answers, filters, version=3)
    image = png(fig)
    image.save(OUT / f"{view}-map.png")
    read = said(ocr(image))
    names = list(answers["per_port"]["port_name"])
    sentence = words.sentence(answers["numbers"], filters, names=names)
    assert_reads_back(sentence, read, names if len(names) <= 3 else [])
    # Each port label, cut out where the map put it, read as one line.
    frame = images.MapFrame(fig.layout.width - 2 * images.SIDE)
    unread = []
    for note in fig.layout.annotations:
        if not note.showarrow:
            continue
        x, y = frame.px(note.x, note.y)
        x, y = x + note.ax + fig.layout.margin.l, y + note.ay + fig.layout.margin.t
        w = images.text_width(note.text, images.TEXT_PX) / 2 + 10
        h = images.TEXT_PX
        line = said(ocr(image.crop((int(x - w), int(y - h), int(x + w), int(y + h))), psm=7))
        if best_match(note.text, line) < 0.85:
            unread.append((note.text, line))
    assert not unread


def page_images(pdf: bytes, name: str) -> list[Image.Image]:
    """Each page at print resolution, saved to the artifacts folder."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = [page.render(scale=DPI / 72).to_pil() for page in document]
        boxes = [obj.get_bounds() for obj in
                 document[0].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))]
        height = document[0].get_size()[1]
    finally:
        document.close()
    for n, page in enumerate(pages, start=1):
        page.save(OUT / f"{name}-page-{n}.png")
    # Each image's box on page 1, in pixels from the top left.
    page_images.boxes = [tuple(round(v * DPI / 72) for v in (left, height - top, right,
                                                               height - bottom))
                         for left, bottom, right, top in boxes]
    return pages


def text_heights_pt(table: str, box: tuple) -> list[float]:
    """The size in points of the words OCR finds inside ``box``, from the height of words
    whose letters reach the ascender line and none below the baseline."""
    sizes = []
    for row in table.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip():
            continue
        left, top, width, height = (int(v) for v in cells[6:10])
        word = cells[11].strip()
        inside = box[0] <= left and left + width <= box[2] and box[1] <= top \
            and top + height <= box[3]
        if inside and re.fullmatch(r"[A-Za-z]{3,}", word) and re.search(r"[A-Zbdfhklt]", word) \
                and not re.search(r"[gjpqy]", word):
            sizes.append(height / 0.76 * 72 / DPI)  # DejaVu's ascender: 0.76 em
    return sizes


@pytest.mark.parametrize("view", ["texas", "el_paso"])
def test_brief_page_one_reads_back_at_print_resolution(renderer, views, view):
    answers, filters = views[view], {"texas": FILTERS, "el_paso": EL_PASO}[view]
    made = make(answers, filters)
    pages = page_images(made.pdf, f"{view}-brief")
    map_box, chart_box = page_images.boxes[:2]
    table = ocr(pages[0])
    read = said(table)
    names = list(answers["per_port"]["port_name"])
    sentence = words.sentence(answers["numbers"], filters, names=names)
    assert_reads_back(sentence, read, names if len(names) <= 3 else [])
    if view == "el_paso":
        assert "at El Paso" in sentence
    chart = made.figures["monthly"][0]
    legend = [images._plain(trace.name) for trace in chart.data if trace.name]
    assert legend and all(norm(entry) in norm(read) for entry in legend), read
    for box in (map_box, chart_box):
        sizes = sorted(text_heights_pt(table, box))
        assert len(sizes) >= 3
        assert sizes[len(sizes) // 2] >= 8 * 0.93, sizes  # OCR boxes are a pixel or so off
