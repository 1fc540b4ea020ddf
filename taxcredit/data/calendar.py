"""The tax calendar: filing deadlines and month arithmetic shared by every layer."""

from __future__ import annotations

import numpy as np

__all__ = ["HOLIDAY_EXTENSION_DAYS", "due_dates", "last_due_month", "month_index"]

#: Filing deadlines are the 15th, moved later in months with long public holidays (Spring
#: Festival, May Day, National Day). The real calendar is published yearly; these are typical.
HOLIDAY_EXTENSION_DAYS = {1: 3, 2: 7, 5: 5, 10: 9}


def due_dates(period_end: np.ndarray, months_after: int = 1) -> np.ndarray:
    """Statutory deadline: the 15th of the month after ``period_end``.

    Extended in months with long public holidays, and moved to the Monday when it falls on a
    weekend (the yearly official calendar can move it further).

    Parameters
    ----------
    period_end : numpy.ndarray of datetime64[D]
        Period ends.
    months_after : int
        Months after the period's month in which the deadline falls (5 for the annual CIT
        settlement, whose deadline is 31 May: use :func:`annual_due_dates`).
    """
    m = np.asarray(period_end).astype("datetime64[M]") + months_after
    month_of_year = m.astype(int) % 12 + 1
    ext = np.zeros(len(m), dtype=int)
    for month, days in HOLIDAY_EXTENSION_DAYS.items():
        ext[month_of_year == month] = days
    due = m.astype("datetime64[D]") + 14 + ext.astype("timedelta64[D]")
    # a deadline on a Saturday or Sunday moves to the Monday
    return np.busday_offset(due, 0, roll="forward")


_DAY0 = np.datetime64("1900-01-01", "D")
_DAYS = np.arange(_DAY0, np.datetime64("2262-01-01", "D"))
#: Month index of every day 1900-2261: a gather is much faster than a calendar conversion.
_MONTH_OF_DAY = _DAYS.astype("datetime64[M]").astype(np.int64)


def month_index(dates: np.ndarray) -> np.ndarray:
    """Return the months since 1970-01 of each date.

    ``datetime64`` array in, ``int64`` out; NaT gives a very negative number.
    """
    dates = np.asarray(dates)
    days = dates.astype("datetime64[D]") if dates.dtype != "datetime64[ns]" else None
    if days is None:  # nanoseconds: integer division, no calendar arithmetic
        ns = dates.view(np.int64)
        day = ns // 86_400_000_000_000 - _DAY0.astype(np.int64)
    else:
        day = days.view(np.int64) - _DAY0.astype(np.int64)
    inside = (day >= 0) & (day < len(_MONTH_OF_DAY))
    if inside.all():
        return _MONTH_OF_DAY[day]
    out = np.asarray(dates).astype("datetime64[M]").astype(np.int64)
    out[inside] = _MONTH_OF_DAY[day[inside]]
    return out


def last_due_month(as_of: np.ndarray) -> np.ndarray:
    """Return the last month whose return was due on or before ``as_of`` (month index).

    A month's return falls due on the (holiday-extended) 15th of the next month, so on
    2025-06-30 the last due month is May 2025, and on 2025-06-10 it is April 2025.
    """
    as_of = np.asarray(as_of).astype("datetime64[D]")
    prev = as_of.astype("datetime64[M]") - 1  # the month before as_of's month
    due_prev = due_dates((prev + 1).astype("datetime64[D]") - 1)
    return np.where(due_prev <= as_of, prev, prev - 1).astype(np.int64)
