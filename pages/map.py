"""Map: incidents per port of entry on the border line, with the incidents of a clicked port."""

import streamlit as st

from garita import charts, maps, queries, ui
from garita.i18n import t

filters = ui.filters()
left, right = st.columns([3, 1])
with right:
    measure = st.segmented_control(t("Size by"), ["incidents", "people"], default="incidents",
                                   format_func=lambda m: t(m.capitalize()), key="measure",
                                   bind="query-params") or "incidents"
    colour = st.segmented_control(t("Colour by"), ["count", "type"], default="count",
                                  format_func=lambda c: t("Count") if c == "count"
                                  else t("Most frequent type"), key="colour",
                                  bind="query-params") or "count"
    with_traffic = ui.traffic_switch(st)
per_port = ui.ask(queries.by_port_with_traffic if with_traffic else queries.by_port, filters,
                  measure)
unmapped = ui.ask(queries.unmapped_count, filters)
with left:
    deck = maps.incident_deck(per_port, colour_by=colour, measure=measure,
                              traffic=with_traffic)
    event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object",
                            key="map", height=560,
                            alt=t("Map of the US–Mexico border with {n} ports of entry that "
                                  "have documented incidents.", n=len(per_port)))
    if unmapped:
        st.info(t("{n} incidents have no port of entry; they are in every count and chart, "
                  "but not on the map.", n=unmapped))
with right:
    if per_port.empty:
        st.write(t("No incidents match these filters."))
    elif colour == "type":
        st.plotly_chart(charts.type_legend(per_port), width="stretch",
                        config={"displayModeBar": False})
    else:
        st.caption(ui.md("Circle area grows with the number of {m}; darker means more. "
                         "Largest: {name} ({n}).", m=t(measure),
                         name=per_port.iloc[0]["port_name"], n=int(per_port.iloc[0]["value"])))
        st.caption(t("White dots: ports with none matching the filters."))

selected = (event.selection.objects.get("incidents") or [None])[0] if event else None
if selected:
    st.subheader(ui.md("Incidents at {port}", port=selected["port_name"]))
    ui.incident_table(ui.ask(queries.export_rows, filters.only_port(selected["port_code"])))
else:
    st.subheader(t("Ports with incidents"))
    st.caption(t("Click a port on the map to list its incidents here."))
    if with_traffic:
        ui.traffic_table(per_port)
    else:
        ui.port_table(per_port)
