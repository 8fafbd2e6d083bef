"""Dates as staff write them keep their precision; day/month order is decided per file."""

import datetime as dt
from zoneinfo import ZoneInfo

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


# --- dates as other tools write them (issue 12) -----------------------------------------

@pytest.mark.parametrize("value, order, expected", [
    ("13-Jan-20", None, dt.date(2020, 1, 13)),           # Excel dd-mmm-yy
    ("13-Jan-2020", None, dt.date(2020, 1, 13)),
    ("13-ene-20", None, dt.date(2020, 1, 13)),           # the same in a Spanish locale
    ("13-ene-2020", None, dt.date(2020, 1, 13)),
    ("3/7/2020 0950", "mdy", dt.date(2020, 3, 7)),      # a time without its colon
    ("3/7/2020 9:50:12", "mdy", dt.date(2020, 3, 7)),   # Google Forms' Timestamp shape
    ("2019-03-07 09:50:00", None, dt.date(2019, 3, 7)),  # Ushahidi
    ("2017-10-23T05:40:39.000-04:00", None, dt.date(2017, 10, 23)),  # Kobo: as written
    ("2020-02-29T23:40:00.000-08:00", None, dt.date(2020, 2, 29)),   # not 1 March in UTC
    ("2020-03-08T03:12:00Z", None, dt.date(2020, 3, 8)),  # UTC: see the port's zone below
])
def test_dates_other_tools_write_are_the_day_as_written(value, order, expected):
    assert parse_date(value, order, today=TODAY) == (expected, "day")


def test_a_time_without_colon_still_settles_the_day_month_order():
    assert decide_order(["3/7/2020 0950", "3/17/2020 1415"]) == "mdy"


def test_a_utc_time_is_the_date_at_the_port():
    from etl.dates import utc_instant, zone

    instant = utc_instant("2020-03-08T03:12:00Z")
    assert instant.astimezone(ZoneInfo(zone("2504", "CA"))).date() == dt.date(2020, 3, 7)
    assert zone("2402", "TX") == "America/Denver"      # El Paso keeps Mountain time
    assert zone(None, "TX") == "America/Chicago"
    assert utc_instant("2020-03-07T09:50:00-08:00") is None
    assert utc_instant("2020-03-07") is None


def test_excel_serial_numbers_are_read_only_when_staff_confirm_them():
    with pytest.raises(DateProblem, match=r"Excel date serial number \(2020-01-13\)") as refused:
        parse_date("43843", today=TODAY)
    assert refused.value.code == "date.excel_serial"
    assert parse_date("43843", today=TODAY, excel=True) == (dt.date(2020, 1, 13), "day")
    assert parse_date("43830", today=TODAY, excel=True) == (dt.date(2019, 12, 31), "day")
    with pytest.raises(DateProblem, match="not a date Garita can read"):
        parse_date("12345", today=TODAY)     # 1933: not taken for a serial
    with pytest.raises(DateProblem) as out_of_range:
        parse_date("12345", today=TODAY, excel=True)
    assert out_of_range.value.code == "date.excel_serial_range"
