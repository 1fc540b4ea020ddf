"""A straightforward pandas implementation of some catalog features (the benchmark's baseline).

Written the way an analyst would: filter each table by knowledge date, compute the window per
enterprise, groupby and merge. It is also an independent check of the engine's values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRADE = {"A": 1, "B": 2, "M": 3, "C": 4, "D": 5}


def _window_end(ds, as_of: pd.Timestamp) -> pd.DataFrame:
    from taxcredit.data.calendar import last_due_month

    due_month = int(last_due_month(np.array([as_of.to_datetime64()]))[0])
    v = ds["vat_returns"]
    known = v[v["filing_date"] <= as_of]
    latest = known.sort_values(["period_end", "filing_date"]).groupby("uscc").tail(1)
    quarterly = latest.set_index("uscc")["filing_frequency"].astype(str) == "quarterly"
    ent = ds["enterprises"][["uscc"]].set_index("uscc")
    ent["quarterly"] = quarterly.reindex(ent.index).fillna(False).astype(bool)
    back = np.where(ent["quarterly"], ((due_month % 12) - 2) % 3, 0)
    ent["end"] = due_month - back
    return ent


def pandas_features(ds, as_of: str) -> pd.DataFrame:
    """sales_12m, sales_yoy, zero_sales_months_12m, late_filings_24m, arrears_now,
    credit_grade, violations_36m, debt_to_assets — one row per enterprise."""
    as_of = pd.Timestamp(as_of)
    ent = _window_end(ds, as_of)
    out = pd.DataFrame(index=ent.index)

    v = ds["vat_returns"].merge(ent, left_on="uscc", right_index=True)
    versions = ["filing_date", *(["revision"] if "revision" in v.columns else [])]
    v = v[v["filing_date"] <= as_of].sort_values(versions)
    filed_first = v.drop_duplicates(["uscc", "period_end"], keep="first")  # for lateness
    v = v.drop_duplicates(["uscc", "period_end"], keep="last")  # an amendment replaces
    filed_first = filed_first.assign(
        k=filed_first["end"] - (filed_first["period_end"].dt.year - 1970) * 12
        - (filed_first["period_end"].dt.month - 1))
    v["k"] = v["end"] - (v["period_end"].dt.year - 1970) * 12 - (v["period_end"].dt.month - 1)
    l12 = v[(v["k"] >= 0) & (v["k"] < 12)]
    p12 = v[(v["k"] >= 12) & (v["k"] < 24)]
    out["sales_12m"] = l12.groupby("uscc")["taxable_sales"].sum()
    prev = p12.groupby("uscc")["taxable_sales"].sum()
    # months each return covers (a first quarter may start at registration)
    months = ((p12["period_end"].dt.year - p12["period_start"].dt.year) * 12
              + p12["period_end"].dt.month - p12["period_start"].dt.month + 1)
    complete = pd.Series(months.to_numpy(), index=p12["uscc"]).groupby(level=0).sum() == 12
    prev = prev.where(complete.reindex(prev.index).fillna(False))
    out["sales_yoy"] = out["sales_12m"] / prev.where(prev > 0) - 1
    zero = l12[l12["taxable_sales"] == 0]
    months = ((zero["period_end"].dt.year - zero["period_start"].dt.year) * 12
              + zero["period_end"].dt.month - zero["period_start"].dt.month + 1)
    out["zero_sales_months_12m"] = pd.Series(months.to_numpy(),
                                             index=zero["uscc"]).groupby(level=0).sum()
    out.loc[out["sales_12m"].notna(), "zero_sales_months_12m"] = (
        out["zero_sales_months_12m"].fillna(0))

    w24 = v[(v["k"] >= 0) & (v["k"] < 24)]
    history = pd.Index(w24["uscc"].unique())
    f24 = filed_first[(filed_first["k"] >= 0) & (filed_first["k"] < 24)]
    late = f24[f24["filing_date"] > f24["due_date"]].groupby("uscc").size()
    c = ds["cit_returns"].merge(ent, left_on="uscc", right_index=True)
    c = c[c["filing_date"] <= as_of].sort_values(
        ["filing_date", *(["revision"] if "revision" in c.columns else [])])
    c = c.drop_duplicates(["uscc", "period_end", "return_type"], keep="first")
    c["k"] = c["end"] - (c["period_end"].dt.year - 1970) * 12 - (c["period_end"].dt.month - 1)
    c = c[(c["k"] >= 0) & (c["k"] < 24)]
    history = history.union(pd.Index(c["uscc"].unique()))  # a VAT or CIT return in the window
    c = c[c["filing_date"] > c["due_date"]]
    late = late.add(c.groupby("uscc").size(), fill_value=0)
    out["late_filings_24m"] = late.reindex(out.index).fillna(0).where(out.index.isin(history))

    p = ds["payments"]
    p = p[p["due_date"] <= as_of]
    unpaid = p[p["payment_date"].isna() | (p["payment_date"] > as_of)]
    arrears = unpaid.groupby("uscc")["amount"].sum()
    vat_history = pd.Index(w24["uscc"].unique())
    has = out.index.isin(vat_history) | out.index.isin(p["uscc"].unique())
    out["arrears_now"] = arrears.reindex(out.index).fillna(0).where(has)

    g = ds["credit_grades"]
    g = g[g["effective_date"] <= as_of].sort_values(["uscc", "year", "effective_date"])
    latest = g.groupby("uscc").tail(1).set_index("uscc")
    out["credit_grade"] = latest["grade"].astype(str).map(GRADE)

    e = ds["events"]
    e = e[(e["event_date"] <= as_of) & (e["event_date"] > as_of - pd.DateOffset(months=36))]
    bad = e["event_type"].astype(str).isin(["violation", "penalty", "major_violation_listing"]) | (
        (e["event_type"].astype(str) == "audit") & (e["amount"].fillna(0) > 0))
    out["violations_36m"] = e[bad].groupby("uscc").size().reindex(out.index).fillna(0)

    f = ds["financials"]
    f = f[f["filing_date"] <= as_of].sort_values(
        ["uscc", "year", "filing_date", *(["revision"] if "revision" in f.columns else [])])
    fl = f.groupby("uscc").tail(1).set_index("uscc")
    out["debt_to_assets"] = fl["total_liabilities"] / fl["total_assets"].where(
        fl["total_assets"] > 0)
    return out.astype(float)
