"""Dates as staff write them, to (first day of the period, precision).

ISO (``2017-03-14``, ``2017-03``, ``2017``; with a time, an offset or ``Z``:
``2017-10-23T05:40:39.000-04:00``), numeric with slashes (``3/14/2017`` or ``14/03/2017``,
with a time such as ``9:50:12`` or ``0950``), and month names in English or Spanish
(``Mar 2017``, ``marzo de 2017``, ``14 de marzo de 2017``, ``March 14, 2017``, ``13-Jan-20``,
``13-ene-2020``). Whether ``03/04/2017`` is March or April is decided once per file from
values that settle it (``25/04`` or ``4/30``). A time is dropped: a date with a time or an
offset is the date as written, except a UTC time (``Z``), which is the date at the port
(``zone``). Excel serial numbers (``43843``) are read only when staff confirm the column
holds them; otherwise they are refused saying what they would be.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from etl.problems import LoaderError

MONTHS = {
    "jan": 1, "january": 1, "ene": 1, "enero": 1,
    "feb": 2, "february": 2, "febrero": 2,
    "mar": 3, "march": 3, "marzo": 3,
    "apr": 4, "april": 4, "abr": 4, "abril": 4,
    "may": 5, "mayo": 5,
    "jun": 6, "june": 6, "junio": 6,
    "jul": 7, "july": 7, "julio": 7,
    "aug": 8, "august": 8, "ago": 8, "agosto": 8,
    "sep": 9, "sept": 9, "september": 9, "set": 9, "septiembre": 9, "setiembre": 9,
    "oct": 10, "october": 10, "octubre": 10,
    "nov": 11, "november": 11, "noviembre": 11,
    "dec": 12, "december": 12, "dic": 12, "diciembre": 12,
}
PRECISIONS = ("day", "month", "year", "unknown")
EARLIEST_YEAR = 1980

_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_ISO = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?"
                  rf"(?:[ T]({_TIME})\s*(Z|[+-]\d{{2}}(?::?\d{{2}})?)?)?$", re.I)
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})"
                      r"(?:[ T]+(?:\d{1,2}:?\d{2}(?::\d{2})?)(?:\s*[ap]\.?\s?m\.?)?)?$", re.I)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/ .]+([a-z]+)\.?[-/ .,]+(\d{4}|\d{2})$")
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's 1900 date system, as it counts
# The US time zone of each border state, and of the El Paso County ports (Mountain time,
# where the rest of Texas keeps Central).
STATE_ZONES = {"CA": "America/Los_Angeles", "AZ": "America/Phoenix", "NM": "America/Denver",
               "TX": "America/Chicago"}
PORT_ZONES = {"2401": "America/Denver", "2402": "America/Denver", "2404": "America/Denver"}
_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_WORDS = re.compile(r"[a-z]+|\d+")


class DateProblem(LoaderError):
    """A date that cannot be read or cannot be true; the code and message say which."""


class DateOrderUnknown(LoaderError):
    """The file's day/month order cannot be decided from its values."""


def _plain(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return text.strip().lower()


def numeric_parts(value: str) -> tuple[int, int] | None:
    """The first two numbers of a ``d/m/y``-shaped value, else None."""
    match = _NUMERIC.match(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def decide_order(values) -> str | None:
    """'dmy' or 'mdy' from the values that settle it, None if nothing needs settling.

    Raises ``DateOrderUnknown`` if values disagree, or if some are ambiguous and none settles.
    """
    day_first = month_first = None
    ambiguous = None
    for value in values:
        parts = numeric_parts(value)
        if not parts:
            continue
        first, second = parts
        if first > 12 >= second:
            day_first = day_first or value
        elif second > 12 >= first:
            month_first = month_first or value
        elif first != second and first <= 12 and second <= 12:
            ambiguous = ambiguous or value
    if day_first and month_first:
        raise DateOrderUnknown("date.order_mixed", day_first=day_first, month_first=month_first)
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    if ambiguous:
        raise DateOrderUnknown("date.order_unknown", value=ambiguous)
    return None


def _build(year: int, month: int = 1, day: int = 1, *, value: str, today: dt.date) -> dt.date:
    if year < EARLIEST_YEAR:
        raise DateProblem("date.too_early", value=value, year=year, earliest=EARLIEST_YEAR)
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise DateProblem("date.does_not_exist", value=value, month=month, day=day) from None
    if date > today:
        raise DateProblem("date.future", value=value)
    return date


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= dt.date.today().year % 100 else 1900
    return year


def utc_instant(value: str) -> dt.datetime | None:
    """The moment a date written as a UTC time means (``2020-03-08T03:12:00Z``), else None."""
    match = _ISO.match(value.strip())
    if not match or not match.group(3) or (match.group(5) or "").upper() != "Z":
        return None
    hour, minute, *second = re.split(r"[:.,]", match.group(4))
    return dt.datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                       int(hour), int(minute), int(second[0]) if second else 0,
                       tzinfo=dt.timezone.utc)


def zone(port_code: str | None, state: str | None) -> str | None:
    """The time zone of a port of entry, else of a border state (None if neither)."""
    return PORT_ZONES.get(port_code or "") or STATE_ZONES.get(state or "")


def excel_serial(value: str, today: dt.date | None = None) -> dt.date | None:
    """The date an Excel serial number (``43843``) stands for, if the value is one of a date
    Garita could hold, else None."""
    if not _EXCEL_SERIAL.match(value.strip()):
        return None
    date = EXCEL_EPOCH + dt.timedelta(days=int(float(value)))
    return date if EARLIEST_YEAR <= date.year and date <= (today or dt.date.today()) else None


def parse_date(value: str, order: str | None = None, today: dt.date | None = None,
               excel: bool = False) -> tuple[dt.date | None, str]:
    """``(first day of the period, precision)``; blank is ``(None, 'unknown')``.

    ``order`` is the file's 'dmy' or 'mdy', needed only for ambiguous numeric dates.
    ``excel``: the column holds Excel serial numbers (staff said so).
    """
    today = today or dt.date.today()
    text = value.strip()
    if not text:
        return None, "unknown"
    if _EXCEL_SERIAL.match(text):
        date = excel_serial(text, today)
        if excel and date is None:
            raise DateProblem("date.excel_serial_range", value=text)
        if excel:
            return date, "day"
        if date is not None:
            raise DateProblem("date.excel_serial", value=text, date=date.isoformat())
    if match := _ISO.match(text):
        year, month, day = match.groups()[:3]
        if day:
            return _build(int(year), int(month), int(day), value=text, today=today), "day"
        if month:
            return _build(int(year), int(month), value=text, today=today), "month"
        return _build(int(year), value=text, today=today), "year"
    if match := _NUMERIC.match(text):
        first, second, year = int(match.group(1)), int(match.group(2)), _year(match.group(3))
        if first == second:
            return _build(year, first, first, value=text, today=today), "day"
        if order is None:
            if first > 12:
                order = "dmy"
            elif second > 12:
                order = "mdy"
            else:
                raise DateOrderUnknown("date.ambiguous", value=text)
        day, month = (first, second) if order == "dmy" else (second, first)
        return _build(year, month, day, value=text, today=today), "day"
    if match := _MONTH_YEAR.match(text):
        return _build(int(match.group(2)), int(match.group(1)), value=text, today=today), "month"
    if (match := _DAY_MONTH_YEAR.match(_plain(text))) and match.group(2) in MONTHS:
        day, month, year = match.groups()
        return _build(_year(year), MONTHS[month], int(day), value=text, today=today), "day"
    return _parse_words(text, today)


def _parse_words(text: str, today: dt.date) -> tuple[dt.date, str]:
    tokens = [t for t in _WORDS.findall(_plain(text)) if t not in ("de", "del", "of", "the")]
    months = [t for t in tokens if t in MONTHS]
    numbers = [t for t in tokens if t.isdigit()]
    others = [t for t in tokens if not t.isdigit() and t not in MONTHS
              and t not in ("st", "nd", "rd", "th")]
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(months) == 1 and len(years) == 1 and len(days) <= 1 and not others:
        month = MONTHS[months[0]]
        if days:
            return _build(int(years[0]), month, int(days[0]), value=text, today=today), "day"
        return _build(int(years[0]), month, value=text, today=today), "month"
    raise DateProblem("date.unreadable", value=text)


def coarsen(date: dt.date | None, precision: str, wanted: str) -> tuple[dt.date | None, str]:
    """Lower a date's precision to ``wanted`` if that is coarser (never invent detail)."""
    if date is None or PRECISIONS.index(wanted) <= PRECISIONS.index(precision):
        return date, precision
    if wanted == "month":
        return date.replace(day=1), "month"
    if wanted == "year":
        return date.replace(month=1, day=1), "year"
    return None, "unknown"
