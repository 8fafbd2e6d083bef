"""Text from data or the URL never becomes Markdown: no image, link, colour, formula or icon.

Streamlit reads captions, messages, headers, labels and help as Markdown. Everything a file
or a URL can carry reaches them only through ``garita.ui.plain`` (or ``ui.md``, which applies
it to each value). These tests check that function against the patterns Streamlit's own
Markdown turns into markup, and check every public page's Markdown with hostile data loaded
and selected through the URL. ``test_browser_injection.py`` checks the same pages rendered.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from garita import ui

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_PAGES = ["map", "over_time", "by_port", "incidents", "sources", "present"]

# One nationality per kind of markup (each becomes a filter option, so a URL can select it).
MARKUP = {
    "image": "![n](https://evil.example/nat.png)",
    "link": "[text](https://evil.example/link)",
    "colour": ":red[**coloured**] :blue-background[bg] :green-badge[badge]",
    "formula": "$x^2$ and $$y$$",
    "html": "<img src=https://evil.example/html.png>",
    "bare address": "https://evil.example/bare www.evil.example",
    "icon": ":material/warning: :smile:",
}
# Patterns Streamlit 1.67's Markdown (StreamlitMarkdown.*.js) turns into links and icons in
# text *after* backslash escapes are read, so escaping alone does not stop them.
LINKED_AFTER_ESCAPES = [
    re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.I),        # gfm autolink literal
    re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)"),               # e-mail autolink
    re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:"),       # :emoji: shortcodes
    re.compile(r":material[/_]\w+:"),                              # :material/icon:
]
ESCAPE = re.compile(r"\\(.)")
# A batch file name as staff see it (no "/": the loader keeps only the base name).
FILE_NAME = ":red[f] [file](javascript:alert(6)) $f$.csv"
PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def hostile_csv() -> bytes:
    """Rows whose nationality, summary, source, notes and outcome carry markup, and one
    whose port as written does (it matches no port, so it is rejected and kept for staff)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "port", "incident_types", "nationality", "summary", "source",
                     "source_url", "notes", "outcome"])
    for day, text in enumerate(MARKUP.values(), start=1):
        writer.writerow([f"2019-03-{day:02d}", "Hidalgo", "turned_away", text,
                         " ".join(MARKUP.values()), text, f"https://evil.example/{day}",
                         text, text])
    writer.writerow(["2019-03-20", "Nowhere Bridge " + MARKUP["image"], "turned_away", "Honduras",
                     "port as written", "", "", "", ""])
    return buffer.getvalue().encode()


def build_hostile_db(db_file: Path) -> None:
    """The default data plus the hostile rows, loaded as staff would, under a hostile name."""
    from etl import load as loader

    loader.init(db_file)
    report = loader.load_bytes(hostile_csv(), FILE_NAME, db_path=db_file,
                               source=":red[batch] https://evil.example/batch")
    assert report.loaded == len(MARKUP) and report.rejected == 1, report.problems


def shown(markdown: str) -> str:
    """What a reader sees of escaped text: escapes read, invisible word joiners dropped."""
    return ESCAPE.sub(r"\1", markdown).replace("\u2060", "")


def assert_inert(text: str) -> None:
    escaped = ui.plain(text)
    assert "\n" not in escaped and "\r" not in escaped  # no block syntax can start
    unescaped = ESCAPE.sub("", escaped)  # what is left once every escaped mark is taken out
    assert not PUNCTUATION & set(unescaped), escaped
    after_escapes = ESCAPE.sub(r"\1", escaped)  # the text that Streamlit's plugins scan
    for pattern in LINKED_AFTER_ESCAPES:
        assert not pattern.search(after_escapes), (pattern.pattern, escaped)
    assert shown(escaped) == re.sub(r"[\r\n\u2028\u2029]+", " ", text)  # as typed


@pytest.mark.parametrize("text", [*MARKUP.values(), "someone@evil.example", "a\n\n# head",
                                  "    code", "1. list", "&lt;b&gt; &amp;", "`tick` ~~s~~",
                                  "WWW.evil.example", "mailto:x@evil.example"])
def test_plain_shows_hostile_text_as_typed_and_inert(text):
    assert_inert(text)


@given(st.text(st.sampled_from(list("ahtpsw:/.@[]()!$*_`<>&\\#-=|~ \nxm")) |
               st.characters(blacklist_characters="\u2060"), max_size=60))
def test_plain_leaves_no_markup_that_streamlit_reads(text):
    assert_inert(text)


def test_md_escapes_every_value_but_keeps_number_formats():
    said = ui.md("{n:,} incidents at {port}", n=12345, port=MARKUP["image"])
    assert said.startswith("12,345 incidents at ")
    assert MARKUP["image"] not in said and shown(said) == "12,345 incidents at " + MARKUP["image"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    db_file = tmp_path_factory.mktemp("markup") / "garita.duckdb"
    build_hostile_db(db_file)
    return db_file


def markdown_bodies(at: AppTest) -> list[str]:
    """Every string of the run that Streamlit reads as Markdown: bodies, labels, help."""
    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            found.extend(value for field, value in proto.ListFields()
                         if field.name in ("body", "label", "help") and isinstance(value, str))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_hostile_nationalities_in_the_url_reach_markdown_only_escaped(hostile_db, monkeypatch,
                                                                       page):
    monkeypatch.setenv("GARITA_DB", str(hostile_db))
    monkeypatch.setenv("GARITA_START_PAGE", page)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["nat"] = list(MARKUP.values())
    at.query_params["q"] = MARKUP["colour"]
    at.query_params["port"] = "Hidalgo, TX"
    at.run()
    assert not at.exception, at.exception
    assert sorted(at.multiselect(key="nat").value) == sorted(MARKUP.values())
    bodies = markdown_bodies(at)
    for kind, text in MARKUP.items():
        raw = [b for b in bodies if text in b]
        assert raw == [], f"{kind} reaches Markdown unescaped: {raw}"
        # The filters in words quote each nationality, escaped, and read as typed.
        assert any(ui.plain(text) in b for b in bodies), kind
    from garita import reference

    for body in bodies:
        if body.strip() == reference.data_readme().strip():  # the project's own text
            continue
        assert "](" not in ESCAPE.sub("", body), body


def test_staff_pages_quote_file_names_and_headers_only_escaped(hostile_db, monkeypatch):
    from tests.security.test_app_settings import staff_app
    from tests.test_app import rerun

    monkeypatch.setenv("GARITA_DB", str(hostile_db))
    batches = staff_app(monkeypatch, "batches")  # newest batch first: the hostile file name
    upload = staff_app(monkeypatch, "upload")
    header = ["date", "port", "incident_types", MARKUP["image"], MARKUP["colour"]]
    upload.get("file_uploader")[0].set_value(
        (MARKUP["link"] + ".csv", (",".join(f'"{h}"' for h in header) + "\n"
                                   "2019-04-01,Hidalgo,turned_away,x,y\n").encode(), "text/csv"))
    rerun(upload)
    for at in (batches, upload):
        assert not at.exception, at.exception
        bodies = markdown_bodies(at)
        assert [b for b in bodies for text in [*MARKUP.values(), FILE_NAME] if text in b] == []
    assert any(ui.plain(FILE_NAME) in b for b in markdown_bodies(batches))
    assert any(ui.plain(MARKUP["image"]) in b for b in markdown_bodies(upload))
