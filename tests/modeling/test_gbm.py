"""GBMRiskModel: monotone constraints, contributions, reasons, persistence, the contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from taxcredit.modeling import GBMRiskModel, metrics


def _data(n=6000, seed=2):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"overdue": rng.integers(0, 8, n).astype(float),
                      "sales": rng.lognormal(12, 1, n),
                      "industry": rng.choice(["C", "F", "G"], n),
                      "noise": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.05, "sales"] = np.nan
    lin = (-2.5 + 0.35 * X["overdue"] - 0.5 * (np.log(X["sales"].fillna(2e5)) - 12)
           + (X["industry"] == "F") * 0.8)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def model():
    X, y = _data()
    return GBMRiskModel(n_estimators=200).fit(X, y), X, y


def test_auto_constraints_follow_the_binning_trends(model):
    m, _, _ = model
    assert m.monotone_ == {"overdue": 1, "sales": -1, "industry": 0, "noise": 0}


def test_predictions_are_monotone_in_constrained_features(model):
    m, X, _ = model
    rows = X.dropna().head(20)
    for feature, sign in (("overdue", 1), ("sales", -1)):
        grid = np.linspace(X[feature].min(), X[feature].quantile(0.99), 25)
        for _, row in rows.iterrows():
            Z = pd.DataFrame([row] * len(grid)).reset_index(drop=True)
            Z[feature] = grid
            p = m.predict_proba(Z.astype({"overdue": float, "sales": float,
                                          "noise": float}))[:, 1]
            assert (np.diff(p) * sign >= -1e-12).all(), feature


def test_discrimination_and_early_stopping(model):
    m, X, y = model
    assert metrics.auc(y, m.predict_proba(X)[:, 1]) > 0.72
    assert 1 <= m.best_iteration_ <= 200


def test_contributions_add_up_to_the_log_odds_and_give_the_reasons(model):
    m, X, _ = model
    c = m.contributions(X.head(100))
    assert np.allclose(c.sum(axis=1), m.decision_function(X.head(100)))
    r = m.reasons(X.head(100), k=2)
    feats = c.drop(columns="bias")
    for i in range(100):
        top = feats.iloc[i].sort_values(ascending=False, kind="stable")
        if top.iloc[0] > 0:
            assert r["reason_1"].iloc[i] == top.index[0]
            assert r["contribution_1"].iloc[i] == pytest.approx(top.iloc[0])


def test_json_round_trip_and_unknown_categories(model, tmp_path):
    m, X, _ = model
    m.to_json(tmp_path / "gbm.json")
    again = GBMRiskModel.from_json(tmp_path / "gbm.json")
    assert np.allclose(again.predict_proba(X), m.predict_proba(X))
    Z = X.head(3).copy()
    Z["industry"] = ["never seen", None, "C"]
    assert np.isfinite(m.predict_proba(Z)).all()


def test_refit_learns_the_chosen_rounds_from_every_row():
    import lightgbm as lgb

    X, y = _data(n=3000, seed=4)
    Xn = X.drop(columns="industry")
    held = GBMRiskModel(n_estimators=300).fit(Xn, y)
    again = GBMRiskModel(n_estimators=300, refit=True).fit(Xn, y)
    assert again.best_iteration_ == held.best_iteration_ < 300
    assert again.booster_.num_trees() == again.best_iteration_
    # the same as LightGBM trained directly on all rows for those rounds with those settings
    params = again._params([again.monotone_[c] for c in Xn.columns])
    direct = lgb.train(params, lgb.Dataset(Xn.to_numpy(float), y, feature_name=list(Xn.columns)),
                       num_boost_round=again.best_iteration_)
    np.testing.assert_allclose(again.decision_function(Xn),
                               direct.predict(Xn.to_numpy(float), raw_score=True), rtol=1e-12)
    assert not np.allclose(again.decision_function(Xn), held.decision_function(Xn))


def test_compiled_trees_score_like_lightgbm(tmp_path):
    import pickle

    pytest.importorskip("lleaves")
    rng = np.random.default_rng(8)
    X = pd.DataFrame(rng.normal(size=(4000, 6)), columns=[f"f{i}" for i in range(6)])
    X.loc[rng.random(4000) < 0.1, "f0"] = np.nan
    y = (rng.random(4000) < 1 / (1 + np.exp(2.5 - X["f1"] - X["f0"].fillna(1)))).astype(int)
    m = GBMRiskModel(n_estimators=60, validation_fraction=0, min_child_samples=5).fit(X, y)
    # NaN in columns trained with and without them, ±inf, zeros, tiny values LightGBM reads as
    # zero, values exactly on a threshold; more rows than one compiled block
    T = pd.DataFrame(rng.normal(size=(70_000, 6)), columns=X.columns)
    T.iloc[::7, 3] = np.nan
    T.iloc[1::11, 2] = np.inf
    T.iloc[2::11, 2] = -np.inf
    T.iloc[3::13, 4] = 0.0
    T.iloc[4::13, 4] = 1e-36
    T.iloc[5::13, 4] = -1e-40
    # LightGBM's zero threshold is the float 1e-35f: |x| up to 1.00000002e-35 reads as zero
    edge = float(np.float32(1e-35))
    T.iloc[7::17, 0], T.iloc[8::17, 0] = -edge, edge
    T.iloc[9::17, 4], T.iloc[10::17, 4] = -edge, np.nextafter(edge, 1.0)
    thresholds = [t["threshold"] for t in _splits(m.booster_.dump_model()["tree_info"])]
    T.iloc[6:6 + len(thresholds), 1] = thresholds
    want = m.decision_function(T)
    assert not m.compiled_
    cache = tmp_path / "m.bin"
    assert m.compile(cache=cache) is m and m.compiled_ and cache.exists()
    np.testing.assert_allclose(m.decision_function(T), want, rtol=0, atol=1e-10)
    np.testing.assert_allclose(m.predict_proba(T.iloc[:5])[:, 1], 1 / (1 + np.exp(-want[:5])))
    # native code is not carried by pickle or JSON: those score through LightGBM again
    for again in (pickle.loads(pickle.dumps(m)), GBMRiskModel.from_json(m.to_json())):
        assert not again.compiled_
        np.testing.assert_allclose(again.decision_function(T.iloc[:100]), want[:100])
    # reasons still come from TreeSHAP
    assert list(m.reasons(T.iloc[:3]).index) == [0, 1, 2]
    # fitting again drops the compiled trees of the earlier fit
    m.fit(X, 1 - y)
    assert not m.compiled_
    fresh = m.booster_.predict(T.iloc[:100].to_numpy(float), raw_score=True)
    np.testing.assert_allclose(m.decision_function(T.iloc[:100]), fresh)
    # … and compiling the new trees to the same cache does not reuse the old native code
    m.compile(cache=cache)
    np.testing.assert_allclose(m.decision_function(T.iloc[:100]), fresh, rtol=0, atol=1e-10)
    assert (tmp_path / "m.bin.sha256").read_text().strip() == __import__("hashlib").sha256(
        m.booster_.model_to_string(num_iteration=m.best_iteration_).encode()).hexdigest()
    # the same trees again: the cache is reused (not compiled afresh)
    stamp = cache.stat().st_mtime_ns
    GBMRiskModel.from_json(m.to_json()).compile(cache=cache)
    assert cache.stat().st_mtime_ns == stamp
    # n_jobs as LightGBM reads it (<= 0: all cores) works compiled too
    for n_jobs in (-1, 0):
        m.set_params(n_jobs=n_jobs)
        np.testing.assert_allclose(m.decision_function(T.iloc[:100]), fresh, rtol=0, atol=1e-10)


def test_compile_explains_what_it_cannot_do(monkeypatch):
    import sys

    X, y = _data(n=1500)
    with_cats = GBMRiskModel(n_estimators=5).fit(X, y)
    with pytest.raises(ValueError, match=r"numeric features only.*industry"):
        with_cats.compile()
    monkeypatch.setitem(sys.modules, "lleaves", None)
    numeric = GBMRiskModel(n_estimators=5).fit(X.drop(columns="industry"), y)
    with pytest.raises(ImportError, match=r"taxcredit\[fast\]"):
        numeric.compile()


def _splits(tree_info):
    """Every split node of a dumped LightGBM model."""
    todo = [t["tree_structure"] for t in tree_info]
    while todo:
        node = todo.pop()
        if "split_feature" in node:
            yield node
            todo += [node["left_child"], node["right_child"]]


def test_given_constraints_are_checked():
    X, y = _data(2000)
    m = GBMRiskModel(n_estimators=30, monotone={"overdue": 1}).fit(X, y)
    assert m.monotone_ == {"overdue": 1, "sales": 0, "industry": 0, "noise": 0}
    with pytest.raises(ValueError, match="does not have"):
        GBMRiskModel(monotone={"nope": 1}).fit(X, y)
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        GBMRiskModel(monotone={"overdue": 2}).fit(X, y)
    with pytest.raises(ValueError, match="categorical"):
        GBMRiskModel(monotone={"industry": 1}).fit(X, y)
    assert set(GBMRiskModel(n_estimators=5, monotone=None).fit(X, y).monotone_.values()) == {0}


def test_deterministic():
    X, y = _data(3000)
    a = GBMRiskModel(n_estimators=50).fit(X, y).predict_proba(X)
    b = GBMRiskModel(n_estimators=50).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)


@parametrize_with_checks([GBMRiskModel(n_estimators=20, min_child_samples=2)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_text_in_a_numeric_feature_is_named_with_its_rows():
    from taxcredit.modeling import GBMRiskModel

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (rng.random(400) < 0.3).astype(int)
    model = GBMRiskModel(n_estimators=5).fit(X, y)
    bad = X.head(4).astype(object)
    bad.loc[2, "b"] = "n/a"
    with pytest.raises(TypeError, match=r"feature 'b' is numeric .* 1 value\(s\) that are not "
                                        r"numbers, e.g. \['n/a'\] in rows \[2\]"):
        model.predict_proba(bad)
    Xc = X.assign(c=rng.choice(["x", "y"], 400))  # the per-column path (with categories)
    withcat = GBMRiskModel(n_estimators=5).fit(Xc, y)
    badc = Xc.head(4).astype(object)
    badc.loc[1, "a"] = "—"
    with pytest.raises(TypeError, match=r"feature 'a' is numeric .* in rows \[1\]"):
        withcat.predict_proba(badc)
