"""Dates as staff write them keep their precision; day/month order is decided per file."""

import datetime as dt

import pytest

from etl.dates import DateOrderUnknown, DateProblem, decide_order, parse_date

TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize("value, order, expected", [
    ("2017-03-14", None, (dt.date(2017, 3, 14), "day")),
    ("2017-03", None, (dt.date(2017, 3, 1), "month")),
    ("2017", None, (dt.date(2017, 1, 1), "year")),
    ("3/14/2017", "mdy", (dt.date(2017, 3, 14), "day")),
    ("14/03/2017", "dmy", (dt.date(2017, 3, 14), "day")),
    ("14/03/2017", None, (dt.date(2017, 3, 14), "day")),
    ("03/04/2017", "dmy", (dt.date(2017, 4, 3), "day")),
    ("03/04/2017", "mdy", (dt.date(2017, 3, 4), "day")),
    ("Mar 2017", None, (dt.date(2017, 3, 1), "month")),
    ("March 2017", None, (dt.date(2017, 3, 1), "month")),
    ("marzo 2017", None, (dt.date(2017, 3, 1), "month")),
    ("Marzo de 2017", None, (dt.date(2017, 3, 1), "month")),
    ("14 de marzo de 2017", None, (dt.date(2017, 3, 14), "day")),
    ("March 14, 2017", None, (dt.date(2017, 3, 14), "day")),
    ("sept. 2018", None, (dt.date(2018, 9, 1), "month")),
    ("2018-06-12 00:00:00", None, (dt.date(2018, 6, 12), "day")),
    ("", None, (None, "unknown")),
])
def test_date_formats_parse_to_first_day_and_precision(value, order, expected):
    assert parse_date(value, order, today=TODAY) == expected


@pytest.mark.parametrize("value, words", [
    ("2017-02-30", "not a date that exists"),
    ("31/04/2017", "not a date that exists"),
    ("2027-01", "in the future"),
    ("1066", "before"),
    ("last spring", "not a date Garita can read"),
])
def test_impossible_future_and_unreadable_dates_are_problems(value, words):
    with pytest.raises(DateProblem, match=words):
        parse_date(value, "dmy", today=TODAY)


def test_a_day_over_12_settles_the_order():
    assert decide_order(["03/04/2017", "25/04/2017"]) == "dmy"
    assert decide_order(["03/04/2017", "4/30/2017"]) == "mdy"
    assert decide_order(["2017-03-04", "3/3/2017"]) is None


def test_undecidable_or_mixed_orders_ask_the_user():
    with pytest.raises(DateOrderUnknown, match="--date-order"):
        decide_order(["03/04/2017", "05/06/2017"])
    with pytest.raises(DateOrderUnknown, match="mix"):
        decide_order(["25/04/2017", "4/30/2017"])
