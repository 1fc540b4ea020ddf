"""Point in time, determinism and catalog truth of the feature engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import taxcredit as tc
from taxcredit.data.schema import SCHEMAS
from tests.features.handmade import AS_OF, handmade_tables


def known_by(ds: tc.TaxDataset, date: str) -> tc.TaxDataset:
    """The dataset as a bank would have held it on ``date``."""
    d = pd.Timestamp(date)
    out = {}
    for name, df in ds.tables.items():
        kd = SCHEMAS[name].knowledge_date if name in SCHEMAS else None
        if kd and name != "enterprises":
            df = df[df[kd] <= d]
        if name == "enterprises":  # a first filing after the date is not known yet
            df = df.assign(first_filing_date=df["first_filing_date"].mask(
                df["first_filing_date"] > d))
        if name == "payments":  # a payment is known only once made
            later = df["payment_date"] > d
            df = df.assign(payment_date=df["payment_date"].mask(later),
                           late_fee=df["late_fee"].mask(later))
        out[name] = df.reset_index(drop=True)
    return tc.TaxDataset(out, validated=ds.validated)  # rows of a validated dataset


@pytest.fixture(scope="module")
def pop():
    return tc.datasets.make_population(n_enterprises=2_500, months=48, seed=21)


def test_later_data_never_changes_a_feature_handmade():
    ds = tc.TaxDataset(handmade_tables()).validate()
    full = tc.build_features(ds, as_of=AS_OF)
    past = tc.build_features(known_by(ds, AS_OF), as_of=AS_OF)
    pd.testing.assert_frame_equal(full, past)


@pytest.mark.parametrize("as_of", ["2023-07-31", "2024-06-30", "2025-03-15"])
def test_later_data_never_changes_a_feature_population(pop, as_of):
    full = tc.build_features(pop, as_of=as_of)
    past = tc.build_features(known_by(pop, as_of), as_of=as_of)
    pd.testing.assert_frame_equal(full, past)


def test_application_pairs_see_only_their_past(pop):
    apps = pop["applications"]
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    X = tc.build_features(pop, as_of=pairs)
    assert len(X) == len(pairs)
    for i in np.random.default_rng(0).choice(len(pairs), 15, replace=False):
        u, d = pairs.iloc[i]
        alone = tc.build_features(known_by(pop, d).select([u]), as_of=d)
        pd.testing.assert_series_equal(X.iloc[i], alone.iloc[0], check_names=False)


@pytest.mark.parametrize(("chunk_size", "n_jobs"), [(7, 1), (333, 1), (10_000, 1), (400, 2)])
def test_same_answer_whatever_chunks_or_workers(pop, chunk_size, n_jobs):
    base = tc.build_features(pop, as_of="2025-06-30", chunk_size=50_000)
    got = tc.build_features(pop, as_of="2025-06-30", chunk_size=chunk_size, n_jobs=n_jobs)
    pd.testing.assert_frame_equal(base, got)


def test_deterministic(pop):
    a = tc.build_features(pop, as_of="2024-12-31")
    b = tc.build_features(pop, as_of="2024-12-31")
    pd.testing.assert_frame_equal(a, b)


def test_feature_inputs_cover_what_the_engine_reads(pop):
    """Data minimisation: the engine works on exactly the declared columns."""
    need = tc.features.feature_inputs()
    slim = tc.TaxDataset({t: pop[t][cols] for t, cols in need.items()}, validated=True)
    pd.testing.assert_frame_equal(tc.build_features(slim, as_of="2025-06-30"),
                                  tc.build_features(pop, as_of="2025-06-30"))


def test_each_feature_needs_only_the_tables_it_declares(pop):
    """A consent scoped to a feature's declared tables is enough to compute it exactly."""
    small = pop.select(pop.enterprise_ids[:600])
    full = tc.build_features(small, as_of="2025-06-30")
    for f in tc.features.feature_ids():
        tables = tc.features.feature(f).tables
        slim = tc.TaxDataset({t: small[t] for t in ("enterprises", *tables) if t in small},
                             validated=True)
        got = tc.build_features(slim, as_of="2025-06-30", features=[f])[f]
        if full[f].dtype.name == "category":
            assert got.astype(str).equals(full[f].astype(str)), f
        else:
            np.testing.assert_allclose(got.to_numpy(float), full[f].to_numpy(float),
                                       equal_nan=True, err_msg=f)


@pytest.mark.slow
def test_catalog_directions_agree_with_synthetic_outcomes():
    ds = tc.datasets.make_population(n_enterprises=25_000, months=48, seed=77)
    apps = ds["applications"].merge(ds["truth"], on="application_id")
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    X = tc.build_features(ds, as_of=pairs)
    y = apps["default_12m_full"].to_numpy(dtype=int)
    cat = tc.features.catalog().set_index("id")
    aucs = {}
    for fid in X.columns:
        direction = cat.loc[fid, "direction"]
        if direction not in ("riskier", "safer"):
            continue
        x = X[fid].to_numpy(dtype=float)
        ok = ~np.isnan(x)
        if len(np.unique(x[ok])) < 2 or y[ok].sum() < 30:
            continue
        auc = roc_auc_score(y[ok], x[ok] if direction == "riskier" else -x[ok])
        aucs[fid] = auc
    contrary = {f: round(a, 3) for f, a in aucs.items() if a < 0.48}
    assert not contrary, f"catalog direction contradicted by the outcomes: {contrary}"
    strong = [f for f, a in aucs.items() if a >= 0.52]
    assert len(strong) >= 0.7 * len(aucs), aucs
