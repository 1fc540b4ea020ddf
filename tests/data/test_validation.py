"""Every validation rule, on small hand-made bad tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taxcredit as tc
from tests.conftest import U1, U2, tiny_tables


def problems(tables, **kw) -> pd.DataFrame:
    with pytest.raises(tc.TaxDataError) as info:
        tc.TaxDataset(tables).validate(**kw)
    return info.value.report


def has(report: pd.DataFrame, table: str, column: str, rule: str, n_rows: int | None = None):
    hit = report[(report.table == table) & (report.column == column) & (report.rule == rule)]
    assert len(hit) == 1, f"expected {table}.{column} [{rule}] in\n{report.to_string()}"
    if n_rows is not None:
        assert hit.n_rows.iloc[0] == n_rows
    return hit.iloc[0]


def test_valid_tables_pass_and_get_contract_dtypes(tables):
    ds = tc.TaxDataset(tables).validate()
    ent = ds["enterprises"]
    assert str(ent["taxpayer_type"].dtype) == "category"
    assert ent["registration_date"].dtype == "datetime64[ns]"
    assert ds["vat_returns"]["taxable_sales"].dtype == "float64"
    assert ds["credit_grades"]["year"].dtype == "int64"
    assert str(ds["applications"]["default_12m"].dtype) == "Int64"
    assert len(ds["vat_returns"]) == 3


def test_missing_enterprises_table_is_reported(tables):
    del tables["enterprises"]
    has(problems(tables), "enterprises", "", "missing_table")


def test_missing_column_is_structural_and_suggests_the_typo(tables):
    tables["vat_returns"] = tables["vat_returns"].rename(columns={"filing_date": "filling_date"})
    for mode in ("raise", "quarantine"):
        with pytest.raises(tc.TaxDataError) as info:
            tc.TaxDataset(tables).validate(on_error=mode)
        row = has(info.value.report, "vat_returns", "filing_date", "missing_column")
        assert "filling_date" in row.message
        assert "vat_returns.filing_date" in str(info.value)


def test_code_column_read_as_float_is_refused(tables):
    tables["enterprises"]["region_code"] = [110108.0, 310110.0]
    row = has(problems(tables), "enterprises", "region_code", "dtype")
    assert "text" in row.message


def test_unparseable_number_names_row_and_value(tables):
    tables["vat_returns"]["taxable_sales"] = ["100000", "abc", "250,000.5"]
    row = has(problems(tables), "vat_returns", "taxable_sales", "not_float", 1)
    assert "row 1" in row.examples and "taxable_sales=abc" in row.examples


def test_numbers_with_thousand_separators_are_coerced(tables):
    tables["vat_returns"]["taxable_sales"] = ["100,000", "80000", "250,000.5"]
    ds = tc.TaxDataset(tables).validate()
    assert ds["vat_returns"]["taxable_sales"].tolist() == [100_000.0, 80_000.0, 250_000.5]


def test_dates_in_common_text_formats_are_coerced(tables):
    tables["vat_returns"]["filing_date"] = ["2024-02-10", "2024/03/20", "20240412"]
    ds = tc.TaxDataset(tables).validate()
    got = ds["vat_returns"].sort_values("filing_date")["filing_date"].dt.strftime("%Y-%m-%d")
    assert got.tolist() == ["2024-02-10", "2024-03-20", "2024-04-12"]


def test_bad_date_text(tables):
    tables["vat_returns"]["filing_date"] = ["2024-02-10", "2024-13-45", "2024-04-12"]
    has(problems(tables), "vat_returns", "filing_date", "not_date", 1)


def test_missing_value_in_required_column(tables):
    tables["vat_returns"].loc[0, "filing_date"] = pd.NaT
    has(problems(tables), "vat_returns", "filing_date", "missing_value", 1)


def test_value_not_allowed(tables):
    tables["enterprises"]["taxpayer_type"] = ["general", "big"]
    row = has(problems(tables), "enterprises", "taxpayer_type", "not_allowed", 1)
    assert "small_scale" in row.message


def test_chinese_aliases_are_accepted(tables):
    tables["enterprises"]["taxpayer_type"] = ["一般纳税人", "小规模纳税人"]
    tables["enterprises"]["status"] = ["正常", "非正常户"]
    ds = tc.TaxDataset(tables).validate()
    assert ds["enterprises"]["taxpayer_type"].tolist() == ["general", "small_scale"]
    assert ds["enterprises"]["status"].tolist() == ["normal", "abnormal"]


def test_negative_amount(tables):
    tables["vat_returns"].loc[1, "vat_payable"] = -1.0
    has(problems(tables), "vat_returns", "vat_payable", "below_min", 1)


def test_negative_declared_sales_are_allowed(tables):
    tables["vat_returns"].loc[1, ["taxable_sales", "output_tax"]] = [-5_000.0, -300.0]
    tables["vat_returns"].loc[1, "vat_payable"] = 0.0
    tc.TaxDataset(tables).validate()


def test_value_above_max(tables):
    tables["credit_grades"].loc[0, "score"] = 120.0
    has(problems(tables), "credit_grades", "score", "above_max", 1)


def test_implausible_date(tables):
    tables["enterprises"].loc[0, "registration_date"] = pd.Timestamp("1900-01-01")
    has(problems(tables), "enterprises", "registration_date", "date_out_of_range", 1)


def test_pattern(tables):
    tables["enterprises"]["region_code"] = ["11010", "310110"]
    has(problems(tables), "enterprises", "region_code", "pattern_mismatch", 1)


def test_uscc_check_digit_strict_and_lenient(tables):
    bad = U1[:-1] + ("A" if U1[-1] != "A" else "B")
    for t in tables.values():
        if "uscc" in t.columns:
            t["uscc"] = t["uscc"].replace({U1: bad})
    row = has(problems(tables), "enterprises", "uscc", "uscc_check_digit", 1)
    assert bad not in row.examples  # identifiers are masked in reports
    ds = tc.TaxDataset(tables).validate(strict_uscc=False)
    assert bad in set(ds["enterprises"]["uscc"])


def test_uscc_format(tables):
    for t in tables.values():
        if "uscc" in t.columns:
            t["uscc"] = t["uscc"].replace({U2: "91310110-66600721"})
    has(problems(tables, strict_uscc=False), "enterprises", "uscc", "uscc_format", 1)


def test_uscc_whitespace_case_and_fullwidth_are_normalised(tables):
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) for ch in U1)
    tables["enterprises"]["uscc"] = [fullwidth, " " + U2.lower() + " "]
    tables["vat_returns"]["uscc"] = [U1, U1.lower(), U2]
    ds = tc.TaxDataset(tables).validate()
    assert set(ds["enterprises"]["uscc"]) == {U1, U2}
    assert len(ds["vat_returns"]) == 3


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("filing_date", "2024-01-15", "filed_before_period_end"),
        ("due_date", "2024-01-10", "due_before_period_end"),
        ("period_end", "2024-01-30", "not_month_end"),
        ("period_start", "2023-12-01", "period_length"),
        ("exempt_sales", 200_000.0, "exempt_above_sales"),
    ],
)
def test_vat_row_rules(tables, column, value, rule):
    v = tables["vat_returns"]
    v[column] = v[column].astype(object)
    v.loc[0, column] = value
    has(problems(tables), "vat_returns", column, rule, 1)


def test_quarterly_return_must_end_a_quarter(tables):
    v = tables["vat_returns"]
    v.loc[2, ["period_start", "period_end"]] = [pd.Timestamp("2024-02-01"),
                                                pd.Timestamp("2024-04-30")]
    has(problems(tables), "vat_returns", "period_end", "quarterly_not_quarter_end", 1)


def test_overlapping_periods_of_one_enterprise_are_refused(tables):
    # U2 files Q1 2024 quarterly; a monthly February return too would count February twice
    v = tables["vat_returns"]
    feb = v.iloc[[2]].assign(period_start=pd.Timestamp("2024-02-01"),
                             period_end=pd.Timestamp("2024-02-29"), filing_frequency="monthly")
    tables["vat_returns"] = pd.concat([v, feb], ignore_index=True)
    has(problems(tables), "vat_returns", "period_start", "overlapping_period", 2)
    # back to back is fine (U1's January and February), and so are other enterprises' periods
    tc.TaxDataset(tiny_tables()).validate()


def test_exact_duplicate_row_keeps_first_copy(tables):
    v = tables["vat_returns"]
    tables["vat_returns"] = pd.concat([v, v.iloc[[1]]], ignore_index=True)
    has(problems(tables), "vat_returns", "filing_date", "duplicate_row", 1)
    clean, rej = tc.TaxDataset(tables).validate(on_error="quarantine")
    assert len(clean["vat_returns"]) == 3
    assert rej["vat_returns"]["_row"].tolist() == [3]


def test_conflicting_duplicates_are_all_rejected(tables):
    v = tables["vat_returns"]
    other = v.iloc[[1]].assign(taxable_sales=1.0)
    tables["vat_returns"] = pd.concat([v, other], ignore_index=True)
    has(problems(tables), "vat_returns", "filing_date", "duplicate_key", 2)
    clean, rej = tc.TaxDataset(tables).validate(on_error="quarantine")
    assert sorted(rej["vat_returns"]["_row"]) == [1, 3]
    assert len(clean["vat_returns"]) == 2


def test_an_amended_return_is_a_version_of_its_period_not_a_duplicate(tables):
    # 更正申报: the same period again, filed later, with restated sales
    v = tables["vat_returns"]
    amended = v.iloc[[1]].assign(taxable_sales=1.0, filing_date=pd.Timestamp("2024-06-03"))
    tables["vat_returns"] = pd.concat([v, amended], ignore_index=True)
    ds = tc.TaxDataset(tables).validate()
    assert len(ds["vat_returns"]) == 4


def test_a_monthly_return_beside_a_quarterly_one_for_the_same_end_is_refused(tables):
    # a monthly March return beside the quarterly Q1 return is not an amendment of it
    v = tables["vat_returns"]
    march = v.iloc[[2]].assign(period_start=pd.Timestamp("2024-03-01"),
                               filing_frequency="monthly")
    tables["vat_returns"] = pd.concat([v, march], ignore_index=True)
    has(problems(tables), "vat_returns", "filing_frequency", "versions_differ_in_frequency", 2)


def test_every_version_of_every_overlapping_return_is_refused(tables):
    # U1 files January and February monthly, then Q1 quarterly and an amendment of it: Q1
    # overlaps both months. Keeping any of them would count a month twice, or make the
    # amendment look like the original filing; the clean rows must validate again.
    v = tables["vat_returns"]
    q1 = v.iloc[[1]].assign(period_start=pd.Timestamp("2024-01-01"),
                            period_end=pd.Timestamp("2024-03-31"), filing_frequency="quarterly",
                            due_date=pd.Timestamp("2024-04-15"),
                            filing_date=pd.Timestamp("2024-04-10"))
    amended = q1.assign(taxable_sales=90_000.0, filing_date=pd.Timestamp("2024-05-10"))
    tables["vat_returns"] = pd.concat([v, q1, amended], ignore_index=True)
    has(problems(tables), "vat_returns", "period_start", "overlapping_period", 4)
    clean, rej = tc.TaxDataset(tables).validate(on_error="quarantine")
    assert sorted(rej["vat_returns"]["_row"]) == [0, 1, 3, 4]
    tc.TaxDataset(clean.tables).validate()


def test_an_amendment_may_correct_the_start_of_its_period(tables):
    # Q1 first declared from 1 January, corrected to start at 10 February (registration)
    v = tables["vat_returns"]
    fixed = v.iloc[[2]].assign(period_start=pd.Timestamp("2024-02-10"),
                               filing_date=pd.Timestamp("2024-05-06"))
    tables["vat_returns"] = pd.concat([v, fixed], ignore_index=True)
    assert len(tc.TaxDataset(tables).validate()["vat_returns"]) == 4


def test_row_of_unknown_enterprise(tables):
    other = "91350100M000100Y43"
    tables["vat_returns"].loc[2, "uscc"] = other
    has(problems(tables), "vat_returns", "uscc", "foreign_key", 1)


def test_truth_of_unknown_application(tables):
    tables["truth"].loc[1, "application_id"] = "AP9"
    has(problems(tables), "truth", "application_id", "foreign_key", 1)


def test_rejected_enterprise_takes_its_rows_along_in_quarantine(tables):
    tables["enterprises"].loc[1, "taxpayer_type"] = "??"
    clean, rej = tc.TaxDataset(tables).validate(on_error="quarantine")
    assert set(clean["enterprises"]["uscc"]) == {U1}
    assert set(clean["vat_returns"]["uscc"]) == {U1}
    assert "uscc:parent_rejected" in rej["vat_returns"]["_reasons"].iloc[0]
    # grandchildren too: the application of U2 goes, and so does its truth row
    assert rej["truth"]["application_id"].tolist() == ["AP2"]


def test_grade_inconsistent_with_score(tables):
    tables["credit_grades"].loc[0, "score"] = 80.0
    has(problems(tables), "credit_grades", "grade", "grade_score_mismatch", 1)


def test_grade_effective_inside_its_own_year(tables):
    tables["credit_grades"].loc[0, "effective_date"] = pd.Timestamp("2023-11-01")
    has(problems(tables), "credit_grades", "effective_date", "effective_before_year_end", 1)


def test_default_flag_without_date(tables):
    tables["applications"].loc[1, "default_date"] = pd.NaT
    has(problems(tables), "applications", "default_date", "default_date_inconsistent", 1)


def test_default_date_beyond_twelve_months(tables):
    tables["applications"].loc[1, "default_date"] = pd.Timestamp("2025-07-01")
    tables["applications"].loc[1, "observed_through"] = pd.Timestamp("2025-07-01")
    has(problems(tables), "applications", "default_date", "default_date_inconsistent", 1)


def test_good_outcome_needs_twelve_months_of_observation(tables):
    tables["applications"].loc[0, "observed_through"] = pd.Timestamp("2024-12-31")
    has(problems(tables), "applications", "default_12m", "immature_good", 1)


def _invoices() -> pd.DataFrame:
    return pd.DataFrame({
        "uscc": [U1, U1], "period_end": pd.to_datetime(["2024-01-31", "2024-01-31"]),
        "direction": ["out", "in"], "amount": [1e5, 5e4], "tax_amount": [6e3, 3e3],
        "count": [10, 5], "red_amount": [0.0, 0.0], "red_count": [0, 0], "void_count": [0, 0],
        "n_counterparties": [4, 2], "top1_share": [0.4, 0.6], "top5_share": [1.0, 1.0],
        "counterparty_hhi": [0.3, 0.52],
    })


@pytest.mark.parametrize(
    ("column", "value", "rule", "reported"),
    [
        ("red_count", 11, "red_count_above_count", "red_count"),
        ("top5_share", 0.3, "top1_above_top5", "top1_share"),
        ("counterparty_hhi", 0.5, "hhi_inconsistent", "counterparty_hhi"),
        ("counterparty_hhi", 0.1, "hhi_inconsistent", "counterparty_hhi"),
        ("count", 2.5, "not_int", "count"),
    ],
)
def test_invoice_rules(tables, column, value, rule, reported):
    inv = _invoices()
    inv[column] = inv[column].astype(object)
    inv.loc[0, column] = value
    tables["invoices"] = inv
    has(problems(tables), "invoices", reported, rule, 1)


def test_balance_sheet_identity(tables):
    tables["financials"] = pd.DataFrame({
        "uscc": [U1], "year": [2023], "period_end": [pd.Timestamp("2023-12-31")],
        "total_assets": [1e6], "total_liabilities": [4e5], "equity": [5e5],
        "revenue": [2e6], "net_profit": [1e5], "filing_date": [pd.Timestamp("2024-05-20")],
    })
    has(problems(tables), "financials", "equity", "balance_identity", 1)


def test_absent_optional_columns_are_added_empty(tables):
    tables["vat_returns"] = tables["vat_returns"].drop(columns=["exempt_sales"])
    ds = tc.TaxDataset(tables).validate()
    assert ds["vat_returns"]["exempt_sales"].isna().all()


def test_unknown_table_warns_and_passes_through(tables):
    tables["vat_return"] = pd.DataFrame({"x": [1]})
    with pytest.warns(UserWarning, match="did you mean 'vat_returns'"):
        ds = tc.TaxDataset(tables).validate()
    assert "vat_return" in ds


def test_bank_columns_pass_through(tables):
    tables["enterprises"]["bank_segment"] = ["retail", "sme"]
    ds = tc.TaxDataset(tables).validate()
    assert ds["enterprises"].set_index("uscc").loc[U2, "bank_segment"] == "sme"


def test_error_message_lists_every_problem(tables):
    tables["vat_returns"].loc[0, "vat_payable"] = -1.0
    tables["enterprises"].loc[1, "region_code"] = "31011"
    with pytest.raises(tc.TaxDataError) as info:
        tc.TaxDataset(tables).validate()
    text = str(info.value)
    assert "vat_returns.vat_payable [below_min]" in text
    assert "enterprises.region_code [pattern_mismatch]" in text
    assert U1 not in text and U2 not in text


def _corrupt(tables, rng, n_faults):
    """Apply random row-level faults; return the corrupted tables."""
    faults = [
        ("vat_returns", "vat_payable", -5.0),
        ("vat_returns", "filing_date", pd.Timestamp("2000-01-01")),
        ("vat_returns", "uscc", "91350100M000100Y43"),
        ("enterprises", "taxpayer_type", "??"),
        ("credit_grades", "grade", "Z"),
        ("applications", "observed_through", pd.Timestamp("2024-01-01")),
        ("truth", "true_pd", 1.5),
    ]
    for _ in range(n_faults):
        table, column, value = faults[rng.integers(len(faults))]
        df = tables[table]
        df[column] = df[column].astype(object)
        df.loc[rng.integers(len(df)), column] = value
    return tables


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_faults=st.integers(0, 6), dup=st.booleans())
def test_quarantine_accounts_for_every_row(seed, n_faults, dup):
    rng = np.random.default_rng(seed)
    tables = _corrupt(tiny_tables(), rng, n_faults)
    if dup:
        v = tables["vat_returns"]
        tables["vat_returns"] = pd.concat([v, v.iloc[[0]]], ignore_index=True)
    clean, rejected = tc.TaxDataset(tables).validate(on_error="quarantine")
    for name, raw in tables.items():
        assert len(clean[name]) + len(rejected[name]) == len(raw), name
        assert rejected[name]["_row"].is_unique
        assert (rejected[name]["_reasons"].str.len() > 0).all()
    assert rejected.n_rows == sum(len(r) for r in rejected.values())
    if rejected.n_rows == 0:
        assert len(rejected.report) == 0
    # the clean part validates on its own
    _, rej2 = clean.validate(on_error="quarantine")
    assert rej2.n_rows == 0


def test_on_error_must_be_known(tables):
    with pytest.raises(ValueError, match="on_error"):
        tc.TaxDataset(tables).validate(on_error="ignore")


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from("abc")),
                  min_size=0, max_size=40),
    sort=st.booleans(),
)
def test_fast_duplicate_detection_matches_pandas(rows, sort):
    from taxcredit.data.validation import _duplicated

    df = pd.DataFrame(rows, columns=["n", "d", "c"])
    df["d"] = pd.Timestamp("2024-01-31") + pd.to_timedelta(df["d"] * 31, unit="D")
    df["c"] = pd.Categorical(df["c"], categories=list("abc"))
    df["s"] = df["n"].astype(str).astype("str")
    if sort:
        df = df.sort_values(["n", "d", "c"]).reset_index(drop=True)
    for key in (["n", "d", "c"], ["s", "d"], ["c"], ["d", "n"]):
        expected = df.duplicated(subset=key, keep=False).to_numpy()
        np.testing.assert_array_equal(_duplicated(df, key), expected)



# ----------------------------------------------------------------------------- odd inputs
# (each of these once crashed or slipped through; found by an adversarial review)


def test_blank_child_uscc_is_missing_not_accepted(tables):
    tables["vat_returns"]["uscc"] = [U1, "   ", U2]
    has(problems(tables), "vat_returns", "uscc", "missing_value", 1)


def test_missing_year_in_a_key_is_reported(tables):
    tables["credit_grades"]["year"] = pd.array([2023, None, 2023], dtype="Int64")
    has(problems(tables), "credit_grades", "year", "missing_value", 1)
    clean, rej = tc.TaxDataset(tables).validate(on_error="quarantine")
    assert len(clean["credit_grades"]) + len(rej["credit_grades"]) == 3


def test_absent_optional_count_column(tables):
    inv = _invoices().drop(columns=["void_count"])
    tables["invoices"] = inv
    ds = tc.TaxDataset(tables).validate()
    assert ds["invoices"]["void_count"].isna().all()


@pytest.mark.parametrize("value", ["9999-12-31", "1600-01-01"])
def test_dates_beyond_the_representable_range_are_row_errors(tables, value):
    tables["enterprises"]["registration_date"] = [value, "2021-06-10"]
    row = has(problems(tables), "enterprises", "registration_date", "not_date", 1)
    assert "registration_date" in row.message


def test_date_objects_and_arrow_dates_and_mixed_offsets(tables):
    import datetime

    import pyarrow as pa

    e = tables["enterprises"]
    e["registration_date"] = pd.Series([datetime.date(2015, 3, 2), datetime.date(2021, 6, 10)],
                                       dtype=object)
    e["first_filing_date"] = ["2015-04-14T23:30:00+00:00", "2021-07-15T00:00:00+08:00"]
    arrow = pd.ArrowDtype(pa.date32())
    tables["vat_returns"]["due_date"] = pd.Series(
        pd.array(tables["vat_returns"]["due_date"].dt.date.tolist(), dtype=arrow))
    ds = tc.TaxDataset(tables).validate()
    assert ds["enterprises"]["first_filing_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2015-04-15", "2021-07-15"]  # UTC 23:30 is the next morning in Beijing
    assert ds["vat_returns"]["due_date"].dtype == "datetime64[ns]"


def test_duplicated_column_names_are_structural(tables):
    v = tables["vat_returns"]
    tables["vat_returns"] = pd.concat([v, v[["input_tax"]]], axis=1)
    has(problems(tables), "vat_returns", "input_tax", "duplicate_column")


def test_integers_too_large_are_row_errors(tables):
    tables["credit_grades"]["year"] = pd.Series([2023, 2**63 + 5, 2023], dtype=object)
    has(problems(tables), "credit_grades", "year", "not_int", 1)


def test_decimals_from_database_drivers_are_numbers(tables):
    from decimal import Decimal

    tables["vat_returns"]["taxable_sales"] = pd.Series(
        [Decimal("100000"), Decimal("80000.50"), Decimal("250000")], dtype=object)
    ds = tc.TaxDataset(tables).validate()
    assert ds["vat_returns"]["taxable_sales"].tolist() == [100000.0, 80000.5, 250000.0]


def test_rejected_rows_can_be_validated_again(tables):
    tables["vat_returns"].loc[0, "vat_payable"] = -1.0
    _, rejected = tc.TaxDataset(tables).validate(on_error="quarantine")
    fixed = rejected["vat_returns"].assign(vat_payable=4_000.0)
    tables["vat_returns"] = pd.concat([tables["vat_returns"].iloc[1:], fixed], ignore_index=True)
    ds = tc.TaxDataset(tables).validate()
    assert "_row" not in ds["vat_returns"].columns and len(ds["vat_returns"]) == 3


def test_rounded_shares_do_not_break_the_hhi_rule(tables):
    inv = _invoices()
    inv.loc[0, ["top1_share", "counterparty_hhi"]] = [0.3636, 0.1322]  # 0.36355², rounded
    tables["invoices"] = inv
    tc.TaxDataset(tables).validate()


def test_missing_code_is_reported_once(tables):
    tables["enterprises"]["region_code"] = [None, "310110"]
    report = problems(tables)
    assert report[report.table == "enterprises"]["rule"].tolist() == ["missing_value"]


def test_text_na_words_survive_csv(tables, tmp_path):
    tables["applications"]["product"] = ["NA", "None"]
    tc.TaxDataset(tables).validate().to_folder(tmp_path, format="csv")
    back = tc.TaxDataset.from_folder(tmp_path)
    assert back["applications"]["product"].tolist() == ["NA", "None"]


def test_bad_format_deletes_nothing(tables, tmp_path):
    ds = tc.TaxDataset(tables)
    ds.to_folder(tmp_path)
    with pytest.raises(ValueError, match="format"):
        ds.to_folder(tmp_path, format="xlsx", overwrite=True)
    assert (tmp_path / "enterprises.parquet").exists()


def test_select_accepts_one_code(tables):
    ds = tc.TaxDataset(tables).validate()
    assert ds.select(U1).n_enterprises == 1


def test_social_insurance_may_be_declared_and_paid_within_its_month(tables):
    # 当月申报、当月缴纳: March's contributions declared on 20 March and paid on the 25th
    d = pd.Timestamp
    tables["payroll"] = pd.DataFrame({
        "uscc": [U1, U1, U1], "period_end": [d("2024-03-31"), d("2024-04-30"), d("2024-05-31")],
        "headcount": [5, 5, 5], "wage_base": [30_000.0] * 3,
        "filing_date": [d("2024-03-20"), d("2024-05-10"), d("2024-04-28")]})
    tables["payments"] = pd.DataFrame({
        "uscc": [U1] * 4, "tax_type": ["social_insurance", "social_insurance", "vat", "vat"],
        "period_end": [d("2024-03-31"), d("2024-04-30"), d("2024-03-31"), d("2024-04-30")],
        "amount": [9_000.0, 9_000.0, 4_000.0, 4_000.0],
        "due_date": [d("2024-03-25"), d("2024-03-25"), d("2024-04-15"), d("2024-05-15")],
        "payment_date": [d("2024-03-25"), d("2024-03-24"), d("2024-04-12"), d("2024-04-29")]})
    report = problems(tables)
    # declared (May) or due/paid (April) before their own month: refused
    has(report, "payroll", "filing_date", "filed_before_month", 1)
    has(report, "payments", "due_date", "due_before_month", 1)
    has(report, "payments", "payment_date", "paid_before_month", 1)
    # a VAT liability paid before its period ended still is
    has(report, "payments", "payment_date", "paid_before_period_end", 1)
    assert set(report["table"]) == {"payroll", "payments"} and len(report) == 4


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 11), st.integers(0, 11)),
                min_size=1, max_size=12))
def test_overlap_rule_matches_a_pairwise_check(periods):
    from taxcredit.data.schema import get_schema

    rule = next(r for r in get_schema("vat_returns").rules if r.rule == "overlapping_period")
    base = np.datetime64("2024-01", "M")
    rows = [(u, base + min(a, b), base + max(a, b)) for u, a, b in periods]
    df = pd.DataFrame({
        "uscc": [u for u, _, _ in rows],
        "period_start": pd.to_datetime([s.astype("datetime64[D]") for _, s, _ in rows]),
        "period_end": pd.to_datetime([(e + 1).astype("datetime64[D]") - 1 for _, _, e in rows])})
    # reports: one per (enterprise, end), starting at their earliest start
    rep = df.groupby(["uscc", "period_end"])["period_start"].min()
    expected = []
    for u, s, e in zip(df["uscc"], df["period_start"], df["period_end"], strict=True):
        s = rep[(u, e)]
        expected.append(any(uu == u and ee != e and s <= ee and ss <= e
                            for (uu, ee), ss in rep.items()))
    np.testing.assert_array_equal(rule.check(df), np.array(expected))
