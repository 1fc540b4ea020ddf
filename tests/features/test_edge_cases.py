"""Edge cases found by an adversarial review of the engine (each once crashed or was wrong)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc

U = "91110108551385082Q"
V = "91310110666007217T"
T = pd.Timestamp


def ent(codes, first_filing="2015-04-15", **over):
    n = len(codes)
    df = pd.DataFrame({
        "uscc": codes, "name": ["x"] * n, "industry_code": ["I6510"] * n,
        "region_code": ["110108"] * n, "taxpayer_type": ["general"] * n,
        "collection_method": ["audit"] * n, "registration_date": [T("2015-03-02")] * n,
        "first_filing_date": [T(first_filing)] * n, "status": ["normal"] * n,
    })
    return df.assign(**over)


def vat(uscc, months, sales=10_000.0, quarterly=False, lag_days=-3):
    rows = []
    for m in months:
        m = T(m)
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        start = (m - pd.offsets.QuarterBegin(1, startingMonth=1)) if quarterly else m.replace(day=1)
        rows.append(dict(uscc=uscc, period_start=start.normalize(), period_end=m,
                         filing_frequency="quarterly" if quarterly else "monthly",
                         taxable_sales=sales, output_tax=0.0, input_tax=0.0, vat_payable=0.0,
                         due_date=due, filing_date=due + pd.Timedelta(days=lag_days)))
    return pd.DataFrame(rows)


def build(tables, as_of, **kw):
    return tc.build_features(tc.TaxDataset(tables).validate(), as_of=as_of, **kw)


def test_no_return_known_yet_gives_nan_not_a_crash():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    tables = {"enterprises": ent([U]), "vat_returns": vat(U, months)}
    X = build(tables, "2023-12-31")
    assert np.isnan(X["sales_12m"].iloc[0])
    X = build({"enterprises": ent([U, V]), "vat_returns": vat(U, months)}, "2025-06-30",
              chunk_size=1)
    assert np.isnan(X.loc[V, "sales_12m"].iloc[0])


def test_first_filing_after_as_of_is_not_known():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    later = build({"enterprises": ent([U], first_filing="2025-08-20"),
                   "vat_returns": vat(U, months).iloc[:0]}, "2025-06-30")
    never = build({"enterprises": ent([U], first_filing=None),
                   "vat_returns": vat(U, months).iloc[:0]}, "2025-06-30")
    pd.testing.assert_frame_equal(later.reset_index(drop=True), never.reset_index(drop=True))


def _payments(uscc, periods, amount, quarterly):
    rows = []
    for m in periods:
        m = T(m)
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        rows.append(dict(uscc=uscc, tax_type="vat", period_end=m,
                         amount=amount * (3 if quarterly else 1), due_date=due,
                         payment_date=due, late_fee=0.0))
    return rows


@pytest.mark.parametrize("switch", ["monthly_then_quarterly", "quarterly_then_monthly"])
def test_tax_spread_follows_each_period_frequency(switch):
    """A constant 1,000 a month: 12,000 a year and growth 0, whatever the filing frequency."""
    older = pd.date_range("2023-07-31", "2024-06-30", freq="ME")
    newer = pd.date_range("2024-07-31", "2025-06-30", freq="ME")
    if switch == "monthly_then_quarterly":
        monthly, quarterly = older, newer[2::3]  # Sep, Dec, Mar, Jun
    else:
        quarterly, monthly = older[2::3], newer
    v = pd.concat([vat(U, monthly), vat(U, quarterly, quarterly=True)], ignore_index=True)
    pay = pd.DataFrame(_payments(U, monthly, 1000.0, False)
                       + _payments(U, quarterly, 1000.0, True))
    X = build({"enterprises": ent([U]), "vat_returns": v, "payments": pay}, "2025-07-31")
    row = X.iloc[0]
    assert row["tax_12m"] == pytest.approx(12_000.0)
    assert row["tax_yoy"] == pytest.approx(0.0, abs=1e-9)
    assert row["tax_paid_months_24m"] == 24


def test_payment_history_counts_without_vat_returns():
    pay = pd.DataFrame([
        dict(uscc=U, tax_type="iit", period_end=T("2025-01-31"), amount=500.0,
             due_date=T("2025-02-15"), payment_date=T("2025-02-20"), late_fee=4.0),
        dict(uscc=U, tax_type="cit", period_end=T("2025-03-31"), amount=800.0,
             due_date=T("2025-04-18"), payment_date=pd.NaT, late_fee=None),
        dict(uscc=U, tax_type="penalty", period_end=T("2024-12-01"), amount=300.0,
             due_date=T("2024-12-16"), payment_date=T("2024-12-10"), late_fee=0.0),
    ])
    X = build({"enterprises": ent([U]), "payments": pay}, "2025-06-30")
    row = X.iloc[0]
    assert row["arrears_now"] == 800
    assert row["late_payments_24m"] == 2
    assert row["fees_penalties_24m"] == 304
    assert row["tax_12m"] == 500  # the IIT paid; the CIT is unpaid


def test_payroll_not_declared_yet_is_unknown_not_zero():
    months = pd.date_range("2024-06-30", "2025-05-31", freq="ME")
    v = vat(U, months, sales=12_000.0, lag_days=-5)  # filed on the 10th
    pr = pd.DataFrame({"uscc": U, "period_end": months, "headcount": 10,
                       "wage_base": 60_000.0, "filing_date": months + pd.Timedelta(days=20)})
    X = build({"enterprises": ent([U]), "vat_returns": v, "payroll": pr}, "2025-06-16")
    row = X.iloc[0]
    assert row["headcount"] == 10  # April's declaration is the latest known
    # May's declaration is not known on 2025-06-16: the mean is over the 11 known months
    assert row["sales_per_head"] == pytest.approx(12 * 12_000.0 / 10)


def test_as_of_with_time_zone_or_mixed_iso_formats():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    tables = {"enterprises": ent([U]), "vat_returns": vat(U, months)}
    ds = tc.TaxDataset(tables).validate()
    a = tc.build_features(ds, as_of=pd.Timestamp("2025-06-30 20:00", tz="UTC"))
    assert a.index.get_level_values("as_of")[0] == T("2025-07-01")  # Beijing wall time
    pairs = pd.DataFrame({"uscc": [U, U], "as_of": ["2025-06-30", "2025-06-30 10:00"]})
    b = tc.build_features(ds, as_of=pairs)
    assert (b.index.get_level_values("as_of") == T("2025-06-30")).all()
    import pyarrow as pa  # pairs from polars or Arrow: anything with to_pandas()

    pd.testing.assert_frame_equal(tc.build_features(ds, as_of=pa.Table.from_pandas(pairs)), b)


def test_as_of_layouts_are_never_guessed_day_or_month_first():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    ds = tc.TaxDataset({"enterprises": ent([U]), "vat_returns": vat(U, months)}).validate()
    # "12/01/2024" is 12 January or 1 December: refused, not read either way by luck
    pairs = pd.DataFrame({"uscc": [U, U], "as_of": ["30/06/2024", "12/01/2024"]})
    with pytest.raises(tc.TaxDataError, match=r"unambiguous date layout.*12/01/2024"):
        tc.build_features(ds, as_of=pairs)
    ok = pd.DataFrame({"uscc": [U, U, U], "as_of": ["2024/01/12", "20240112", "2024年1月12日"]})
    got = tc.build_features(ds, as_of=ok).index.get_level_values("as_of")
    assert (got == T("2024-01-12")).all()
    zones = pd.DataFrame({"uscc": [U, U], "as_of": [
        pd.Timestamp("2024-01-12", tz="Asia/Shanghai"),
        pd.Timestamp("2024-01-12 20:00", tz="UTC")]})
    got = tc.build_features(ds, as_of=zones).index.get_level_values("as_of")
    assert list(got) == [T("2024-01-12"), T("2024-01-13")]  # Beijing wall time


def test_streamed_pairs_of_unknown_enterprises(tmp_path):
    from taxcredit.data.synthetic import write_population

    write_population(tmp_path, n_enterprises=50, months=24, seed=1, progress=False)
    pairs = pd.DataFrame({"uscc": ["91110108ma0000000x "], "as_of": ["2025-06-30 10:00"]})
    with pytest.warns(UserWarning, match="absent"):
        X = tc.features.build_features_folder(tmp_path, pairs)
    assert len(X) == 1
    assert X.index[0] == ("91110108MA0000000X", T("2025-06-30"))
    assert np.isnan(X["sales_12m"].iloc[0])


def test_fees_unknown_without_late_fee_column():
    pay = pd.DataFrame([dict(uscc=U, tax_type="penalty", period_end=T("2025-01-10"),
                             amount=300.0, due_date=T("2025-01-25"),
                             payment_date=T("2025-01-20"))])
    X = build({"enterprises": ent([U]), "payments": pay}, "2025-06-30")
    assert np.isnan(X["fees_penalties_24m"].iloc[0])
    assert X["arrears_now"].iloc[0] == 0


def test_transformer_codes_use_fixed_categories():
    from taxcredit.features import TaxFeatures
    from taxcredit.features.entity import PROVINCES

    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    ds = tc.TaxDataset({"enterprises": ent([U]), "vat_returns": vat(U, months)}).validate()
    X = pd.DataFrame({"uscc": [U], "as_of": ["2025-06-30"]})
    tf = TaxFeatures(ds).fit(X)
    assert list(tf.categories_["province"]) == list(PROVINCES)
    assert tf.transform(X)["province"].iloc[0] == PROVINCES.index("11")


def test_fees_known_per_enterprise_whatever_the_chunk_or_later_data():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    paid = dict(tax_type="vat", period_end=T("2025-01-31"), amount=100.0,
                due_date=T("2025-02-15"), payment_date=T("2025-02-20"))
    pay = pd.DataFrame([dict(uscc=U, late_fee=3.0, **paid),  # U records its late fees
                        dict(uscc=V, late_fee=None, **paid)])  # V's are not recorded
    tables = {"enterprises": ent([U, V]), "vat_returns": pd.concat([vat(U, months),
                                                                    vat(V, months)]),
              "payments": pay}
    together = build(tables, "2025-06-30")["fees_penalties_24m"].to_numpy()
    assert together[0] == 3.0 and np.isnan(together[1])
    alone = build(tables, "2025-06-30", chunk_size=1)["fees_penalties_24m"].to_numpy()
    np.testing.assert_array_equal(alone, together)
    # V's fees recorded from July on: its value at June 30 stays unknown
    later = dict(paid, period_end=T("2025-06-30"), due_date=T("2025-07-15"),
                 payment_date=T("2025-07-20"))
    grown = {**tables, "payments": pd.concat([pay, pd.DataFrame([dict(uscc=V, late_fee=5.0,
                                                                      **later)])])}
    np.testing.assert_array_equal(build(grown, "2025-06-30")["fees_penalties_24m"], together)
    # an enterprise that has paid nothing has no fees: 0, not unknown
    W = "91430104WL2QXJQ04J"
    none = build({**tables, "enterprises": ent([U, V, W]),
                  "vat_returns": pd.concat([tables["vat_returns"], vat(W, months)])},
                 "2025-06-30")
    assert none["fees_penalties_24m"].iloc[2] == 0.0


def _out_invoices(uscc, months, void):
    return pd.DataFrame([dict(uscc=uscc, period_end=T(m), direction="out", amount=10_000.0,
                              tax_amount=1_300.0, count=10, red_amount=0.0, red_count=0,
                              void_count=v, n_counterparties=3)
                         for m, v in zip(months, void, strict=True)])


def test_void_share_only_over_months_that_record_void_counts():
    months = [str(m.date()) for m in pd.date_range("2024-07-31", "2025-04-30", freq="ME")]
    legacy = [1.0] * 5 + [None] * 5  # 数电 from December 2024: void counts unknown
    X = build({"enterprises": ent([U, V]), "vat_returns": pd.concat([vat(U, months),
                                                                     vat(V, months)]),
               "invoices": pd.concat([_out_invoices(U, months, legacy),
                                      _out_invoices(V, months, [None] * 10)])}, "2025-06-30")
    # U: 5 voided of 5 × 10 issued + 5 voided in the legacy months (not 5 of 100 + 5)
    assert X["void_invoice_ratio_12m"].iloc[0] == pytest.approx(5 / 55)
    assert np.isnan(X["void_invoice_ratio_12m"].iloc[1])  # nothing recorded: unknown, not 0


def test_a_short_first_quarter_is_spread_over_the_months_it_covers():
    # registered 2024-02-10: the first quarterly return covers 10 February to 31 March
    quarters = pd.date_range("2024-03-31", "2025-12-31", freq="QE")
    v = vat(U, quarters, sales=30_000.0, quarterly=True)
    v.loc[0, "period_start"] = T("2024-02-10")
    e = ent([U], first_filing="2024-04-12", registration_date=T("2024-02-10"),
            taxpayer_type="small_scale")
    X = build({"enterprises": e, "vat_returns": v}, "2026-01-31")
    # P12 (January–December 2024) starts before the enterprise existed: no year-on-year
    assert np.isnan(X["sales_yoy"].iloc[0])
    assert X["sales_12m"].iloc[0] == 4 * 30_000.0
    # a full first quarter (registered on 2 January) does give one
    v.loc[0, "period_start"] = T("2024-01-02")
    X = build({"enterprises": e.assign(registration_date=T("2024-01-02")), "vat_returns": v},
              "2026-01-31")
    assert X["sales_yoy"].iloc[0] == 0.0


def test_buyer_shares_are_weighted_by_gross_amounts_and_stay_shares():
    # May's credit notes (12k) exceed its new sales: net −8k. Weighting the shares by the net
    # amount gave (0.5·10k + 0.2·(−8k)) / 2k = 1.7 for a share.
    inv = pd.DataFrame({
        "uscc": [U, U], "period_end": [T("2025-04-30"), T("2025-05-31")],
        "direction": ["out", "out"], "amount": [10_000.0, -8_000.0],
        "tax_amount": [1_300.0, -1_040.0], "count": [10, 6], "red_amount": [0.0, 12_000.0],
        "red_count": [0, 3], "n_counterparties": [4, 5], "top1_share": [0.5, 0.2],
        "top5_share": [1.0, 0.9], "counterparty_hhi": [0.3, 0.1]})
    X = build({"enterprises": ent([U]), "invoices": inv}, "2025-06-30")
    gross = np.array([10_000.0, 4_000.0])
    for feature, shares in (("top1_buyer_share", [0.5, 0.2]), ("top5_buyer_share", [1.0, 0.9]),
                            ("buyer_hhi", [0.3, 0.1])):
        assert X[feature].iloc[0] == pytest.approx(np.dot(shares, gross) / gross.sum())
        assert 0 <= X[feature].iloc[0] <= 1


def test_a_later_conversion_to_general_taxpayer_does_not_leak_back():
    e = ent([U, V], taxpayer_type="general",
            general_since=[T("2024-09-01"), pd.NaT])  # V: date not given
    X = build({"enterprises": e}, pd.DataFrame({"uscc": [U, U, V],
                                                "as_of": ["2024-08-31", "2024-09-01",
                                                          "2024-08-31"]}))
    assert X["general_taxpayer"].tolist() == [0.0, 1.0, 1.0]
    # without the column, the type at extraction (as before)
    X = build({"enterprises": ent([U], taxpayer_type="general")}, "2024-08-31")
    assert X["general_taxpayer"].tolist() == [1.0]
    with pytest.raises(tc.TaxDataError, match="general_before_registration"):
        build({"enterprises": ent([U], general_since=[T("2015-02-28")])}, "2024-08-31")
    # effective on the first of the month of registration (2 March 2015): fine
    build({"enterprises": ent([U], general_since=[T("2015-03-01")])}, "2024-08-31")


def test_features_of_a_dataset_nobody_validated_come_with_a_warning():
    # a repeated extract (every VAT return twice) would count twice: say so, never silently
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    v = vat(U, months)
    raw = tc.TaxDataset({"enterprises": ent([U]), "vat_returns": pd.concat([v, v])})
    assert not raw.validated
    with pytest.warns(UserWarning, match=r"not been validated.*ds\.validate\(\)"):
        tc.build_features(raw, as_of="2025-06-30")
    with pytest.raises(tc.TaxDataError, match="duplicate_row"):
        raw.validate()
    clean, _ = raw.validate(on_error="quarantine")
    assert clean.validated and clean.select([U]).validated
    assert all(chunk.validated for chunk in clean.iter_chunks(1))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = tc.build_features(clean, as_of="2025-06-30")
    assert X["sales_12m"].iloc[0] == 12 * 10_000.0
    assert tc.datasets.make_population(n_enterprises=20, months=24, seed=3).validated


def test_extra_tax_after_an_amended_return_is_a_liability_of_its_own():
    # March's VAT was paid; an upward amendment adds 5,000 for the same period and deadline,
    # still unpaid: two liabilities told apart by their voucher numbers
    pay = pd.DataFrame({
        "uscc": [U, U], "tax_type": ["vat", "vat"],
        "period_end": [T("2025-03-31"), T("2025-03-31")], "amount": [8_000.0, 5_000.0],
        "due_date": [T("2025-04-18"), T("2025-04-18")],
        "payment_date": [T("2025-04-15"), pd.NaT],
        "voucher_id": ["332025041500001", "332025052000007"]})
    X = build({"enterprises": ent([U]), "payments": pay}, "2025-06-30")
    assert X["arrears_now"].iloc[0] == 5_000.0
    # without voucher numbers the two rows share a key and cannot both be trusted
    with pytest.raises(tc.TaxDataError, match="duplicate_key"):
        build({"enterprises": ent([U]), "payments": pay.drop(columns="voucher_id")},
              "2025-06-30")


def test_a_required_input_column_absent_is_named_not_a_key_error():
    months = pd.date_range("2024-01-31", "2025-05-31", freq="ME")
    tables = {"enterprises": ent([U]).drop(columns="first_filing_date"),
              "vat_returns": vat(U, months).drop(columns="due_date")}
    ds = tc.TaxDataset(tables, validated=True)
    with pytest.raises(tc.TaxDataError, match=r"required column\(s\) \['enterprises\."
                                              r"first_filing_date', 'vat_returns\.due_date'\]"):
        tc.build_features(ds, as_of="2025-06-30")


def test_absent_optional_inputs_read_as_missing_as_validation_makes_them():
    pop = tc.datasets.make_population(n_enterprises=300, months=36, seed=4)
    cut = {"events": ["amount"], "invoices": ["top1_share", "top5_share", "counterparty_hhi"]}
    lacking = tc.TaxDataset({t: df.drop(columns=[c for c in cut.get(t, ()) if c in df])
                             for t, df in pop.tables.items()}, validated=True)
    emptied = tc.TaxDataset({t: df.assign(**{c: np.nan for c in cut.get(t, ())
                                              if c in df and df[c].dtype.kind == "f"})
                             for t, df in pop.tables.items()}, validated=True)
    pd.testing.assert_frame_equal(tc.build_features(lacking, as_of="2025-06-30"),
                                  tc.build_features(emptied, as_of="2025-06-30"))
