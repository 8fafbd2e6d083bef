"""The floor for Garita's shared chrome (bench/pages.py): the same Streamlit elements the
dashboard draws around every page — language switch, navigation, seven filters bound to the
URL, title, six headline numbers, captions, footer — with values computed once and kept, so
a rerun costs only what Streamlit takes to draw them. No data work happens on a rerun.
"""

import os
from pathlib import Path

import streamlit as st

from garita import db, queries

HERE = Path(__file__).resolve().parent


@st.cache_resource
def options(path: str) -> dict:
    con = db.connect_reader(Path(path))
    return queries.filter_options(con)


data = options(str(db.published_file(db.db_path())))
st.sidebar.radio("Language", ["en", "es"], key="lang", horizontal=True,
                 label_visibility="collapsed")
page = st.navigation([st.Page(str(HERE / "empty.py"), title=title, url_path=slug,
                              default=(slug == "map"))
                      for slug, title in (("map", "Map"), ("over_time", "Over time"),
                                          ("by_port", "By port"), ("incidents", "Incidents"),
                                          ("sources", "Data & sources"),
                                          ("present", "Present"))])
months = data["months"]
ports = data["ports"]
names = dict(zip(ports["port_code"], ports["port_name"] + ", " + ports["state"]))
with st.sidebar:
    st.header("Filters")
    st.select_slider("Months", options=months, value=(months[0], months[-1]), key="months",
                     bind="query-params")
    st.multiselect("States", ["CA", "AZ", "NM", "TX"], key="states", bind="query-params")
    st.multiselect("CBP field offices", sorted(ports["field_office"].dropna().unique()),
                   key="offices", bind="query-params")
    st.multiselect("Ports of entry", list(names), format_func=names.get, key="ports",
                   bind="query-params")
    st.multiselect("Incident types", list(data["types"]["code"]), key="types",
                   bind="query-params")
    st.multiselect("Nationality", data["nationalities"], key="nat", bind="query-params")
    st.multiselect("Group", ["individual", "family", "group", "unaccompanied_minor"],
                   key="groups", bind="query-params")
    st.button("Reset filters", width="stretch")
st.title(page.title)
columns = st.columns(6)
for column, label in zip(columns, ("Incidents", "People", "Ports", "Months covered",
                                   "No port", "Year only")):
    column.metric(label, "1,234", help="help")
st.caption("All months · documented in public reporting and staff records — not a rate")
page.run()
with st.expander("Cite this view"):
    st.code("Garita, documented incidents, all months. Data version 1.", language=None,
            wrap_lines=True)
    st.caption("The address opens these numbers as of data version 1.")
with st.expander("Embed this view"):
    st.code('<iframe src="http://localhost/?embed=true" width="100%"></iframe>',
            language=None, wrap_lines=True)
st.divider()
st.caption(f"Data version 1, last batch 1 loaded. Sources: see Data & sources. "
           f"({os.environ.get('BASELINE_PAGE', 'map')})")
