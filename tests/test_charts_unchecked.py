"""The app builds its charts without plotly's property check (garita/charts.py CHECK), which
is most of a chart's cost on each rerun. Skipping it must not change what the browser gets:
every chart, built both ways from the shipped incidents, gives the same figure JSON."""

from __future__ import annotations

import json

import plotly.io as pio
import pytest

from garita import charts, db, maps, queries
from garita.filters import Filters
from garita.i18n import using

FILTERS = [Filters(), Filters.from_strings(start="2018-01", end="2019-06")]


def _figures(con, filters: Filters) -> dict:
    per_port = queries.by_port(con, filters, "incidents")
    return {
        "monthly by type": charts.monthly_chart(queries.monthly(con, filters, "type", "incidents"),
                                                stack="type", measure="incidents"),
        "monthly by port": charts.monthly_chart(queries.monthly(con, filters, "port", "people"),
                                                stack="port", measure="people", events="all"),
        "yearly": charts.yearly_chart(queries.yearly(con, filters, "people"), "people"),
        "ranked ports": charts.ranked_ports_chart(per_port, "incidents"),
        "heatmap": charts.heatmap_chart(queries.port_month(con, filters)),
        "types": charts.breakdown_chart(queries.breakdown(con, filters, "type"), "type"),
        "nationalities": charts.breakdown_chart(queries.breakdown(con, filters, "nationality"),
                                                "nationality"),
        "by state": charts.group_chart(queries.by_group(con, filters, "state"), "state",
                                       "incidents"),
        "type key": charts.type_legend(per_port),
        "size key": charts.size_legend(maps.legend_sizes(per_port["value"]),
                                       units=("incident", "incidents"), none="none"),
        "empty": charts.empty("Nothing"),
    }


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("filters", FILTERS, ids=["all", "2018-2019"])
def test_charts_built_unchecked_are_the_charts_built_checked(built_db, monkeypatch, lang,
                                                             filters):
    con = db.connect_reader(db.published_file(built_db))
    try:
        with using(lang):
            monkeypatch.setattr(charts, "CHECK", True)
            checked = {name: json.loads(pio.to_json(fig, validate=False))
                       for name, fig in _figures(con, filters).items()}
            monkeypatch.setattr(charts, "CHECK", False)
            unchecked = {name: json.loads(pio.to_json(fig, validate=False))
                         for name, fig in _figures(con, filters).items()}
    finally:
        con.close()
    assert checked["monthly by type"]["data"], "the shipped incidents draw bars"
    for name in checked:
        assert unchecked[name] == checked[name], name
