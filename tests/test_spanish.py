"""The whole product in Spanish: every string a visitor or staff member reads has a Spanish
entry, no user-facing text bypasses ``t()``, every loader problem has a Spanish template,
and the pages, charts, map, images and brief read in Spanish with ``?lang=es`` (and in
English without it).

The code is read with ``ast``: the catalog test collects the text of every ``t``, ``tn``,
``ui.md`` and ``N_`` call; the bypass test looks for literal text handed to Streamlit (labels,
help, captions, messages, column headers) and literal prose in the library's charts, maps,
images and brief that does not go through ``t()``.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from etl import problems
from garita import charts, exports, i18n, maps, words
from garita.filters import Filters
from garita.reference import incident_types
from garita.ui import plain
from tests.test_app import rerun
from tests.test_handover import renderer, views  # noqa: F401  (kaleido and data, once)

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "garita" / "locales" / "es.json"
GLOSSARY = ROOT / "garita" / "locales" / "GLOSSARY.md"
# Where user-facing text is written: the router, the pages and the library.
UI_FILES = sorted([ROOT / "dashboard.py", *(ROOT / "pages").glob("*.py")])
LIBRARY_FILES = sorted((ROOT / "garita").glob("*.py"))
# The library modules whose every prose literal is shown to readers (charts, maps, images,
# the brief, the words they share, download names).
SHOWN_BY_LIBRARY = [ROOT / "garita" / f"{name}.py" for name in
                    ("charts", "maps", "images", "brief", "words", "exports")]
TRANSLATORS = {"t", "tn", "md", "N_"}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.expr) -> str | None:
    """The text of a string literal, implicit concatenations included."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def translated_texts(paths) -> dict[str, str]:
    """Every literal handed to ``t``/``tn``/``md``/``N_`` in ``paths`` -> where it is."""
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) in TRANSLATORS:
                count = 2 if _name(node.func) == "tn" else 1
                for arg in node.args[:count]:
                    text = _literal(arg)
                    if text is not None:
                        found.setdefault(text, f"{_where(path)}:{node.lineno}")
    return found


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _has_words(text: str) -> bool:
    """Whether ``text`` says something in a language: letters left once placeholders
    (``{n}``, ``%{y}``), markup (``<br>``) and Markdown marks are taken out."""
    bare = re.sub(r"%\{[^}]*\}|\{[^}]*\}|<[^>]+>|[*_#`]", " ", text)
    return re.search(r"[A-Za-zÁÉÍÓÚáéíóúñÑ]{2,}", bare) is not None


def _translated_inside(tree: ast.AST) -> set[int]:
    """ids of every node inside a call of a translator (its text is in the catalog)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in TRANSLATORS:
            inside |= {id(child) for child in ast.walk(node)}
    return inside


# Streamlit calls that show their arguments to the reader, and the keywords that do.
SHOWN_CALLS = {"title", "header", "subheader", "caption", "markdown", "write", "text", "info",
               "warning", "error", "success", "toast", "button", "download_button",
               "form_submit_button", "link_button", "toggle", "checkbox", "radio",
               "selectbox", "multiselect", "select_slider", "segmented_control", "pills",
               "text_input", "text_area", "number_input", "file_uploader", "metric",
               "expander", "tabs", "popover", "TextColumn", "LinkColumn", "NumberColumn",
               "DatetimeColumn", "SelectboxColumn", "CheckboxColumn", "Column", "Page",
               "pydeck_chart", "spinner", "status", "dataframe", "data_editor"}
SHOWN_KEYWORDS = {"label", "help", "placeholder", "alt", "display_text", "title", "body",
                  "value"}
# Literal text that is the same in both languages: names, units, formats.
SAME_IN_EVERY_LANGUAGE = {"Garita", "sha256", "Español", "English", "YYYY-MM-DD HH:mm",
                          "localized", "DejaVu"}


def bypasses(path: Path) -> list[str]:
    """Literal text in ``path`` shown by Streamlit without going through ``t()``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    translated = _translated_inside(tree)
    found = []

    def check(node: ast.expr, line: int) -> None:
        # Keys, indexes and comparisons choose what to show; they are not shown.
        chosen_by = []
        for part in ast.walk(node):
            if isinstance(part, ast.Subscript):
                chosen_by.append(part.slice)
            elif isinstance(part, ast.Compare):
                chosen_by.append(part)
            elif isinstance(part, ast.Dict):
                chosen_by += [key for key in part.keys if key is not None]
            elif isinstance(part, ast.Call) and part is not node:
                # What a nested call is given (a session key, data to escape) is not shown.
                chosen_by += [*part.args, *(k.value for k in part.keywords)]
        hidden = {id(child) for top in chosen_by for child in ast.walk(top)}
        for part in ast.walk(node):
            text = _literal(part)
            if text is None or id(part) in translated | hidden \
                    or text in SAME_IN_EVERY_LANGUAGE:
                continue
            if _has_words(text):
                found.append(f"{_where(path)}:{line}: {text!r}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _name(node.func) not in SHOWN_CALLS:
            continue
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if isinstance(receiver, ast.Name) and receiver.id in ("LOG", "logging", "logger"):
            continue
        # Positional arguments: for a Page, only the title (the first is the file).
        if _name(node.func) == "Page":
            args = [k.value for k in node.keywords if k.arg == "title"]
        elif _name(node.func) in ("pydeck_chart", "dataframe", "data_editor"):
            args = []  # data; their labels are keywords
        else:
            args = node.args[:1]
        args += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        # Column headers: the values of column_config={...}.
        for keyword in node.keywords:
            if keyword.arg == "column_config" and isinstance(keyword.value, ast.Dict):
                args += [v for v in keyword.value.values
                         if _literal(v) is not None]
            if keyword.arg == "format_func" and isinstance(keyword.value, ast.Lambda):
                args.append(keyword.value.body)
        for arg in args:
            check(arg, node.lineno)
    return found


# Literals in the library that are not shown: fonts, plotly and pydeck settings, SQL, file
# formats. Anything else with words must go through t() or N_().
TECHNICAL = re.compile(
    r"^(DejaVu Sans.*|'DejaVu Sans.*|rgba?\(.*|#[0-9a-fA-F]{3,8}|[a-z_]+(\.[a-z_]+)*|"
    r"[A-Za-z]+Layer|'[a-z]+'|%[A-Za-z%: -]+|.*\.(csv|geojson|json|ttf|png|pdf)|"
    r"EPSG:\d+|[A-Z][a-z]+|Latin-1|utf-8(-sig)?|latin-1|application/.*|image/.*)$")


def library_prose(path: Path) -> list[str]:
    """Prose literals in a library module shown to readers that skip ``t()``/``N_()``:
    not docstrings, not raised errors or log lines (for developers), not dict keys or
    comparisons, not technical values."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    translated = _translated_inside(tree)
    skip = set(translated)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and _literal(body[0].value) is not None:
                skip.add(id(body[0].value))
        if isinstance(node, (ast.Raise, ast.Compare, ast.Subscript)):
            skip |= {id(child) for child in ast.walk(node)}
        if isinstance(node, ast.Call) and _name(node.func) in (
                "error", "warning", "info", "debug", "getLogger", "ValueError", "KeyError",
                "RuntimeError", "add_font", "set_font", "strftime", "read_text", "get",
                "startswith", "split", "replace", "Layer", "execute", "normalize", "Path",
                "text_width", "encode", "decode"):
            skip |= {id(child) for child in ast.walk(node)}
        if isinstance(node, ast.Dict):
            skip |= {id(key) for key in node.keys if key is not None}
        if isinstance(node, ast.keyword) and node.arg in (
                "family", "format", "kind", "orientation", "unit", "mode", "barmode",
                "xanchor", "yanchor", "anchor", "align", "textposition", "colorscale",
                "hoverinfo", "sizemode", "rangemode", "type", "xref", "yref", "layer",
                "dash", "new_x", "new_y", "error", "freq", "style", "id", "character_set",
                "font_family", "get_position", "get_text", "get_polygon", "get_path",
                "get_fill_color", "get_radius", "get_pixel_offset", "get_text_anchor",
                "get_alignment_baseline", "width_units", "radius_units", "mime",
                "encoding", "newline", "orient", "how", "on", "crs", "drop_id",
                "lineterminator", "output", "errors", "tickmode"):
            skip |= {id(child) for child in ast.walk(node.value)}
    found = []
    for node in ast.walk(tree):
        text = _literal(node)
        if text is None or id(node) in skip or not _has_words(text):
            continue
        if TECHNICAL.match(text.strip()) or text in SAME_IN_EVERY_LANGUAGE:
            continue
        found.append(f"{_where(path)}:{node.lineno}: {text!r}")
    return found


def catalog() -> dict[str, str]:
    return json.loads(CATALOG.read_text(encoding="utf-8"))


def _fields(template: str) -> set[tuple[str, str]]:
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template)
            if name is not None}


# ---- the catalog ---------------------------------------------------------------------

def test_every_string_shown_to_users_has_a_spanish_entry():
    wanted = translated_texts(UI_FILES + LIBRARY_FILES)
    spanish = catalog()
    missing = [f"{where}: {text!r}" for text, where in wanted.items() if not spanish.get(text)]
    assert not missing, "no Spanish entry in garita/locales/es.json:\n" + "\n".join(missing)


def test_each_spanish_entry_keeps_the_placeholders_of_its_english():
    wrong = [english for english, spanish in catalog().items()
             if {name for name, _ in _fields(english)} != {name for name, _ in _fields(spanish)}]
    assert not wrong


def test_no_user_facing_text_bypasses_the_translation_function():
    found = [hit for path in UI_FILES + [ROOT / "garita" / "ui.py"] for hit in bypasses(path)]
    found += [hit for path in SHOWN_BY_LIBRARY for hit in library_prose(path)]
    assert not found, "shown without t():\n" + "\n".join(found)


def test_the_bypass_check_catches_literal_labels(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nfrom garita.i18n import t\n'
                    'st.caption(t("Fine"))\nst.button("Load rows")\n'
                    'st.dataframe(x, column_config={"a": "Rows", "b": t("Blank")})\n'
                    'st.metric(label=f"Rows {n}", value=3)\n', encoding="utf-8")
    hits = bypasses(page)
    assert [hit.split(": ", 1)[1] for hit in hits] == ["'Load rows'", "'Rows'", "'Rows '"]


def test_vocabulary_and_policy_dates_have_spanish_labels():
    assert all(row["label_es"].strip() for row in incident_types())
    assert all(event["label_es"].strip() for event in charts.policy_events())


def test_the_glossary_is_kept_beside_the_catalog():
    text = GLOSSARY.read_text(encoding="utf-8")
    for term in ("garita", "puerto de entrada", "solicitantes de asilo",
                 "les dijeron que no hay asilo", "Oficina de Aduanas y Protección Fronteriza"):
        assert term in text
    spanish = " ".join(catalog().values())
    assert "solicitantes de asilo" in spanish
    assert "CBP (Oficina de Aduanas y Protección Fronteriza" in spanish


# ---- loader problems -------------------------------------------------------------------

def test_every_problem_code_has_a_spanish_template_with_the_same_values():
    spanish = problems.spanish_templates()
    missing = sorted(set(problems.TEMPLATES) - set(spanish))
    assert not missing, ("codes with no Spanish template in "
                         "garita/locales/problems.es.json: " + ", ".join(missing))
    different = [code for code, english in problems.TEMPLATES.items()
                 if _fields(english) != _fields(spanish[code])]
    assert not different
    assert not set(spanish) - set(problems.TEMPLATES)


def test_problems_render_in_spanish_for_the_app_and_in_english_for_the_cli():
    params = {"value": "Tijuana", "ports": ["San Ysidro", "Otay Mesa", "Cross Border Xpress"]}
    assert problems.render("port.ambiguous", params).startswith(
        "'Tijuana' could be San Ysidro or Otay Mesa or Cross Border Xpress")
    assert problems.render("port.ambiguous", params, "es").startswith(
        "“Tijuana” puede ser San Ysidro, Otay Mesa o Cross Border Xpress")
    assert "las filas 2 y 3 están en UTF-8 y la fila 5 está" in problems.render(
        "file.mixed_encodings", {"utf8_rows": [2, 3], "cp1252_rows": [5]}, "es")
    # Values that carry English words are said in Spanish.
    assert "El campo “Resumen” tiene 6,000 caracteres" in problems.render(
        "text.too_long", {"field": "summary", "length": 6000, "limit": 5000}, "es")
    assert "NM (Nuevo México)" in problems.render(
        "state.unknown", {"value": "XX", "states": "NM (New Mexico), TX (Texas)"}, "es")
    with i18n.using("es"):
        assert problems.localized("date.future", {"value": "2099"}) == \
            "“2099” es una fecha futura."
    assert problems.localized("date.future", {"value": "2099"}) == "'2099' is in the future."


def test_cli_json_keeps_english_messages_and_codes(tmp_path, monkeypatch):
    from etl import load as loader

    monkeypatch.setenv("GARITA_LANG", "es")
    master = tmp_path / "garita.duckdb"
    loader.init(master)
    report = loader.load_bytes(b"date,port,incident type\n2018-03-01,San Ysdro,turned_away\n",
                               "x.csv", db_path=master, dry_run=True)
    problem = report.as_json()["problems"][0]
    assert problem["code"] == "port.unknown"
    assert problem["message"].startswith("'San Ysdro' is not a known port of entry")


# ---- words, charts, maps, images -------------------------------------------------------

TEXAS = Filters.from_strings(start="2016-12", end="2023-02", states=["TX"])


def test_the_sentence_reads_naturally_in_spanish():
    numbers = {"incidents": 35, "ports": 5, "first_month": None, "last_month": None}
    with i18n.using("es"):
        assert words.sentence(numbers, TEXAS) == ("35 incidentes documentados en reportes "
                                                  "públicos en 5 garitas de Texas, "
                                                  "dic 2016 – feb 2023")
        numbers.update(incidents=1, ports=1)
        assert words.sentence(numbers, TEXAS, names=["El Paso"]) == (
            "1 incidente documentado en reportes públicos en El Paso (Texas), "
            "dic 2016 – feb 2023")
        numbers.update(incidents=1479, ports=2)
        assert words.sentence(numbers, Filters(), names=["San Ysidro", "Otay Mesa"]) \
            .startswith("1,479 incidentes documentados en reportes públicos en 2 garitas "
                        "(San Ysidro y Otay Mesa), ")
    assert words.sentence(numbers, Filters(), names=["San Ysidro", "Otay Mesa"]).startswith(
        "1,479 incidents documented in public reporting at 2 ports (San Ysidro and Otay Mesa)")


def test_numbers_and_months_are_written_for_readers_in_mexico():
    import datetime as dt

    with i18n.using("es"):
        assert i18n.number(1479) == "1,479" and i18n.number(2.5) == "2.5"
        assert i18n.month(dt.date(2017, 1, 1)) == "ene 2017"
        assert words.describe(Filters.from_strings(states=["NM"], groups=["family"])) == \
            "Nuevo México · Familia"


def _monthly_frame():
    import pandas as pd

    return pd.DataFrame({"month": pd.to_datetime(["2017-01-01", "2017-03-01", "2018-06-01"]),
                         "key": ["told_no_asylum", "turned_away", "No port"],
                         "value": [2, 1, 3]})


def test_charts_speak_spanish_titles_months_legends_and_policy_dates():
    with i18n.using("es"):
        fig = charts.monthly_chart(_monthly_frame(), stack="type", measure="incidents",
                                   events="all")
    assert fig.layout.title.text == "Incidentes por mes"
    assert "ene 2017" in fig.layout.xaxis.ticktext
    assert not any(re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun)\b", text)
                   for text in fig.layout.xaxis.ticktext)
    names = {trace.name for trace in fig.data}
    assert "Le dijeron que no hay asilo" in names
    assert all("%{customdata}" in trace.hovertemplate for trace in fig.data)
    assert any(note.text == "Memorando de CBP autoriza la dosificación en puertos"
               for note in fig.layout.annotations)
    with i18n.using("es"):
        ported = charts.monthly_chart(_monthly_frame(), stack="port", measure="people")
        yearly = charts.yearly_chart(__import__("pandas").DataFrame(
            {"year": [2018], "precision": ["year only"], "value": [2]}), "incidents")
        empty = charts.ranked_ports_chart(_monthly_frame().iloc[:0], "people")
    assert ported.layout.title.text == "Personas por mes"
    assert "Sin garita" in {trace.name for trace in ported.data}
    assert yearly.data[1].name == "fecha conocida solo al año"
    assert empty.layout.annotations[0].text == "Ningún incidente coincide con estos filtros."
    english = charts.monthly_chart(_monthly_frame(), stack="type", measure="incidents")
    assert english.layout.title.text == "Incidents per month"
    assert "Jan 2017" in english.layout.xaxis.ticktext


def test_month_ticks_fit_the_room():
    import datetime as dt

    axis = charts.month_axis(dt.date(2016, 12, 1), dt.date(2023, 2, 1))
    assert len(axis["tickvals"]) <= charts.MOST_MONTH_TICKS
    assert axis["ticktext"][0] == "2017"
    with i18n.using("es"):
        assert charts.month_axis(dt.date(2018, 1, 1), dt.date(2018, 4, 1))["ticktext"] == \
            ["ene 2018", "feb 2018", "mar 2018", "abr 2018"]


def test_the_map_speaks_spanish():
    import pandas as pd

    per_port = pd.DataFrame([{"port_code": "2402", "port_name": "El Paso", "state": "TX",
                              "mexican_city": "Ciudad Juárez", "latitude": 31.76,
                              "longitude": -106.45, "incidents": 3, "people": 5,
                              "value": 3, "top_type": "told_no_asylum",
                              "top_types": "told_no_asylum (2), turned_away (1)"}])
    with i18n.using("es"):
        made = maps.incident_deck(per_port)
    deck = json.loads(made.to_json())
    countries = next(layer for layer in deck["layers"] if layer["id"] == "countries")
    assert {row["text"] for row in countries["data"]} >= {"ESTADOS UNIDOS"}
    hover = made._tooltip["text"]  # sent beside the deck's JSON
    assert "incidentes" in hover and "Más frecuentes:" in hover and "incidents ·" not in hover
    circles = next(layer for layer in deck["layers"] if layer["id"] == "incidents")
    assert circles["data"][0]["top_types"].startswith("Le dijeron que no hay asilo (2)")


def test_download_names_are_spanish_for_spanish_readers():
    ysidro = Filters.from_strings(start="2018-04", end="2020-11", ports=["2504"])
    with i18n.using("es"):
        assert exports.download_name(ysidro, exports.BRIEF, "pdf") == \
            "garita-ficha-san-ysidro-2018-04_2020-11.pdf"
        assert exports.download_name(Filters.from_strings(ports=["2504", "2506", "2503",
                                                                 "2402"]),
                                     "Ports ranked", "png") == \
            "garita-garitas-ordenadas-4-garitas.png"
        assert exports.download_name(Filters(), "Incidents per year", "png") == \
            "garita-incidentes-por-anio.png"
    assert exports.download_name(ysidro, exports.BRIEF, "pdf") == \
        "garita-brief-san-ysidro-2018-04_2020-11.pdf"


# ---- the app, in Spanish and in English at once -----------------------------------------

RAW_NAMES = re.compile(r"^[a-z]+(_[a-z0-9]+)+$", re.M)  # a column shown by its SQL name
ENGLISH_WORDS = re.compile(
    r"\b(Filters|Months|States|Reset|Incidents|People|Ports|Download|Search|Choose|Show|"
    r"Count|Stack by|Size by|Colour by|per month|per year|Border traffic|Most frequent|"
    r"Sources?|Batch(es)?|Loaded|Rejected|Blank|Rows|Template|Sign in|Present|Map|"
    r"incidents|documented|not a rate|Link|Policy dates|Year only|No port|Data version|"
    r"Language)\b")


def _everything_said(at) -> str:
    """Every text an AppTest run shows: titles, captions, messages, labels, help, metric
    labels, options, column headers, chart titles and legends."""
    parts = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning",
                 "error", "success"):
        parts += [element.value for element in at.get(kind)]
    for kind in ("button", "toggle", "checkbox", "radio", "selectbox", "multiselect",
                 "select_slider", "text_input", "metric", "expander", "download_button"):
        for element in at.get(kind):
            proto = element.proto
            parts += [getattr(proto, "label", ""), getattr(proto, "help", ""),
                      getattr(proto, "placeholder", "")]
            parts += list(getattr(proto, "options", []))
    for element in at.dataframe:  # the headers shown: each column's label, else its name
        config = json.loads(element.proto.columns or "{}")
        parts += [config.get(str(name), {}).get("label") or str(name)
                  for name in element.value.columns
                  if not config.get(str(name), {}).get("hidden")]
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        layout = spec.get("layout", {})
        parts.append(str(layout.get("title", {}).get("text", "")))
        parts += [str(trace.get("name", "")) for trace in spec.get("data", [])]
        parts += [str(note.get("text", "")) for note in layout.get("annotations", [])]
    return "\n".join(p for p in parts if p)


PAGES = ["pages/map.py", "pages/over_time.py", "pages/by_port.py", "pages/incidents.py",
         "pages/sources.py", "pages/present.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_reads_in_spanish_with_lang_es(app, page):
    at = app(page, lang="es")
    assert not at.exception
    # Titles of works and data sets, in italics, keep their own language.
    said = re.sub(r"(?<!\*)\*[^*\n]+\*(?!\*)", "", _everything_said(at))
    english = sorted({m.group(0) for m in ENGLISH_WORDS.finditer(said)})
    assert not english, (english, said)
    assert not RAW_NAMES.findall(said), RAW_NAMES.findall(said)


def test_the_same_page_reads_in_english_without_lang(app):
    at = app("pages/over_time.py")
    said = _everything_said(at)
    assert "Incidents per month" in said and "Filters" in said


def test_two_visitors_read_their_own_languages_at_once(app):
    spanish = app("pages/by_port.py", lang="es")
    english = app("pages/by_port.py")
    rerun(spanish)
    rerun(english)
    assert "Garitas ordenadas por incidentes" in _everything_said(spanish)
    assert "Ports ranked by incidents" in _everything_said(english)
    assert "Garitas ordenadas" not in _everything_said(english)


# ---- a PNG and a brief made in Spanish, read back with OCR -------------------------------

def _needs(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is None


ocr_tools = pytest.mark.skipif(_needs("tesseract") or _needs("chromium"),
                               reason="needs tesseract-ocr and chromium (.ci/run installs them)")


def read_spanish(image) -> str:
    """The words tesseract reads in ``image`` (as ``tests.test_ocr.ocr`` does), with its
    Spanish model when installed (``tesseract-ocr-spa``), normalised by ``norm``."""
    import io
    import subprocess

    from tests.test_ocr import DPI, ink, norm, said

    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    lang = ["-l", "spa+eng"] if "spa" in langs.stdout.split() else []
    buffer = io.BytesIO()
    ink(image).save(buffer, format="PNG", dpi=(DPI, DPI))
    done = subprocess.run(["tesseract", "stdin", "stdout", *lang, "--psm", "11", "tsv"],
                          input=buffer.getvalue(), capture_output=True, timeout=120,
                          check=True)
    return norm(said(done.stdout.decode("utf-8", "replace")))


def reads(wanted: str, read: str) -> bool:
    """``wanted`` is in the OCR text, allowing a letter or so of noise per phrase."""
    from tests.test_ocr import best_match

    return best_match(wanted, read) >= 0.88


@ocr_tools
@pytest.mark.filterwarnings("ignore:The kopts argument")
def test_a_png_and_a_brief_made_in_spanish_read_back_in_spanish(renderer, views):
    import io

    from PIL import Image

    from garita import images
    from tests.test_handover import FILTERS, OUT, make
    from tests.test_ocr import page_images

    answers = views["texas"]
    names = list(answers["per_port"]["port_name"])
    with i18n.using("es"):
        chart = images.figure("monthly", answers, FILTERS, version=3)
        title = images._plain(chart.layout.title.text)
        legend = [images._plain(trace.name) for trace in chart.data if trace.name]
        ticks = list(chart.layout.xaxis.ticktext)
        made = make(answers, FILTERS)
        sentence = words.sentence(answers["numbers"], FILTERS, names=names)
        png_name = exports.download_name(FILTERS, images.IMAGES["monthly"], "png")
        pdf_name = exports.download_name(FILTERS, exports.BRIEF, "pdf")
    assert png_name == "garita-incidentes-por-mes-tx-2018-01_2019-12.png"
    assert pdf_name == "garita-ficha-tx-2018-01_2019-12.pdf"
    assert sentence.startswith(f"{answers['numbers']['incidents']} incidentes documentados "
                               "en reportes públicos en ")
    OUT.mkdir(parents=True, exist_ok=True)
    png = images.to_png(chart)
    (OUT / png_name).write_bytes(png)
    (OUT / pdf_name).write_bytes(made.pdf)

    read = read_spanish(Image.open(io.BytesIO(png)))
    assert reads(title, read) and title.startswith("Incidentes por mes"), read
    assert reads("versión de datos 3", read) and reads("no una tasa", read), read
    assert all(reads(entry, read) for entry in legend), (legend, read)
    assert any(reads(tick, read) for tick in ticks if not tick.isdigit()), (ticks, read)
    assert not re.search(r"\b(incidents|per month|jan|data version)\b", read), read

    pages = page_images(made.pdf, "es-texas-brief")
    first = read_spanish(pages[0])
    assert reads(sentence, first), (sentence, first)
    for line in ("Incidentes documentados en garitas de la frontera", "Garitas con más "
                 "incidentes", "Hecho a partir de esta vista de Garita", "Meses cubiertos"):
        assert reads(line, first), (line, first)
    assert all(reads(entry, first) for entry in legend), first
    assert read_spanish(pages[1]).split()[0] == "fuentes"


# ---- the staff pages --------------------------------------------------------------------

SPANISH_FILE = ("fecha;garita;personas;tipo de incidente;resumen;fuente\n"
                "14/03/2018;San Ysdro;2;Rechazado en la garita;Rechazados en la garita.;Clínica\n"
                "25/04/2018;Hidalgo;2.000;Le dijeron que no hay asilo;Les dijeron que no hay "
                "asilo.;Clínica\n"
                "02/05/2018;El Paso;1;amenazado;Amenazado en el puente.;Clínica\n")


def _staff_in_spanish(monkeypatch, page: str):
    from streamlit.testing.v1 import AppTest

    from tests.security.test_app_settings import OIDC

    monkeypatch.setenv("GARITA_START_PAGE", page)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.secrets["auth"] = OIDC
    at.secrets["staff"] = {"emails": ["staff@clinic.org"]}
    at.user = {"is_logged_in": True, "email": "staff@clinic.org"}
    at.query_params["lang"] = "es"
    return at.run()


def test_the_upload_and_batches_pages_read_in_spanish(built_db, monkeypatch):
    # AppTest formats widget options again in this thread, as the visitor's script did.
    with i18n.using("es"):
        _upload_and_roll_back_in_spanish(monkeypatch)


def _upload_and_roll_back_in_spanish(monkeypatch):
    at = _staff_in_spanish(monkeypatch, "upload")
    at.get("file_uploader")[0].set_value(("casos.csv", SPANISH_FILE.encode(), "text/csv"))
    rerun(at)
    assert not at.exception
    frames = [element.value for element in at.dataframe]
    problems_shown = next(frame for frame in frames if "message" in frame.columns)
    messages = list(problems_shown["message"])
    assert "“San Ysdro” no es una garita conocida: ¿quiso decir San Ysidro?" in messages
    assert any(m.startswith("“2.000” puede ser 2 personas o 2,000") for m in messages)
    assert not any(re.search(r"\b(is not|could be|the)\b", m) for m in messages), messages
    said = _everything_said(at)
    assert "Cómo se lee cada columna" in said and "Problemas" in said
    assert not ENGLISH_WORDS.findall(said.replace("Garita", "")), said
    assert not RAW_NAMES.search(said), RAW_NAMES.findall(said)

    next(b for b in at.button if b.label.startswith("Cargar ")).click()
    rerun(at)
    assert any(m.value.startswith(plain("Se cargó el lote 2. 3 filas — cargadas: 1;"))
               for m in at.success), \
        [m.value for m in at.success]

    at = _staff_in_spanish(monkeypatch, "batches")
    assert not at.exception
    said = _everything_said(at)
    assert "Registro de auditoría" in said and "Sí, revertir el lote 2" in said
    assert "Fecha de carga" in said and "Elegido al subir" in said
    assert not ENGLISH_WORDS.findall(said.replace("Garita", "")), said
    assert not RAW_NAMES.search(said), RAW_NAMES.findall(said)
    at.checkbox[0].check()
    next(b for b in at.button if b.label == "Revertir").click()
    rerun(at)
    assert any(m.value.startswith(plain("El lote 2 está revertido")) for m in at.success)


# ---- in a real browser: every page with ?lang=es, two visitors at once ----------------------

BROWSER_PAGES = [  # path, Spanish text the page writes once its content is drawn
    ("", "Garitas con incidentes"), ("over_time", "Incidentes por año"),
    ("by_port", "Una garita en detalle"), ("incidents", "incidentes coinciden"),
    ("sources", "Lotes cargados"), ("present", "Para entregar")]
# Text Streamlit itself writes, which no app can translate (the file uploader's drop zone).
STREAMLIT_OWN = ("[data-testid='stFileUploaderDropzoneInstructions']",
                 "[data-testid='stFileUploaderDropzone'] button")
SHOWN_TEXT_JS = """(hidden) => {
  const skip = new Set(hidden.flatMap(s => [...document.querySelectorAll(s)]));
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const owner = node.parentElement;
    if (!owner || [...skip].some(s => s.contains(owner))) continue;
    if (owner.closest("script, style, noscript, [aria-hidden='true']")) continue;
    const box = owner.getBoundingClientRect();
    const style = getComputedStyle(owner);
    if (box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
    if (owner.closest("details:not([open]) > :not(summary)")) continue;
    out.push(node.textContent);
  }
  return out.join("\\n");
}"""


def _shown_text(page) -> str:
    """Every visible text of the page: HTML and the charts' SVG (ticks, legends, titles)."""
    return page.evaluate(SHOWN_TEXT_JS, list(STREAMLIT_OWN))


browser = pytest.mark.skipif(_needs("chromium"), reason="no chromium (apt-get install chromium)")


@pytest.fixture
def spanish_server(shared_app):
    """The session's app server (tests/conftest.py), with staff sign-in: no data changes."""
    return shared_app


def _open(page, url: str, text: str) -> None:
    from tests.browser import wait_settled

    page.goto(url)
    page.get_by_text(text).first.wait_for(timeout=60_000)
    wait_settled(page)  # let plotly and deck.gl finish drawing


@browser
@pytest.mark.browser
def test_every_page_reads_in_spanish_in_a_browser(spanish_server, chromium):
    from tests.browser import (SHOTS, STAFF_PASSWORD, STAFF_USER, browser_page, open_page_link,
                               wait_settled)

    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(1440, 1000, browser=chromium) as page:
        for path, text in BROWSER_PAGES:
            _open(page, f"{spanish_server}/{path}?lang=es", text)
            page.screenshot(path=str(SHOTS / f"es-1440-{path or 'map'}.png"), full_page=True)
            shown = _shown_text(page)
            english = sorted({m.group(0) for m in ENGLISH_WORDS.finditer(shown)})
            assert not english, (path, english, shown)
            assert page.locator("[data-testid='stException']").count() == 0
        # Staff: sign in, then Upload with a file and Batches, all in Spanish.
        _open(page, f"{spanish_server}/sign_in?lang=es", "Nombre de usuario")
        page.get_by_label("Nombre de usuario").fill(STAFF_USER)
        page.locator("input[type=password]").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.get_by_text("Sesión iniciada como personal").wait_for(timeout=30_000)
        open_page_link(page, "Subir", "Plantilla, encabezados en inglés")
        page.locator("input[type=file]").set_input_files(files=[{
            "name": "casos.csv", "mimeType": "text/csv", "buffer": SPANISH_FILE.encode()}])
        page.get_by_text("Corrija las filas aquí").wait_for(timeout=30_000)
        wait_settled(page)
        page.screenshot(path=str(SHOTS / "es-1440-upload.png"), full_page=True)
        shown = _shown_text(page)
        assert not ENGLISH_WORDS.findall(shown.replace("Garita", "")), shown
        open_page_link(page, "Lotes", "Registro de auditoría")
        wait_settled(page)
        page.screenshot(path=str(SHOTS / "es-1440-batches.png"), full_page=True)
        shown = _shown_text(page)
        assert not ENGLISH_WORDS.findall(shown.replace("Garita", "")), shown


@browser
@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1920])
def test_spanish_pages_at_phone_and_projector_widths(spanish_server, chromium, width):
    from tests.browser import SHOTS, browser_page

    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(width, 900 if width < 600 else 1080, browser=chromium) as page:
        for path, text in (("", "Garitas con incidentes"), ("over_time", "Incidentes por año"),
                           ("present", "Para entregar")):
            _open(page, f"{spanish_server}/{path}?lang=es", text)
            page.screenshot(path=str(SHOTS / f"es-{width}-{path or 'map'}.png"),
                            full_page=True)
            # Streamlit scrolls inside the page: a second look where the map or chart is.
            page.locator("canvas, .js-plotly-plot").first.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / f"es-{width}-{path or 'map'}-figure.png"))
            assert not ENGLISH_WORDS.findall(_shown_text(page)), path


@browser
@pytest.mark.browser
def test_two_visitors_on_one_server_each_read_their_language(spanish_server, chromium):
    from tests.browser import browser_page, wait_settled

    with browser_page(1440, 1000, browser=chromium) as spanish, \
            browser_page(1440, 1000, browser=chromium) as english:
        spanish.goto(f"{spanish_server}/over_time?lang=es")
        english.goto(f"{spanish_server}/over_time")
        spanish.get_by_text("Incidentes por año").first.wait_for(timeout=60_000)
        english.get_by_text("Incidents per year").first.wait_for(timeout=60_000)
        # Both reran at the same time; each still reads its own language.
        spanish.reload()
        english.reload()
        spanish.get_by_text("Incidentes por año").first.wait_for(timeout=60_000)
        english.get_by_text("Incidents per year").first.wait_for(timeout=60_000)
        wait_settled(spanish)
        wait_settled(english)
        in_spanish, in_english = _shown_text(spanish), _shown_text(english)
    assert "Filtros" in in_spanish and "Incidentes por mes" in in_spanish
    assert not ENGLISH_WORDS.findall(in_spanish), in_spanish
    assert "Filters" in in_english and "Incidents per month" in in_english
    assert "Filtros" not in in_english and "Incidentes por mes" not in in_english


@browser
@pytest.mark.browser
def test_switching_language_rewrites_the_address_so_a_reload_keeps_the_filters(spanish_server,
                                                                              chromium):
    from tests.browser import browser_page

    with browser_page(1440, 1000, browser=chromium) as page:
        _open(page, f"{spanish_server}/?types=Turned+away", "Ports with incidents")
        page.get_by_text("Español").click()
        page.get_by_text("Garitas con incidentes").first.wait_for(timeout=60_000)
        page.wait_for_url("**types=Rechazado+en+la+garita**", timeout=30_000)
        assert "lang=es" in page.url
        _open(page, page.url, "Garitas con incidentes")  # the address, reloaded or shared
        caption = page.locator("[data-testid='stCaptionContainer']").first.inner_text()
        assert caption.startswith("Rechazado en la garita"), caption
