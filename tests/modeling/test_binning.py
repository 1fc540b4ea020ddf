"""Optimal binning of one feature and the WoEBinner transformer."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxcredit.modeling import FeatureBins, WoEBinner, fit_bins
from taxcredit.modeling.metrics import woe_iv_table


def _data(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "overdue": rng.integers(0, 8, n).astype(float),
        "sales": rng.lognormal(12, 1, n),
        "industry": rng.choice(["C", "F", "G", "I", "K"], n),
    })
    X.loc[rng.random(n) < 0.06, "sales"] = np.nan
    X.loc[rng.random(n) < 0.04, "overdue"] = -1.0  # "no filing record": a special code
    lin = (-3 + 0.35 * X["overdue"].clip(0) - 0.4 * (np.log(X["sales"].fillna(1e5)) - 12)
           + (X["industry"] == "F") * 0.9)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    return X, y


def test_bins_are_monotone_and_counts_are_exact():
    X, y = _data()
    b = fit_bins(X["overdue"], y, name="overdue", specials=[-1.0], trend="ascending")
    t = b.table()
    regular = t[t["type"] == "regular"]
    assert regular["event_rate"].is_monotonic_increasing
    # counts re-computed by hand from the splits (right-open bins)
    edges = [-np.inf, *b.splits, np.inf]
    v = X["overdue"]
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        mask = (v >= lo) & (v < hi) & (v != -1)
        assert t["n"].iloc[k] == mask.sum()
        assert t["n_event"].iloc[k] == y[mask].sum()
    special = t[t["type"] == "special"].iloc[0]
    assert special["n"] == (v == -1).sum()
    assert t["n"].iloc[-1] == len(v)  # total row: nothing lost
    # WoE and IV from the counts, independently
    ref = woe_iv_table(t["n_event"].iloc[:-1], t["n_nonevent"].iloc[:-1])
    assert np.allclose(t["woe"].iloc[:-2], ref["woe"].iloc[:-1])  # (missing bin is empty)
    assert b.iv == pytest.approx(ref["iv"].sum())


def test_a_value_on_a_split_goes_to_the_upper_bin():
    b = FeatureBins(name="x", kind="numeric", splits=(1.0, 5.0), n_event=(1, 1, 1, 0),
                    n_nonevent=(5, 5, 5, 0))
    assert list(b.bin_index([0.5, 1.0, 4.99, 5.0, np.nan])) == [0, 1, 1, 2, 3]


def test_auto_picks_the_better_trend_and_descending_works():
    X, y = _data()
    b = fit_bins(X["sales"], y, name="sales")
    assert b.trend == "descending"
    rates = b.table().query("type == 'regular'")["event_rate"]
    assert rates.is_monotonic_decreasing
    assert b.iv >= fit_bins(X["sales"], y, trend="ascending").iv


def test_min_bin_size_and_max_bins_hold():
    X, y = _data()
    b = fit_bins(X["sales"], y, max_n_bins=4, min_bin_size=0.1, trend="none")
    t = b.table().query("type == 'regular'")
    assert len(t) <= 4 and (t["n"] >= 0.1 * len(y)).all()


def test_categorical_bins_group_categories_by_risk():
    X, y = _data()
    b = fit_bins(X["industry"], y, name="industry", kind="categorical", min_bin_size=0.0)
    worst = b.table().query("type == 'regular'").sort_values("event_rate").iloc[-1]
    assert "F" in worst["bin"]
    assert sorted(c for g in b.groups for c in g) == ["C", "F", "G", "I", "K"]
    # a category never seen: the riskiest bin by default, neutral or an error on request
    w = b.transform_woe(pd.Series(["F", "Z"]))
    assert w[1] == pytest.approx(b.woe[: b.n_regular].max())
    neutral = fit_bins(X["industry"], y, kind="categorical", unseen="neutral")
    assert neutral.transform_woe(pd.Series(["Z"]))[0] == 0.0
    strict = fit_bins(X["industry"], y, kind="categorical", unseen="error")
    with pytest.raises(ValueError, match="never saw"):
        strict.transform_woe(pd.Series(["Z"]))


def test_missing_values_get_their_own_bin_and_unseen_missing_is_conservative():
    X, y = _data()
    b = fit_bins(X["sales"], y)
    assert b.table().query("type == 'missing'")["n"].iloc[0] == X["sales"].isna().sum()
    full = fit_bins(X["sales"].fillna(1e5), y)  # no missing value in training
    assert full.transform_woe([np.nan])[0] == pytest.approx(full.woe[: full.n_regular].max())


def test_user_splits_override_the_optimiser():
    X, y = _data()
    b = fit_bins(X["overdue"], y, user_splits=[2, 5], specials=[-1.0])
    assert b.splits == (2.0, 5.0)
    c = fit_bins(X["industry"], y, kind="categorical",
                 user_splits=[["C", "G"], ["F"], ["I", "K"]])
    assert c.groups == (("C", "G"), ("F",), ("I", "K"))
    with pytest.raises(ValueError, match="without a bin"):
        fit_bins(X["industry"], y, kind="categorical", user_splits=[["C"], ["F"]])


def test_bad_input_is_named():
    X, y = _data()
    with pytest.raises(TypeError, match="declare it categorical"):
        fit_bins(X["industry"], y, name="industry")
    with pytest.raises(ValueError, match="infinite"):
        fit_bins(np.r_[X["sales"].to_numpy()[:-1], np.inf], y)
    with pytest.raises(ValueError, match="rows"):
        fit_bins(X["sales"][:10], y)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(-100, 100), st.just(np.nan), st.just(-999.0)),
                min_size=5, max_size=80), st.integers(0, 2**31 - 1))
def test_every_row_lands_in_exactly_one_bin(values, seed):
    y = np.random.default_rng(seed).integers(0, 2, len(values))
    b = fit_bins(values, y, specials=[-999.0], min_bin_size=0.0)
    idx = b.bin_index(values)
    assert ((idx >= 0) & (idx < b.n_bins)).all()
    assert b.table()["n"].iloc[:-1].sum() == len(values)
    assert b.table()["n_event"].iloc[:-1].sum() == y.sum()


def test_feature_bins_round_trip_through_json():
    X, y = _data()
    for b in (fit_bins(X["overdue"], y, specials={"no record": [-1.0]}),
              fit_bins(X["industry"], y, kind="categorical")):
        again = FeatureBins.from_dict(json.loads(json.dumps(b.to_dict())))
        assert again == b
        pd.testing.assert_frame_equal(again.table(), b.table())


def test_woe_binner_fits_all_columns_and_round_trips():
    X, y = _data()
    binner = WoEBinner(special_values={"overdue": [-1.0]}).fit(X, y)
    assert list(binner.feature_names_in_) == ["overdue", "sales", "industry"]
    assert binner.bins_["industry"].kind == "categorical"
    W = binner.transform(X)
    assert W.shape == X.shape and np.isfinite(W).all()
    again = WoEBinner.from_json(binner.to_json())
    assert np.array_equal(again.transform(X), W)
    assert again.get_params() == binner.get_params()
    assert next(iter(binner.summary()["feature"])) == binner.iv_.idxmax()
    idx = WoEBinner(output="index").fit(X, y).transform(X)
    assert idx.dtype == np.int64


def test_woe_binner_keeps_the_index_with_pandas_output():
    X, y = _data(800)
    X.index = pd.RangeIndex(1000, 1800)
    out = WoEBinner().set_output(transform="pandas").fit(X, y).transform(X)
    assert list(out.index) == list(X.index) and list(out.columns) == list(X.columns)


def test_woe_binner_errors_name_the_problem():
    X, y = _data(500)
    with pytest.raises(ValueError, match="binary"):
        WoEBinner().fit(X, np.arange(500))
    with pytest.raises(ValueError, match="requires y"):
        WoEBinner().fit(X)
    with pytest.raises(ValueError, match="lacks feature"):
        WoEBinner().fit(X, y).transform(X.drop(columns="sales"))
    with pytest.raises(ValueError, match="names feature 'nope'"):
        WoEBinner(user_splits={"nope": [1]}).fit(X, y)


# ---------------------------------------------------------------- significance (max_pvalue)
def test_significance_helpers_match_scipy():
    from scipy.stats import chi2_contingency

    from taxcredit.modeling.binning import independence_pvalue, two_proportion_pvalue

    e, ne = np.array([12.0, 30, 7, 0]), np.array([400.0, 610, 380, 0])  # an empty column
    want = chi2_contingency(np.array([e[:3], ne[:3]]), correction=False).pvalue
    assert independence_pvalue(e, ne) == pytest.approx(want, rel=1e-10)
    # a 2 × 2 table: the pooled z-test is the uncorrected chi-square test (z² = χ²)
    want2 = chi2_contingency(np.array([[12, 30], [400, 610]]), correction=False).pvalue
    assert two_proportion_pvalue(12, 412, 30, 640) == pytest.approx(want2, rel=1e-10)
    assert independence_pvalue([0, 0], [5, 9]) == 1.0  # no events: nothing to tell apart
    assert two_proportion_pvalue(0, 10, 0, 20) == 1.0


def test_max_pvalue_gives_a_code_without_bearing_on_risk_one_bin():
    rng = np.random.default_rng(3)
    n = 20_000
    province = pd.Series(rng.choice([f"P{i:02d}" for i in range(30)], n))  # pure noise
    industry = pd.Series(rng.choice(list("ABCDEF"), n))
    y = (rng.random(n) < np.where(industry.isin(["A", "B"]), 0.08, 0.03)).astype(int)
    free = fit_bins(province, y, kind="categorical")
    assert free.n_regular > 1 and free.iv > 0  # the noise sorted into order looks like signal
    gated = fit_bins(province, y, kind="categorical", max_pvalue=0.05)
    assert gated.n_regular == 1 and gated.iv == pytest.approx(0, abs=1e-12)
    real = fit_bins(industry, y, kind="categorical", max_pvalue=0.05)
    assert real.n_regular == 2  # A and B against the rest
    assert {c for c in real.groups[-1]} == {"A", "B"}


def test_max_pvalue_merges_neighbours_that_do_not_differ():
    from taxcredit.modeling.binning import two_proportion_pvalue

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3, 30_000)
    y = (rng.random(len(x)) < np.where(x < 2, 0.03, 0.09)).astype(int)  # one real step at 2
    free = fit_bins(x, y, min_bin_size=0.02)
    merged = fit_bins(x, y, min_bin_size=0.02, max_pvalue=0.01)
    assert merged.n_regular < free.n_regular
    assert merged.splits[0] == pytest.approx(2.0, abs=0.2)
    # every remaining pair of neighbours differs at the level asked for
    e, ne = np.array(merged.n_event), np.array(merged.n_nonevent)
    for g in range(merged.n_regular - 1):
        assert two_proportion_pvalue(e[g], e[g] + ne[g], e[g + 1], e[g + 1] + ne[g + 1]) <= 0.01
    # the binner passes it through and keeps it in its JSON
    b = WoEBinner(max_pvalue=0.01).fit(pd.DataFrame({"x": x}), y)
    assert b.bins_["x"].splits == merged.splits
    assert WoEBinner.from_json(b.to_json()).max_pvalue == 0.01
    with pytest.raises(ValueError, match="max_pvalue"):
        fit_bins(x, y, max_pvalue=0)
