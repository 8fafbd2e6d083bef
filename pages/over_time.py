"""Over time: incidents (or people) per month with policy dates, and per year."""

import streamlit as st

from garita import charts, queries, ui, words
from garita.i18n import t

filters = ui.filters()
controls = ui.controls_place(st).columns(3)
measure = controls[0].segmented_control(
    t("Count"), ["incidents", "people"], default="incidents", key="measure",
    format_func=words.label_for("measure"), bind="query-params") or "incidents"
stack = controls[1].segmented_control(
    t("Stack by"), ["type", "port"], default="type", key="stack",
    format_func=words.label_for("stack"),
    bind="query-params") or "type"
events = controls[2].segmented_control(
    t("Policy dates"), ["key", "all", "none"], default="key", key="events",
    format_func=words.label_for("events"),
    bind="query-params") or "key"

monthly = ui.ask(queries.monthly, filters, stack, measure)
st.plotly_chart(charts.monthly_chart(monthly, stack=stack, measure=measure,
                                     start=filters.start, end=filters.end, events=events),
                width="stretch")
ui.embed_end(filters)  # an embed shows the monthly chart alone
if ui.traffic_switch(st):
    st.plotly_chart(charts.traffic_chart(ui.ask(queries.traffic_monthly, filters),
                                         *ui.ask(queries.traffic_range, filters)), width="stretch")
    st.caption(t("For the ports chosen in the filters (all ports when none). Months where BTS "
                 "lacks a measure are gaps, not zeros."))
numbers = ui.ask(queries.headline, filters)
notes = []
if stack == "type":
    notes.append(t("An incident with several types counts once under each, so a bar can be "
                   "taller than the number of incidents that month."))
if numbers["year_only"] or numbers["no_date"]:
    notes.append(t("Not in the monthly bars: {y} incidents known only to the year (in the "
                   "yearly chart below) and {u} with no date.", y=numbers["year_only"],
                   u=numbers["no_date"]))
for note in notes:
    st.caption(note)

st.plotly_chart(charts.yearly_chart(ui.ask(queries.yearly, filters, measure), measure),
                width="stretch")
# Filled when opened (one rerun): the hidden table would load the data grid's code.
policy = st.expander(t("Policy dates and their sources"), key="policy_open", on_change="rerun")
if policy.open:
    policy.dataframe(
        [{"date": e["date"], "until": e["end_date"], "event": charts.event_label(e),
          "kind": words.policy_kind(e["kind"]), "source": e["source"],
          "link": e["source_url"]} for e in charts.policy_events()],
        hide_index=True, width="stretch",
        column_config={"date": t("Date"), "until": t("Until"), "event": t("Event"),
                       "kind": t("Kind"), "source": t("Source"),
                       "link": st.column_config.LinkColumn(t("Link"))})
