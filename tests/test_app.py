"""AppTest for every page: no exception, numbers that match the export, filters in the URL."""

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from etl.cli import main as etl_main

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/map.py", "pages/over_time.py", "pages/by_port.py", "pages/incidents.py",
         "pages/sources.py", "pages/present.py"]


def rerun(at):
    """Rerun as a browser would after a widget change: the router and the current page.

    AppTest in Streamlit 1.67 reruns only the page script of an ``st.navigation`` app after
    the first run; clearing the remembered page makes it run the entry point again.
    """
    at._finished_page_script_hash = ""
    at._page_hash = ""
    return at.run()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def exported(db_file, *args) -> list[dict]:
    result = CliRunner().invoke(etl_main, ["export", *args, "--db", str(db_file)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app, page):
    at = app(page)
    assert not at.exception, at.exception
    assert not at.error
    if page == "pages/present.py":  # the figure in words, in large type, instead of metrics
        assert at.markdown[0].value.startswith("## 57 incidents documented")
    else:
        assert metric(at, "Incidents") == "57"


def test_headline_matches_the_export_for_the_same_filters(app, built_db):
    # Bound widgets keep their choices in the URL as the labels the user sees.
    at = app(ports=["El Paso, TX", "Hidalgo, TX"], types=["Turned away"],
             months=["2018-01", "2019-12"])
    rows = exported(built_db, "--port", "2402", "--port", "2305", "--type", "turned_away",
                    "--from", "2018-01", "--to", "2019-12")
    assert metric(at, "Incidents") == str(len(rows)) != "0"
    people = sum(int(r["people_count"]) for r in rows if r["people_count"])
    assert metric(at, "People") == f"{people:,}"
    assert metric(at, "Ports") == str(len({r["port_code"] for r in rows}))


def _map_data(at) -> dict:
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer["id"]: layer.get("data") for layer in deck["layers"]}


def test_changing_a_filter_changes_what_the_map_draws(app):
    at = app()
    before = _map_data(at)["incidents"]
    at.multiselect(key="states").select("CA")
    rerun(at)
    after = _map_data(at)["incidents"]
    assert {p["state"] for p in after} == {"CA"}
    assert len(after) < len(before)


def test_the_map_sends_one_row_per_port_and_no_incident_text(app):
    data = _map_data(app())
    assert len(data["incidents"]) == 10
    sent = json.dumps(data)
    assert "Mother and teenage daughter" not in sent  # summaries stay on the server


def test_url_query_params_restore_the_filters(app):
    at = app("pages/by_port.py", ports=["El Paso, TX"], groups=["Family"])
    assert at.multiselect(key="ports").value == ["2402"]
    assert at.multiselect(key="groups").value == ["family"]
    assert metric(at, "Ports") == "1"


def test_reset_clears_every_filter(app):
    at = app(states=["TX"], types=["threatened"])
    assert metric(at, "Incidents") != "57"
    at.button[0].click()
    rerun(at)
    assert metric(at, "Incidents") == "57"


def test_incident_search_narrows_the_table_and_the_count(app):
    at = app("pages/incidents.py")
    at.text_input(key="q").input("metering")
    rerun(at)
    assert not at.exception
    table = at.dataframe[0].value
    assert 0 < len(table) < 57
    assert all("meter" in (s + src).lower() for s, src in zip(table["summary"], table["source"]))


def test_hostile_search_text_is_just_text(app):
    at = app("pages/incidents.py")
    at.text_input(key="q").input("' OR 1=1 --")
    rerun(at)
    assert not at.exception
    assert len(at.dataframe[0].value) == 0
