"""Quantile grids per peer group, and a value's percentile in its group's grid (vectorised).

A grid is ``G`` quantiles of one indicator in one peer group at probabilities
``0, 1/(G-1), …, 1``. A value's percentile is read off its group's grid by linear
interpolation between the grid points around it; a value equal to grid points takes the
middle of their probabilities (mid-rank), so heavy ties such as "0 late filings" sit at the
centre of their mass rather than at its bottom or top. The grid's points are rounded to
:data:`SIGNIFICANT` digits, so a value that rounds to a grid point counts as equal to it.
Below the lowest grid point is 0, above the highest 100. The map is non-decreasing in the
value.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGNIFICANT", "group_quantiles", "percentile_in_grid"]

#: Significant digits kept of each quantile: far finer than the grid's percentile steps, and
#: a saved reference (shortest JSON numbers) reads back bit for bit.
SIGNIFICANT = 4


#: Half a unit in the last kept digit, relative to the number (at most 5e-4 at 4 digits).
_HALF_UNIT = 0.5 * 10.0 ** (1 - SIGNIFICANT)


def group_quantiles(codes: np.ndarray, values: np.ndarray, n_groups: int, min_size: int,
                    points: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles ('lower' method) of each group with at least ``min_size`` values.

    Returns
    -------
    groups : ndarray of int
        The groups (codes) that got a grid, ascending.
    grid : ndarray of shape (len(groups), points)
        Each row non-decreasing.
    """
    if not len(values):
        return np.empty(0, dtype=np.int64), np.empty((0, points))
    order = np.lexsort((values, codes))
    values = values[order]
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    big = np.flatnonzero(counts >= max(min_size, 1))
    probs = np.linspace(0.0, 1.0, points)
    pos = starts[big, None] + np.floor(probs[None, :] * (counts[big, None] - 1)).astype(np.int64)
    return big, round_significant(values[pos])


def round_significant(x: np.ndarray, digits: int = SIGNIFICANT) -> np.ndarray:
    """Round to ``digits`` significant digits (monotone, so sorted rows stay sorted)."""
    if not x.size:
        return x.astype(float)
    return np.char.mod(f"%.{digits}g", x).astype(float).reshape(x.shape)


def _count_below(flat: np.ndarray, first: np.ndarray, v: np.ndarray, width: int,
                 strict: bool) -> np.ndarray:
    """Grid points ``<`` (or ``<=``) each value in its row: a branch-free binary search."""
    count = np.zeros(len(v), dtype=np.int64)
    step = 1 << int(np.ceil(np.log2(width)))
    while step:
        probe = count + (step - 1)
        ok = probe < width
        np.minimum(probe, width - 1, out=probe)
        q = flat[first + probe]
        ok &= (q < v) if strict else (q <= v)
        count += step * ok
        step >>= 1
    return count


def percentile_in_grid(v: np.ndarray, grid: np.ndarray, g: np.ndarray, *,
                       ties: bool = False):
    """Percentile (0–100) of each value ``v[i]`` in the grid row ``grid[g[i]]``.

    With ``ties=True`` also the share (0–1) of the row's grid points equal to ``v[i]`` — about
    the share of peers with the same value (a percentile of a value most peers share says
    little: it is the middle of the tie).

    A branch-free binary search of every value in its own row at once: each step halves
    the candidate range of all values together (a few passes over the values, no sort); a
    second search, for "at or below", only for the values equal to a grid point.
    """
    width = grid.shape[1]
    if not len(v):
        return (np.empty(0), np.empty(0)) if ties else np.empty(0)
    flat = np.ascontiguousarray(grid).ravel()
    first = g.astype(np.int64) * width
    v = np.asarray(v, dtype=float)
    less = _count_below(flat, first, v, width, strict=True)  # grid points < v
    # the grid holds quantiles rounded to SIGNIFICANT digits: a value that rounds to a grid
    # point is that point (23/24 is the grid's 0.9583), else a tie most peers share would be
    # read as a plain percentile. Only values near a grid point are rounded (cheap).
    lo = flat[first + np.clip(less - 1, 0, width - 1)]
    hi = flat[first + np.clip(less, 0, width - 1)]
    near = np.flatnonzero((np.abs(v - lo) <= _HALF_UNIT * np.abs(lo))
                          | (np.abs(hi - v) <= _HALF_UNIT * np.abs(hi)))
    if len(near):
        rounded = round_significant(v[near])
        onto = ((rounded == lo[near]) | (rounded == hi[near])) & (rounded != v[near])
        moved = near[onto]
        if len(moved):
            v = v.copy()
            v[moved] = rounded[onto]
            less[moved] = _count_below(flat, first[moved], v[moved], width, strict=True)
    upto = less.copy()  # grid points <= v: more only where v equals a grid point
    at = flat[first + np.minimum(less, width - 1)]
    tie = np.flatnonzero((less < width) & (at == v))
    if len(tie):
        upto[tie] = _count_below(flat, first[tie], v[tie], width, strict=False)
    k = np.clip(less - 1, 0, width - 1)
    lo = flat[first + k]
    hi = flat[first + np.clip(less, 0, width - 1)]
    gap = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(gap > 0, (v - lo) / np.where(gap > 0, gap, 1.0), 0.0)
    pct = np.where(upto > less, (less + upto - 1) / 2.0,  # ties: middle of the tied points
                   np.where(less == 0, 0.0,
                            np.where(less == width, width - 1.0, k + frac)))
    out = 100.0 * pct / (width - 1)
    return (out, (upto - less) / width) if ties else out
