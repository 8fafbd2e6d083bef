"""Batches (staff): the ledger, the rows of a batch, rollback with confirmation, the audit log."""

import streamlit as st

from etl import load as loader
from etl.cli import rejected_csv
from garita import db, queries, ui
from garita.i18n import t

ui.staff_page()
con = ui.staff_reader()
try:
    ledger = queries.staff_batches(con)
    audit = queries.audit_log(con)
finally:
    con.close()


def _audit_log() -> None:
    st.subheader(t("Audit log"))
    st.caption(t("Sign-ins, failed sign-ins (the user name as typed, never the password), "
                 "lockouts, loads, rollbacks and downloads of rejected rows."))
    st.dataframe(audit, hide_index=True, width="stretch")


st.dataframe(ledger, hide_index=True, width="stretch",
             column_config={"loaded_at": st.column_config.DatetimeColumn(
                 t("Loaded"), format="YYYY-MM-DD HH:mm"),
                 "sha256": st.column_config.TextColumn("sha256", width="small")})
if ledger.empty:
    _audit_log()
    st.stop()
batch_id = st.selectbox(t("Batch"), list(ledger["batch_id"]), key="batch",
                        format_func=lambda b: f"{b} · " + str(
                            ledger.loc[ledger["batch_id"] == b, "file_name"].iloc[0]))
row = ledger.loc[ledger["batch_id"] == batch_id].iloc[0]
st.caption(ui.md("{file}: {total} rows — {loaded} loaded, {dup} duplicate, {blank} blank, "
                 "{rej} rejected. Status: {status}.", file=row["file_name"],
                 total=row["rows_total"], loaded=row["rows_loaded"], dup=row["rows_duplicate"],
                 blank=row["rows_skipped"], rej=row["rows_rejected"], status=row["status"]))
con = ui.staff_reader()
try:
    rows = queries.batch_incidents(con, int(batch_id))
    rejected = queries.rejected_rows(con, int(batch_id))
finally:
    con.close()
st.dataframe(rows, hide_index=True, width="stretch",
             column_config={"source_url": st.column_config.LinkColumn(t("Link"))})


def _rejected_download() -> bytes:
    who = ui.require_staff()
    db.record(db.db_path(), who, "download_rejected", f"batch {batch_id}")
    return rejected_csv(rejected)


if rejected:
    st.download_button(t("Download the {n} rejected rows", n=len(rejected)),
                       _rejected_download, file_name=f"garita-batch-{batch_id}-rejected.csv",
                       mime="text/csv")

if row["status"] == "active":
    with st.form("rollback"):
        st.write(t("Rolling back takes this batch's incidents out of every map, chart, table "
                   "and export. The ledger keeps the batch."))
        sure = st.checkbox(t("Yes, roll back batch {b}", b=batch_id))
        if st.form_submit_button(t("Roll back")):
            if not sure:
                st.warning(t("Tick the box to confirm."))
            else:
                who = ui.require_staff()
                try:
                    st.session_state["_rolled"] = loader.rollback(int(batch_id), by=who)
                except (LookupError, db.DatabaseProblem) as exc:
                    st.warning(ui.plain(exc))
                else:
                    st.rerun()
if st.session_state.get("_rolled"):
    st.success(ui.plain(st.session_state.pop("_rolled")))

_audit_log()
