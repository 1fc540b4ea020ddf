"""The points scorecard: scaling, selection, statistics, reasons, SQL, persistence."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from taxcredit.modeling import MasterScale, ScoreScale, WoEBinner, WoEScorecard


def _data(n=8000, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "overdue": rng.integers(0, 6, n).astype(float),
        "sales": rng.lognormal(12, 1, n),
        "industry": rng.choice(["C", "F", "G", "I"], n),
        "noise": rng.normal(size=n),
    })
    X["sales_copy"] = X["sales"] * rng.uniform(0.97, 1.03, n)
    X.loc[rng.random(n) < 0.05, "sales"] = np.nan
    X.loc[rng.random(n) < 0.03, "overdue"] = -1.0
    lin = (-2.5 + 0.4 * X["overdue"].clip(0) - 0.5 * (np.log(X["sales"].fillna(2e5)) - 12)
           + (X["industry"] == "F") * 0.8)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def card():
    X, y = _data()
    binner = WoEBinner(special_values={"overdue": [-1.0]})
    return WoEScorecard(binner=binner, C=None, min_iv=0.02).fit(X, y), X, y


def test_score_scale_by_hand():
    sc = ScoreScale(base_score=600, base_odds=50, pdo=20)
    pd_at_50 = 1 / 51  # good:bad odds 50:1
    assert sc.score(pd_at_50) == pytest.approx(600)
    assert sc.score(1 / 101) == pytest.approx(600 + 20 * math.log2(100 / 50))
    assert sc.pd(sc.score(0.07)) == pytest.approx(0.07)
    assert ScoreScale.from_dict(sc.to_dict()) == sc
    with pytest.raises(ValueError, match="positive"):
        ScoreScale(pdo=0)


def test_master_scale():
    ms = MasterScale(grades=("A", "B", "C"), bounds=(0.01, 0.05))
    assert list(ms.grade([0.0, 0.0099, 0.01, 0.049, 0.05, 1.0])) == ["A", "A", "B", "B", "C",
                                                                    "C"]
    t = ms.table()
    assert list(t["pd_from"]) == [0, 0.01, 0.05] and list(t["pd_to"]) == [0.01, 0.05, 1]
    assert (t["pd_mid"] > t["pd_from"]).all() and (t["pd_mid"] < t["pd_to"]).all()
    g = MasterScale.geometric(12, lowest=0.001, highest=0.3)
    ratios = np.diff(np.log(g.bounds))
    assert np.allclose(ratios, ratios[0]) and len(g.grades) == 12
    assert MasterScale.from_dict(g.to_dict()) == g
    with pytest.raises(ValueError, match="missing PD"):
        ms.grade([np.nan])
    with pytest.raises(ValueError, match="increase"):
        MasterScale(grades=("A", "B", "C"), bounds=(0.05, 0.01))
    # representative PDs, by hand: sqrt(lo·hi); the open ends use [b/2, b) and [b, 2b)
    assert t["pd_mid"].tolist() == pytest.approx(
        [math.sqrt(0.005 * 0.01), math.sqrt(0.01 * 0.05), math.sqrt(0.05 * 0.1)])
    with pytest.raises(ValueError, match="at least 3 grades"):
        MasterScale.geometric(2, lowest=0.01, highest=0.1)  # highest would be ignored


def test_selection_records_every_reason(card):
    sc, X, _ = card
    assert "noise" not in sc.selected_
    assert not {"sales", "sales_copy"} <= set(sc.selected_)  # correlated: one is kept
    why = dict(zip(sc.dropped_["feature"], sc.dropped_["step"], strict=True))
    assert why.get("noise") == "iv"
    assert "correlation" in why.values()
    assert set(sc.selected_) | set(sc.dropped_["feature"]) == set(X.columns)
    assert (sc.coef_ > 0).all()


def _irls(W, y, iters=50):
    """Newton–Raphson logistic regression: coefficients and standard errors, independently."""
    X1 = np.column_stack([np.ones(len(W)), W])
    beta = np.zeros(X1.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X1 @ beta))
        H = X1.T @ (X1 * (p * (1 - p))[:, None])
        beta = beta + np.linalg.solve(H, X1.T @ (y - p))
    p = 1 / (1 + np.exp(-X1 @ beta))
    H = X1.T @ (X1 * (p * (1 - p))[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(H)))


def test_coefficients_and_standard_errors_match_newton_raphson(card):
    sc, X, y = card
    W = np.column_stack([sc.binner_.bins_[f].transform_woe(X[f]) for f in sc.selected_])
    beta, se = _irls(W, y)
    assert np.allclose(sc.coefficients_["coef"], beta, atol=1e-4)
    assert np.allclose(sc.coefficients_["std_err"], se, rtol=1e-3)
    from scipy import stats
    z = beta / se
    assert np.allclose(sc.coefficients_["p_value"], 2 * stats.norm.sf(abs(z)), rtol=1e-2,
                       atol=1e-300)


def test_points_add_up_to_the_score_and_the_pd(card):
    sc, X, y = card
    pts = sc.feature_points(X)
    score = sc.score_points(X)
    assert np.array_equal(pts.sum(axis=1).to_numpy() + sc.base_points_, score)
    assert np.allclose(sc.predict_proba(X)[:, 1], ScoreScale().pd(score))
    assert np.allclose(sc.predict_proba(X).sum(axis=1), 1)
    assert np.allclose(sc.pd_from_points(pts), sc.predict_proba(X)[:, 1])
    # points of a row, looked up by hand in the points table
    row = X.iloc[[7]]
    for f in sc.selected_:
        b = sc.binner_.bins_[f]
        label = b.labels()[b.bin_index(row[f])[0]]
        card_rows = sc.points_[(sc.points_["feature"] == f) & (sc.points_["bin"] == label)]
        expected = card_rows["points"].iloc[0]
        assert pts.loc[row.index[0], f] == expected
    # the card's PD ranks like the unrounded regression
    from taxcredit.modeling import metrics
    assert metrics.auc(y, sc.predict_proba(X)[:, 1]) > 0.7


def test_sql_gives_the_same_scores_in_a_database(card):
    sc, X, y = card
    Z = X.head(400).copy()
    Z.loc[Z.index[:5], "industry"] = "never seen"
    Z.loc[Z.index[5:10], "sales"] = np.nan
    con = sqlite3.connect(":memory:")
    Z.to_sql("applications", con, index=False)
    got = pd.read_sql(f"SELECT {sc.to_sql()} FROM applications", con)["score"].to_numpy()
    assert np.array_equal(got, sc.score_points(Z))
    base = WoEScorecard(spread_intercept=False).fit(X, y)
    got = pd.read_sql(f"SELECT {base.to_sql(score_name='s')} FROM applications", con)["s"]
    assert np.array_equal(got.to_numpy(), base.score_points(Z))
    assert base.base_points_ != 0


def test_sql_of_boolean_and_integer_codes_matches_python_in_sqlite():
    # SQLite keeps booleans as 0/1 and compares an INTEGER column with '2' as the number 2
    rng = np.random.default_rng(12)
    n = 5000
    X = pd.DataFrame({"flag": rng.random(n) < 0.4, "branch": rng.integers(1, 5, n),
                      "x": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.2 * X["flag"] + 0.3 * X["branch"]
                                             + X["x"])))).astype(int)
    sc = WoEScorecard(min_iv=0.0, binner=WoEBinner(categorical_features=["flag", "branch"])
                      ).fit(X, y)
    assert {"flag", "branch"} <= set(sc.selected_)
    assert sc.binner_.bins_["flag"].codes == "bool"
    assert sc.binner_.bins_["branch"].codes == "text"
    sql = sc.to_sql()
    assert "IN (TRUE)" in sql and "'True'" not in sql
    con = sqlite3.connect(":memory:")
    X.head(500).to_sql("applications", con, index=False)
    got = pd.read_sql(f"SELECT {sql} FROM applications", con)["score"].to_numpy()
    assert np.array_equal(got, sc.score_points(X.head(500)))
    again = WoEScorecard.from_json(sc.to_json())
    assert again.binner_.bins_["flag"].codes == "bool" and again.to_sql() == sql



def test_special_values_score_the_same_whatever_the_dtype_in_python_and_sql():
    # a special code is compared like the regular bins: categorical by key, numeric by number
    rng = np.random.default_rng(5)
    n = 4000
    code = rng.integers(1, 5, n)
    code[rng.random(n) < 0.1] = 9
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = -999.0
    lin = np.where(code == 9, -5.0, -2 + 0.4 * code) + np.where(x == -999, -3.0, x)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    X = pd.DataFrame({"code": code, "x": x})
    sc = WoEScorecard(min_iv=0.0, binner=WoEBinner(
        categorical_features=["code"], special_values={"code": [9], "x": [-999.0]})).fit(X, y)
    pts = sc.points_.set_index(["feature", "bin"])["points"]
    special_code, special_x = pts[("code", "special 9")], pts[("x", "special -999.0")]
    code_1 = pts[("code", "{1}")]
    # the special bins are the safest of their features (points that no regular bin gives)
    assert special_code > pts.loc["code"].drop("special 9").max()
    assert special_x > pts.loc["x"].drop("special -999.0").max()
    for codes in ([9, 1], [9.0, 1.0], ["9", "1"], ["9.0", "1.0"],
                  pd.array([9, 1], dtype="Int64")):
        got = sc.feature_points(pd.DataFrame({"code": codes, "x": [0.0, 0.0]}))["code"]
        assert got.tolist() == [special_code, code_1], codes
    for xs in ([-999.0, 0.5], pd.Series(["-999", "0.5"], dtype=object),
               pd.Series(["-999", "0.5"], dtype="str")):
        got = sc.feature_points(pd.DataFrame({"code": [1, 1], "x": xs}))["x"]
        assert got.iloc[0] == special_x and got.iloc[1] != special_x, xs
    con = sqlite3.connect(":memory:")
    Z = pd.DataFrame({"code": ["9", "1", "3"], "x": [-999.0, 0.5, -999.0]})  # TEXT codes
    Z.to_sql("applications", con, index=False)
    got = pd.read_sql(f"SELECT {sc.to_sql()} FROM applications", con)["score"].to_numpy()
    assert np.array_equal(got, sc.score_points(Z))
    assert np.array_equal(got, sc.score_points(Z.assign(code=[9, 1, 3])))


def test_reasons_are_the_largest_point_shortfalls(card):
    sc, X, _ = card
    r = sc.reasons(X.head(50), k=2)
    pts = sc.feature_points(X.head(50))
    best = sc.points_.groupby("feature")["points"].max()
    for i in range(50):
        lost = (best[sc.selected_] - pts.iloc[i][sc.selected_]).sort_values(
            ascending=False, kind="stable")
        lost = lost[lost > 0]
        if len(lost):
            assert r["points_lost_1"].iloc[i] == lost.iloc[0]
            assert r["reason_1"].iloc[i] in set(lost.index[lost == lost.iloc[0]])
        else:
            assert r["reason_1"].iloc[i] is None  # None, as documented: not NaN


def test_round_trip_through_json(card, tmp_path):
    sc, X, _ = card
    path = tmp_path / "card.json"
    sc.to_json(path)
    again = WoEScorecard.from_json(path)
    assert np.array_equal(again.score_points(X), sc.score_points(X))
    pd.testing.assert_frame_equal(again.points_, sc.points_)
    assert again.selected_ == sc.selected_
    # the hyper-parameters come back too, so the card can be developed again from its file
    assert again.binner.get_params() == {**sc.binner.get_params(),
                                         "special_values": {"overdue": [-1.0]}}
    assert {k: v for k, v in again.get_params(deep=False).items() if k not in ("binner",
            "scale")} == {k: v for k, v in sc.get_params(deep=False).items()
                          if k not in ("binner", "scale")}
    X2, y2 = _data(seed=4)
    refit, fresh = clone(again).fit(X2, y2), clone(sc).fit(X2, y2)
    pd.testing.assert_frame_equal(refit.points_, fresh.points_)
    legacy = sc.to_dict()
    del legacy["params"]["binner"]  # a file written before the binner's parameters were kept
    assert WoEScorecard.from_dict(legacy).binner is None


def test_sign_check_drops_reversed_evidence():
    # y depends on a + 0.3·c; given s = a + c, the evidence of c reverses (a suppressor)
    rng = np.random.default_rng(5)
    n = 8000
    a, c = rng.normal(size=n), rng.normal(size=n)
    X = pd.DataFrame({"s": a + c, "c": c})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.5 * (a + 0.3 * c))))).astype(int)
    free = WoEScorecard(min_iv=0.0, max_corr=None, sign_check="ignore").fit(X, y)
    assert (free.coef_ <= 0).any()
    checked = WoEScorecard(min_iv=0.0, max_corr=None).fit(X, y)
    assert (checked.coef_ > 0).all() and checked.selected_ == ["s"]
    assert list(checked.dropped_["step"]) == ["sign"]
    with pytest.raises(ValueError, match="not positive"):
        WoEScorecard(min_iv=0.0, max_corr=None, sign_check="error").fit(X, y)


def test_missing_card_columns_are_named(card):
    sc, X, _ = card
    with pytest.raises(ValueError, match="lacks the card's feature"):
        sc.predict_proba(X.drop(columns=sc.selected_[0]))
    sc.predict_proba(X[sc.selected_])  # unused columns are not needed


@parametrize_with_checks([WoEScorecard(min_iv=0.0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
