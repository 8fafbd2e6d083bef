"""By port: ranking, port × month heatmap, states and field offices, and one port in detail."""

import streamlit as st

from garita import charts, queries, ui, words
from garita.i18n import t

filters = ui.filters()
measure = ui.controls_place(st).segmented_control(
    t("Count"), ["incidents", "people"], default="incidents", key="measure",
    format_func=words.label_for("measure"), bind="query-params") or "incidents"
with_traffic = ui.traffic_switch(ui.controls_place(st))
per_port = ui.ask(queries.by_port, filters, measure)

left, right = st.columns(2)
(st if ui.embedded() else left).plotly_chart(charts.ranked_ports_chart(per_port, measure),
                                             width="stretch")
ui.embed_end(filters)  # an embed shows the ranking alone
with right:
    group = st.segmented_control(
        t("Group by"), ["state", "field_office"], default="state", key="group",
        format_func=words.label_for("group"),
        bind="query-params") or "state"
    grouped = ui.ask(queries.by_group, filters, group)
    st.plotly_chart(charts.group_chart(grouped, group, measure), width="stretch")
    st.dataframe(grouped.assign(name=grouped["name"].map(words.value_label)),
                 hide_index=True, width="stretch",
                 column_config={"name": t("Name"), "incidents": t("Incidents"),
                                "people": t("People"), "ports": t("Ports")})
if with_traffic:
    st.subheader(t("Incidents beside border traffic"))
    ui.traffic_table(ui.ask(queries.by_port_with_traffic, filters, measure))
st.plotly_chart(charts.heatmap_chart(ui.ask(queries.port_month, filters), filters.start,
                                     filters.end), width="stretch")

st.header(t("One port in detail"))
names = dict(zip(per_port["port_code"], per_port["port_name"] + ", " + per_port["state"]))
code = st.selectbox(t("Port"), list(names), format_func=lambda c: names.get(c, c),
                    index=None, placeholder=t("Choose a port with incidents"), key="port",
                    bind="query-params")
if code:
    one = filters.only_port(code)
    a, b = st.columns(2)
    a.plotly_chart(charts.breakdown_chart(ui.ask(queries.breakdown, one, "type"), "type"),
                   width="stretch")
    b.plotly_chart(charts.breakdown_chart(ui.ask(queries.breakdown, one, "nationality"),
                                          "nationality"), width="stretch")
    st.plotly_chart(charts.monthly_chart(ui.ask(queries.monthly, one, "type", measure), stack="type",
                                         measure=measure, events="key",
                                         title=t("{port}: {m} per month", port=names[code],
                                                 m=words.measure_label(measure))),
                    width="stretch")
    ui.incident_table(ui.ask(queries.export_rows, one))
