"""Stdlib tools over ``datetime`` and ``calendar``: date arithmetic on ISO strings.

Dates are ``YYYY-MM-DD`` strings, date-times ISO 8601 strings (naive ones are taken as UTC).
Nothing here reads the clock: every tool is a pure function of its arguments.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, numbers, text

catalog = Catalog()

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "minLength": 10, "maxLength": 10}
_DATETIME = text(40, 10)
_YEAR = ints(1, 9999)
_MONTH = ints(1, 12)
_DAYS = ints(-3_000_000, 3_000_000)
_FORMAT = text(100)
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _datetime(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


# datetime: dates


@catalog.tool("datetime.days_between", {"start": "2024-01-01", "end": "2024-03-01"},
              start=_DATE, end=_DATE)
def days_between(start: str, end: str) -> int:
    """Number of days from start to end (negative when end is earlier)."""
    return (_date(end) - _date(start)).days


@catalog.tool("datetime.weeks_between", {"start": "2024-01-01", "end": "2024-03-01"},
              start=_DATE, end=_DATE)
def weeks_between(start: str, end: str) -> int:
    """Number of whole weeks from start to end (truncated toward zero)."""
    return int((_date(end) - _date(start)).days / 7)


@catalog.tool("datetime.add_days", {"date": "2024-02-27", "days": 3}, date=_DATE, days=_DAYS)
def add_days(date: str, days: int) -> str:
    """The date days days after date (before it when days is negative)."""
    return (_date(date) + dt.timedelta(days=days)).isoformat()


@catalog.tool("datetime.add_weeks", {"date": "2024-01-01", "weeks": 2}, date=_DATE,
              weeks=ints(-500_000, 500_000))
def add_weeks(date: str, weeks: int) -> str:
    """The date weeks weeks after date."""
    return (_date(date) + dt.timedelta(weeks=weeks)).isoformat()


@catalog.tool("datetime.add_months", {"date": "2024-01-31", "months": 1}, date=_DATE,
              months=ints(-120_000, 120_000))
def add_months(date: str, months: int) -> str:
    """The date months calendar months after date (the day clipped to the month's end)."""
    return _add_months(_date(date), months).isoformat()


@catalog.tool("datetime.add_years", {"date": "2024-02-29", "years": 1}, date=_DATE,
              years=ints(-10_000, 10_000))
def add_years(date: str, years: int) -> str:
    """The date years years after date (29 February becomes 28 February in other years)."""
    return _add_months(_date(date), 12 * years).isoformat()


@catalog.tool("datetime.weekday", {"date": "2024-07-04"}, date=_DATE)
def weekday(date: str) -> str:
    """The name of the day of the week of a date (Monday ... Sunday)."""
    return _WEEKDAYS[_date(date).weekday()]


@catalog.tool("datetime.isoweekday", {"date": "2024-07-04"}, date=_DATE)
def isoweekday(date: str) -> int:
    """Return the day of the week as an integer, where Monday is 1 and Sunday is 7."""
    return _date(date).isoweekday()


@catalog.tool("datetime.iso_calendar", {"date": "2024-12-30"}, date=_DATE)
def iso_calendar(date: str) -> dict[str, int]:
    """The ISO year, ISO week number and ISO weekday of a date."""
    year, week, day = _date(date).isocalendar()
    return {"year": year, "week": week, "weekday": day}


@catalog.tool("datetime.from_iso_calendar", {"year": 2024, "week": 1, "weekday": 1},
              year=_YEAR, week=ints(1, 53), weekday=ints(1, 7))
def from_iso_calendar(year: int, week: int, weekday: int) -> str:
    """The date of an ISO year, week number and weekday (1 = Monday)."""
    return dt.date.fromisocalendar(year, week, weekday).isoformat()


@catalog.tool("datetime.day_of_year", {"date": "2024-03-01"}, date=_DATE)
def day_of_year(date: str) -> int:
    """The day number within the year (1 January is 1)."""
    return _date(date).timetuple().tm_yday


@catalog.tool("datetime.to_ordinal", {"date": "2024-01-01"}, date=_DATE)
def to_ordinal(date: str) -> int:
    """Return the proleptic Gregorian ordinal of a date (1 January of year 1 is day 1)."""
    return _date(date).toordinal()


@catalog.tool("datetime.from_ordinal", {"ordinal": 738886}, ordinal=ints(1, 3_652_059))
def from_ordinal(ordinal: int) -> str:
    """The date of a proleptic Gregorian ordinal."""
    return dt.date.fromordinal(ordinal).isoformat()


@catalog.tool("datetime.strftime", {"date": "2024-07-04", "format": "%A %d %B %Y"},
              date=_DATE, format=_FORMAT)
def strftime(date: str, format: str) -> str:
    """Format a date with a strftime format string (%Y, %m, %d, %A, %B, %j, ...)."""
    return _date(date).strftime(format)


@catalog.tool("datetime.strptime", {"text": "04/07/2024", "format": "%d/%m/%Y"},
              text=text(100), format=_FORMAT)
def strptime(text: str, format: str) -> str:
    """Parse a date-time string with a strptime format; return it in ISO 8601."""
    return dt.datetime.strptime(text, format).isoformat()


@catalog.tool("datetime.end_of_month", {"date": "2023-02-10"}, date=_DATE)
def end_of_month(date: str) -> str:
    """The last day of the month of a date."""
    day = _date(date)
    return day.replace(day=calendar.monthrange(day.year, day.month)[1]).isoformat()


@catalog.tool("datetime.age", {"birth": "1990-06-15", "on": "2024-06-14"}, birth=_DATE, on=_DATE)
def age(birth: str, on: str) -> int:
    """Whole years from birth to the date on (an age in years)."""
    born, today = _date(birth), _date(on)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# datetime: date-times and durations


@catalog.tool("datetime.seconds_between",
              {"start": "2024-01-01T08:00:00", "end": "2024-01-01T17:30:00"},
              start=_DATETIME, end=_DATETIME)
def seconds_between(start: str, end: str) -> float:
    """Seconds from the date-time start to end (ISO 8601; naive ones taken as UTC)."""
    return (_datetime(end) - _datetime(start)).total_seconds()


@catalog.tool("datetime.add_seconds", {"moment": "2024-01-01T23:59:30", "seconds": 45},
              moment=_DATETIME, seconds=numbers(-1e11, 1e11))
def add_seconds(moment: str, seconds: float) -> str:
    """The ISO 8601 date-time seconds seconds after moment."""
    return (_datetime(moment) + dt.timedelta(seconds=seconds)).isoformat()


@catalog.tool("datetime.to_timestamp", {"moment": "2024-01-01T00:00:00+00:00"}, moment=_DATETIME)
def to_timestamp(moment: str) -> float:
    """The POSIX timestamp (seconds since 1970-01-01 UTC) of an ISO 8601 date-time."""
    return _datetime(moment).timestamp()


@catalog.tool("datetime.from_timestamp", {"timestamp": 1704067200},
              timestamp=numbers(-62_135_596_800, 253_402_300_799))
def from_timestamp(timestamp: float) -> str:
    """The UTC ISO 8601 date-time of a POSIX timestamp."""
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat()


@catalog.tool("datetime.convert_offset", {"moment": "2024-01-01T12:00:00+00:00", "hours": 5.5},
              moment=_DATETIME, hours={"minimum": -23.99, "maximum": 23.99})
def convert_offset(moment: str, hours: float) -> str:
    """The same instant written at a fixed UTC offset of hours hours."""
    zone = dt.timezone(dt.timedelta(hours=hours))
    return _datetime(moment).astimezone(zone).isoformat()


@catalog.tool("datetime.format_duration", {"seconds": 93784}, seconds=numbers(-1e12, 1e12))
def format_duration(seconds: float) -> str:
    """Write a number of seconds as a timedelta string ('1 day, 2:03:04')."""
    return str(dt.timedelta(seconds=seconds))


# calendar


@catalog.tool("calendar.isleap", {"year": 2024}, year=_YEAR)
def isleap(year: int) -> bool:
    """Return True for leap years, False for non-leap years."""
    return calendar.isleap(year)


@catalog.tool("calendar.leapdays", {"y1": 2000, "y2": 2025}, y1=_YEAR, y2=_YEAR)
def leapdays(y1: int, y2: int) -> int:
    """Return the number of leap years in range [y1, y2)."""
    return calendar.leapdays(y1, y2)


@catalog.tool("calendar.monthrange", {"year": 2024, "month": 2}, year=_YEAR, month=_MONTH)
def monthrange(year: int, month: int) -> dict[str, object]:
    """The weekday of the first day of the month and the number of days in the month."""
    first, days = calendar.monthrange(year, month)
    return {"first_weekday": _WEEKDAYS[first], "days": days}


@catalog.tool("calendar.days_in_month", {"year": 2023, "month": 2}, year=_YEAR, month=_MONTH)
def days_in_month(year: int, month: int) -> int:
    """The number of days in a month of a year."""
    return calendar.monthrange(year, month)[1]


@catalog.tool("calendar.month_text", {"year": 2024, "month": 2}, year=_YEAR, month=_MONTH)
def month_text(year: int, month: int) -> str:
    """Return a month's calendar as a multi-line string (weeks start on Monday)."""
    return calendar.TextCalendar().formatmonth(year, month)


@catalog.tool("calendar.monthcalendar", {"year": 2024, "month": 2}, year=_YEAR, month=_MONTH)
def monthcalendar(year: int, month: int) -> list[list[int]]:
    """A month as a list of weeks (Monday first); days outside the month are 0."""
    return calendar.monthcalendar(year, month)


@catalog.tool("calendar.month_name", {"month": 9}, month=_MONTH)
def month_name(month: int) -> str:
    """The English name of a month number (1 = January)."""
    return calendar.month_name[month]


@catalog.tool("calendar.day_name", {"weekday": 0}, weekday=ints(0, 6))
def day_name(weekday: int) -> str:
    """The English name of a weekday number (0 = Monday)."""
    return calendar.day_name[weekday]


@catalog.tool("calendar.weekday", {"year": 2024, "month": 7, "day": 4},
              year=_YEAR, month=_MONTH, day=ints(1, 31))
def calendar_weekday(year: int, month: int, day: int) -> int:
    """Return the weekday (0 = Monday ... 6 = Sunday) for year, month, day."""
    return calendar.weekday(year, month, day)


@catalog.tool("calendar.count_weekday", {"year": 2024, "month": 2, "weekday": "Thursday"},
              year=_YEAR, month=_MONTH)
def count_weekday(
    year: int, month: int,
    weekday: Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                     "Sunday"],
) -> int:
    """How many times a weekday occurs in a month of a year."""
    index = _WEEKDAYS.index(weekday)
    return sum(1 for week in calendar.monthcalendar(year, month) if week[index])
