"""Three hand-made enterprises whose features are worked out by hand in the tests.

As of 2025-06-30 the last due month is May 2025 (its return was due 2025-06-15), so:

* A (monthly, general) — window end May 2025; L12 = Jun 2024 … May 2025.
* B (quarterly, small-scale) — window end March 2025 (the last due quarter);
  L12 = Q2 2024 … Q1 2025.
* C (monthly, first filing 2024-11-20, February 2025 return never filed).

Every table also holds rows that only became known *after* 2025-06-30; they must not count.
"""

from __future__ import annotations

import pandas as pd

A = "91110108551385082Q"
B = "91310110666007217T"
C = "91350100M000100Y43"
D = "91110000600037341L"  # a real code; declares zero sales for two years
AS_OF = "2025-06-30"
T = pd.Timestamp


def month_ends(start: str, end: str) -> list[pd.Timestamp]:
    return list(pd.date_range(start, end, freq="ME"))


# A's monthly sales, thousand yuan, Jun 2024 … May 2025; P12 months are 10 each
A_L12 = [10, 20, 30, 0, 0, 0, 40, 50, 60, 70, 80, 90]


def _vat() -> pd.DataFrame:
    rows = []
    months = month_ends("2023-06-30", "2025-06-30")
    for m in months:
        if m < T("2024-06-01"):
            sales = 10_000.0
        elif m <= T("2025-05-31"):
            sales = A_L12[(m.year - 2024) * 12 + m.month - 6] * 1000.0
        else:
            sales = 95_000.0  # June 2025, filed after as-of
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        filed = due - pd.Timedelta(days=3)
        if m == T("2025-02-28"):
            filed = due + pd.Timedelta(days=5)  # late
        if m == T("2025-06-30"):
            filed = T("2025-07-10")
        rows.append(dict(uscc=A, period_start=m.replace(day=1), period_end=m,
                         filing_frequency="monthly", taxable_sales=sales, exempt_sales=0.0,
                         output_tax=sales * 0.13, input_tax=sales * 0.03,
                         vat_payable=sales * 0.10, credit_carried_forward=0.0, due_date=due,
                         filing_date=filed))
    # B: quarterly; thousand yuan per quarter
    b_quarters = {"2023-06-30": 60, "2023-09-30": 60, "2023-12-31": 60, "2024-03-31": 60,
                  "2024-06-30": 90, "2024-09-30": 0, "2024-12-31": 60, "2025-03-31": 30,
                  "2025-06-30": 99}
    for end, k in b_quarters.items():
        m = T(end)
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        filed = T("2025-07-12") if end == "2025-06-30" else due - pd.Timedelta(days=1)
        rows.append(dict(uscc=B, period_start=(m - pd.offsets.QuarterBegin(1, startingMonth=1)),
                         period_end=m, filing_frequency="quarterly", taxable_sales=k * 1000.0,
                         exempt_sales=k * 1000.0, output_tax=0.0, input_tax=0.0,
                         vat_payable=0.0, credit_carried_forward=0.0, due_date=due,
                         filing_date=filed))
    for m in month_ends("2024-11-30", "2025-05-31"):
        if m == T("2025-02-28"):
            continue  # never filed
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        rows.append(dict(uscc=C, period_start=m.replace(day=1), period_end=m,
                         filing_frequency="monthly", taxable_sales=5_000.0, exempt_sales=5_000.0,
                         output_tax=0.0, input_tax=0.0, vat_payable=0.0,
                         credit_carried_forward=0.0, due_date=due, filing_date=due))
    for m in month_ends("2023-06-30", "2025-05-31"):
        due = (m + pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
        rows.append(dict(uscc=D, period_start=m.replace(day=1), period_end=m,
                         filing_frequency="monthly", taxable_sales=0.0, exempt_sales=0.0,
                         output_tax=0.0, input_tax=0.0, vat_payable=0.0,
                         credit_carried_forward=0.0, due_date=due, filing_date=due))
    df = pd.DataFrame(rows)
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.normalize()
    return df


def _cit() -> pd.DataFrame:
    return pd.DataFrame([dict(uscc=A, return_type="quarterly", period_start=T("2025-01-01"),
                              period_end=T("2025-03-31"), revenue=180_000.0, cost=100_000.0,
                              total_profit=30_000.0, taxable_income=30_000.0,
                              tax_payable=3_000.0, due_date=T("2025-04-18"),
                              filing_date=T("2025-04-20"))])


def _payments() -> pd.DataFrame:
    rows = []
    for v in _vat().itertuples():
        if v.uscc != A or v.vat_payable <= 0:
            continue
        paid = v.due_date
        fee = 0.0
        if v.period_end == T("2024-12-31"):
            paid, fee = T("2025-03-10"), 20.0  # two month-ends in arrears
        if v.period_end == T("2025-04-30"):
            paid, fee = pd.NaT, None  # unpaid at as-of
        if v.period_end == T("2025-05-31"):
            paid, fee = v.due_date + pd.Timedelta(days=4), 1.8  # paid 4 days late
        if v.period_end == T("2025-06-30"):
            paid = T("2025-07-15")  # due after as-of
        rows.append(dict(uscc=A, tax_type="vat", period_end=v.period_end, amount=v.vat_payable,
                         due_date=v.due_date, payment_date=paid, late_fee=fee))
    rows.append(dict(uscc=A, tax_type="cit", period_end=T("2025-03-31"), amount=3_000.0,
                     due_date=T("2025-04-18"), payment_date=T("2025-04-20"), late_fee=1.2))
    rows.append(dict(uscc=A, tax_type="penalty", period_end=T("2025-03-01"), amount=500.0,
                     due_date=T("2025-03-16"), payment_date=T("2025-03-10"), late_fee=0.0))
    # social insurance is not tax contribution
    rows.append(dict(uscc=A, tax_type="social_insurance", period_end=T("2025-05-31"),
                     amount=7_000.0, due_date=T("2025-06-15"), payment_date=T("2025-06-10"),
                     late_fee=0.0))
    return pd.DataFrame(rows)


def _grades() -> pd.DataFrame:
    g = [
        (A, 2023, "A", 92.0, "2024-04-20", "annual"),
        (A, 2023, "B", 81.0, "2024-09-01", "adjustment"),
        (A, 2024, "B", 85.0, "2025-04-18", "annual"),
        (A, 2024, "C", 60.0, "2025-08-01", "adjustment"),  # after as-of
        (B, 2023, "C", 60.0, "2024-04-20", "annual"),
        (B, 2023, "B", 72.0, "2024-09-01", "repair"),
        (B, 2024, "B", 75.0, "2025-04-18", "annual"),
        (C, 2024, "M", None, "2025-04-18", "annual"),
    ]
    df = pd.DataFrame(g, columns=["uscc", "year", "grade", "score", "effective_date", "source"])
    df["effective_date"] = pd.to_datetime(df["effective_date"])
    return df


def _events() -> pd.DataFrame:
    e = [
        ("E1", A, "legal_rep_change", "2025-01-10", None),
        ("E2", A, "address_change", "2024-03-01", None),  # more than 12 months before
        ("E3", A, "violation", "2023-01-15", 2000.0),
        ("E4", A, "audit", "2024-05-01", 0.0),  # clean audit
        ("E5", A, "audit", "2024-06-01", 3000.0),
        ("E6", A, "violation", "2025-07-05", 1000.0),  # after as-of
        ("E7", B, "abnormal_status", "2024-10-01", None),
        ("E8", B, "status_restored", "2024-12-01", None),
        ("E9", C, "abnormal_status", "2025-06-01", None),
    ]
    df = pd.DataFrame(e, columns=["event_id", "uscc", "event_type", "event_date", "amount"])
    df["event_date"] = pd.to_datetime(df["event_date"])
    return df


def _financials() -> pd.DataFrame:
    f = [
        (A, 2023, 800_000.0, 560_000.0, 400_000.0, 200_000.0, 120_000.0, 6_000.0, "2024-05-20"),
        (A, 2024, 1_000_000.0, 600_000.0, 500_000.0, 250_000.0, 330_000.0, 33_000.0,
         "2025-05-20"),
    ]
    df = pd.DataFrame(f, columns=["uscc", "year", "total_assets", "total_liabilities",
                                  "current_assets", "current_liabilities", "revenue",
                                  "net_profit", "filing_date"])
    df["equity"] = df["total_assets"] - df["total_liabilities"]
    df["period_end"] = pd.to_datetime(df["year"].astype(str) + "-12-31")
    df["filing_date"] = pd.to_datetime(df["filing_date"])
    return df


def _payroll() -> pd.DataFrame:
    rows = []
    for m in month_ends("2024-06-30", "2025-06-30"):
        h = 10
        if m == T("2024-11-30"):
            h = 12
        if m == T("2025-05-31"):
            h = 8
        filed = m + pd.Timedelta(days=10)
        rows.append(dict(uscc=A, period_end=m, headcount=h, wage_base=h * 6000.0,
                         filing_date=filed))
    return pd.DataFrame(rows)


def _invoices() -> pd.DataFrame:
    rows = []
    for m in month_ends("2023-06-30", "2025-06-30"):
        if T("2024-09-01") <= m <= T("2024-11-30"):
            continue  # no outgoing invoices in Sep-Nov 2024
        if m < T("2024-06-01"):
            out_amount, count = 10_000.0, 5
        elif m <= T("2025-05-31"):
            out_amount, count = A_L12[(m.year - 2024) * 12 + m.month - 6] * 1000.0, 10
        else:
            out_amount, count = 1e6, 50  # June 2025: after the window
        red_amount, red_count = (5_000.0, 1) if m == T("2025-01-31") else (0.0, 0)
        void = 2 if m == T("2024-12-31") else 0
        rows.append(dict(uscc=A, period_end=m, direction="out", amount=out_amount,
                         tax_amount=out_amount * 0.13, count=count, red_amount=red_amount,
                         red_count=red_count, void_count=void, n_counterparties=4,
                         top1_share=0.5, top5_share=1.0, counterparty_hhi=0.3))
    for m in month_ends("2024-06-30", "2025-05-31"):
        rows.append(dict(uscc=A, period_end=m, direction="in", amount=20_000.0,
                         tax_amount=2_600.0, count=3, red_amount=0.0, red_count=0, void_count=0,
                         n_counterparties=2, top1_share=0.6, top5_share=1.0,
                         counterparty_hhi=0.52))
    return pd.DataFrame(rows)


def handmade_tables() -> dict[str, pd.DataFrame]:
    """The raw tables (validate before use)."""
    enterprises = pd.DataFrame({
        "uscc": [A, B, C, D],
        "name": ["甲科技有限公司", "乙贸易有限公司", "丙制造有限公司", "丁咨询有限公司"],
        "industry_code": ["I6510", "F5191", "C3311", "L7241"],
        "region_code": ["110108", "310110", "350100", "110000"],
        "taxpayer_type": ["general", "small_scale", "small_scale", "small_scale"],
        "collection_method": ["audit", "audit", "audit", "audit"],
        "registration_date": [T("2015-03-02"), T("2021-06-10"), T("2024-10-08"),
                              T("2019-01-10")],
        "first_filing_date": [T("2015-04-15"), T("2021-07-15"), T("2024-11-20"),
                              T("2019-02-15")],
        "status": ["normal", "normal", "abnormal", "normal"],
        "registered_capital": [1e6, 1e5, 5e4, 1e5],
    })
    return {"enterprises": enterprises, "vat_returns": _vat(), "cit_returns": _cit(),
            "payments": _payments(), "invoices": _invoices(), "credit_grades": _grades(),
            "events": _events(), "financials": _financials(), "payroll": _payroll()}
