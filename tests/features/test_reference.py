"""The engine agrees with an independent, straightforward pandas implementation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import taxcredit as tc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_features_pandas import pandas_features


@pytest.mark.parametrize("as_of", ["2024-02-20", "2025-06-30"])
def test_engine_matches_plain_pandas(as_of):
    ds = tc.datasets.make_population(n_enterprises=2_000, months=48, seed=41)
    ref = pandas_features(ds, as_of)
    got = tc.build_features(ds, as_of=as_of, features=list(ref.columns))
    a = ref.reindex(got.index.get_level_values("uscc")).to_numpy(dtype=float)
    b = got.to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6)
