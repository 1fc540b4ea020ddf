"""Quantile grids and percentiles: against slow textbook computations, and their invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from taxcredit.profile._grid import group_quantiles, percentile_in_grid, round_significant


def _slow_percentile(v: float, row: list[float]) -> float:
    """Percentile of v in one sorted grid row, one value at a time, by the definition."""
    w = len(row)
    r = float(f"{v:.4g}")  # the grid's 4 significant digits: rounding onto a point is a tie
    v = r if r in row else v
    tied = [k for k, q in enumerate(row) if q == v]
    if tied:
        return 100.0 * (tied[0] + tied[-1]) / 2 / (w - 1)
    if v < row[0]:
        return 0.0
    if v > row[-1]:
        return 100.0
    k = max(i for i, q in enumerate(row) if q < v)
    return 100.0 * (k + (v - row[k]) / (row[k + 1] - row[k])) / (w - 1)


grids = st.integers(1, 5).flatmap(lambda g: st.integers(3, 25).flatmap(
    lambda w: st.lists(st.lists(st.integers(-5, 5).map(float), min_size=w, max_size=w)
                       .map(sorted), min_size=g, max_size=g)))


@settings(max_examples=150, deadline=None)
@given(grid=grids, data=st.data())
def test_percentile_matches_the_definition(grid, data):
    grid = np.array(grid)
    n = data.draw(st.integers(1, 30))
    g = np.array(data.draw(st.lists(st.integers(0, len(grid) - 1), min_size=n, max_size=n)))
    v = np.array(data.draw(st.lists(st.floats(-6, 6, allow_nan=False), min_size=n,
                                    max_size=n)))
    got = percentile_in_grid(v, grid, g)
    want = [_slow_percentile(x, list(grid[k])) for x, k in zip(v, g, strict=True)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(grid=grids, a=st.floats(-6, 6), b=st.floats(-6, 6))
def test_percentile_never_falls_as_the_value_rises(grid, a, b):
    grid = np.array(grid)
    lo, hi = min(a, b), max(a, b)
    g = np.zeros(1, dtype=np.int64)
    assert percentile_in_grid(np.array([lo]), grid, g)[0] <= \
        percentile_in_grid(np.array([hi]), grid, g)[0] + 1e-12


def test_group_quantiles_are_numpys_lower_quantiles_of_each_big_group():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 6, 700)
    values = rng.lognormal(10, 2, 700)
    groups, grid = group_quantiles(codes, values, 6, min_size=100, points=11)
    counts = np.bincount(codes, minlength=6)
    assert list(groups) == [g for g in range(6) if counts[g] >= 100]
    for row, g in zip(grid, groups, strict=True):
        want = np.quantile(values[codes == g], np.linspace(0, 1, 11), method="lower")
        np.testing.assert_allclose(row, round_significant(want), rtol=0)
        np.testing.assert_allclose(row, want, rtol=5e-4)


def test_round_significant_keeps_order_and_four_digits():
    x = np.array([123456.0, 0.000123456, -98765.4, 0.0, 1.0])
    np.testing.assert_array_equal(round_significant(x), [123500.0, 0.0001235, -98770.0, 0.0,
                                                         1.0])
    s = np.sort(np.random.default_rng(0).normal(size=1000))
    assert (np.diff(round_significant(s)) >= 0).all()


def test_tie_share_counts_the_grid_points_equal_to_the_value():
    grid = np.array([[0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    pct, tied = percentile_in_grid(np.array([0.0, 2.0, 2.5, 7.0]), grid, np.zeros(4, int),
                                   ties=True)
    np.testing.assert_allclose(tied, [0.4, 0.1, 0.0, 0.0])
    np.testing.assert_allclose(pct, percentile_in_grid(np.array([0.0, 2.0, 2.5, 7.0]), grid,
                                                       np.zeros(4, int)))


def test_a_value_rounding_to_a_grid_point_is_tied_with_it():
    """23/24 of the peers' months active: the grid holds 0.9583, the value 0.958333…"""
    values = np.r_[np.full(70, 23 / 24), np.linspace(0.1, 0.9, 30)]
    _, grid = group_quantiles(np.zeros(100, int), values, 1, min_size=1, points=21)
    pct, tied = percentile_in_grid(np.array([23 / 24, 0.95, 0.9584]), grid, np.zeros(3, int),
                                   ties=True)
    row = list(grid[0])
    assert 23 / 24 not in row and 0.9583 in row
    first, last = row.index(0.9583), len(row) - 1 - row[::-1].index(0.9583)
    assert pct[0] == 100.0 * (first + last) / 2 / 20 and tied[0] == (last - first + 1) / 21
    assert tied[1] == 0.0 and tied[2] == 0.0 and pct[1] < pct[0] < pct[2]
