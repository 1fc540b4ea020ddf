"""Profile settings as data: validation, weights and membership, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.features import DIMENSIONS
from taxcredit.profile import Profiler


@pytest.fixture(scope="module")
def X():
    ds = tc.datasets.make_population(n_enterprises=2_500, months=36, seed=31)
    return tc.build_features(ds, as_of="2025-03-31")


@pytest.mark.parametrize(("params", "match"), [
    ({"weights": {"no_such_feature": 1.0}}, "not numeric catalog indicators"),
    ({"members": {"tax_12m": "nowhere"}}, "unknown dimension"),
    ({"dimension_weights": {"credit_history": -1}}, "number >= 0"),
    ({"weights": {"tax_12m": "high"}}, "number >= 0"),
    ({"grid_points": 2}, "grid_points"),
    ({"min_group_size": 0}, "min_group_size"),
    ({"exclude": ["industry_section"]}, "not numeric catalog indicators"),
    ({"colour": "red"}, "unknown setting"),
])
def test_bad_settings_are_refused_naming_the_table(params, match):
    with pytest.raises(ValueError, match=match) as exc:
        Profiler.from_params(params, where="strategy 'x' [profile]")
    assert "strategy 'x' [profile]" in str(exc.value)


def test_weights_membership_and_exclusion_change_the_scores_as_declared(X):
    prof = Profiler(members={"headcount": "entity"}, exclude=["sales_cv_12m"],
                    weights={"firm_age_months": 3.0, "tax_12m": 0.0},
                    dimension_weights={"credit_history": 2.0, "trade_network": 0.0}).fit(X)
    assert prof.indicators["headcount"] == "entity" and "sales_cv_12m" not in prof.indicators
    out = prof.profile(X, text=False, detail=True)
    pct = out.filter(like="pct_").rename(columns=lambda c: c[4:])
    assert "sales_cv_12m" not in pct.columns
    # independent weighted means over the indicators present
    ent = ["firm_age_months", "general_taxpayer", "key_changes_12m", "headcount"]
    w = pd.Series({"firm_age_months": 3.0, "general_taxpayer": 1.0, "key_changes_12m": 1.0,
                   "headcount": 1.0})
    num = (pct[ent].fillna(0) * w).sum(axis=1)
    den = (pct[ent].notna() * w).sum(axis=1)
    np.testing.assert_allclose(out["score_entity"], (num / den).where(den > 0), rtol=1e-12)
    tax = [c for c, d in prof.indicators.items() if d == "tax_contribution" and c != "tax_12m"]
    np.testing.assert_allclose(out["score_tax_contribution"], pct[tax].mean(axis=1),
                               rtol=1e-12)
    dims = pd.Series({f"score_{d}": {"credit_history": 2.0, "trade_network": 0.0}.get(d, 1.0)
                      for d in DIMENSIONS})
    S = out[dims.index]
    want = (S.fillna(0) * dims).sum(axis=1) / (S.notna() * dims).sum(axis=1)
    np.testing.assert_allclose(out["profile_score"], want, rtol=1e-12)


def test_the_reference_round_trips_through_json(X, tmp_path):
    prof = Profiler(min_group_size=40, grid_points=11, weights={"tax_12m": 2.0}).fit(X)
    path = prof.to_json(tmp_path / "ref.json")
    back = Profiler.from_json(path)
    assert back.get_params() == prof.get_params()
    pd.testing.assert_frame_equal(back.profile(X, lang="en"), prof.profile(X, lang="en"))
    pd.testing.assert_frame_equal(back.peer_medians(X), prof.peer_medians(X))
    d = json.loads(path.read_text(encoding="utf-8"))
    d["grids"][0]["quantiles"][0] = [*d["grids"][0]["quantiles"][0][::-1][:-1], -1e9]
    with pytest.raises(ValueError, match="malformed"):
        Profiler.from_dict(d)
    with pytest.raises(ValueError, match="not a profile reference"):
        Profiler.from_dict({"format": "something else"})


def test_explain_lists_every_indicator_of_one_enterprise(X):
    prof = Profiler().fit(X)
    table = prof.explain(X, 3, lang="en")
    assert set(table["indicator"]) == set(prof.indicators)
    assert table["percentile"].dropna().between(0, 100).all()
    row = table.set_index("indicator").loc["tax_12m"]
    assert row["value"] == X["tax_12m"].iloc[3] or np.isnan(row["value"])
    assert row["peer_group"] in ("industry_section×size_class×province",
                                 "industry_section×size_class", "industry_section", "all")
    with pytest.raises(KeyError, match="neither a label"):
        prof.explain(X, 10**9)


def test_peer_medians_are_medians_of_the_reference_scores(X):
    prof = Profiler(min_group_size=10**6).fit(X)  # one group: everyone
    scores = prof.profile(X, text=False)
    med = prof.peer_medians(X.head(5))
    for d in DIMENSIONS:
        s = scores[f"score_{d}"].dropna().sort_values().to_numpy()
        lower_median = s[(len(s) - 1) // 2]
        assert med[f"peer_{d}"].iloc[0] == pytest.approx(lower_median, rel=5e-4)
