"""The baseline for bench/pages.py: each Garita page written the straightforward way.

All incidents are read once into a pandas DataFrame, kept in memory across reruns
(``st.cache_resource``: no copy per rerun, the kindest choice for the baseline); every
rerun filters and aggregates it in pandas, and the map draws one point per incident. Same
filters, same outputs as Garita's pages, so the two can be timed against each other.
"""

import os
from pathlib import Path

import pandas as pd
import plotly.express as px
import pydeck as pdk
import streamlit as st

from garita import db


@st.cache_resource
def everything(path: str) -> pd.DataFrame:
    con = db.connect_reader(Path(path))  # the same settings as the app's (one per process)
    return con.execute("SELECT * FROM incidents_mapped").df()


frame = everything(str(db.published_file(db.db_path())))
page = os.environ.get("BASELINE_PAGE", "map")
months = sorted(frame["date"].dropna().dt.strftime("%Y-%m").unique())
chosen = st.select_slider("Months", months, value=(months[0], months[-1]), key="months")
states = st.multiselect("States", ["CA", "AZ", "NM", "TX"], key="states")
rows = frame
if tuple(chosen) != (months[0], months[-1]):
    month = rows["date"].dt.strftime("%Y-%m")
    rows = rows[(month >= chosen[0]) & (month <= chosen[1])]
if states:
    rows = rows[rows["state"].isin(states)]
st.metric("Incidents", len(rows))
st.metric("People", int(rows["people_count"].sum()))
st.metric("Ports", rows["port_code"].nunique())
if page == "map":
    points = rows.dropna(subset=["latitude"])[["longitude", "latitude", "port_name"]]
    st.pydeck_chart(pdk.Deck(layers=[pdk.Layer("ScatterplotLayer", points,
                                               get_position=["longitude", "latitude"],
                                               get_radius=2000)]))
    st.dataframe(rows.groupby("port_name").size().rename("incidents").reset_index())
elif page == "over_time":
    exploded = rows.explode("incident_types")
    monthly = (exploded.assign(month=exploded["date"].dt.to_period("M").astype(str))
               .groupby(["month", "incident_types"]).size().rename("n").reset_index())
    st.plotly_chart(px.bar(monthly, x="month", y="n", color="incident_types"))
    st.plotly_chart(px.bar(rows.groupby(rows["date"].dt.year).size().rename("n").reset_index(),
                           x="date", y="n"))
elif page == "by_port":
    counts = rows.groupby(["port_name", "state"]).size().rename("n").reset_index()
    st.plotly_chart(px.bar(counts, x="n", y="port_name", orientation="h"))
    heat = rows.assign(month=rows["date"].dt.to_period("M").astype(str)).pivot_table(
        index="port_name", columns="month", values="incident_id", aggfunc="count")
    st.plotly_chart(px.imshow(heat.fillna(0)))
    st.dataframe(rows.groupby("state").agg(incidents=("incident_id", "count"),
                                           people=("people_count", "sum")))
elif page == "incidents":
    st.dataframe(rows.sort_values("date").head(50)[["date", "port_name", "summary", "source"]])
elif page == "sources":
    st.dataframe(rows.groupby(["source", "source_url"]).size().rename("n").reset_index()
                 .sort_values("n", ascending=False))
