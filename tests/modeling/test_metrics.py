"""Metrics against independent computations: scikit-learn where it has one, textbook loops
where not."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from taxcredit.modeling import metrics

rng = np.random.default_rng(42)
Y = (rng.random(3000) < 0.2).astype(int)
S = rng.normal(size=3000) + Y * 0.8
S_TIED = np.round(S * 2) / 2  # many ties


@pytest.mark.parametrize("score", [S, S_TIED])
def test_auc_gini_ks_match_scikit_learn(score):
    assert metrics.auc(Y, score) == pytest.approx(roc_auc_score(Y, score), abs=1e-12)
    assert metrics.gini(Y, score) == pytest.approx(2 * roc_auc_score(Y, score) - 1, abs=1e-12)
    fpr, tpr, _ = roc_curve(Y, score)
    assert metrics.ks(Y, score) == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_orientation_is_explicit_never_guessed():
    points = -S * 50 + 600  # credit points: higher is safer
    assert metrics.auc(Y, points, higher_is_riskier=False) == pytest.approx(
        metrics.auc(Y, S))
    assert metrics.auc(Y, points) == pytest.approx(1 - metrics.auc(Y, S))  # not flipped


def test_auc_of_a_tiny_case_by_hand():
    # pairs (event, non-event): (0.9>0.1) (0.9>0.5) (0.5=0.5 → ½) (0.5>0.1) → 3.5 / 4
    assert metrics.auc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(3.5 / 4)


def test_brier_matches_scikit_learn():
    p = 1 / (1 + np.exp(-S))
    assert metrics.brier(Y, p) == pytest.approx(brier_score_loss(Y, p))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.brier(Y, S)


@pytest.mark.parametrize(("y", "match"), [([0, 1, 2], "only 0 and 1"),
                                         ([0, 1, np.nan], "only 0 and 1"),
                                         ([0, 0, 0], "both events")])
def test_bad_outcomes_are_refused(y, match):
    with pytest.raises(ValueError, match=match):
        metrics.auc(y, [0.1, 0.2, 0.3])


def test_missing_scores_are_refused_with_positions():
    with pytest.raises(ValueError, match="positions \\[1\\]"):
        metrics.auc([0, 1, 1], [0.1, np.nan, 0.3])


def test_woe_iv_by_hand_with_the_zero_cell_rule():
    t = metrics.woe_iv_table([10, 30, 0], [90, 70, 50])
    e = np.array([10, 30, 0.5])
    ne = np.array([90, 70, 50])
    pe, pne = e / e.sum(), ne / ne.sum()
    assert np.allclose(t["woe"], np.log(pe / pne))
    assert t["iv"].sum() == pytest.approx(np.sum((pe - pne) * np.log(pe / pne)))
    # without zero cells nothing is adjusted: the exact IV
    t2 = metrics.woe_iv_table([10, 30], [90, 70])
    assert t2["iv"].sum() == pytest.approx(
        (0.25 - 90 / 160) * math.log(0.25 / (90 / 160))
        + (0.75 - 70 / 160) * math.log(0.75 / (70 / 160)))


def test_information_value_of_a_binned_feature():
    x = np.array(["a"] * 100 + ["b"] * 100)
    y = np.r_[np.ones(10), np.zeros(90), np.ones(30), np.zeros(70)]
    assert metrics.information_value(x, y) == pytest.approx(
        metrics.woe_iv_table([10, 30], [90, 70])["iv"].sum())


def _psi_by_hand(e, a, edges):
    """Textbook PSI with right-open bins, a missing bin, and the half-count rule."""
    def counts(v):
        out = []
        bounds = [-np.inf, *edges, np.inf]
        for lo, hi in itertools.pairwise(bounds):
            out.append(sum(1 for x in v if not np.isnan(x) and lo <= x < hi))
        out.append(sum(1 for x in v if np.isnan(x)))
        return np.array(out, dtype=float)
    ce, ca = counts(e), counts(a)
    keep = (ce + ca) > 0
    ce, ca = ce[keep], ca[keep]
    ce[ce == 0] = 0.5
    ca[ca == 0] = 0.5
    pe, pa = ce / ce.sum(), ca / ca.sum()
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def test_psi_against_a_textbook_loop():
    e = rng.normal(size=500)
    a = np.r_[rng.normal(0.3, 1.2, size=400), [np.nan] * 10]
    edges = [-1.0, 0.0, 0.5, 1.0]
    assert metrics.psi(e, a, bins=edges) == pytest.approx(_psi_by_hand(e, a, edges))
    assert metrics.psi(e, e) == pytest.approx(0.0)
    # a value equal to an edge goes to the upper bin
    assert metrics.psi([0.0, 1.0], [1.0, 1.0], bins=[1.0]) == pytest.approx(
        _psi_by_hand([0.0, 1.0], [1.0, 1.0], [1.0]))


def test_psi_of_scores_with_infinities_uses_no_nan_edge():
    # PD 0 or 1 become ±inf log-odds; here 30 % of the expected sample is +inf
    r = np.random.default_rng(0)
    e = np.r_[r.normal(size=700), [np.inf] * 300]
    a = np.r_[r.normal(size=990), [np.inf] * 10]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edges = metrics._edges(e, 10)
        v = metrics.psi(e, a)
    assert not np.isnan(edges).any() and edges[-1] == np.inf
    # textbook, with +inf written as a huge number: the infinities are a bin of their own
    big = np.nextafter(np.inf, 0)
    assert v == pytest.approx(_psi_by_hand(np.minimum(e, big), np.minimum(a, big),
                                           list(np.minimum(edges, big))))
    assert v > 1.0  # 30 % → 1 % in that bin is a large shift


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=60),
       st.lists(st.floats(-5, 5), min_size=1, max_size=60))
def test_psi_is_non_negative_and_finite(e, a):
    v = metrics.psi(e, a, bins=5)
    assert v >= -1e-12 and np.isfinite(v)


def test_gains_table_adds_up_and_ranks_riskiest_first():
    t = metrics.gains_table(Y, S, n_bands=10)
    assert t["n"].sum() == len(Y) and t["n_event"].sum() == Y.sum()
    assert t["cum_capture"].iloc[-1] == pytest.approx(1.0)
    assert t["min_score"].is_monotonic_decreasing
    assert t["ks"].max() == pytest.approx(metrics.ks(Y, S), abs=0.02)  # KS at band edges
    # tied scores stay in one band
    tied = metrics.gains_table(Y, S_TIED, n_bands=10)
    assert (tied["min_score"].iloc[:-1].to_numpy() > tied["max_score"].iloc[1:].to_numpy()).all()


def test_calibration_table_jeffreys_interval_matches_scipy():
    grades = pd.Categorical(np.where(S > 1, "C", np.where(S > 0, "B", "A")),
                            categories=["A", "B", "C"])
    p = np.clip(1 / (1 + np.exp(-(S - 1.5))), 0, 1)
    t = metrics.calibration_table(Y, p, grades)
    assert list(t["group"]) == ["A", "B", "C"]
    for _, r in t.iterrows():
        d, n = r["n_event"], r["n"]
        lo, hi = stats.beta.ppf([0.025, 0.975], d + 0.5, n - d + 0.5)
        assert r["lower"] == pytest.approx(lo) and r["upper"] == pytest.approx(hi)
        assert r["within"] == (lo <= r["mean_pd"] <= hi)



def test_calibration_table_keeps_rows_without_a_group_and_checks_its_input():
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([0.1, 0.5, 0.2, 0.6, 0.7, 0.3])
    t = metrics.calibration_table(y, p, ["A", None, "B", "B", np.nan, "A"])
    assert t["n"].sum() == 6 and pd.isna(t["group"].iloc[-1])
    assert t.iloc[-1][["n", "n_event"]].tolist() == [2, 2]
    with pytest.raises(ValueError, match="level"):
        metrics.calibration_table(y, p, ["A"] * 6, level=95)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        metrics.calibration_table(y, p * 4, ["A"] * 6)

# --- DeLong: AUC intervals and paired comparison ---------------------------------------------

def _textbook_delong(y, scores):
    """DeLong et al. (1988) straight from the paper: the kernel over every event/non-event pair."""
    y = np.asarray(y)
    aucs, v10s, v01s = [], [], []
    for s in scores:
        s = np.asarray(s, dtype=float)
        pos, neg = s[y == 1], s[y == 0]
        psi = np.zeros((len(pos), len(neg)))
        for i, x in enumerate(pos):
            for j, z in enumerate(neg):
                psi[i, j] = 1.0 if x > z else (0.5 if x == z else 0.0)
        aucs.append(psi.mean())
        v10s.append(psi.mean(axis=1))
        v01s.append(psi.mean(axis=0))
    m, n = len(v10s[0]), len(v01s[0])
    k = len(scores)
    s10 = np.array([[np.sum((v10s[a] - aucs[a]) * (v10s[b] - aucs[b])) / (m - 1)
                     for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01s[a] - aucs[a]) * (v01s[b] - aucs[b])) / (n - 1)
                     for b in range(k)] for a in range(k)])
    return np.array(aucs), s10 / m + s01 / n


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(12, 80), st.integers(2, 6))
def test_delong_matches_the_textbook_pairwise_computation(seed, n, levels):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 0, 1, 1, (rng.random(n) < 0.4).astype(int)]
    a = rng.integers(0, levels, len(y)) + y  # coarse: many ties
    b = rng.normal(size=len(y)) + 0.5 * y
    aucs, cov = _textbook_delong(y, [a, b])
    got = metrics.auc_compare(y, a, b)
    assert got.auc_a == pytest.approx(aucs[0], abs=1e-12)
    assert got.auc_b == pytest.approx(aucs[1], abs=1e-12)
    assert got.auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert got.std_error == pytest.approx(se, rel=1e-9, abs=1e-12)
    if se > 0:
        assert got.p_value == pytest.approx(2 * stats.norm.sf(abs(aucs[0] - aucs[1]) / se),
                                            rel=1e-9)
    one, lower, upper = metrics.auc_interval(y, b, level=0.9)
    half = stats.norm.ppf(0.95) * math.sqrt(cov[1, 1])
    assert one == pytest.approx(aucs[1], abs=1e-12)
    assert lower == pytest.approx(max(aucs[1] - half, 0.0), abs=1e-12)
    assert upper == pytest.approx(min(aucs[1] + half, 1.0), abs=1e-12)


def test_delong_by_hand_on_a_tiny_case():
    # events score 3, 2; non-events 2, 1. Pairs (3,2) (3,1) (2,2) (2,1) -> 1, 1, ½, 1: AUC 7/8.
    # V10 = (1, 3/4), V01 = (3/4, 1); var = (1/32)/2 + (1/32)/2 = 1/32.
    y, s = [1, 1, 0, 0], [3, 2, 2, 1]
    a, lower, upper = metrics.auc_interval(y, s)
    assert a == 7 / 8
    half = stats.norm.ppf(0.975) * math.sqrt(1 / 32)
    assert (lower, upper) == pytest.approx((7 / 8 - half, 1.0))


def test_auc_compare_is_antisymmetric_and_orientation_aware():
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.2).astype(int)
    a, b = rng.normal(size=500) + y, rng.normal(size=500) + 0.6 * y
    ab, ba = metrics.auc_compare(y, a, b), metrics.auc_compare(y, b, a)
    assert ab.difference == pytest.approx(-ba.difference)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert (ab.lower, ab.upper) == pytest.approx((-ba.upper, -ba.lower))
    points = metrics.auc_compare(y, -a, -b, higher_is_riskier=False)
    assert points.difference == pytest.approx(ab.difference)
    assert points.std_error == pytest.approx(ab.std_error)
    same = metrics.auc_compare(y, a, 2 * a + 1)  # same ranking
    assert (same.difference, same.std_error, same.p_value) == (0.0, 0.0, 1.0)


def test_auc_compare_holds_its_size_under_the_null():
    # two scores with the same true AUC on the same rows, correlated through the outcome:
    # a 5 % test must reject about 5 % of the time (independent of the code: a simulation)
    rng = np.random.default_rng(11)
    rejections, trials = 0, 600
    for _ in range(trials):
        y = (rng.random(300) < 0.25).astype(int)
        common = rng.normal(size=300)
        a = common + rng.normal(size=300) + 0.8 * y
        b = common + rng.normal(size=300) + 0.8 * y
        rejections += metrics.auc_compare(y, a, b).p_value < 0.05
    assert 0.025 <= rejections / trials <= 0.08


def test_auc_interval_covers_the_true_auc():
    # binormal: events N(d, 1), non-events N(0, 1) -> true AUC = Phi(d / sqrt 2)
    rng = np.random.default_rng(5)
    d = 1.0
    truth = stats.norm.cdf(d / math.sqrt(2))
    hits, trials = 0, 600
    for _ in range(trials):
        y = np.r_[np.ones(60, int), np.zeros(240, int)]
        s = rng.normal(size=300) + d * y
        _, lower, upper = metrics.auc_interval(y, s)
        hits += lower <= truth <= upper
    assert 0.92 <= hits / trials <= 0.975


@pytest.mark.parametrize(("y", "a", "b", "kw", "match"), [
    ([1, 0, 0, 0], [1, 2, 3, 4], [1, 2, 3, 4], {}, "two events and two non-events"),
    ([1, 1, 1, 1], [1, 2, 3, 4], [1, 2, 3, 4], {}, "both events and non-events"),
    ([1, 1, 0, 0], [1, 2, 3], [1, 2, 3, 4], {}, "same length"),
    ([1, 1, 0, 0], [1, 2, 3, np.nan], [1, 2, 3, 4], {}, "missing value"),
    ([1, 1, 0, 0], [1, 2, 3, 4], [1, 2, 3, 4], {"level": 1.0}, "level must lie"),
])
def test_auc_compare_refuses_bad_input(y, a, b, kw, match):
    with pytest.raises(ValueError, match=match):
        metrics.auc_compare(y, a, b, **kw)
