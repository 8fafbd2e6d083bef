"""The brief (PDF, US Letter) for the current filters, to print or hand over.

Page 1, always one page: title, the headline sentence (naming the ports when there are three
or fewer), the filters, headline numbers, the map, the monthly chart, the top ports, and the
address of the exact view it was made from — printed and as a QR code — with when it was
made and the data version. Page 2 on, titled Sources: every citation of the incidents
included. Works offline; legible in black and white (numbers and labels carry the meaning,
colour only helps).

Every text prints at 8 pt or more: the PDF's own text is set at that size or larger, and
each image is drawn with a layout width chosen from the width it prints at
(``images.layout_width``), so its smallest text (``images.TEXT_PX``) lands at 8 pt too.
The QR code is drawn by ``segno`` (fpdf2 draws no QR codes) and embedded as a PNG.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
import segno
from fpdf import FPDF

from garita import images, words
from garita.i18n import t

MM_PER_PT = 25.4 / 72
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 12.0, 10.0, 10.0
QR_MM = 30.0
SCALE = 2            # pixels per layout pixel in the embedded PNGs (about 340 dpi)
SMALLEST_PT = 8.0
IMAGE_TEXT_PT = 8.5  # the images' smallest text on paper: 8 pt and a little to spare
TOP_PORTS = 10


def view_address(base: str | None, query: dict[str, list[str]] | None) -> str:
    """The address of a view: the page's URL and its filters as a query string
    (``https://host/present?ports=El+Paso%2C+TX&start=2018-01``)."""
    pairs = [(key, value) for key, values in (query or {}).items() for value in values]
    tail = urlencode(pairs)
    base = (base or "").split("?")[0]
    return f"{base}?{tail}" if tail else base


class _Text:
    """Text that the chosen font can draw (Helvetica: Latin-1, with a few look-alikes)."""

    def __init__(self, family: str):
        self.unicode = family != "Helvetica"

    def __call__(self, value) -> str:
        text = str(value)
        if self.unicode:
            return text
        for wide, plain in (("–", "-"), ("—", "-"), ("“", '"'), ("”", '"'), ("’", "'"),
                            ("‘", "'"), ("·", "-"), ("…", "..."), ("×", "x")):
            text = text.replace(wide, plain)
        return text.encode("latin-1", "replace").decode("latin-1")


def _font(pdf: FPDF) -> str:
    """DejaVu Sans when the machine has it (any script); else Helvetica (Latin-1 only)."""
    for folder in images.FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu"
    return "Helvetica"


def qr_png(address: str) -> bytes:
    """The address as a QR code (PNG, black on white, with its quiet zone)."""
    buffer = io.BytesIO()
    segno.make(address, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


@dataclass
class Brief:
    """A made brief: the PDF, and each image with the width it prints at (points)."""

    pdf: bytes
    figures: dict[str, tuple[go.Figure, float]] = field(default_factory=dict)
    address: str = ""


def make_brief(*, data: dict, filters, url: str | None, sources: pd.DataFrame,
               n_sources: int | None = None, version: int | None = None,
               made: dt.datetime | None = None) -> bytes:
    """The brief's PDF. ``data`` holds ``per_port``, ``numbers`` and ``monthly`` (by type)
    for ``filters``; ``url`` is the address of the view (``view_address``); ``sources``
    the citations (``queries.sources``) and ``n_sources`` how many there are in all.

    Raises ``images.ImageExportUnavailable`` when no browser can draw the images.
    """
    return build(data=data, filters=filters, url=url, sources=sources, n_sources=n_sources,
                 version=version, made=made).pdf


def build(*, data: dict, filters, url: str | None, sources: pd.DataFrame,
          n_sources: int | None = None, version: int | None = None,
          made: dt.datetime | None = None) -> Brief:
    """``make_brief``, returning the figures as printed as well (for tests and checks)."""
    made = made or dt.datetime.now()
    numbers, per_port = data["numbers"], data["per_port"]
    pdf = FPDF(orientation="portrait", unit="mm", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
    pdf.set_title(t("Garita brief"))
    pdf.set_creator("Garita")
    family = _font(pdf)
    text = _Text(family)
    width = pdf.w - 2 * MARGIN_X
    result = Brief(pdf=b"", address=url or "")
    names = list(per_port["port_name"]) if not per_port.empty else []

    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(width, 8, text(t("Documented incidents at US–Mexico ports of entry")),
                   new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font(family, "", 12.5)
    pdf.multi_cell(width, 5.8, text(words.sentence(numbers, filters, names=names) + "."),
                   new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font(family, "", 9)
    pdf.multi_cell(width, 4.2, text(t("Filters: {filters}", filters=words.describe(filters))),
                   new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(1.5)
    _numbers(pdf, family, text, numbers, width)
    if numbers.get("no_port"):
        pdf.set_font(family, "", 9)
        note = (t("1 more incident has no port of entry: counted, not mapped.")
                if numbers["no_port"] == 1 else
                t("{n} more incidents have no port of entry: counted, not mapped.",
                  n=numbers["no_port"]))
        pdf.cell(width, 4.5, text(note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)

    total = n_sources if n_sources is not None else len(sources)
    address = _address_lines(url, made, version, total)
    side = width * 0.62
    shown = min(TOP_PORTS, len(per_port))
    bottom_h = max(QR_MM if url else 0,
                   _height(pdf, family, text, address, side - (QR_MM + 3 if url else 0)),
                   6 + 4.8 * shown)
    bottom_y = pdf.h - MARGIN_BOTTOM - bottom_h
    map_pt = width / MM_PER_PT
    map_fig = images.map_figure(per_port, numbers, filters, made=made, version=version,
                                width=images.layout_width(map_pt, min_pt=IMAGE_TEXT_PT),
                                standalone=False)
    map_h = width * map_fig.layout.height / map_fig.layout.width
    chart_top = pdf.get_y() + map_h + 2
    chart_h = max(bottom_y - 4 - (chart_top + 5), 40.0)
    chart_px = images.layout_width(map_pt, min_pt=IMAGE_TEXT_PT)
    chart_fig = images.figure("monthly", data, filters, made=made, version=version,
                              width=chart_px, height=round(chart_px * chart_h / width),
                              standalone=False)
    map_png, chart_png = images.to_pngs([map_fig, chart_fig], scale=SCALE)
    result.figures = {"map": (map_fig, map_pt), "monthly": (chart_fig, map_pt)}

    pdf.image(io.BytesIO(map_png), x=MARGIN_X, y=pdf.get_y(), w=width, h=map_h,
              alt_text=text(t("Map of documented incidents at ports of entry.")))
    pdf.set_xy(MARGIN_X, chart_top)
    pdf.set_font(family, "B", 9.5)
    pdf.cell(width, 5, text(t(images.TITLES["monthly"])))
    pdf.image(io.BytesIO(chart_png), x=MARGIN_X, y=chart_top + 5, w=width, h=chart_h,
              alt_text=text(t(images.TITLES["monthly"])))
    left = MARGIN_X
    if url:
        pdf.image(io.BytesIO(qr_png(url)), x=left, y=bottom_y, w=QR_MM, h=QR_MM,
                  alt_text=text(t("QR code of the address of this view")))
        left += QR_MM + 3
    _write(pdf, family, text, address, x=left, y=bottom_y, w=side - (left - MARGIN_X))
    _top_ports(pdf, family, text, per_port, x=MARGIN_X + side + 4, y=bottom_y,
               w=width - side - 4, bottom=pdf.h - MARGIN_BOTTOM)

    _sources(pdf, family, text, sources, total, url, numbers)
    result.pdf = bytes(pdf.output())
    return result


def _numbers(pdf: FPDF, family: str, text, numbers: dict, width: float) -> None:
    figures = [(t("Incidents"), f"{numbers['incidents']:,}"),
               (t("People"), f"{numbers['people']:,}"), (t("Ports"), f"{numbers['ports']}"),
               (t("Months covered"), f"{numbers['months']}"),
               (t("No port"), f"{numbers['no_port']}"),
               (t("Year only"), f"{numbers['year_only']}")]
    box = width / len(figures)
    top = pdf.get_y()
    for n, (label, value) in enumerate(figures):
        x = pdf.l_margin + n * box
        pdf.rect(x, top, box - 2, 14)
        pdf.set_xy(x, top + 1)
        pdf.set_font(family, "B", 14)
        pdf.cell(box - 2, 7, text(value), align="C")
        pdf.set_xy(x, top + 8)
        pdf.set_font(family, "", SMALLEST_PT)
        pdf.cell(box - 2, 5, text(label), align="C")
    pdf.set_y(top + 16)


def _top_ports(pdf: FPDF, family: str, text, per_port: pd.DataFrame, *, x: float, y: float,
               w: float, bottom: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font(family, "B", 9.5)
    pdf.multi_cell(w, 5, text(t("Ports with the most incidents")), new_x="LEFT",
                   new_y="NEXT")
    pdf.set_font(family, "", 9)
    for port in per_port.head(TOP_PORTS).itertuples():
        if pdf.get_y() + 4.8 > bottom:
            break
        pdf.set_x(x)
        pdf.cell(w - 12, 4.8, text(f"{port.port_name}, {port.state}"))
        pdf.cell(12, 4.8, text(f"{int(port.incidents):,}"), align="R", new_x="LEFT",
                 new_y="NEXT")
        pdf.set_x(x)


def _address_lines(url: str | None, made: dt.datetime, version: int | None,
                   total: int) -> list[tuple]:
    """The bottom of page 1 as (style, size, line height, text, link): the view's address,
    when the brief was made, the data version, and where the sources are."""
    data = t(", data version {v}", v=version) if version is not None else ""
    return [
        ("B", 9, 4.2, t("Made from this view of Garita (scan or type the address to open "
                        "it):"), ""),
        ("", SMALLEST_PT, 3.8, url or t("The address of the view was not known when the "
                                        "brief was made."), url or ""),
        ("", SMALLEST_PT, 3.8, t("Made {when}{data}. Sources: page 2 ({n} citations).",
                                 when=f"{made:%Y-%m-%d %H:%M}", data=data, n=f"{total:,}"),
         ""),
        ("", SMALLEST_PT, 3.8, t(words.SOURCE_NOTE), ""),
    ]


def _height(pdf: FPDF, family: str, text, lines: list[tuple], w: float) -> float:
    total = 0.0
    for style, size, line_h, words_, _ in lines:
        pdf.set_font(family, style, size)
        total += pdf.multi_cell(w, line_h, text(words_), dry_run=True, output="HEIGHT")
    return total + 1


def _write(pdf: FPDF, family: str, text, lines: list[tuple], *, x: float, y: float,
           w: float) -> None:
    pdf.set_xy(x, y)
    for style, size, line_h, words_, link in lines:
        pdf.set_font(family, style, size)
        pdf.multi_cell(w, line_h, text(words_), link=link, new_x="LEFT", new_y="NEXT",
                       align="L")


def _lines(pdf: FPDF, w: float, words_: str) -> list[str]:
    """``words_`` in the current font broken into lines ``w`` mm wide, as ``multi_cell``
    breaks them; laid out once (a line that fits, most of them, is not laid out at all)."""
    if "\n" not in words_ and pdf.get_string_width(words_) <= w - 2 * pdf.c_margin:
        return [words_]
    return pdf.multi_cell(w, 1, words_, dry_run=True, output="LINES")


def _sources(pdf: FPDF, family: str, text, sources: pd.DataFrame, total: int,
             url: str | None, numbers: dict) -> None:
    """Page 2 on: every citation, the most used first, each with its link."""
    pdf.add_page()
    width = pdf.w - 2 * MARGIN_X
    pdf.set_font(family, "B", 15)
    pdf.cell(width, 8, text(t("Sources")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    pdf.multi_cell(width, 4.4, text(t(
        "{n} citations for the {incidents} incidents in this brief, the most used first; "
        "“3×” means three incidents cite it.", n=f"{total:,}",
        incidents=f"{numbers['incidents']:,}")), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(2)
    for n, source in enumerate(sources.itertuples(), start=1):
        count = f"{int(source.incidents)}× " if source.incidents > 1 else ""
        title = source.source if isinstance(source.source, str) and source.source \
            else t("No citation")
        link = source.source_url if isinstance(source.source_url, str) else ""
        entry = text(f"{n}. {count}{title}")
        pdf.set_font(family, "", 9)
        entry_lines = _lines(pdf, width, entry)
        pdf.set_font(family, "", SMALLEST_PT)
        link_lines = _lines(pdf, width - 5, text(link)) if link else []
        if pdf.get_y() + 4.2 * len(entry_lines) + 3.8 * len(link_lines) \
                > pdf.h - MARGIN_BOTTOM - 2:
            pdf.add_page()
            pdf.set_font(family, "B", 11)
            pdf.cell(width, 6, text(t("Sources (continued)")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)
        for line in entry_lines:
            pdf.cell(width, 4.2, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", SMALLEST_PT)
        for line in link_lines:
            pdf.set_x(MARGIN_X + 5)
            pdf.cell(width - 5, 3.8, line, link=link, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.2)
    if total > len(sources):
        pdf.set_font(family, "", 9)
        pdf.multi_cell(width, 4.4, text(t(
            "{n} more citations are not listed here: the view's address ({url}) lists every "
            "incident with its source on the Incidents page.", n=f"{total - len(sources):,}",
            url=url or "")), new_x="LMARGIN", new_y="NEXT", align="L")
