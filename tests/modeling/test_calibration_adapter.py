"""PD calibration, prior correction, the scikit-learn adapter and reason labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from taxcredit.modeling import PDCalibrator, SklearnRiskModel, label_reasons, prior_correction

rng = np.random.default_rng(11)


def _logit(p):
    return np.log(p / (1 - p))


def test_platt_recovers_a_known_miscalibration():
    raw = rng.uniform(0.01, 0.6, 60_000)
    true = 1 / (1 + np.exp(-(1.0 + 0.5 * _logit(raw))))
    y = (rng.random(len(raw)) < true).astype(int)
    cal = PDCalibrator("platt").fit(raw, y)
    assert cal.coef_ == pytest.approx(0.5, abs=0.05)
    assert cal.intercept_ == pytest.approx(1.0, abs=0.08)
    assert np.allclose(cal.transform(raw), true, atol=0.03)
    again = PDCalibrator.from_dict(cal.to_dict())
    assert np.array_equal(again.transform(raw), cal.transform(raw))


def test_beta_recovers_a_known_miscalibration_and_matches_a_textbook_fit():
    raw = rng.uniform(0.005, 0.7, 60_000)
    a, b, c = 1.3, 0.4, 0.2  # the tails bent differently: no Platt map can do this
    true = 1 / (1 + np.exp(-(c + a * np.log(raw) - b * np.log(1 - raw))))
    y = (rng.random(len(raw)) < true).astype(int)
    cal = PDCalibrator("beta").fit(raw, y)
    assert (cal.a_, cal.b_, cal.intercept_) == pytest.approx((a, b, c), abs=0.12)
    assert np.allclose(cal.transform(raw), true, atol=0.02)
    # the same maximum-likelihood fit by a general optimiser, written out by hand
    from scipy.optimize import minimize

    F = np.column_stack([np.log(raw), -np.log(1 - raw), np.ones(len(raw))])

    def nll(w):
        z = F @ w
        return float(np.sum(np.logaddexp(0, z) - y * z)), F.T @ (1 / (1 + np.exp(-z)) - y)

    ref = minimize(nll, [1.0, 1.0, 0.0], jac=True, method="BFGS", options={"gtol": 1e-8}).x
    assert (cal.a_, cal.b_, cal.intercept_) == pytest.approx(tuple(ref), abs=1e-3)
    assert nll([cal.a_, cal.b_, cal.intercept_])[0] <= nll(ref)[0] + 1e-6
    again = PDCalibrator.from_dict(cal.to_dict())
    assert np.array_equal(again.transform(raw), cal.transform(raw))
    platt_like = PDCalibrator("beta").fit(raw, (rng.random(len(raw)) < raw).astype(int))
    assert platt_like.a_ == pytest.approx(platt_like.b_, abs=0.1)  # Platt is its case a = b


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 60), st.floats(0.0, 1.0))
def test_beta_never_reverses_the_ranking(seed, n, slope):
    r = np.random.default_rng(seed)
    raw = r.uniform(0.001, 0.999, n)
    y = (r.random(n) < slope * raw + (1 - slope) * (1 - raw)).astype(int)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    cal = PDCalibrator("beta").fit(raw, y)
    assert cal.a_ >= 0 and cal.b_ >= 0
    out = cal.transform(np.sort(raw))
    assert (np.diff(out) >= -1e-12).all()


def test_isotonic_is_monotone_and_keeps_the_mean():
    raw = rng.uniform(0, 1, 5000)
    y = (rng.random(5000) < raw ** 2).astype(int)
    cal = PDCalibrator("isotonic").fit(raw, y)
    out = cal.transform(np.sort(raw))
    assert (np.diff(out) >= 0).all()
    assert cal.transform(raw).mean() == pytest.approx(y.mean(), abs=1e-9)
    assert np.array_equal(PDCalibrator.from_dict(cal.to_dict()).transform(raw),
                          cal.transform(raw))
    assert cal.transform(np.c_[1 - raw, raw]).shape == (5000,)  # predict_proba output


def test_calibrator_refuses_non_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        PDCalibrator().fit([0.2, 1.3], [0, 1])
    with pytest.raises(ValueError, match="method"):
        PDCalibrator("sigmoid").fit([0.2, 0.3], [0, 1])


def test_prior_correction_by_hand():
    # a model trained on 50 % defaults says 0.5; the population rate is 5 %
    assert prior_correction(0.5, 0.5, 0.05) == pytest.approx(0.05)
    # odds scale by (0.05/0.95) / (0.2/0.8)
    p = 0.3
    odds = p / (1 - p) * (0.05 / 0.95) / (0.2 / 0.8)
    assert prior_correction(p, 0.2, 0.05) == pytest.approx(odds / (1 + odds))
    with pytest.raises(ValueError, match="sample_rate"):
        prior_correction(0.3, 1.0, 0.05)


def _data(n=3000):
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.2 * X["a"] + 0.4 * X["b"])))).astype(int)
    return X, y


def test_adapter_passes_predictions_through_and_explains_them():
    X, y = _data()
    m = SklearnRiskModel(LogisticRegression()).fit(X, y)
    inner = LogisticRegression().fit(X, y)
    assert np.allclose(m.predict_proba(X), inner.predict_proba(X))
    r = m.reasons(X.head(30), k=3)
    for i in range(30):  # by hand: PD now minus PD with the feature at its median
        row = X.iloc[[i]]
        base = inner.predict_proba(row)[0, 1]
        drops = {}
        for f in X.columns:
            alt = row.copy()
            alt[f] = X[f].median()
            drops[f] = base - inner.predict_proba(alt)[0, 1]
        best = max(drops, key=drops.get)
        if drops[best] > 0:
            assert r["reason_1"].iloc[i] == best
            assert r["pd_drop_1"].iloc[i] == pytest.approx(drops[best])


def test_adapter_needs_probabilities():
    X, y = _data(200)
    with pytest.raises(TypeError, match="predict_proba"):
        SklearnRiskModel(LinearSVC()).fit(X, y)


def test_top_k_reasons_are_none_when_fewer_features_pushed_risk_up():
    from taxcredit.modeling.reasons import top_k

    lost = np.array([[3.0, 1.0, 0.0], [0.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    index = pd.Index(["a", "a", "b"])  # repeated labels are kept, not aligned on
    r = top_k(lost, ["x", "y", "z"], 4, index, "lost")
    assert r.index.equals(index)
    for i in range(1, 5):
        assert r[f"reason_{i}"].dtype == object
    assert r.iloc[0][["reason_1", "reason_2", "reason_3", "reason_4"]].tolist() == [
        "x", "y", None, None]
    assert r.iloc[1][["reason_1", "reason_2"]].tolist() == ["z", None]
    assert r["reason_1"].iloc[2] is None
    assert r.iloc[0][["lost_1", "lost_2", "lost_3"]].tolist() == [3.0, 1.0, 0.0]


def test_reason_labels_in_both_languages():
    r = pd.DataFrame({"reason_1": ["tax_12m", "mine"], "points_lost_1": [3.0, 1.0]})
    labels = {"tax_12m": ("近12个月纳税额", "tax paid, last 12 months")}
    assert list(label_reasons(r, labels)["reason_1"]) == ["近12个月纳税额", "mine"]
    assert label_reasons(r, labels, lang="en")["reason_1"].iloc[0] == "tax paid, last 12 months"


def test_reasons_from_missing_values_say_there_were_no_data():
    r = pd.DataFrame({"reason_1": ["tax_12m", "tax_12m", "mine", None],
                      "reason_2": ["mine", None, "tax_12m", None]}, dtype=object)
    values = pd.DataFrame({"tax_12m": [np.nan, 5.0, np.nan, np.nan], "mine": [1.0, 2, None, 3]})
    labels = {"tax_12m": ("近12个月纳税额", "tax paid, last 12 months")}
    zh = label_reasons(r, labels, values=values)
    assert list(zh["reason_1"]) == ["无数据：近12个月纳税额", "近12个月纳税额", "无数据：mine",
                                    None]
    assert list(zh["reason_2"]) == ["mine", None, "无数据：近12个月纳税额", None]
    en = label_reasons(r, labels, lang="en", values=values)
    assert en["reason_1"].iloc[0] == "no data: tax paid, last 12 months"
    with pytest.raises(ValueError, match="rows"):
        label_reasons(r, labels, values=values.head(2))


@parametrize_with_checks([SklearnRiskModel(LogisticRegression()),
                          SklearnRiskModel(RandomForestClassifier(n_estimators=5,
                                                                  random_state=0))])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_platt_never_reverses_the_ranking():
    raw = np.linspace(0.01, 0.5, 200)
    y = np.zeros(200, dtype=int)
    y[[3, 10]] = 1  # two events, both at low raw PDs: the free slope would be negative
    cal = PDCalibrator("platt").fit(raw, y)
    assert cal.coef_ == 1.0
    out = cal.transform(raw)
    assert (np.diff(out) > 0).all() and out.mean() == pytest.approx(y.mean(), rel=1e-6)


@pytest.mark.parametrize("method", ["platt", "beta"])
@pytest.mark.parametrize("events", [[-1, -2], [-1, -2, -3, -4, -5], [0, 1]])
def test_separated_defaults_move_only_the_level(method, events):
    # every default above (or below) every non-default: the best slope is infinite and a
    # free fit would make raw 5 % a PD of exactly 0; only the level may move
    raw = np.linspace(0.01, 0.10, 500)
    y = np.zeros(500, dtype=int)
    y[events] = 1
    cal = PDCalibrator(method).fit(raw, y)
    out = cal.transform(raw)
    assert (np.diff(out) > 0).all()  # the ranking kept, strictly
    assert out.min() > 1e-4 and out.max() < 0.5
    assert out.mean() == pytest.approx(y.mean(), rel=1e-6)
    odds = out / (1 - out)
    assert np.allclose(odds / (raw / (1 - raw)), odds[0] / (raw[0] / (1 - raw[0])))


def test_platt_is_the_maximum_likelihood_fit_to_full_precision():
    r = np.random.default_rng(3)
    raw = np.exp(r.uniform(np.log(1e-5), np.log(0.05), 5000))
    y = (r.random(5000) < 1 / (1 + np.exp(-(2 + 1.5 * _logit(raw))))).astype(int)
    cal = PDCalibrator("platt").fit(raw, y)
    X = np.column_stack([np.ones(len(raw)), _logit(raw)])  # Newton–Raphson, by hand
    w = np.zeros(2)
    for _ in range(100):
        q = 1 / (1 + np.exp(-(X @ w)))
        w += np.linalg.solve(X.T @ (X * (q * (1 - q))[:, None]), X.T @ (y - q))
    assert (cal.intercept_, cal.coef_) == pytest.approx(tuple(w), rel=1e-7)
    # with an intercept, the likelihood's maximum reproduces the observed rate exactly
    assert cal.transform(raw).mean() == pytest.approx(y.mean(), rel=1e-8)


def test_calibrator_takes_one_value_per_row():
    cal = PDCalibrator().fit([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    col = np.array([[0.1], [0.3]])
    assert np.array_equal(cal.transform(col), cal.transform([0.1, 0.3]))
    with pytest.raises(ValueError, match=r"one value per row.*\(2, 3\)"):
        cal.transform(np.array([[0.1, 0.3, 0.5], [0.2, 0.2, 0.2]]))


def _bisect_shift(logit, rate):
    """Log-odds shift making the mean PD equal ``rate``: plain bisection, no scipy."""
    lo, hi = -30.0, 30.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("method", ["platt", "beta", "isotonic"])
def test_central_tendency_anchors_the_mean_and_keeps_the_ranking(method):
    r = np.random.default_rng(4)
    raw = r.uniform(0.005, 0.4, 20_000)
    y = (r.random(len(raw)) < raw).astype(int)
    plain = PDCalibrator(method).fit(raw, y)
    anchored = PDCalibrator(method, central_tendency=0.12).fit(raw, y)
    got = anchored.transform(raw)
    assert got.mean() == pytest.approx(0.12, abs=1e-9)
    base = plain.transform(raw)
    assert np.array_equal(np.argsort(got, kind="stable"), np.argsort(base, kind="stable"))
    if method != "isotonic":  # one constant on the log-odds, found here by plain bisection
        shift = _bisect_shift(_logit(base), 0.12)
        assert anchored.shift_ == pytest.approx(shift, abs=1e-8)
        assert np.allclose(_logit(got), _logit(base) + shift)
    again = PDCalibrator.from_dict(anchored.to_dict())
    assert again.central_tendency == 0.12
    assert np.array_equal(again.transform(raw), got)
    assert plain.shift_ == 0.0 and "shift" not in plain.to_dict()


def test_calibrators_saved_before_central_tendency_still_load():
    old = {"method": "platt", "coef": 1.0, "intercept": -0.5}
    cal = PDCalibrator.from_dict(old)
    assert cal.central_tendency is None and cal.shift_ == 0.0
    assert cal.transform(np.array([0.5]))[0] == pytest.approx(1 / (1 + np.exp(0.5)))


@pytest.mark.parametrize("ct", [0.0, 1.0, -0.1, 1.5, "0.04", True, float("nan")])
def test_central_tendency_must_be_a_rate(ct):
    with pytest.raises(ValueError, match="central_tendency must be a default rate"):
        PDCalibrator(central_tendency=ct).fit([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])


@pytest.mark.parametrize("method", ["platt", "beta", "isotonic"])
def test_central_tendency_is_reached_with_a_single_default(method):
    # a benign window: 2,000 calibration rows, one default; the bank expects 1 %
    r = np.random.default_rng(8)
    raw = r.uniform(0.001, 0.05, 2_000)
    y = np.zeros(2_000, dtype=int)
    y[np.argmax(raw)] = 1
    cal = PDCalibrator(method, central_tendency=0.01).fit(raw, y)
    assert cal.transform(raw).mean() == pytest.approx(0.01, abs=1e-6)
    assert PDCalibrator.from_dict(cal.to_dict()).transform(raw).mean() == pytest.approx(
        0.01, abs=1e-6)


@pytest.mark.parametrize("method", ["platt", "beta", "isotonic"])
@pytest.mark.parametrize("outcome", [0, 1])
def test_calibration_needs_both_outcomes(method, outcome):
    with pytest.raises(ValueError, match=r"hold only (non-)?defaults"):
        PDCalibrator(method).fit([0.1, 0.2, 0.3], [outcome] * 3)
