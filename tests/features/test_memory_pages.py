"""The engine asks numpy for ordinary pages while it computes, and restores the setting."""

from __future__ import annotations

import pytest

import taxcredit as tc

madvise = pytest.importorskip("numpy._core.multiarray")._set_madvise_hugepage


@pytest.mark.parametrize("before", [True, False])
def test_numpy_page_setting_is_restored(before):
    previous = madvise(before)
    try:
        ds = tc.datasets.make_population(n_enterprises=200, months=24, seed=2)
        tc.build_features(ds, as_of="2024-06-30")
        assert madvise(before) is before  # what the engine left behind
    finally:
        madvise(previous)
