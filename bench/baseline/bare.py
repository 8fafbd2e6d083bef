"""The bare page for bench/tabs.py: one map and one chart, the least a Streamlit page with
Garita's two kinds of figure can be.

One pydeck ScatterplotLayer of the 28 ports (no map provider, no tiles) and one plotly bar
chart of ports per state; no sidebar, no filters, no queries, no custom component.
"""

from pathlib import Path

import pandas as pd
import plotly.express as px
import pydeck as pdk
import streamlit as st

PORTS = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "ports.csv",
                    usecols=["port_code", "port_name", "state", "latitude", "longitude"])

st.pydeck_chart(pdk.Deck(
    layers=[pdk.Layer("ScatterplotLayer", PORTS, get_position=["longitude", "latitude"],
                      get_radius=12_000, get_fill_color=[179, 32, 42, 200], pickable=True)],
    initial_view_state=pdk.ViewState(longitude=-106.5, latitude=30.5, zoom=4.2),
    map_provider=None, map_style=None))
counts = PORTS.groupby("state", as_index=False).size().rename(columns={"size": "ports"})
st.plotly_chart(px.bar(counts, x="state", y="ports", title="Ports of entry per state"))
