"""Category codes get one key whatever dtype a batch arrives in (int, float, Int64, object)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxcredit.modeling import FeatureBins, GBMRiskModel, WoEBinner, WoEScorecard
from taxcredit.modeling.categories import category_key, category_keys


@pytest.mark.parametrize(("value", "key"), [
    (1, "1"), (1.0, "1"), (np.int8(1), "1"), (np.float32(1.0), "1"), ("1.0", "1"),
    ("-2.00", "-2"), ("01", "01"), ("1", "1"), (1.5, "1.5"), ("1.5", "1.5"), (True, "True"),
    (np.bool_(False), "False"), ("abc", "abc"), (float("inf"), "inf"), (10**20, str(10**20)),
    ("C13", "C13"), ("1e3", "1e3"),
])
def test_category_key(value, key):
    assert category_key(value) == key


def test_category_keys_refuse_missing_values():
    assert list(category_keys(pd.Series([3, 1.0, 3]))) == ["3", "1", "3"]
    with pytest.raises(ValueError, match="non-missing"):
        category_keys(pd.Series([1.0, np.nan]))


def _coded():
    r = np.random.default_rng(0)
    branch = r.integers(1, 6, 4000)
    x = r.normal(size=4000)
    y = (r.random(4000) < 1 / (1 + np.exp(-(-2 + 0.4 * branch + x)))).astype(int)
    return pd.DataFrame({"branch": branch, "x": x}), y


@pytest.mark.parametrize("dtype", ["float64", "Int64", "object", "int64"])
def test_a_scorecard_scores_a_code_alike_in_every_dtype(dtype):
    X, y = _coded()
    card = WoEScorecard(binner=WoEBinner(categorical_features=["branch"])).fit(X, y)
    batch = pd.DataFrame({"branch": [1, 2, 3, 5], "x": [0.0] * 4})
    expected = card.score_points(batch)
    assert len(set(expected)) == 4  # the codes score differently
    mixed = batch.astype({"branch": dtype})
    assert np.array_equal(card.score_points(mixed), expected)
    with_gap = pd.concat([batch, pd.DataFrame({"branch": [np.nan], "x": [0.0]})],
                         ignore_index=True)  # one missing code turns the column to float
    assert np.array_equal(card.score_points(with_gap)[:4], expected)


def test_gbm_categories_match_across_dtypes_and_files_saved_before():
    X, y = _coded()
    gbm = GBMRiskModel(validation_fraction=0).fit(X.astype({"branch": object}), y)
    assert gbm.categories_ == {"branch": ["1", "2", "3", "4", "5"]}
    head = X.head(50)
    expected = gbm.predict_proba(head.astype({"branch": object}))[:, 1]
    for dtype in ("float64", "Int64", "int64"):
        assert np.array_equal(gbm.predict_proba(head.astype({"branch": dtype}))[:, 1], expected)
    gbm.categories_ = {"branch": ["1.0", "2.0", "3.0", "4.0", "5.0"]}  # how floats were kept
    assert np.array_equal(gbm.predict_proba(head)[:, 1], expected)


def test_bins_saved_with_float_text_codes_still_score_integers():
    old = FeatureBins(name="branch", kind="categorical", groups=(("1.0",), ("2.0", "3.0")),
                      n_event=(5.0, 9.0, 0.0), n_nonevent=(50.0, 40.0, 0.0))
    assert list(old.bin_index(pd.Series([1, 2, 3, 4]))) == [0, 1, 1, -1]
    assert list(old.bin_index(pd.Series([1.0, 3.0]))) == [0, 1]
