"""The tax calendar: deadlines and the last due month."""

from __future__ import annotations

import numpy as np
import pytest

from taxcredit.data.calendar import due_dates, last_due_month, month_index


def d(*values):
    return np.array(values, dtype="datetime64[D]")


def test_deadlines_are_the_15th_extended_for_holidays_and_weekends():
    # May 2025 → 15 June 2025 is a Sunday → Monday 16 June
    # January 2025 → 15 Feb + 7 (Spring Festival) = Sat 22 Feb → Monday 24 Feb
    # March 2025 → Tuesday 15 April, unchanged
    got = due_dates(d("2025-05-31", "2025-01-31", "2025-03-31"))
    assert got.astype(str).tolist() == ["2025-06-16", "2025-02-24", "2025-04-15"]


@pytest.mark.parametrize(("as_of", "month"), [
    ("2025-06-15", "2025-04"),  # May's deadline (Mon 16 June) not reached yet
    ("2025-06-16", "2025-05"),
    ("2025-02-23", "2024-12"),  # January's deadline moved to 24 February
    ("2025-02-24", "2025-01"),
    ("2025-01-01", "2024-11"),
])
def test_last_due_month(as_of, month):
    got = last_due_month(d(as_of))[0]
    assert np.datetime64(int(got), "M") == np.datetime64(month, "M")


def test_month_index_agrees_with_numpy_for_any_unit_and_range():
    days = np.arange(np.datetime64("1890-01-01"), np.datetime64("2270-01-01"), 37)
    expected = days.astype("datetime64[M]").astype(np.int64)
    np.testing.assert_array_equal(month_index(days), expected)
    np.testing.assert_array_equal(month_index(days.astype("datetime64[ns]")[5:-200]),
                                  expected[5:-200])
