"""The modeling layer on real features of the synthetic population (the README's tour)."""

from __future__ import annotations

import numpy as np
import pytest

import taxcredit as tc
from taxcredit.modeling import (
    GBMRiskModel,
    MasterScale,
    PDCalibrator,
    WoEBinner,
    WoEScorecard,
    metrics,
)


@pytest.fixture(scope="module")
def training():
    ds = tc.datasets.make_population(n_enterprises=4_000, months=48, seed=4)
    apps = ds["applications"]
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    X = tc.build_features(ds, as_of=pairs)
    known = apps["default_12m"].notna().to_numpy()
    Xk = X.reset_index(drop=True)[known].select_dtypes("number")
    yk = apps["default_12m"][known].astype(int).to_numpy()
    return Xk, yk


def test_the_tour_runs_and_ranks_risk(training, tmp_path):
    Xk, yk = training
    assert yk.sum() >= 10
    binner = WoEBinner().fit(Xk, yk)
    assert binner.binning_table("tax_12m")["n"].iloc[-1] == len(Xk)
    card = WoEScorecard().fit(Xk, yk)
    assert len(card.selected_) >= 2
    assert metrics.auc(yk, card.predict_proba(Xk)[:, 1]) > 0.65
    card.to_json(tmp_path / "card.json")
    again = WoEScorecard.from_json(tmp_path / "card.json")
    assert np.array_equal(again.score_points(Xk), card.score_points(Xk))
    gbm = GBMRiskModel(n_estimators=100).fit(Xk, yk)
    assert set(gbm.monotone_.values()) <= {-1, 0, 1}
    raw = gbm.predict_proba(Xk)[:, 1]
    cal = PDCalibrator("platt").fit(raw, yk)
    pd_ = cal.transform(raw)
    grades = MasterScale.geometric(10, lowest=0.001, highest=0.3).grade(pd_)
    table = metrics.calibration_table(yk, pd_, grades)
    assert table["n"].sum() == len(yk)
    assert abs(pd_.mean() - yk.mean()) < 0.01


def test_catalog_directions_agree_with_binning_trends(training):
    """Where binning finds a clear trend, it is the catalog's risk direction."""
    Xk, yk = training
    cat = tc.features.catalog().set_index("id")["direction"]
    binner = WoEBinner(min_bin_size=0.05).fit(Xk, yk)
    summary = binner.summary()
    clear = summary[(summary["n_bins"] >= 3) & (summary["iv"] >= 0.1)]
    checked = 0
    for _, row in clear.iterrows():
        regular = binner.binning_table(row["feature"]).query("type == 'regular'")
        if regular["n"].min() < 100:  # too few rows for a trend to mean anything
            continue
        want = {"riskier": "ascending", "safer": "descending"}.get(cat.get(row["feature"]))
        if want is None:
            continue
        checked += 1
        assert row["trend"] == want, (row["feature"], row["trend"], want)
    assert checked >= 3


def test_catalog_constraints_and_labels_plug_into_the_models(training):
    Xk, yk = training
    mono = tc.features.monotone_constraints([*Xk.columns, "bank_own_column"])
    assert mono["tax_12m"] == -1 and mono["arrears_months_12m"] == 1
    assert mono["bank_own_column"] == 0
    gbm = GBMRiskModel(n_estimators=60, monotone={k: v for k, v in mono.items()
                                                  if k in Xk.columns}).fit(Xk, yk)
    assert gbm.monotone_["tax_12m"] == -1
    from taxcredit.modeling import label_reasons

    r = label_reasons(gbm.reasons(Xk.head(20)), tc.features.labels(), lang="zh")
    named = [v for v in r["reason_1"] if v is not None and v == v]
    assert named and all(any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in named)
