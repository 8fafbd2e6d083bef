"""Upload (staff): preview every row, fix problems in place, load, and get a receipt."""

import hashlib

import pandas as pd
import streamlit as st

from etl import load as loader
from etl.cli import rejected_csv
from etl.columns import SYNONYMS
from etl.read import FileRefused, read_table
from etl.templates import template_csv
from garita import db, queries, ui
from garita.i18n import t

ui.staff_page()
MAX_MB = int(st.get_option("server.maxUploadSize"))
DROP = t("(not used)")

left, right = st.columns(2)
left.download_button(t("Template, English headers"), template_csv("en"),
                     file_name="garita-template-en.csv", mime="text/csv")
right.download_button(t("Plantilla, encabezados en español"), template_csv("es"),
                      file_name="garita-plantilla-es.csv", mime="text/csv")

receipt = st.session_state.get("_receipt")
if receipt:
    st.success(ui.plain(receipt["message"]))
    if receipt["rejected_csv"]:
        st.download_button(t("Download the {n} rejected rows with their reasons",
                             n=receipt["rejected"]), receipt["rejected_csv"],
                           file_name=f"garita-batch-{receipt['batch_id']}-rejected.csv",
                           mime="text/csv")

uploaded = st.file_uploader(t("Spreadsheet saved as CSV (UTF-8, UTF-16 or Windows-1252; "
                              "comma, semicolon or tab)"), type=["csv", "txt", "tsv"],
                            key=f"upload_file_{st.session_state.get('_uploads', 0)}")
if uploaded is None:
    st.stop()
data = uploaded.getvalue()
if len(data) > MAX_MB * 1024 * 1024:
    st.error(t("This file is {size:,.1f} MB; the limit is {limit} MB. Split it into smaller "
               "files.", size=len(data) / 1024 / 1024, limit=MAX_MB))
    st.stop()
key = hashlib.sha256(data).hexdigest()[:16]
edits = st.session_state.setdefault(f"_edits_{key}", {})
overrides = st.session_state.setdefault(f"_map_{key}", {})

a, b = st.columns(2)
source = a.text_input(t("Source of these rows (used where a row has none)"), key=f"src_{key}")
order = b.selectbox(t("Dates like 03/04/2017 are"), ["auto", "dmy", "mdy"], key=f"ord_{key}",
                    format_func=lambda o: {"auto": t("decided from the file"),
                                           "dmy": t("day/month (Mexico)"),
                                           "mdy": t("month/day (US)")}[o])
date_order = None if order == "auto" else order

try:
    table = read_table(data)
except FileRefused as exc:
    st.error(ui.plain(f"{exc} {t('Nothing was loaded.')}"))
    st.stop()
current = table.to_csv(edits) if edits else data
report, checked = loader.preview(current, uploaded.name, date_order=date_order,
                                 column_overrides=overrides)
if checked is None:
    st.error(ui.plain(report.message))
    st.stop()

st.caption(ui.md("Read as {enc}, {delim}-separated; dates: {order}.", enc=report.encoding,
                 delim=report.delimiter, order=report.date_order or t("no day/month question")))
with st.expander(t("Columns: how the file's headers are read"), expanded=bool(
        report.unknown_columns)):
    mapped = {header: field for field, header in report.column_mapping.items()}
    mapping = pd.DataFrame({"column": checked.table.header,
                            "field": [mapped.get(h, DROP) for h in checked.table.header]})
    edited_map = st.data_editor(
        mapping, hide_index=True, disabled=["column"], key=f"mapping_{key}",
        column_config={"column": t("Column in the file"),
                       "field": st.column_config.SelectboxColumn(
                           t("Read as"), options=[DROP, *SYNONYMS], required=True)})
    wanted = {row.column: ("" if row.field == DROP else row.field)
              for row in edited_map.itertuples()
              if (row.field == DROP and row.column in mapped)
              or (row.field != DROP and mapped.get(row.column) != row.field)}
    if wanted and wanted != {k: v for k, v in overrides.items() if k in wanted}:
        overrides.update(wanted)
        st.rerun()
    if report.unknown_columns:
        st.caption(ui.md("Not used, and not stored: {cols}.",
                         cols=", ".join(report.unknown_columns)))

if report.personal_columns:
    st.warning(ui.md("Columns that look like personal data are not stored: {cols}.",
                     cols=", ".join(report.personal_columns)))
cols = st.columns(5)
cols[0].metric(t("Rows"), report.total)
cols[1].metric(t("Will load"), report.loaded)
cols[2].metric(t("Already loaded"), report.duplicate)
cols[3].metric(t("Blank"), report.skipped)
cols[4].metric(t("With problems"), report.rejected)

if report.problems:
    st.subheader(t("Problems"))
    st.dataframe(pd.DataFrame([p.as_dict() for p in report.problems],
                              columns=["row", "column", "value", "message", "suggestion"]
                              ).fillna(""),
                 hide_index=True,
                 width="stretch",
                 column_config={"row": t("Row"), "column": t("Column"), "value": t("Value"),
                                "message": st.column_config.TextColumn(t("What is wrong"),
                                                                       width="large"),
                                "suggestion": t("Suggestion")})
    st.subheader(t("Fix the rows here"))
    header = checked.table.header
    bad = sorted({p.row for p in report.problems})
    frame = pd.DataFrame([(checked.table.row(r - 2) + [""] * len(header))[:len(header)]
                          for r in bad], columns=header, index=bad)
    with st.container(key="fix_rows"):
        fixed = st.data_editor(frame, key=f"fix_{key}_{len(edits)}", width="stretch")
    ragged = [r for r in bad if (r - 2) in checked.table.ragged]
    if ragged:
        st.caption(t("Rows {rows} have more or fewer cells than the header; here they are cut "
                     "or padded to the header's columns. Edit them only if that is right.",
                     rows=", ".join(map(str, ragged))))
    if st.button(t("Check my changes")):
        before = frame.fillna("").values.tolist()
        for row_number, old, new in zip(bad, before, fixed.fillna("").values.tolist()):
            if [str(c) for c in new] != [str(c) for c in old]:  # untouched rows stay as read
                edits[row_number - 2] = [str(c) for c in new]
        st.rerun()
    st.caption(t("Rows still with problems can be loaded later: they are kept with their "
                 "reasons and can be downloaded after the load."))

if report.loaded == 0 and report.rejected == 0:
    st.info(ui.plain(report.message))
    st.stop()
if st.button(t("Load {n} rows", n=report.loaded), type="primary"):
    who = ui.require_staff()
    try:
        result = loader.load_bytes(current, uploaded.name, source=source or None,
                                   date_order=date_order, loaded_by=who,
                                   column_overrides=overrides or None, wait_seconds=30)
    except db.DatabaseProblem as exc:  # busy, damaged, read-only or missing: says what to do
        st.warning(ui.plain(exc))
        st.stop()
    rejected = b""
    if result.batch_id and result.rejected:
        con = ui.staff_reader()
        try:
            rejected = rejected_csv(queries.rejected_rows(con, result.batch_id))
        finally:
            con.close()
    st.session_state["_receipt"] = {"message": result.message, "batch_id": result.batch_id,
                                    "rejected": result.rejected, "rejected_csv": rejected}
    st.session_state.pop(f"_edits_{key}", None)
    st.session_state["_uploads"] = st.session_state.get("_uploads", 0) + 1  # a fresh uploader
    st.rerun()
