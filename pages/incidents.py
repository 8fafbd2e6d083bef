"""Incidents: the filtered incidents as a table to read and cite, searchable, downloadable."""

import math

import streamlit as st

from garita import exports, ui
from garita.i18n import t

PAGE_SIZE = 50
filters = ui.filters()
search = st.text_input(t("Search summaries and sources"), key="q", bind="query-params",
                       placeholder=t("e.g. metering, bridge, Reynosa"))
filters = filters.with_search(search)
total = ui.ask("count_incidents", filters)
pages = max(1, math.ceil(total / PAGE_SIZE))
st.caption(t("{n} incidents match. Dates are as precise as known (2018, 2018-06 or "
             "2018-06-12).", n=f"{total:,}"))
page = st.pagination(pages, key="page") if pages > 1 else 1
rows = ui.ask("export_rows", filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
ui.incident_table(rows, height=min(38 + 35 * max(len(rows), 1), 1200))


def _csv():
    return exports.to_csv(ui.ask("export_rows", filters))


def _geojson():
    return exports.to_geojson(ui.ask("export_rows", filters))[0]


left, right = st.columns(2)
left.download_button(t("Download CSV ({n} incidents)", n=f"{total:,}"), _csv,
                     file_name="garita-incidents.csv", mime="text/csv",
                     width="stretch")
right.download_button(t("Download GeoJSON (incidents with a port)"), _geojson,
                      file_name="garita-incidents.geojson", mime="application/geo+json",
                      width="stretch")
st.caption(t("The downloads hold exactly the incidents filtered here, in the layout of "
             "`python -m etl export`; text a spreadsheet would run as a formula starts "
             "with an apostrophe."))
