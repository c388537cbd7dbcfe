"""Days since the calendar's start as dates and times: the one clock, told in the calendar's words."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np


def date_of(start: str, day: float) -> str:
    """The date (YYYY-MM-DD) of a time in days since ``start`` (a fraction of a day is within it)."""
    return (date.fromisoformat(start) + timedelta(days=int(np.floor(day)))).isoformat()


def moment_of(start: str, day: float) -> str:
    """The date and time (YYYY-MM-DD HH:MM) of a time in days since ``start``, to the minute."""
    at = datetime.fromisoformat(start) + timedelta(minutes=round(float(day) * 1440))
    return at.strftime("%Y-%m-%d %H:%M")


def dates(start: str, days: np.ndarray) -> list[str]:
    """Dates of many times (``date_of``, vectorised over whole days)."""
    whole = np.floor(np.asarray(days, dtype=np.float64)).astype("timedelta64[D]")
    return np.datetime_as_string(np.datetime64(start, "D") + whole, unit="D").tolist()


def times(start: str, days: np.ndarray) -> list[str]:
    """Times of day (HH:MM) of many times (``moment_of``'s, vectorised): the minutes rounded half
    to even, as Python's ``round`` rounds them."""
    minutes = np.round(np.asarray(days, dtype=np.float64) * 1440).astype(np.int64).astype("timedelta64[m]")
    return [s[11:] for s in np.datetime_as_string(np.datetime64(start, "m") + minutes, unit="m").tolist()]


def when(sc, day: float) -> str:
    """A time as the model tells it: ``day 3.3 (2025-03-16 07:12)``: the day to a tenth for reading,
    the date and time to the minute for the record."""
    return f"day {day:.1f} ({moment_of(sc.calendar.start, day)})"
