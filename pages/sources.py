"""Data & sources: what the data is, where it came from, what it cannot say, and the batches."""

import streamlit as st

from garita import queries, reference, ui
from garita.i18n import t

filters = ui.filters()
st.markdown(t(
    "Garita shows incidents at US–Mexico ports of entry described individually in public "
    "reporting — news articles, NGO posts and oversight reports — and in records clinic "
    "staff load as batches. Each incident keeps its source and the batch that loaded it."))
st.warning(t(
    "**Documented, not a rate.** These are the incidents someone documented and published; "
    "most are never reported, and coverage is uneven across ports and years (the default "
    "set leans to 2018 and to El Paso and Hidalgo). A higher count means more documentation, "
    "not necessarily more harm. This is not Human Rights First's set of 125 cases "
    "(Nov 2016–Apr 2017), which publishes no case-level table."))

numbers = ui.ask(queries.headline, filters)
st.subheader(t("What is missing in the filtered incidents"))
cols = st.columns(4)
cols[0].metric(t("No port of entry"), numbers["no_port"])
cols[1].metric(t("Dated only to the year"), numbers["year_only"])
cols[2].metric(t("No date"), numbers["no_date"])
cols[3].metric(t("No people count"), numbers["people_unknown"])

st.subheader(t("Sources of the filtered incidents"))
cited, n_sources = ui.ask(queries.sources, filters)
if n_sources > len(cited):
    st.caption(t("The {shown} most cited of {n} sources; the Incidents page downloads every "
                 "incident with its source.", shown=len(cited), n=f"{n_sources:,}"))
st.dataframe(cited, hide_index=True, width="stretch",
             column_config={"source": st.column_config.TextColumn(t("Source"), width="large"),
                            "source_url": st.column_config.LinkColumn(t("Link")),
                            "incidents": t("Incidents")})

st.subheader(t("Batches loaded"))
st.dataframe(ui.ask(queries.batches), hide_index=True, width="stretch",
             column_config={"batch_id": t("Batch"),
                            "loaded_at": st.column_config.DatetimeColumn(
                                t("Loaded"), format="YYYY-MM-DD HH:mm"),
                            "source": t("Source"), "rows_total": t("Rows"),
                            "rows_loaded": t("Loaded"), "rows_duplicate": t("Duplicates"),
                            "rows_skipped": t("Blank"), "rows_rejected": t("Rejected"),
                            "status": t("Status")})
st.caption(t("Ports of entry: CBP port codes with coordinates from the BTS Border Crossing "
             "Entry Data (two corrected); border line: US Census cb_2016 state boundaries. "
             "Policy dates: see Over time. Full credits below."))
with st.expander(t("About the data: every file Garita ships, its source and its caveats")):
    st.markdown(reference.data_readme())  # the project's own text, not data from a file
if not ui.staff_config().enabled:
    st.caption(t("Staff sign-in is off in this deployment."))
