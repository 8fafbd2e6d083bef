"""Upload (staff): how each header is read, values for every row, places to choose, problems
fixed in place or for every row at once, then load and a receipt. Talks to garita.staff."""

import hashlib

import pandas as pd
import streamlit as st

from garita import staff, ui, words
from garita.i18n import number, t, tn

ui.staff_page()
MAX_MB = int(st.get_option("server.maxUploadSize"))

left, right = st.columns(2)
left.download_button(t("Template, English headers"), staff.template("en"),
                     file_name="garita-template-en.csv", mime="text/csv")
right.download_button(t("Plantilla, encabezados en español"), staff.template("es"),
                      file_name="garita-plantilla-es.csv", mime="text/csv")

receipt = st.session_state.get("_receipt")
if receipt:
    st.success(ui.plain(receipt["message"]))
    for line in receipt["choices"]:
        st.caption(ui.plain(line))
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

try:
    table = staff.read_file(data)
except staff.FileRefused as exc:
    st.error(ui.plain(staff.refusal(exc)))
    st.stop()

state = st.session_state.get(f"_choices_{key}")
if state is None:  # a new file: offer the mapping used last time for the same headers
    con = ui.staff_reader()
    try:
        mapping, remembered = staff.remembered_mapping(con, table)
    finally:
        con.close()
    state = {"mapping": mapping, "values": {}, "replacements": [], "edits": {},
             "remembered": remembered}
    st.session_state[f"_choices_{key}"] = state


def _key(*parts) -> str:
    return f"{key}_" + hashlib.md5("\x1f".join(map(str, parts)).encode()).hexdigest()[:10]


def set_mapping(header: str, widget: str, automatic: str | None) -> None:
    chosen = st.session_state[widget] or ""
    if chosen == (automatic or ""):
        state["mapping"].pop(header, None)
    else:
        state["mapping"][header] = chosen


def set_value(field_key: str, value_key: str) -> None:
    value = (st.session_state.get(value_key) or "").strip()
    if value:
        state["values"][st.session_state[field_key]] = value
        st.session_state[value_key] = ""


def replace(replacement) -> None:
    state["replacements"] = [r for r in state["replacements"]
                             if (r.field, r.value) != (replacement.field, replacement.value)]
    state["replacements"].append(replacement)


order = st.selectbox(t("Dates like 03/04/2017 are"), ["auto", "dmy", "mdy"], key=f"ord_{key}",
                     format_func=lambda o: {"auto": t("decided from the file"),
                                            "dmy": t("day/month (Mexico)"),
                                            "mdy": t("month/day (US)")}[o])
date_order = None if order == "auto" else order
choices = staff.Choices(mapping=dict(state["mapping"]), values=dict(state["values"]),
                        replacements=tuple(state["replacements"]), edits=dict(state["edits"]))
preview = staff.preview(data, uploaded.name, choices, date_order=date_order)
report = preview.report

# --- How each column is read: always shown, editable ---------------------------------------
st.subheader(t("How each column is read"))
if report.encoding:
    st.caption(ui.md("Read as {enc}, {delim}-separated; dates: {order}.", enc=report.encoding,
                     delim=words.delimiter_name(report.delimiter),
                     order=words.date_order_name(report.date_order)
                     or t("no day/month question")))
if state["remembered"]:
    st.info(t("Read as for batch {b}, the last file with the same headers. Change anything "
              "below.", b=state["remembered"]))
if preview.refused:
    st.error(ui.plain(staff.refusal(report)))
    if preview.mapping_can_fix:
        st.info(t("Choose below which column holds what is missing, or set a value for every "
                  "row under Values for every row."))
options = ["", *staff.readable_fields()]
automatic = staff.columns(table, {})
for index, column in enumerate(preview.columns):
    name_col, sample_col, field_col = st.columns([2, 3, 2], vertical_alignment="center")
    name_col.markdown(ui.md("**{header}**", header=column.header or t("(no name)")))
    sample_col.caption(ui.md("e.g. {samples}", samples=" · ".join(column.samples))
                       if column.samples else t("(blank in every row)"))
    widget = f"map_{key}_{index}"
    field_col.selectbox(ui.plain(column.header or t("(no name)")), options,
                        index=options.index(column.field) if column.field in options else 0,
                        key=widget,
                        format_func=staff.label, label_visibility="collapsed",
                        on_change=set_mapping,
                        args=(column.header, widget, automatic[index].field))
if report.personal_columns:
    st.warning(ui.md("Columns that look like personal data are not stored: {cols}.",
                     cols=", ".join(report.personal_columns)))

# --- Values for every row --------------------------------------------------------------------
st.subheader(t("Values for every row"))
st.caption(t("For a field the file lacks, or to fill the rows where it is blank: every row of "
             "this batch gets the value (for example incident type = turned away; state = AZ; "
             "source = Casa X log)."))
for name, value in list(state["values"].items()):
    said, undo = st.columns([5, 1], vertical_alignment="center")
    said.markdown(ui.md("{field} = **{value}**", field=staff.label(name), value=value))
    undo.button(t("Remove"), key=f"unset_{_key(name)}",
                on_click=lambda n=name: state["values"].pop(n, None))
field_col, value_col, add_col = st.columns([2, 3, 1], vertical_alignment="bottom")
field_col.selectbox(t("Field"), staff.fields_for_every_row(), key=f"set_field_{key}",
                    format_func=staff.label)
value_col.text_input(t("Value for every row"), key=f"set_value_{key}")
add_col.button(t("Set"), key=f"set_{key}", on_click=set_value,
               args=(f"set_field_{key}", f"set_value_{key}"))

if state["replacements"]:
    st.subheader(t("Values read as others in this batch"))
    counts = report.choices.get("replacements") or []
    for i, replacement in enumerate(list(state["replacements"])):
        shown = counts[i] if i < len(counts) else replacement.as_dict()
        said, undo = st.columns([5, 1], vertical_alignment="center")
        said.markdown(ui.plain(staff.describe_replacement(shown)))
        undo.button(t("Undo"), key=f"unreplace_{_key(replacement.field, replacement.value)}",
                    on_click=lambda r=replacement: state["replacements"].remove(r))

if preview.refused:
    st.stop()

cols = st.columns(5)
cols[0].metric(t("Rows"), report.total)
cols[1].metric(t("Will load"), report.loaded)
cols[2].metric(t("Already loaded"), report.duplicate)
cols[3].metric(t("Blank"), report.skipped)
cols[4].metric(t("With problems"), report.rejected)

# --- Places that name several ports: staff choose, for every row with the value -----------
places = staff.place_choices(preview)
if places:
    st.subheader(t("Places that name several ports"))
    st.caption(t("Garita does not guess. Choose the port for every row with the value, or keep "
                 "only the state."))
    for choice in places:
        keep = f"state:{choice.keep_state}"
        picks = [*choice.ports, *([keep] if choice.keep_state else [])]
        widget = f"place_{_key(choice.value)}"
        pick_col, apply_col = st.columns([4, 2], vertical_alignment="bottom")
        pick_col.selectbox(
            ui.md("'{value}' ({n} rows) is", value=choice.value, n=number(choice.rows)), picks,
            key=widget, format_func=lambda p: t("Keep only the state ({state})",
                                                state=p[6:]) if p.startswith("state:") else p)
        apply_col.button(
            t("Apply to all {n} rows", n=number(choice.rows)),
            key=f"placebtn_{_key(choice.value)}",
            on_click=lambda c=choice, w=widget: replace(staff.place_replacement(
                c, None if st.session_state[w].startswith("state:") else st.session_state[w])))

# --- Suggestions that hold for every row with the same value ---------------------------------
fixes = staff.fixes(preview)
if fixes:
    st.subheader(t("Suggestions for every row with the same value"))
    for fix in fixes:
        st.button(ui.md("{column}: read '{value}' as '{suggestion}' in all {n} rows",
                        column=fix.header, value=fix.value, suggestion=fix.suggestion,
                        n=number(fix.rows)),
                  key=f"fix_{_key(fix.header, fix.value)}",
                  on_click=lambda f=fix: replace(staff.fix_replacement(f)))

# --- Problems, and the rows to fix by hand ----------------------------------------------------
pending: dict[int, list[str]] = {}
if report.problems:
    st.subheader(t("Problems"))
    st.dataframe(staff.problems_table(report), hide_index=True, width="stretch",
                 column_config={"row": t("Row"), "column": t("Column"), "value": t("Value"),
                                "message": st.column_config.TextColumn(t("What is wrong"),
                                                                       width="large"),
                                "suggestion": t("Suggestion")})
    st.subheader(t("Fix the rows here"))
    header = preview.table.header
    bad = sorted({p.row for p in report.problems})
    rows = [preview.table.index_of(r) for r in bad]
    frame = pd.DataFrame([(preview.table.row(i) + [""] * len(header))[:len(header)]
                          for i in rows], columns=header, index=bad)
    with st.container(key="fix_rows"):
        fixed = st.data_editor(frame, key=f"fix_{key}_{len(state['edits'])}", width="stretch")
    ragged = [r for r, i in zip(bad, rows) if i in preview.table.ragged]
    if ragged:
        st.caption(t("Rows {rows} have more or fewer cells than the header; here they are cut "
                     "or padded to the header's columns. Edit them only if that is right.",
                     rows=", ".join(map(str, ragged))))
    before = frame.fillna("").values.tolist()
    for index, old, new in zip(rows, before, fixed.fillna("").values.tolist()):
        if [str(c) for c in new] != [str(c) for c in old]:  # untouched rows stay as read
            pending[index] = [str(c) for c in new]
    if pending:
        st.caption(t("{n} rows changed here: they are checked when you press Check my changes, "
                     "and loaded as changed when you press Load.", n=number(len(pending))))
    if st.button(t("Check my changes")):
        state["edits"].update(pending)
        st.rerun()
    st.caption(t("Rows still with problems can be loaded later: they are kept with their "
                 "reasons and can be downloaded after the load."))

if report.loaded == 0 and report.rejected == 0 and not pending:
    st.info(ui.plain(staff.nothing_new(report)))
    st.stop()
label = (tn("Load {n} row", "Load {n} rows", report.loaded) if not pending
         else t("Load, with the {n} rows changed here", n=number(len(pending))))
if st.button(label, type="primary", key="load"):
    try:
        who = ui.require_staff()
    except PermissionError as exc:
        st.error(ui.plain(exc))
        st.stop()
    state["edits"].update(pending)  # an edit in the grid is never lost
    choices = staff.Choices(mapping=dict(state["mapping"]), values=dict(state["values"]),
                            replacements=tuple(state["replacements"]),
                            edits=dict(state["edits"]))
    try:
        result = staff.load(data, uploaded.name, choices, who=who, date_order=date_order)
    except staff.CANNOT_DO as exc:  # busy, damaged, read-only or missing: says what to do
        st.warning(ui.plain(exc))
        st.stop()
    rejected = b""
    if result.batch_id and result.rejected and result.status == "loaded":
        con = ui.staff_reader()
        try:
            rejected = staff.rejected_rows_csv(con, result.batch_id)
        finally:
            con.close()
    st.session_state["_receipt"] = {"message": staff.receipt(result),
                                    "batch_id": result.batch_id, "rejected": result.rejected,
                                    "rejected_csv": rejected,
                                    "choices": staff.describe_choices(result.choices)}
    st.session_state.pop(f"_choices_{key}", None)
    st.session_state["_uploads"] = st.session_state.get("_uploads", 0) + 1  # a fresh uploader
    st.rerun()
