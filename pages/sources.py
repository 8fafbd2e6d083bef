"""Data & sources: what the data is, where it came from, what it cannot say, and the batches."""

import streamlit as st

from garita import newsroom, queries, reference, ui, words
from garita.i18n import t
from garita.matches import note as matches_note

filters = ui.filters()
st.markdown(t(
    "Garita shows incidents at US–Mexico ports of entry — asylum seekers turned away, told "
    "there is no asylum, pressured to withdraw — described individually in public "
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
st.caption(matches_note(numbers["linked"], ui.ask(queries.open_matches)) or t(
    "No incident has more than one source, and no possible match waits for review."))
st.caption(t("Staff review possible matches — the same incident reported by two sources; "
             "an incident decided to be one is counted once, with all its sources."))
cited, n_sources = ui.ask(queries.sources, filters)
if n_sources > len(cited):
    st.caption(t("The {shown} most cited of {n} sources; the Incidents page downloads every "
                 "incident with its source.", shown=len(cited), n=f"{n_sources:,}"))
st.dataframe(cited, hide_index=True, width="stretch",
             column_config={"source": st.column_config.TextColumn(t("Source"), width="large"),
                            "source_url": st.column_config.LinkColumn(t("Link")),
                            "incidents": t("Incidents")})

st.subheader(t("Download the dataset"))
version = ui.queries_version(ui.reading_path())
st.markdown(t("Every published incident (public fields only), the ports, the vocabulary of "
              "incident types, the policy dates and incidents per port, as a Frictionless "
              "Data Package: `datapackage.json` describes every field, with CSV, Parquet and "
              "GeoJSON files. Data version {v}; the same as `python -m etl package --out DIR`.",
              v=version))
st.download_button(t("Download the dataset (data version {v}, zip)", v=version),
                   ui.package_zip, file_name=newsroom.package_name(version),
                   mime="application/zip", key="dataset")

st.subheader(t("Batches loaded"))
batches = ui.ask(queries.batches)
st.dataframe(batches.assign(status=batches["status"].map(words.batch_status)),
             hide_index=True, width="stretch",
             column_config={"batch_id": t("Batch"),
                            "loaded_at": st.column_config.DatetimeColumn(
                                t("Loaded on"), format="YYYY-MM-DD HH:mm"),
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
