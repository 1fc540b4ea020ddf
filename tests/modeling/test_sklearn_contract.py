"""The scikit-learn contract: estimator checks, clone, Pipeline, GridSearchCV, set_output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from taxcredit.modeling import WoEBinner


@parametrize_with_checks([WoEBinner(), WoEBinner(output="index", monotonic_trend="none")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _data(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float),
                      "c": rng.choice(["x", "y", "z"], n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + X["a"] + 0.3 * X["b"])))).astype(int)
    return X, y


def test_clone_pipeline_and_grid_search():
    X, y = _data()
    binner = WoEBinner(max_n_bins=5, special_values={"b": [4.0]})
    copy = clone(binner)
    assert copy.get_params() == binner.get_params() and not hasattr(copy, "bins_")
    pipe = make_pipeline(WoEBinner(), LogisticRegression())
    search = GridSearchCV(pipe, {"woebinner__max_n_bins": [3, 6]}, cv=3, scoring="roc_auc")
    search.fit(X, y)
    assert search.best_params_["woebinner__max_n_bins"] in (3, 6)
    assert search.best_score_ > 0.7


def test_scorecard_binning_tuned_in_a_grid_search_as_documented():
    from taxcredit.modeling import WoEScorecard

    X, y = _data()
    search = GridSearchCV(WoEScorecard(binner=WoEBinner()),
                          {"binner__max_n_bins": [2, 6]}, cv=3, scoring="roc_auc").fit(X, y)
    assert search.best_params_ == {"binner__max_n_bins": 6}  # the truth is smooth in "a"
    assert search.best_estimator_.binner_.max_n_bins == 6
    assert max(b.n_regular for b in search.best_estimator_.binner_.bins_.values()) > 2
    card = WoEScorecard(binner=WoEBinner()).set_params(binner__max_n_bins=3)
    assert card.get_params()["binner__max_n_bins"] == 3


def test_pandas_output_keeps_index_and_names():
    X, y = _data(500)
    X.index = [f"e{i}" for i in range(500)]
    out = WoEBinner().set_output(transform="pandas").fit(X, y).transform(X)
    assert list(out.index) == list(X.index)
    assert list(out.columns) == ["a", "b", "c"]


def test_booleans_and_other_binary_labels_are_outcomes():
    X, y = _data(800)
    a = WoEBinner().fit(X, y).transform(X)
    assert np.array_equal(WoEBinner().fit(X, y.astype(bool)).transform(X), a)
    labels = np.where(y == 1, "early", "late")  # sorted: "late" is the event
    flipped = WoEBinner().fit(X, labels).transform(X)
    assert np.allclose(flipped, -a, atol=1e-9)  # IV is symmetric: same bins, WoE negated


@pytest.mark.parametrize("bad", [np.arange(6) % 3, [0, 1, None, 1, 0, 1]])
def test_non_binary_or_missing_outcomes_are_refused(bad):
    X = pd.DataFrame({"a": np.arange(6.0)})
    with pytest.raises(ValueError, match=r"binary|NaN"):
        WoEBinner().fit(X, bad)


@pytest.mark.parametrize("labels", [("bad", "good"), ("default", "non-default"),
                                    ("违约", "正常"), ("Default", "Paid "), ("bad", "Good")])
def test_text_labels_naming_the_good_outcome_last_are_refused(labels):
    """Sorted last, "good" would be the event: a PD of being good, scores upside down."""
    from taxcredit.modeling import GBMRiskModel, PDCalibrator, SklearnRiskModel, WoEScorecard

    X, y = _data(n=600)
    bad, good = labels
    text = pd.Series(np.where(y == 1, bad, good))
    if sorted(labels)[-1] == bad:  # (违约 sorts after 正常: the convention is right there)
        card = WoEScorecard().fit(X, text)
        assert card.classes_[1] == bad
        np.testing.assert_array_equal(card.predict_proba(X),
                                      WoEScorecard().fit(X, y).predict_proba(X))
        return
    for est in (WoEBinner(), WoEScorecard(), GBMRiskModel(n_estimators=5),
                SklearnRiskModel(LogisticRegression())):
        Xn = X[["a", "b"]] if isinstance(est, SklearnRiskModel) else X
        with pytest.raises(ValueError, match=rf"event \(1 = default\) would be .*{good.strip()}"
                                             rf".*\(y == '{bad}'\)\.astype\(int\)"):
            est.fit(Xn, text)
    with pytest.raises(ValueError, match="names the good outcome"):
        PDCalibrator().fit(np.linspace(0.01, 0.5, len(text)), text)


def test_text_labels_in_scikit_learn_order_keep_their_meaning():
    """"N"/"Y" (and 1/2 as in the German credit data) take the label sorted last as the event."""
    from taxcredit.modeling import WoEScorecard

    X, y = _data(n=800)
    ref = WoEScorecard().fit(X, y).predict_proba(X)
    for y_other in (np.where(y == 1, "Y", "N"), y + 1):
        card = WoEScorecard().fit(X, y_other)
        assert card.classes_[1] in ("Y", 2)
        np.testing.assert_array_equal(card.predict_proba(X), ref)


def test_parameters_may_name_non_text_columns_as_the_frame_does():
    """A frame with integer column names: the per-feature parameters use the same keys."""
    from taxcredit.modeling import GBMRiskModel

    X, y = _data(n=1500)
    X = X[["a", "b"]]
    Xi = X.set_axis([10, 20], axis=1)
    kw = dict(special_values={"20": [4.0]}, user_splits={"10": [0.0]},
              monotonic_trend={"20": "ascending"})
    ref = WoEBinner(**kw).fit(X.set_axis(["10", "20"], axis=1), y)
    got = WoEBinner(special_values={20: [4.0]}, user_splits={10: [0.0]},
                    monotonic_trend={20: "ascending"}).fit(Xi, y)
    for name in ("10", "20"):
        pd.testing.assert_frame_equal(got.binning_table(int(name)), ref.binning_table(name))
    assert got.bins_["20"].labels()[-2] == "special 4.0" and got.bins_["10"].splits == (0.0,)
    cat = WoEBinner(categorical_features=[20]).fit(Xi, y)
    assert cat.bins_["20"].kind == "categorical"
    gbm = GBMRiskModel(monotone={20: 1}, n_estimators=5).fit(Xi, y)
    assert gbm.monotone_ == {"10": 0, "20": 1}
