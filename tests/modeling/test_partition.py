"""The dynamic programme against an exhaustive search over all groupings."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxcredit.modeling.metrics import woe_iv_table
from taxcredit.modeling.partition import optimal_partition


def _follows(rates, trend):
    d = np.diff(rates)
    if trend == "ascending":
        return bool((d > 0).all())
    if trend == "descending":
        return bool((d < 0).all())
    if trend == "none":
        return True
    first, second = (d > 0, d < 0) if trend == "peak" else (d < 0, d > 0)
    # some prefix in the first direction, the rest in the second
    return any(first[:k].all() and second[k:].all() for k in range(len(d) + 1))


def _brute(e, ne, trend, max_bins, min_count):
    """Best IV over every grouping (the IV uses the library's zero-cell rule, tested apart)."""
    p = len(e)
    best = (-np.inf, None)
    for k in range(max_bins):
        for cuts in combinations(range(1, p), k):
            ends = [*cuts, p]
            starts = [0, *cuts]
            ge = np.array([e[a:b].sum() for a, b in zip(starts, ends, strict=True)])
            gne = np.array([ne[a:b].sum() for a, b in zip(starts, ends, strict=True)])
            if ((ge + gne) < max(min_count, 1e-12)).any():
                continue
            if not _follows(ge / (ge + gne), trend):
                continue
            iv = _iv_fixed_totals(ge, gne, e.sum(), ne.sum())
            if iv > best[0] + 1e-12:
                best = (iv, ends)
    return best


def _iv_fixed_totals(ge, gne, te, tne):
    pe = np.where(ge > 0, ge, 0.5) / max(te, 0.5)
    pne = np.where(gne > 0, gne, 0.5) / max(tne, 0.5)
    return float(np.sum((pe - pne) * np.log(pe / pne)))


def _iv_of(e, ne, ends):
    starts = [0, *ends[:-1]]
    ge = np.array([e[a:b].sum() for a, b in zip(starts, ends, strict=True)])
    gne = np.array([ne[a:b].sum() for a, b in zip(starts, ends, strict=True)])
    return _iv_fixed_totals(ge, gne, e.sum(), ne.sum()), ge / np.maximum(ge + gne, 1)


counts = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60)), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(counts, st.sampled_from(["ascending", "descending", "peak", "valley", "none"]),
       st.integers(1, 5), st.sampled_from([0, 10, 40]))
def test_the_programme_finds_the_exhaustive_optimum(cells, trend, max_bins, min_count):
    e = np.array([c[0] for c in cells], dtype=float)
    ne = np.array([c[1] for c in cells], dtype=float)
    ends = optimal_partition(e, ne, trend=trend, max_bins=max_bins, min_count=min_count)
    best_iv, best_ends = _brute(e, ne, trend, max_bins, min_count)
    assert ends[-1] == len(e) and len(ends) <= max_bins and ends == sorted(set(ends))
    if best_ends is None:  # nothing feasible: one group
        assert ends == [len(e)]
        return
    iv, rates = _iv_of(e, ne, ends)
    assert iv == pytest.approx(best_iv, abs=1e-9)
    assert _follows(rates, trend)


def test_a_known_case():
    # event rates 0.1, 0.2, 0.15, 0.4: ascending must merge the middle pair
    e = np.array([10, 20, 15, 40.0])
    ne = np.array([90, 80, 85, 60.0])
    assert optimal_partition(e, ne, trend="ascending", max_bins=4) == [1, 3, 4]
    assert optimal_partition(e, ne, trend="none", max_bins=4) == [1, 2, 3, 4]
    assert optimal_partition(e, ne, trend="descending", max_bins=4) == [4]  # no such grouping
    assert woe_iv_table([10, 35, 40], [90, 165, 60])["iv"].sum() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="trend"):
        optimal_partition([1], [1], trend="up")
    with pytest.raises(ValueError, match="max_bins"):
        optimal_partition([1], [1], max_bins=0)
