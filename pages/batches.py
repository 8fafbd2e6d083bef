"""Batches (staff): the ledger with what staff chose for each batch, the rows of a batch,
rollback with confirmation, the audit log. Talks to garita.staff."""

import streamlit as st

from garita import staff, ui, words
from garita.i18n import t

ui.staff_page()
con = ui.staff_reader()
try:
    ledger = staff.ledger(con)
    audit = staff.audit_log(con)
finally:
    con.close()


def _audit_log() -> None:
    st.subheader(t("Audit log"))
    st.caption(t("Sign-ins, failed sign-ins (the user name as typed, never the password), "
                 "lockouts, loads, rollbacks and downloads of rejected rows."))
    st.dataframe(audit.assign(action=audit["action"].map(words.audit_action)),
                 hide_index=True, width="stretch",
                 column_config=words.column_labels(words.AUDIT_COLUMNS))


shown = [c for c in ledger.columns if c not in ("mapping", "batch_values", "replacements",
                                                "header_signature")]
st.dataframe(ledger[shown].assign(status=ledger["status"].map(words.batch_status),
                                  delimiter=ledger["delimiter"].map(words.delimiter_name),
                                  date_order=ledger["date_order"].map(words.date_order_name)),
             hide_index=True, width="stretch",
             column_config={**words.column_labels(words.LEDGER_COLUMNS),
                            "loaded_at": st.column_config.DatetimeColumn(
                 t("Loaded on"), format="YYYY-MM-DD HH:mm"),
                 "sha256": st.column_config.TextColumn("sha256", width="small"),
                 "choices": st.column_config.TextColumn(t("Chosen on upload"), width="large")})
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
                 blank=row["rows_skipped"], rej=row["rows_rejected"],
                 status=words.batch_status(row["status"])))
con = ui.staff_reader()
try:
    chosen = staff.batch_choices(con, int(batch_id))
    rows = staff.batch_rows(con, int(batch_id))
    rejected = staff.rejected_rows_csv(con, int(batch_id)) if row["rows_rejected"] else b""
finally:
    con.close()
st.caption(ui.md("Read as {enc}, {delim}-separated.", enc=row["encoding"] or "—",
                 delim=words.delimiter_name(row["delimiter"])))
if chosen:
    st.markdown(t("**Chosen on upload**"))
    for line in chosen:
        st.markdown("- " + ui.plain(line))
st.dataframe(rows, hide_index=True, width="stretch",
             column_config={**words.column_labels(words.BATCH_ROW_COLUMNS),
                            "source_url": st.column_config.LinkColumn(t("Link"))})


def _rejected_download() -> bytes:
    who = ui.require_staff()
    staff.record_download(who, int(batch_id))
    return rejected


if rejected:
    st.download_button(t("Download the {n} rejected rows", n=int(row["rows_rejected"])),
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
                    st.session_state["_rolled"] = staff.rollback(int(batch_id), who)
                except staff.CANNOT_DO as exc:
                    st.warning(ui.plain(exc))
                else:
                    st.rerun()
if st.session_state.get("_rolled"):
    st.success(ui.plain(st.session_state.pop("_rolled")))

_audit_log()
