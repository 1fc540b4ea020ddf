"""The synthetic population: determinism, contract conformance and statistical sanity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import taxcredit as tc
from taxcredit.data.ids import uscc_valid_mask
from taxcredit.data.schema import SCHEMAS
from taxcredit.data.synthetic import PopulationConfig, write_population
from taxcredit.data.synthetic.calendar import SPRING_FESTIVAL, MonthGrid
from taxcredit.data.synthetic.fate import _normal_mean_of_sigmoid, calibrate_intercept


@pytest.fixture(scope="module")
def big():
    """Large enough for statistics with tolerances (about 10k applications)."""
    return tc.datasets.make_population(n_enterprises=20_000, months=48, seed=2024)


def test_same_seed_same_data_bit_for_bit():
    a = tc.datasets.make_population(n_enterprises=300, months=24, seed=5)
    b = tc.datasets.make_population(n_enterprises=300, months=24, seed=5)
    c = tc.datasets.make_population(n_enterprises=300, months=24, seed=6)
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["vat_returns"]["taxable_sales"].equals(c["vat_returns"]["taxable_sales"])


def test_population_satisfies_the_contract(population):
    clean, rejected = population.validate(on_error="quarantine")
    assert rejected.n_rows == 0, rejected.report.to_string()
    assert set(clean.tables) == set(SCHEMAS)
    ids = population["enterprises"]["uscc"]
    assert ids.is_unique and uscc_valid_mask(ids, strict=True).all()


def test_generated_frames_already_have_contract_dtypes(population):
    for name, df in population.tables.items():
        for col in SCHEMAS[name].columns:
            if col.name in df.columns:
                assert str(df[col.name].dtype) == col.dtype, (name, col.name, df[col.name].dtype)


def test_nothing_is_known_after_extraction(population):
    extraction = pd.Timestamp("2025-12-31")
    for name, df in population.tables.items():
        kd = SCHEMAS[name].knowledge_date
        if kd:
            assert (df[kd].dropna() <= extraction).all(), name


def test_write_population_streams_the_same_data(tmp_path):
    write_population(tmp_path, n_enterprises=400, months=24, seed=9, progress=False)
    from_disk = tc.TaxDataset.from_folder(tmp_path)
    in_memory = tc.datasets.make_population(n_enterprises=400, months=24, seed=9)
    for name in in_memory.tables:
        pd.testing.assert_frame_equal(from_disk[name], in_memory[name], check_categorical=True)
    with pytest.raises(FileExistsError):
        write_population(tmp_path, n_enterprises=10, months=24, progress=False)


def test_config_rejects_bad_knobs():
    with pytest.raises(ValueError, match="months"):
        PopulationConfig(months=6)
    with pytest.raises(ValueError, match="default_rate"):
        PopulationConfig(default_rate=0.0)
    with pytest.raises(ValueError, match="size_mix"):
        PopulationConfig(size_mix=(1.0, -1.0, 0.0))
    with pytest.raises(ValueError, match="end"):
        PopulationConfig(end="December")


def test_intercept_calibration_matches_quadrature_and_monte_carlo():
    a = calibrate_intercept(0.03, 1.3)
    z = np.random.default_rng(0).standard_normal(2_000_000)
    assert abs(np.mean(1 / (1 + np.exp(-(a + 1.3 * z)))) - 0.03) < 5e-4


def test_true_pd_averages_the_per_application_shock():
    """The true PD is E[sigmoid(state + sd·Z)]: checked against adaptive quadrature."""
    from scipy.integrate import quad
    from scipy.stats import norm

    x = np.array([-9.0, -4.2, -1.0, 0.0, 2.5])
    got = _normal_mean_of_sigmoid(x, 0.4)
    want = [quad(lambda z, v=v: norm.pdf(z) / (1 + np.exp(-(v + 0.4 * z))), -12, 12)[0]
            for v in x]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)
    # sd = 0 is the plain sigmoid
    np.testing.assert_allclose(_normal_mean_of_sigmoid(x, 0.0), 1 / (1 + np.exp(-x)),
                               rtol=1e-12)


def test_spring_festival_month_is_flagged():
    grid = MonthGrid("2025-12", 48)
    sf = grid.month[grid.spring_festival_month()]
    assert [str(m) for m in sf] == [SPRING_FESTIVAL[y][:7] for y in (2022, 2023, 2024, 2025)]


# ----------------------------------------------------------------------------- statistics


def _annual_grades(ds, years=(2022, 2023, 2024)):
    g = ds["credit_grades"]
    return g[(g["source"] == "annual") & g["year"].isin(years)]


@pytest.mark.slow
def test_grade_mix_is_plausible(big):
    mix = _annual_grades(big)["grade"].value_counts(normalize=True)
    assert 0.10 < mix["A"] < 0.45
    assert 0.40 < mix["B"] < 0.75
    assert 0.01 < mix["M"] < 0.12
    assert 0.02 < mix["C"] < 0.15
    assert 0.005 < mix["D"] < 0.06


@pytest.mark.slow
def test_grades_follow_the_rules(big):
    g = _annual_grades(big)
    scored = g.dropna(subset=["score"])
    assert (scored.loc[scored.grade == "A", "score"] >= 90).all()
    assert (scored.loc[scored.grade == "C", "score"].between(40, 70, inclusive="left")).all()
    # not-A: an enterprise filing for less than three years at the year's end is never A
    ent = big["enterprises"].set_index("uscc")
    a = g[g.grade == "A"]
    year_end = pd.to_datetime(a["year"].astype(str) + "-12-31")
    first = ent.loc[a["uscc"], "first_filing_date"].to_numpy()
    assert ((year_end.to_numpy() - first) >= pd.Timedelta(days=2 * 365)).all()
    # new firms get M in their first year
    first_year = ent["first_filing_date"].dt.year
    new = g[g["year"].to_numpy() == first_year.reindex(g["uscc"]).to_numpy()]
    assert (new["grade"] == "M").mean() > 0.9
    # revisions exist and come after the annual result
    src = big["credit_grades"]["source"].value_counts()
    assert {"adjustment", "repair", "appeal"} <= set(src[src > 0].index)


@pytest.mark.slow
def test_default_rate_and_oracle_auc(big):
    apps = big["applications"].merge(big["truth"], on="application_id")
    lab = apps[apps["default_12m"].notna()]
    rate = lab["default_12m"].mean()
    assert 0.015 < rate < 0.06, rate
    auc = roc_auc_score(lab["default_12m"].astype(int), lab["true_pd"])
    assert 0.74 < auc < 0.90, auc  # realistic: not trivially separable, not noise
    # the truth is consistent with the observed outcomes, overall and along the PD scale:
    # in each fifth of the true PD the default count is within 3.3 standard deviations of a
    # sum of Bernoulli(true_pd) draws (mean Σp, variance Σp(1 − p); about 2,000 rows each)
    assert abs(lab["true_pd"].mean() - rate) < 0.01
    fifth = pd.qcut(lab["true_pd"], 5, labels=False)
    for _, part in lab.groupby(fifth):
        p = part["true_pd"].to_numpy()
        z = (part["default_12m"].sum() - p.sum()) / np.sqrt(np.sum(p * (1 - p)))
        assert abs(z) < 3.3, z
    # immature applications have no good label yet
    assert apps["default_12m"].isna().any()


def test_default_rate_knob_moves_the_rate():
    rates = []
    for rate in (0.02, 0.10):
        ds = tc.datasets.make_population(n_enterprises=6_000, months=36, seed=3,
                                         default_rate=rate)
        rates.append(ds["truth"]["default_12m_full"].mean())
    assert rates[1] > 3 * rates[0]


@pytest.mark.slow
def test_seasonality_spring_festival_dip_and_quarter_end_peaks(big):
    v = big["vat_returns"]
    monthly = v[v["filing_frequency"] == "monthly"]
    monthly = monthly[monthly["taxable_sales"] > 0]
    rel = monthly.assign(ls=np.log(monthly["taxable_sales"]))
    rel["ls"] -= rel.groupby("uscc")["ls"].transform("mean")
    by_month = rel.groupby(rel["period_end"].dt.month)["ls"].mean()
    assert by_month[2] < by_month[4] - 0.1  # Spring Festival
    assert by_month[12] == by_month.max()  # year-end peak
    for q_end, before in ((3, 2), (6, 5), (9, 8)):
        assert by_month[q_end] > by_month[before]


@pytest.mark.slow
def test_small_scale_quarterly_filers_and_the_exemption(big):
    v = big["vat_returns"].merge(big["enterprises"][["uscc", "taxpayer_type"]], on="uscc")
    quarterly = v[v["filing_frequency"] == "quarterly"]
    assert (quarterly["taxpayer_type"] == "small_scale").all()
    share_small_quarterly = quarterly["uscc"].nunique() / (
        big["enterprises"]["taxpayer_type"] == "small_scale").sum()
    assert share_small_quarterly > 0.6
    assert quarterly["period_end"].dt.month.isin([3, 6, 9, 12]).all()
    # zero VAT payable is not zero sales
    exempt = quarterly[(quarterly["vat_payable"] == 0) & (quarterly["taxable_sales"] > 0)]
    assert len(exempt) > 0.3 * len(quarterly)
    assert (exempt["exempt_sales"] == exempt["taxable_sales"]).all()
    assert (exempt["taxable_sales"] <= 300_000).all()


@pytest.mark.slow
def test_compliance_events_exist(big):
    v = big["vat_returns"]
    late = (v["filing_date"] > v["due_date"]).mean()
    assert 0.01 < late < 0.2
    p = big["payments"]
    assert p["payment_date"].isna().any()  # arrears at extraction
    assert (p["late_fee"] > 0).any()
    kinds = set(big["events"]["event_type"].astype(str))
    assert {"violation", "audit", "penalty", "abnormal_status", "legal_rep_change",
            "credit_repair"} <= kinds
    assert (v["taxable_sales"] == 0).any()  # zero filings


@pytest.mark.slow
def test_distress_shows_only_after_the_application(big):
    apps = big["applications"].merge(big["truth"], on="application_id")
    bad = apps[apps["default_12m_full"] == 1]
    ev = big["events"].merge(bad[["uscc", "application_date"]], on="uscc")
    exits = ev[ev["event_type"].isin(["abnormal_status", "deregistration"])]
    assert (exits["event_date"] > exits["application_date"]).all()
    # and it does show after: defaulters stop filing or fall into arrears more often
    good = apps[apps["default_12m_full"] == 0]
    p = big["payments"]
    unpaid = set(p.loc[p["payment_date"].isna(), "uscc"])
    assert bad["uscc"].isin(unpaid).mean() > 3 * good["uscc"].isin(unpaid).mean()


@pytest.mark.slow
def test_latent_risk_shows_in_tax_behaviour(big):
    """Defaulters were worse before applying: late filings, arrears and grades differ."""
    apps = big["applications"].merge(big["truth"], on="application_id")
    v = big["vat_returns"].merge(apps[["uscc", "application_date", "default_12m_full"]],
                                 on="uscc")
    v = v[v["filing_date"] <= v["application_date"]]
    late = (v["filing_date"] > v["due_date"]).groupby(v["uscc"]).mean()
    y = apps.set_index("uscc")["default_12m_full"].reindex(late.index).astype(int)
    assert roc_auc_score(y, late) > 0.58
