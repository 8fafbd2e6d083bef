"""Possible matches (staff): pairs that may be one incident, side by side, to decide."""

import streamlit as st

from garita import db, matches, ui, words
from garita.i18n import t, tn
from garita.maps import type_label
from garita.reference import ports

SHOWN = 30  # pairs drawn at once; the rest follow as these are decided

ui.staff_page()
con = ui.staff_reader()
try:
    found = matches.candidates(con, limit=SHOWN)
    waiting = matches.open_count(con)
    taken = matches.decisions(con, limit=50)
finally:
    con.close()


def _decide(ids: tuple[str, str], decision: str) -> None:
    """A button's action: staff checked again on the server, then written and audited."""
    try:
        who = ui.require_staff()
        matches.decide(db.db_path(), ids[0], ids[1], decision, who)
        st.session_state["_matched"] = ("success", t(
            "Incidents {a} and {b} are one incident now, with both sources." if decision
            == "same" else "Incidents {a} and {b} are kept as different incidents.",
            a=ids[0], b=ids[1]))
    except (PermissionError, LookupError, ValueError, db.DatabaseProblem) as exc:
        st.session_state["_matched"] = ("warning", str(exc))


PORT_NAMES = {p["port_code"]: f"{p['port_name']}, {p['state']}" for p in ports()}


def _side(record: dict) -> None:
    """One incident of a pair: every field a reviewer compares, escaped."""
    port = PORT_NAMES.get(record["port_code"]) if record["port_code"] else None
    people = record["people_count"]
    st.markdown("  \n".join([
        ui.md("**Incident** {v}", v=record["incident_id"]),
        ui.md("**Date as known:** {v}", v=record["date"] or t("no date")),
        ui.md("**Port:** {v}", v=port or t("no port ({state})", state=record["state"] or "—")),
        ui.md("**People:** {v}", v="—" if people is None else people),
        ui.md("**Nationality:** {v}", v=record["nationality"] or "—"),
        ui.md("**Group:** {v}", v=t(words.GROUP_LABELS.get(record["group_type"],
                                                       record["group_type"] or "—"))),
        ui.md("**Types:** {v}", v=", ".join(type_label(c) for c in record["incident_types"])),
        ui.md("**Source:** {v}", v=record["source"] or "—"),
        ui.md("**Link:** {v}", v=record["source_url"] or "—"),
        ui.md("**Batch:** {v}", v=record["batch_id"])]))
    if record["summary"]:
        st.caption(ui.plain(record["summary"]))


def _reason(text: str, values: dict) -> str:
    """One reason in the reader's language, incident types by their labels."""
    if "types" in values:
        values = {**values, "types": ", ".join(type_label(c) for c in values["types"].split(", "))}
    return t(text, **values)


shown = st.session_state.pop("_matched", None)
if shown:
    (st.success if shown[0] == "success" else st.warning)(ui.plain(shown[1]))
st.caption(t("Pairs of incidents from different batches or sources that may be the same "
             "incident: the same port (or the same state, both without a port), dates close "
             "and compatible with how precisely they are known, then points for people, "
             "nationality, group, types and the words the summaries share (English and "
             "Spanish). A decision is kept with who and when, and the pair is not asked "
             "again. \"Same incident\" counts it once everywhere, with every source; nothing "
             "is deleted."))
if not found:
    st.info(t("No possible match waits for review."))
else:
    st.subheader(tn("{n} possible match not yet reviewed",
                    "{n} possible matches not yet reviewed", waiting))
    if waiting > len(found):
        st.caption(t("The {shown} with the highest scores first.", shown=len(found)))
for candidate in found:
    key = "|".join(candidate.ids)
    with st.container(border=True):
        st.markdown(ui.md("**Score {score}**: {why}", score=candidate.score,
                          why=", ".join(_reason(text, values) for text, values in candidate.parts)))
        left, right = st.columns(2)
        with left:
            _side(candidate.a)
        with right:
            _side(candidate.b)
        same, different = st.columns(2)
        same.button(t("Same incident"), key=f"same-{key}", on_click=_decide,
                    args=(candidate.ids, "same"), width="stretch")
        different.button(t("Different incidents"), key=f"different-{key}", on_click=_decide,
                         args=(candidate.ids, "different"), width="stretch")

if taken:
    st.subheader(t("Decided"))
    st.dataframe(taken, hide_index=True, width="stretch",
                 column_config={"decision": t("Decision"), "decided_by": t("By"),
                                "decided_at": st.column_config.DatetimeColumn(
                                    t("When"), format="YYYY-MM-DD HH:mm"),
                                "a": t("Incident"), "b": t("Incident")})
