"""Every feature against values worked out by hand (see handmade.py for the data)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from tests.features.handmade import A_L12, AS_OF, A, B, C, D, handmade_tables

NAN = float("nan")


@pytest.fixture(scope="module")
def X():
    ds = tc.TaxDataset(handmade_tables()).validate()
    return tc.build_features(ds, as_of=AS_OF)


A_SALES = 450_000.0
A_TAX12 = 37_000.0 + 3_000.0  # VAT paid for L12 periods (April unpaid) + Q1 CIT
A_TAX_P12 = 12_000.0

EXPECTED = {
    A: {
        "sales_12m": A_SALES,
        "sales_yoy": 450 / 120 - 1,
        "sales_mom_3v12": 80 / 37.5,
        "sales_3m_yoy": 240 / 30 - 1,
        "sales_cv_12m": statistics.pstdev(A_L12) / statistics.mean(A_L12),
        "zero_sales_months_12m": 3,
        "max_zero_run_12m": 3,
        "active_month_ratio_24m": 21 / 24,
        "months_since_sales": 0,
        "missing_filings_12m": 0,
        "quarter_end_share": (10 + 0 + 40 + 70) / 450,
        "invoice_declared_ratio": 1.0,
        "invoice_count_12m": 90,
        "headcount": 8,
        "headcount_chg_6m": 8 / 12 - 1,
        "sales_per_head": A_SALES / 10,
        "red_invoice_ratio_12m": 5_000 / (A_SALES + 5_000),
        "void_invoice_ratio_12m": 2 / (90 + 2),
        "n_buyers_avg_12m": 4,
        "top1_buyer_share": 0.5,
        "top5_buyer_share": 1.0,
        "buyer_hhi": 0.3,
        "n_suppliers_avg_12m": 2,
        "input_output_ratio": 12 * 20_000 / A_SALES,
        "max_invoice_gap_24m": 3,
        "tax_12m": A_TAX12,
        "tax_yoy": A_TAX12 / A_TAX_P12 - 1,
        "avg_annual_tax_24m": (A_TAX12 + A_TAX_P12) / 2,
        "vat_burden": 0.1,
        "cit_to_sales": 3_000 / A_SALES,
        "tax_paid_months_24m": 12 + 8,
        "late_filings_24m": 2,  # February VAT and Q1 CIT
        "late_payments_24m": 4,  # December (late), April (unpaid), May (late), Q1 CIT (late)
        "arrears_now": 8_000,
        "arrears_to_sales": 8_000 / (A_SALES / 12),
        "arrears_months_12m": 3,  # end of January, February and May
        "arrears_max_duration_24m": 2,
        "fees_penalties_24m": 20 + 1.8 + 1.2 + 500,
        "credit_grade": 2,  # 2024 B; the C adjustment of August 2025 is not known yet
        "credit_score": 85,
        "worst_grade_2y": 2,  # 2023 A adjusted to B in 2024, 2024 B
        "repaired_recently": 0,
        "violations_36m": 2,  # the 2023 violation and the audit with an adjustment
        "abnormal_now": 0,
        "debt_to_assets": 0.6,
        "current_ratio": 2.0,
        "net_margin": 0.1,
        "fs_vs_vat_gap": (330_000 - 150_000) / 150_000,
        "liabilities_to_tax": 600_000 / ((A_TAX12 + A_TAX_P12) / 2),
        "firm_age_months": 122,
        "general_taxpayer": 1,
        "key_changes_12m": 1,
        "industry_section": "I",
        "industry_division": "I65",
        "province": "11",
        "size_class": "micro",  # software: 8 staff < 10
    },
    B: {
        "sales_12m": 180_000.0,
        "sales_yoy": 180 / 240 - 1,
        "sales_mom_3v12": 10_000 / 15_000,
        "sales_3m_yoy": 30 / 60 - 1,
        "sales_cv_12m": statistics.pstdev([90, 0, 60, 30]) / 45,
        "zero_sales_months_12m": 3,
        "max_zero_run_12m": 3,
        "active_month_ratio_24m": 21 / 24,
        "months_since_sales": 0,
        "missing_filings_12m": 0,
        "quarter_end_share": NAN,
        "invoice_declared_ratio": 0.0,
        "invoice_count_12m": 0,
        "headcount": 0,
        "headcount_chg_6m": NAN,
        "sales_per_head": NAN,
        "red_invoice_ratio_12m": NAN,
        "void_invoice_ratio_12m": NAN,
        "n_buyers_avg_12m": NAN,
        "top1_buyer_share": NAN,
        "top5_buyer_share": NAN,
        "buyer_hhi": NAN,
        "n_suppliers_avg_12m": NAN,
        "input_output_ratio": NAN,
        "max_invoice_gap_24m": 24,
        "tax_12m": 0,
        "tax_yoy": NAN,
        "avg_annual_tax_24m": 0,
        "vat_burden": 0,
        "cit_to_sales": 0,
        "tax_paid_months_24m": 0,
        "late_filings_24m": 0,
        "late_payments_24m": 0,
        "arrears_now": 0,
        "arrears_to_sales": 0,
        "arrears_months_12m": 0,
        "arrears_max_duration_24m": 0,
        "fees_penalties_24m": 0,
        "credit_grade": 2,
        "credit_score": 75,
        "worst_grade_2y": 2,  # the 2023 C was repaired to B in September 2024
        "repaired_recently": 1,
        "violations_36m": 0,
        "abnormal_now": 0,  # restored in December 2024
        "debt_to_assets": NAN,
        "current_ratio": NAN,
        "net_margin": NAN,
        "fs_vs_vat_gap": NAN,
        "liabilities_to_tax": NAN,
        "firm_age_months": 47,
        "general_taxpayer": 0,
        "key_changes_12m": 0,
        "industry_section": "F",
        "industry_division": "F51",
        "province": "31",
        "size_class": "micro",
    },
    C: {
        "sales_12m": 30_000.0,
        "sales_yoy": NAN,  # younger than the window: no previous year
        "sales_mom_3v12": 1.0,
        "sales_3m_yoy": NAN,
        "sales_cv_12m": 0.0,
        "zero_sales_months_12m": 0,
        "max_zero_run_12m": 0,
        "active_month_ratio_24m": 6 / 7,
        "months_since_sales": 0,
        "missing_filings_12m": 1,  # February 2025
        "quarter_end_share": 10 / 30,
        "invoice_declared_ratio": 0.0,
        "invoice_count_12m": 0,
        "headcount": 0,
        "headcount_chg_6m": NAN,
        "sales_per_head": NAN,
        "max_invoice_gap_24m": 7,
        "tax_12m": 0,
        "tax_yoy": NAN,
        "credit_grade": 3,
        "credit_score": NAN,
        "worst_grade_2y": NAN,
        "abnormal_now": 1,
        "firm_age_months": 7,
        "industry_section": "C",
        "industry_division": "C33",
        "province": "35",
        "size_class": "micro",
    },
}


EXPECTED[D] = {
    "sales_12m": 0.0,
    "sales_yoy": NAN,  # no sales a year ago either: growth is undefined, not 0
    "sales_mom_3v12": NAN,
    "sales_3m_yoy": NAN,
    "sales_cv_12m": NAN,
    "zero_sales_months_12m": 12,
    "max_zero_run_12m": 12,
    "active_month_ratio_24m": 0.0,
    "months_since_sales": 36,  # none in the 36 months held
    "missing_filings_12m": 0,
    "quarter_end_share": NAN,
    "invoice_declared_ratio": NAN,
    "invoice_count_12m": 0,
    "vat_burden": NAN,
    "tax_12m": 0,
    "headcount": 0,
    "credit_grade": NAN,  # never graded
    "size_class": NAN,  # leasing & business services needs assets: no statements filed
}


@pytest.mark.parametrize("uscc", [A, B, C, D])
def test_features_equal_hand_computed_values(X, uscc):
    row = X.xs(uscc, level="uscc").iloc[0]
    for fid, expected in EXPECTED[uscc].items():
        got = row[fid]
        if isinstance(expected, str):
            assert got == expected, (uscc[-4:], fid, got, expected)
        elif isinstance(expected, float) and math.isnan(expected):
            assert pd.isna(got), (uscc[-4:], fid, got)
        else:
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (uscc[-4:], fid, got,
                                                                          expected)


def test_every_feature_is_checked_for_the_monthly_filer():
    assert set(EXPECTED[A]) == set(tc.features.feature_ids())
    assert set(EXPECTED[B]) == set(tc.features.feature_ids())


def test_output_shape_index_and_order(X):
    assert list(X.columns) == tc.features.feature_ids()
    assert X.index.names == ["uscc", "as_of"]
    assert X.index.get_level_values("as_of").unique().tolist() == [pd.Timestamp(AS_OF)]
    assert str(X["size_class"].dtype) == "category"


def test_pairs_with_their_own_dates():
    ds = tc.TaxDataset(handmade_tables()).validate()
    pairs = pd.DataFrame({"uscc": [A, A, C], "as_of": ["2025-06-30", "2024-06-30", AS_OF]})
    X = tc.build_features(ds, as_of=pairs)
    assert X.index.get_level_values("uscc").tolist() == [A, A, C]
    # on 2024-06-30 A's window ends May 2024: twelve months of 10k, nothing earlier
    early = X.iloc[1]
    assert early["sales_12m"] == 120_000
    assert np.isnan(early["sales_yoy"])  # returns start June 2023
    assert early["credit_grade"] == 1  # 2023 A was adjusted to B on 2024-09-01: not yet
    assert early["worst_grade_2y"] == 1


def test_missing_tables_give_nan_not_zero():
    tables = handmade_tables()
    for t in ("payments", "invoices", "payroll", "financials", "events", "credit_grades"):
        del tables[t]
    X = tc.build_features(tc.TaxDataset(tables).validate(), as_of=AS_OF)
    for f in ("tax_12m", "arrears_now", "invoice_count_12m", "red_invoice_ratio_12m",
              "headcount", "debt_to_assets", "violations_36m", "credit_grade",
              "repaired_recently", "abnormal_now"):
        assert X[f].isna().all(), f
    assert X["sales_12m"].notna().all()


def test_unknown_enterprise_gets_nan_row_and_a_warning():
    ds = tc.TaxDataset(handmade_tables()).validate()
    pairs = pd.DataFrame({"uscc": [A, "91440300MA5XXXXXX1"], "as_of": [AS_OF, AS_OF]})
    with pytest.warns(UserWarning, match="absent"):
        X = tc.build_features(ds, as_of=pairs)
    assert len(X) == 2
    assert X.iloc[1].drop(["size_class", "industry_section", "industry_division",
                           "province"]).isna().all()


def test_feature_subset_and_bad_requests():
    ds = tc.TaxDataset(handmade_tables()).validate()
    X = tc.build_features(ds, as_of=AS_OF, features=["tax_12m", "credit_grade"])
    assert list(X.columns) == ["tax_12m", "credit_grade"]
    with pytest.raises(KeyError, match="unknown feature"):
        tc.build_features(ds, as_of=AS_OF, features=["no_such_feature"])
    with pytest.raises(tc.TaxDataError, match="as_of"):
        tc.build_features(ds, as_of=pd.DataFrame({"uscc": [A]}))
    with pytest.raises(tc.TaxDataError, match="missing date"):
        tc.build_features(ds, as_of=pd.DataFrame({"uscc": [A], "as_of": [None]}))


def test_amended_returns_count_from_their_filing_date_and_lateness_from_the_original():
    """更正申报: the version known at the as-of is the one whose amounts count."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_features_pandas import pandas_features

    tables = handmade_tables()
    v = tables["vat_returns"]
    a = v[v["uscc"] == A]

    def amend(month_end: str, sales: float, filed: str) -> pd.DataFrame:
        return a[a["period_end"] == pd.Timestamp(month_end)].assign(
            taxable_sales=sales, filing_date=pd.Timestamp(filed))

    tables["vat_returns"] = pd.concat([
        v,
        amend("2025-03-31", 77_000.0, "2025-05-20"),  # 70k restated before the as-of
        amend("2025-02-28", 66_000.0, "2025-06-01"),  # the late February return, restated
        amend("2025-02-28", 61_000.0, "2025-09-01"),  # … and again, after the as-of
        amend("2025-04-30", 1.0, "2025-08-01"),  # restated after the as-of: not known
        amend("2024-10-31", 5_000.0, "2025-03-01"),  # a zero month restated, after its due date
    ], ignore_index=True)
    plain = tc.build_features(tc.TaxDataset(handmade_tables()).validate(),
                              as_of=AS_OF).droplevel("as_of")
    ds = tc.TaxDataset(tables).validate()
    got = tc.build_features(ds, as_of=AS_OF).droplevel("as_of")
    assert got.loc[A, "sales_12m"] == (sum(A_L12) + 7 + 6 + 5) * 1000.0
    assert got.loc[A, "zero_sales_months_12m"] == plain.loc[A, "zero_sales_months_12m"] - 1
    # an amendment filed after the deadline is a correction, not a late filing
    assert got.loc[A, "late_filings_24m"] == plain.loc[A, "late_filings_24m"]
    # the other enterprises are untouched
    others = got.drop(index=A).select_dtypes("number")
    pd.testing.assert_frame_equal(others, plain.drop(index=A).select_dtypes("number"))
    # and the straightforward pandas version agrees, at dates around the amendments
    for as_of in ("2025-05-19", "2025-05-20", "2025-06-30", "2025-09-15"):
        ref = pandas_features(ds, as_of)
        eng = tc.build_features(ds, as_of=as_of, features=list(ref.columns)).droplevel("as_of")
        np.testing.assert_allclose(ref.loc[A].to_numpy(float), eng.loc[A].to_numpy(float),
                                   rtol=1e-12, err_msg=as_of)


def test_amended_tables_with_no_return_known_at_the_as_of_still_give_rows():
    # an as-of before every filing: no version to choose from, yet a row for each enterprise
    tables = handmade_tables()
    v = tables["vat_returns"]
    first = v[v["uscc"] == A].sort_values("period_end").head(1)
    tables["vat_returns"] = pd.concat(
        [v, first.assign(taxable_sales=1.0, filing_date=first["filing_date"] + pd.Timedelta(
            days=40))], ignore_index=True)
    ds = tc.TaxDataset(tables).validate()
    early = v["filing_date"].min() - pd.Timedelta(days=1)
    X = tc.build_features(ds, as_of=early, features=["sales_12m", "late_filings_24m"])
    assert len(X) == ds["enterprises"]["uscc"].nunique()
    pairs = pd.DataFrame({"uscc": [A], "as_of": [early]})
    one = tc.build_features(ds, as_of=pairs, features=["sales_12m"])
    assert list(one.index.get_level_values("uscc")) == [A]


def test_restated_statements_count_from_their_filing_date():
    tables = handmade_tables()
    f = tables["financials"]
    y2024 = f[f["year"] == 2024]
    restated = y2024.assign(total_liabilities=700_000.0, equity=300_000.0,
                            filing_date=pd.Timestamp("2025-06-10"))
    later = y2024.assign(total_liabilities=900_000.0, equity=100_000.0,
                         filing_date=pd.Timestamp("2025-07-10"))
    tables["financials"] = pd.concat([f, restated, later], ignore_index=True)
    ds = tc.TaxDataset(tables).validate()  # a restatement is not a duplicate year
    X = tc.build_features(ds, as_of=AS_OF).droplevel("as_of")
    assert X.loc[A, "debt_to_assets"] == pytest.approx(0.7)
    X = tc.build_features(ds, as_of="2025-06-09").droplevel("as_of")
    assert X.loc[A, "debt_to_assets"] == pytest.approx(0.6)


def test_a_same_day_correction_is_told_apart_by_its_revision_number():
    tables = handmade_tables()
    v = tables["vat_returns"].assign(revision=0)
    a = v[(v["uscc"] == A) & (v["period_end"] == pd.Timestamp("2025-03-31"))]
    tables["vat_returns"] = pd.concat([v, a.assign(taxable_sales=77_000.0, revision=1)],
                                      ignore_index=True)
    ds = tc.TaxDataset(tables).validate()  # the same filing date, another revision
    X = tc.build_features(ds, as_of=AS_OF).droplevel("as_of")
    assert X.loc[A, "sales_12m"] == (sum(A_L12) + 7) * 1000.0
    # without revision numbers the two rows cannot be ordered: both are refused
    tables["vat_returns"] = tables["vat_returns"].drop(columns="revision")
    with pytest.raises(tc.TaxDataError, match="duplicate_key"):
        tc.TaxDataset(tables).validate()
