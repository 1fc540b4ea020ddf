"""Metrics against independent computations: scikit-learn where it has one, textbook loops
where not."""

from __future__ import annotations

import itertools
import math

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
