"""Map: incidents per port of entry on the border line, with the incidents of a clicked port.

The clicked port lives in the URL (``?port_detail=2504``), so a shared link reopens its list.
"""

import streamlit as st

from garita import charts, maps, queries, ui, words
from garita.i18n import t
from garita.reference import ports

PORT_NAMES = {p["port_code"]: p["port_name"] for p in ports()}


def remember_port() -> None:
    """Keep the port clicked on the map in the URL; clicking off every port forgets it."""
    code = maps.port_from_selection(st.session_state["map"].selection)
    if code:
        st.query_params["port_detail"] = code
    else:
        st.query_params.pop("port_detail", None)


def forget_port() -> None:
    st.query_params.pop("port_detail", None)


filters = ui.filters()
detail = st.query_params.get("port_detail")
detail = detail if detail in PORT_NAMES else None
left, right = st.columns([3, 1])
with ui.controls_place(right):
    measure = st.segmented_control(t("Size by"), ["incidents", "people"], default="incidents",
                                   format_func=words.label_for("measure"), key="measure",
                                   bind="query-params") or "incidents"
    colour = st.segmented_control(t("Colour by"), ["count", "type"], default="count",
                                  format_func=words.label_for("colour"), key="colour",
                                  bind="query-params") or "count"
    with_traffic = ui.traffic_switch(st)
per_port = ui.ask(queries.by_port_with_traffic if with_traffic else queries.by_port, filters,
                  measure)
unmapped = ui.ask(queries.headline, filters)["no_port"]  # asked above the page already
with left:
    frame = maps.frame_for(ui.screen_size("map_screen"), crowd=len(per_port))
    deck = maps.incident_deck(per_port, colour_by=colour, measure=measure, frame=frame,
                              traffic=with_traffic, selected=detail)
    st.pydeck_chart(deck, on_select=remember_port, selection_mode="single-object", key="map",
                    height=frame.height,
                    alt=t("Map of the US–Mexico border with {n} ports of entry that "
                          "have documented incidents.", n=len(per_port)))
    if unmapped:
        st.info(t("{n} incidents have no port of entry; they are in every count and chart, "
                  "but not on the map.", n=unmapped))
with right:
    if per_port.empty:
        st.write(t("No incidents match these filters."))
    else:
        st.markdown(f"**{ui.md('Circle area: {m}', m=words.measure_label(measure))}**"
                    + ("  \n" + t("darker means more") if colour == "count" else ""))
        st.plotly_chart(
            charts.size_legend(
                maps.legend_sizes(per_port["value"], frame),
                units=(t("incident"), t("incidents")) if measure == "incidents"
                else (t("person"), t("people")),
                none=t("none matching"), coloured=colour == "count"),
            width="stretch", config={"displayModeBar": False, "staticPlot": True},
            key="size_legend")
        if colour == "type":
            st.plotly_chart(charts.type_legend(per_port), width="stretch",
                            config={"displayModeBar": False})

ui.embed_end(filters)  # an embed shows the map alone
if detail:
    st.subheader(ui.md("Incidents at {port}", port=PORT_NAMES[detail]))
    rows = ui.ask(queries.export_rows, filters.only_port(detail))
    if rows.empty:
        st.write(t("No incidents at this port match these filters."))
    else:
        ui.incident_table(rows)
    st.button(t("Show all ports"), on_click=forget_port, key="all_ports")
else:
    st.subheader(t("Ports with incidents"))
    st.caption(t("Click a port on the map to list its incidents here."))
    if with_traffic:
        ui.traffic_table(per_port)
    else:
        ui.port_table(per_port)
