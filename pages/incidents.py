"""Incidents: the filtered incidents as a table to read and cite, searchable, downloadable."""

import math

import streamlit as st

from garita import exports, queries, ui
from garita.i18n import t, tn

PAGE_SIZE = 50


def table_view() -> None:
    """The filtered incidents, searchable, 50 a page, with downloads."""
    filters = ui.filters()
    search = st.text_input(t("Search summaries and sources"), key="q", bind="query-params",
                           placeholder=t("e.g. metering, bridge, Reynosa"))
    filters = filters.with_search(search)
    # Without a search the headline above already counted them.
    total = ui.ask(queries.count_incidents, filters) if search \
        else ui.ask(queries.headline, filters)["incidents"]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    st.caption(tn("{n} incident matches.", "{n} incidents match.", total) + " " +
               t("Dates are as precise as known (2018, 2018-06 or 2018-06-12)."))
    page = st.pagination(pages, key="page") if pages > 1 else 1
    rows = ui.ask(queries.export_rows, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    ui.incident_table(rows, height=min(38 + 35 * max(len(rows), 1), 1200))


    def _csv():
        return exports.to_csv(ui.ask(queries.export_rows, filters))


    def _geojson():
        return exports.to_geojson(ui.ask(queries.export_rows, filters))[0]


    left, right = st.columns(2)
    left.download_button(tn("Download CSV ({n} incident)", "Download CSV ({n} incidents)", total),
                         _csv, file_name=exports.download_name(filters, "", "csv"),
                         mime="text/csv", width="stretch")
    right.download_button(t("Download GeoJSON (incidents with a port)"), _geojson,
                          file_name=exports.download_name(filters, "", "geojson"),
                          mime="application/geo+json", width="stretch")
    st.caption(t("The downloads hold exactly the incidents filtered here, in the layout of "
                 "`python -m etl export`; text a spreadsheet would run as a formula starts "
                 "with an apostrophe."))


linked = st.query_params.get("id")
if linked:  # one incident's permanent address: /incidents?id=CBP-INC-011
    ui.incident_permalink(linked)
else:
    table_view()
