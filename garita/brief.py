"""The one-page brief (PDF, US Letter) for the current filters, to print or hand over.

Title and period, headline numbers, the static map, the monthly chart, the top ports, the
sources of the incidents included (grouped by citation), when it was made and the data
version. Works offline; legible in black and white (numbers and labels carry the meaning,
colour only helps).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from fpdf import FPDF

from garita import words

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]
MAX_SOURCES = 12


def _font(pdf: FPDF) -> str:
    """DejaVu Sans when the machine has it (any script); else Helvetica (Latin-1 only)."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu"
    return "Helvetica"


class _Text:
    """Text that the chosen font can draw (Helvetica: Latin-1, with a few look-alikes)."""

    def __init__(self, family: str):
        self.unicode = family != "Helvetica"

    def __call__(self, value) -> str:
        text = str(value)
        if self.unicode:
            return text
        for wide, plain in (("–", "-"), ("—", "-"), ("“", '"'), ("”", '"'), ("’", "'"),
                            ("‘", "'"), ("·", "-"), ("…", "...")):
            text = text.replace(wide, plain)
        return text.encode("latin-1", "replace").decode("latin-1")


def brief_pdf(*, numbers: dict, filters, per_port: pd.DataFrame, sources: pd.DataFrame,
              map_png: bytes, monthly_png: bytes, version: int | None = None,
              made: dt.datetime | None = None) -> bytes:
    """Build the brief; the PNGs come from ``garita.images`` for the same filters."""
    made = made or dt.datetime.now()
    pdf = FPDF(orientation="portrait", unit="mm", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(12, 10, 12)
    pdf.add_page()
    family = _font(pdf)
    text = _Text(family)
    width = pdf.w - 24

    pdf.set_font(family, "B", 17)
    pdf.cell(width, 8, text("Documented incidents at US–Mexico ports of entry"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11.5)
    pdf.multi_cell(width, 5.5, text(words.sentence(numbers, filters) + "."),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 8.5)
    pdf.multi_cell(width, 4, text("Filters: " + words.describe(filters)),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)

    figures = [("Incidents", f"{numbers['incidents']:,}"), ("People", f"{numbers['people']:,}"),
               ("Ports", f"{numbers['ports']}"), ("Months covered", f"{numbers['months']}"),
               ("No port", f"{numbers['no_port']}"), ("Year only", f"{numbers['year_only']}")]
    box = width / len(figures)
    top = pdf.get_y()
    for n, (label, value) in enumerate(figures):
        x = pdf.l_margin + n * box
        pdf.rect(x, top, box - 2, 14)
        pdf.set_xy(x, top + 1)
        pdf.set_font(family, "B", 14)
        pdf.cell(box - 2, 7, text(value), align="C")
        pdf.set_xy(x, top + 8)
        pdf.set_font(family, "", 7.5)
        pdf.cell(box - 2, 5, text(label), align="C")
    pdf.set_y(top + 16)

    pdf.image(io.BytesIO(map_png), x=pdf.l_margin, w=width)
    pdf.ln(1)
    row = pdf.get_y()
    chart_w = width * 0.6
    pdf.image(io.BytesIO(monthly_png), x=pdf.l_margin, y=row, w=chart_w)
    chart_h = chart_w * 9 / 16
    pdf.set_xy(pdf.l_margin + chart_w + 3, row)
    pdf.set_font(family, "B", 9)
    pdf.cell(width - chart_w - 3, 5, text("Ports with the most incidents"),
             new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, "", 8.5)
    for port in per_port.head(10).itertuples():
        pdf.set_x(pdf.l_margin + chart_w + 3)
        pdf.cell(width - chart_w - 18, 4.6, text(f"{port.port_name}, {port.state}"))
        pdf.cell(15, 4.6, text(f"{int(port.incidents):,}"), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), row + chart_h) + 2)

    pdf.set_font(family, "B", 9)
    pdf.cell(width, 5, text(f"Sources ({len(sources)} citations; the most used first)"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 6.8)
    bottom = pdf.h - 17
    shown = 0
    for source in sources.itertuples():
        if shown == MAX_SOURCES or pdf.get_y() > bottom - 7:
            break
        count = f"{int(source.incidents)}× " if source.incidents > 1 else ""
        pdf.multi_cell(width, 3.1, text(f"{count}{source.source or 'No citation'} — "
                                        f"{source.source_url or ''}"),
                       new_x="LMARGIN", new_y="NEXT", align="L")
        shown += 1
    if shown < len(sources):
        pdf.cell(width, 3.4, text(f"… and {len(sources) - shown} more: the app's Incidents "
                                  "page lists every incident with its source."),
                 new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(pdf.h - 15)
    pdf.set_font(family, "", 7)
    data = f", data version {version}" if version is not None else ""
    pdf.multi_cell(width, 3.2, text(
        f"{words.SOURCE_NOTE} Generated on {made:%Y-%m-%d %H:%M}{data}, with Garita."),
        align="L")
    return bytes(pdf.output())
