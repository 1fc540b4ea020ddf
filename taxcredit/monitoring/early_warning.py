"""Post-loan early warnings (贷后预警), evaluated on each refresh of the tax data.

Each rule is a small vectorised detector over the tax tables as known at the as-of date
(nothing recorded after it is read), with thresholds and levels taken from data — the
``[monitoring]`` table of a bank's ``strategy.toml`` (see :class:`WarningConfig`). Two kinds:

* *state* rules fire while a condition holds (status abnormal, grade D, arrears, a filing
  stop, a sales collapse …) and keep firing on every refresh until it clears;
* *event* rules fire on what happened since the last refresh (the ``lookback_days`` window):
  a downgrade, a new penalty, a change of legal representative, a credit repair.

Every alert names its level (red / orange / yellow / info), rule code, a message in 中文 and
English, and the evidence — the values and dates that triggered it, as JSON. One alert per
enterprise and rule (the most severe). Compared with the previous run's alerts, each is
``new``, ``ongoing`` or ``escalated``. A credit repair or upgrade (EW18) asks for a re-score.

EW16 (consent revoked or expired) runs when the authorisations are given (a ``consents``
table: ``uscc``, ``granted_at``, ``expires_at``, ``revoked_at``). Not evaluated: EW12
(the largest buyer disappearing needs counterparty identities; the contract's invoices are
monthly aggregates).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..data.calendar import due_dates
from ..data.schema import SCHEMAS
from ..features.engine import as_of_date
from ._book import book_codes

__all__ = ["LEVELS", "RULES", "WarningConfig", "WarningRule", "early_warnings"]

#: Alert levels, most severe first.
LEVELS = ("red", "orange", "yellow", "info")
_RANK = {lv: i for i, lv in enumerate(LEVELS)}
_GRADE_RANK = {"A": 1, "B": 2, "M": 2, "C": 4, "D": 5}
COLUMNS = ["uscc", "rule", "level", "message", "evidence", "trigger_date", "as_of", "rescore",
           "status"]


@dataclass(frozen=True)
class WarningRule:
    """One early-warning rule: its detector, default thresholds and texts.

    Parameters
    ----------
    code : str
    kind : {"state", "event"}
    zh, en : str
        Message templates, formatted with the rule's parameters.
    params : dict
        Default thresholds and levels (overridable per bank).
    detect : callable
        ``detect(ctx, params) -> DataFrame`` with ``uscc``, ``level``, ``trigger_date`` and
        the evidence columns.
    """

    code: str
    kind: str
    zh: str
    en: str
    params: dict
    detect: Callable


# ---------------------------------------------------------------- the data as known at as-of
class _Context:
    """The book's tax tables as known at ``as_of``; the window since the last refresh."""

    def __init__(self, ds: TaxDataset, as_of: pd.Timestamp, lookback_days: int,
                 usccs: pd.Index, consents: pd.DataFrame | None = None) -> None:
        self.as_of = as_of
        self.consents = consents
        self.since = as_of - pd.Timedelta(days=lookback_days)
        self.usccs = usccs
        self._ds = ds
        self._cache: dict[str, pd.DataFrame] = {}

    def table(self, name: str, known: str) -> pd.DataFrame:
        """Rows of the book's enterprises whose ``known`` date is on or before as-of.

        Of an amended return only the version in force at as-of (the latest filed) is kept.
        """
        if name not in self._cache:
            if name not in self._ds:
                self._cache[name] = pd.DataFrame()
            else:
                t = self._ds[name]
                keep = t["uscc"].astype(str).isin(self.usccs) & (t[known] <= self.as_of)
                t = t[keep.to_numpy()].copy()
                t["uscc"] = t["uscc"].astype(str)
                revises = SCHEMAS[name].revises if name in SCHEMAS else ()
                if revises and known == SCHEMAS[name].knowledge_date:  # amendments (更正申报)
                    order = [c for c in SCHEMAS[name].version_order if c in t.columns]
                    rank = t[order].fillna(0)  # a missing revision number counts as 0
                    t = t.loc[rank.sort_values(order, kind="mergesort").index].drop_duplicates(
                        list(revises), keep="last").sort_index()  # the version in force
                self._cache[name] = t
        return self._cache[name]

    def events(self, types: tuple[str, ...], *, since: pd.Timestamp | None = None
               ) -> pd.DataFrame:
        ev = self.table("events", "event_date")
        if ev.empty:
            return ev
        keep = ev["event_type"].astype(str).isin(types)
        if since is not None:
            keep &= ev["event_date"] > since
        return ev[keep.to_numpy()]

    def grades(self) -> pd.DataFrame:
        """Grade records known at as-of, by year and then the date each took effect.

        The grade in force at a moment is the latest year's record (as revised) among those
        in effect by then. ``previous_grade`` / ``previous_rank`` are the grade in force
        just before a record took effect, and ``in_force`` says whether the record itself
        became the grade in force (a revision of an earlier year does not, once a later
        year's grade is out).
        """
        if "_grades" in self._cache:
            return self._cache["_grades"]
        g = self.table("credit_grades", "effective_date")
        if g.empty:
            return g
        g = g.sort_values(["uscc", "year", "effective_date"], kind="mergesort") \
            .reset_index(drop=True)  # positions, whatever index the table came with
        g = g.assign(rank=g["grade"].astype(str).map(_GRADE_RANK).astype(float))
        # rows are in (year, date) order, so the grade in force by a moment is the highest
        # row among the records in effect by then: a running maximum over the dates
        row = np.arange(len(g))
        by_date = pd.DataFrame({"uscc": g["uscc"].to_numpy(), "eff": g["effective_date"]
                                .to_numpy(), "row": row}).sort_values(
            ["uscc", "eff", "row"], kind="mergesort")
        by_date["top"] = by_date.groupby("uscc", sort=False)["row"].cummax()
        upto = by_date.groupby(["uscc", "eff"], sort=False)["top"].last()  # in effect by then
        before = upto.groupby(level=0, sort=False).shift()  # by the previous date
        key = pd.MultiIndex.from_arrays([g["uscc"].to_numpy(), g["effective_date"].to_numpy()])
        prev_row = before.reindex(key).to_numpy()
        has_prev = ~np.isnan(prev_row)
        take = np.where(has_prev, prev_row, 0).astype(np.int64)
        g["previous_grade"] = np.where(has_prev, g["grade"].astype(object).to_numpy()[take],
                                       None)
        g["previous_rank"] = np.where(has_prev, g["rank"].to_numpy()[take], np.nan)
        g["in_force"] = upto.reindex(key).to_numpy() == row
        self._cache["_grades"] = g
        return g


def _month_no(dates: pd.Series) -> pd.Series:
    """Months since year 0 (``year * 12 + month``): month arithmetic on date columns."""
    return dates.dt.year * 12 + dates.dt.month


def _hits(df: pd.DataFrame, level, date_col: str, evidence: list[str]) -> pd.DataFrame:
    """Alerts from the rows of ``df``: one level (or a level per row) and the evidence."""
    if df.empty:
        return _empty()
    out = pd.DataFrame({"uscc": df["uscc"].astype(str).to_numpy()})
    out["level"] = level if isinstance(level, str) else np.asarray(level, dtype=object)
    out["trigger_date"] = pd.to_datetime(df[date_col]).to_numpy()
    for c in evidence:
        out[c] = df[c].to_numpy()
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"uscc": pd.Series([], dtype="str"), "level": [], "trigger_date":
                         pd.Series([], dtype="datetime64[ns]")})


# ---------------------------------------------------------------- the detectors
def _status(ctx: _Context, p: dict) -> pd.DataFrame:
    ev = ctx.events(("abnormal_status", "status_restored", "deregistration"))
    if ev.empty:
        return _empty()
    last = ev.sort_values(["uscc", "event_date"], kind="mergesort").groupby(
        "uscc", sort=False).tail(1)
    bad = last[last["event_type"].astype(str).isin(["abnormal_status", "deregistration"])]
    return _hits(bad, p["level"], "event_date", ["event_type", "event_date"])


def _grade_d(ctx: _Context, p: dict) -> pd.DataFrame:
    parts = []
    g = ctx.grades()
    if not g.empty:
        now = g.groupby("uscc", sort=False).tail(1)  # the grade in force at as-of
        d = now[now["grade"].astype(str) == "D"]
        # an earlier year revised to D (动态调整) within the window is a D event too, while
        # that year's grade is still D (a D repaired since is EW18's, not a D)
        year_now = g["uscc"].map(now.set_index("uscc")["year"])
        latest = g.groupby(["uscc", "year"], sort=False).tail(1)
        revised = latest[(latest["grade"].astype(str) == "D")
                         & (latest["effective_date"] > ctx.since)
                         & (latest["year"] < year_now[latest.index])]
        d = pd.concat([d, revised])
        parts.append(_hits(d.assign(reason="grade_D"), p["level"], "effective_date",
                           ["reason", "grade", "year", "effective_date"]))
    since = ctx.as_of - pd.DateOffset(months=p["listing_months"])
    lst = ctx.events(("major_violation_listing",), since=since)
    if not lst.empty:
        parts.append(_hits(lst.assign(reason="major_violation_listing"), p["level"],
                           "event_date", ["reason", "event_date"]))
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def _arrears(ctx: _Context, p: dict) -> pd.DataFrame:
    pay = ctx.table("payments", "due_date")
    if pay.empty:
        return _empty()
    # as the feature arrears_now: due by the as-of day and not paid by its end
    unpaid = pay[(pay["due_date"] <= ctx.as_of)
                 & (pay["payment_date"].isna() | (pay["payment_date"] > ctx.as_of))]
    if unpaid.empty:
        return _empty()
    agg = unpaid.groupby("uscc", sort=False).agg(arrears=("amount", "sum"),
                                                 oldest_due=("due_date", "min")).reset_index()
    agg = agg[agg["arrears"] > 0]
    vat = ctx.table("vat_returns", "filing_date")
    year_ago = ctx.as_of - pd.DateOffset(months=12)
    recent = vat[vat["period_end"] > year_ago] if not vat.empty else vat
    if recent.empty:
        sales = pd.Series(dtype=float)
    else:  # monthly sales: over the months the filed returns cover (a quarter is three)
        covered = _month_no(recent["period_end"]) - _month_no(recent["period_start"]) + 1
        g = pd.DataFrame({"uscc": recent["uscc"].to_numpy(),
                          "sales": recent["taxable_sales"].to_numpy(dtype=float),
                          "months": covered.clip(lower=1).to_numpy()}).groupby("uscc")
        sales = g["sales"].sum() / g["months"].sum()
    agg["monthly_sales"] = agg["uscc"].map(sales).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["arrears_to_monthly_sales"] = np.where(agg["monthly_sales"] > 0,
                                                   agg["arrears"] / agg["monthly_sales"],
                                                   np.inf)
    long = agg["oldest_due"] <= ctx.as_of - pd.DateOffset(months=p["red_months"] - 1)
    big = agg["arrears_to_monthly_sales"] > p["red_share"]
    level = np.where(long | big, "red", "orange")
    agg["arrears_to_monthly_sales"] = agg["arrears_to_monthly_sales"].replace(np.inf, np.nan)
    return _hits(agg, level, "oldest_due", ["arrears", "oldest_due", "arrears_to_monthly_sales"])


def _expected_periods(as_of: pd.Timestamp, grace_days: int) -> dict[str, list]:
    """Find the last two periods per filing frequency whose deadline + grace has passed."""
    out = {}
    months = pd.date_range(end=as_of, periods=8, freq="ME")
    for freq in ("monthly", "quarterly"):
        ends = months if freq == "monthly" else months[months.month.isin([3, 6, 9, 12])]
        due = pd.DatetimeIndex(due_dates(ends.to_numpy().astype("datetime64[D]")))
        ok = (due + pd.Timedelta(days=grace_days)) <= as_of
        out[freq] = list(zip(ends[ok][-2:], due[ok][-2:], strict=True))
    return out


def _latest_returns(vat: pd.DataFrame) -> pd.DataFrame:
    """Each enterprise's latest VAT return (by period end), indexed by USCC."""
    return vat.sort_values(["uscc", "period_end"], kind="mergesort").groupby(
        "uscc", sort=False).tail(1).set_index("uscc", drop=False).rename_axis(None)


def _last_due_end(as_of: pd.Timestamp, frequency: pd.Series) -> pd.Series:
    """End of the last period due by ``as_of`` for each filing frequency (NaT: none)."""
    due = {freq: periods[-1][0] for freq, periods in _expected_periods(as_of, 0).items()
           if periods}
    return pd.to_datetime(frequency.astype(str).map(due))


def _filing_stop(ctx: _Context, p: dict) -> pd.DataFrame:
    vat = ctx.table("vat_returns", "filing_date")
    if vat.empty:
        return _empty()
    latest = _latest_returns(vat)
    filed = pd.MultiIndex.from_arrays([vat["uscc"], vat["period_end"]])
    rows = []
    for freq, periods in _expected_periods(ctx.as_of, p["grace_days"]).items():
        if len(periods) < 2:
            continue
        (prev, _), (last, due) = periods
        who = latest[latest["filing_frequency"].astype(str) == freq]
        who = who[who["period_end"] < last]  # filed before, nothing for the last period yet
        if who.empty:
            continue
        miss_prev = ~pd.MultiIndex.from_arrays(
            [who["uscc"], np.full(len(who), prev)]).isin(filed)
        rows.append(pd.DataFrame({
            "uscc": who["uscc"].to_numpy(), "missing_period": last,
            "last_filed_period": who["period_end"].to_numpy(),
            "level": np.where(miss_prev, "red", "orange"),
            "trigger_date": due + pd.Timedelta(days=p["grace_days"])}))
    if not rows:
        return _empty()
    df = pd.concat(rows, ignore_index=True)
    return _hits(df, df["level"], "trigger_date", ["missing_period", "last_filed_period"])


def _zero_run(v: pd.DataFrame, frequency: str, returns: int, months: int,
              first: str) -> pd.DataFrame:
    """Return the filers whose latest returns are a run of zero sales.

    Filers of ``frequency`` whose last ``returns`` returns cover ``months`` consecutive months,
    all with zero sales; per uscc the run's ``first`` (from the column ``first``) and ``last``
    period end.
    """
    tail = v[v["filing_frequency"].astype(str) == frequency].groupby(
        "uscc", sort=False).tail(returns)
    tail = tail.assign(abs_sales=tail["taxable_sales"].abs())
    g = tail.groupby("uscc", sort=False).agg(
        returns=("period_end", "size"), first=(first, "min"),
        last=("period_end", "max"), sales=("abs_sales", "sum"))
    span = _month_no(g["last"]) - _month_no(g["first"]) + 1
    return g[(g["returns"] == returns) & (span == months) & (g["sales"] == 0)]


def _zero_sales(ctx: _Context, p: dict) -> pd.DataFrame:
    vat = ctx.table("vat_returns", "filing_date")
    if vat.empty:
        return _empty()
    v = vat.sort_values(["uscc", "period_end"], kind="mergesort")
    n = p["months"]
    hit_m = _zero_run(v, "monthly", n, n, "period_end")
    # a quarterly filer: enough consecutive zero quarters to cover the months (3 → one)
    k = -(-n // 3)
    hit_q = _zero_run(v, "quarterly", k, 3 * k, "period_start")
    last_any = v.groupby("uscc", sort=False).tail(1).set_index("uscc")["period_end"]
    df = pd.concat([
        pd.DataFrame({"uscc": hit_m.index, "zero_from": hit_m["first"].to_numpy(),
                      "zero_to": hit_m["last"].to_numpy()}),
        pd.DataFrame({"uscc": hit_q.index, "zero_from": hit_q["first"].to_numpy(),
                      "zero_to": hit_q["last"].to_numpy()})], ignore_index=True)
    # only a run that is still the latest filed period (a later return with sales clears it)
    df = df[df["zero_to"].to_numpy() == last_any.reindex(df["uscc"]).to_numpy()]
    return _hits(df, p["level"], "zero_to", ["zero_from", "zero_to"])


def _monthly_out(ctx: _Context) -> pd.DataFrame:
    inv = ctx.table("invoices", "period_end")
    if inv.empty:
        return inv
    return inv[inv["direction"].astype(str) == "out"]


def _sales_drop(ctx: _Context, p: dict) -> pd.DataFrame:
    """EW06: the latest three months against the same months a year earlier.

    The window ends at the firm's latest period — the last one due by the as-of date, or a
    later one already filed — and both windows must be covered by returns month for month: a
    missing return is not a month of zero sales (EW04 reports returns that are missing), and
    a firm that stopped filing long ago gets no alert about its old periods.
    """
    vat = ctx.table("vat_returns", "filing_date")
    if vat.empty:
        return _empty()
    end_m, start_m = _month_no(vat["period_end"]), _month_no(vat["period_start"])
    last = _latest_returns(vat)
    due_end = _last_due_end(ctx.as_of, last["filing_frequency"])
    due_m = _month_no(due_end).fillna(0).astype(int)
    last_m = _month_no(last["period_end"])
    anchor = np.maximum(last_m.to_numpy(), due_m.to_numpy())
    anchor = pd.Series(anchor, index=last.index)
    lag = vat["uscc"].map(anchor).to_numpy() - end_m.to_numpy()  # months before the anchor
    covered = (end_m - start_m + 1).clip(lower=1).to_numpy()
    recent = (lag >= 0) & (lag < 3)
    before = (lag >= 12) & (lag < 15)
    key = vat["uscc"].to_numpy()
    sales = vat["taxable_sales"].to_numpy(dtype=float, na_value=np.nan)
    df = pd.DataFrame({
        "sales_3m": pd.Series(sales[recent]).groupby(key[recent]).sum(min_count=1),
        "months_3m": pd.Series(covered[recent]).groupby(key[recent]).sum(),
        "sales_3m_year_before": pd.Series(sales[before]).groupby(key[before]).sum(min_count=1),
        "months_year_before": pd.Series(covered[before]).groupby(key[before]).sum()})
    df = df[(df["months_3m"] == 3) & (df["months_year_before"] == 3)].dropna()
    df = df[df["sales_3m_year_before"] > 0]
    df["change"] = df["sales_3m"] / df["sales_3m_year_before"] - 1.0
    df = df[df["change"] <= p["orange"]].reset_index(names="uscc")
    m = df["uscc"].map(anchor).to_numpy()
    df["period_end"] = pd.to_datetime(pd.DataFrame({"year": (m - 1) // 12,
                                                    "month": (m - 1) % 12 + 1, "day": 1})) \
        + pd.offsets.MonthEnd(0)
    level = np.where(df["change"] <= p["red"], "red", "orange")
    return _hits(df, level, "period_end", ["sales_3m", "sales_3m_year_before", "change",
                                           "period_end"])


def _invoice_stop(ctx: _Context, p: dict) -> pd.DataFrame:
    out = _monthly_out(ctx)
    if out.empty:
        return _empty()
    active = out[out["count"] > 0]
    last = active.groupby("uscc")["period_end"].max()
    months_active = active[active["period_end"] > ctx.as_of - pd.DateOffset(months=15)] \
        .groupby("uscc")["period_end"].size()
    df = pd.DataFrame({"last_invoice_month": last,
                       "active_months": months_active.reindex(last.index).fillna(0)})
    df["days_without"] = (ctx.as_of - df["last_invoice_month"]).dt.days
    df = df[(df["days_without"] >= p["days"]) & (df["active_months"] >= p["min_active_months"])]
    df = df.reset_index(names="uscc")
    return _hits(df, p["level"], "last_invoice_month", ["last_invoice_month", "days_without"])


def _red_letter(ctx: _Context, p: dict) -> pd.DataFrame:
    out = _monthly_out(ctx)
    if out.empty:
        return _empty()
    out = out.sort_values(["uscc", "period_end"], kind="mergesort").reset_index(drop=True)
    gross = out["amount"] + out["red_amount"]  # rows by position: an index may repeat
    out = out.assign(ratio=np.where(gross > 0, out["red_amount"] / gross.where(gross > 0, 1),
                                    0.0))
    latest = out.groupby("uscc", sort=False).tail(1)
    latest = latest[latest["period_end"] > ctx.since]  # a month reported since last refresh
    prior = out[~out.index.isin(latest.index)]
    prior = prior[prior["period_end"] > ctx.as_of - pd.DateOffset(months=13)]
    base = prior.groupby("uscc")["ratio"].mean()
    latest = latest.assign(baseline=latest["uscc"].map(base).fillna(0.0).to_numpy())
    hit = latest[(latest["ratio"] > p["ratio"])
                 | ((latest["baseline"] > 0)
                    & (latest["ratio"] > p["baseline_multiple"] * latest["baseline"]))]
    return _hits(hit, p["level"], "period_end", ["period_end", "ratio", "baseline"])


def _downgrade(ctx: _Context, p: dict) -> pd.DataFrame:
    g = ctx.grades()
    if g.empty:
        return _empty()
    new = g[(g["effective_date"] > ctx.since) & g["in_force"]
            & (g["rank"] > g["previous_rank"]) & (g["grade"].astype(str) != "D")]  # to D: EW02
    level = np.where(new["grade"].astype(str) == "C", p["level_to_c"], p["level"])
    new = new.assign(grade=new["grade"].astype(str))
    return _hits(new, level, "effective_date", ["previous_grade", "grade", "year",
                                                 "effective_date"])


def _key_change(ctx: _Context, p: dict) -> pd.DataFrame:
    rep = ctx.events(("legal_rep_change",), since=ctx.since)
    if rep.empty:
        return _empty()
    other = ctx.events(("address_change", "tax_office_change"))
    window = pd.Timedelta(days=p["days"])
    pairs = rep[["event_id", "uscc", "event_date"]].merge(
        other[["uscc", "event_date"]].rename(columns={"event_date": "other"}), on="uscc") \
        if not other.empty else pd.DataFrame(columns=["event_id", "other"])
    pairs = pairs[(pairs["other"] - pairs["event_date"]).abs() <= window] if len(pairs) \
        else pairs
    near = pairs.groupby("event_id")["other"].max() if len(pairs) else pd.Series(
        dtype="datetime64[ns]")
    rep = rep.assign(other_change=near.reindex(rep["event_id"].to_numpy()).to_numpy())
    level = np.where(rep["other_change"].notna(), p["level_with_other"], p["level"])
    return _hits(rep, level, "event_date", ["event_date", "other_change"])


def _headcount(ctx: _Context, p: dict) -> pd.DataFrame:
    pr = ctx.table("payroll", "filing_date")
    if pr.empty:
        return _empty()
    last = pr.groupby("uscc")["period_end"].max()
    end = pr["uscc"].map(last)
    now = pr[pr["period_end"] == end].groupby("uscc")["headcount"].sum()
    ago = pr[pr["period_end"] == end - pd.offsets.MonthEnd(p["months"])] \
        .groupby("uscc")["headcount"].sum()
    df = pd.DataFrame({"headcount": now, "headcount_before": ago}).dropna()
    df = df[df["headcount_before"] > 0]
    df["change"] = df["headcount"] / df["headcount_before"] - 1.0
    df = df[df["change"] <= p["yellow"]].reset_index(names="uscc")
    df["period_end"] = df["uscc"].map(last).to_numpy()
    level = np.where(df["change"] <= p["orange"], "orange", "yellow")
    return _hits(df, level, "period_end", ["headcount", "headcount_before", "change",
                                           "period_end"])


def _penalty(ctx: _Context, p: dict) -> pd.DataFrame:
    ev = ctx.events(("penalty", "audit", "violation"), since=ctx.since)
    if ev.empty:
        return _empty()
    ev = ev.assign(event_type=ev["event_type"].astype(str))
    if "amount" not in ev.columns:  # optional in the contract
        ev = ev.assign(amount=np.nan)
    return _hits(ev, p["level"], "event_date", ["event_type", "event_date", "amount"])


def _input_output(ctx: _Context, p: dict) -> pd.DataFrame:
    inv = ctx.table("invoices", "period_end")
    if inv.empty:
        return _empty()
    month_end = ctx.as_of if ctx.as_of.is_month_end else ctx.as_of - pd.offsets.MonthEnd(1)
    months = [month_end - pd.offsets.MonthEnd(k) for k in range(p["months"])]
    m = inv[inv["period_end"].isin(months)]
    wide = m.pivot_table(index=["uscc", "period_end"], columns="direction", values="amount",
                         aggfunc="sum", observed=True).reindex(columns=["in", "out"])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(wide["out"].fillna(0) > 0, wide["in"].fillna(0) / wide["out"],
                     np.where(wide["in"].fillna(0) > 0, np.inf, 0.0))
    wide = wide.assign(ratio=r).reset_index()
    g = wide.groupby("uscc").agg(months=("ratio", "size"), lowest=("ratio", "min"),
                                 until=("period_end", "max"))
    hit = g[(g["months"] == p["months"]) & (g["lowest"] > p["ratio"])].reset_index()
    hit["lowest"] = hit["lowest"].replace(np.inf, np.nan)
    return _hits(hit, p["level"], "until", ["lowest", "until"])


def _migration(ctx: _Context, p: dict) -> pd.DataFrame:
    ev = ctx.events(("tax_office_change",), since=ctx.since)
    return _hits(ev, p["level"], "event_date", ["event_date"])


def _consent(ctx: _Context, p: dict) -> pd.DataFrame:
    """No live authorisation at as-of: none given, expired or revoked (point in time)."""
    c = ctx.consents
    if c is None:
        return _empty()
    c = c[c["uscc"].isin(ctx.usccs) & (c["granted_at"] <= ctx.as_of)]
    if "purposes" in c.columns:  # only authorisations that cover monitoring count
        c = c[c["purposes"].astype(str).str.contains("post_loan_monitoring", regex=False)]
    live = (c["expires_at"].isna() | (c["expires_at"] > ctx.as_of)) & \
        (c["revoked_at"].isna() | (c["revoked_at"] > ctx.as_of))
    covered = c.loc[live.to_numpy(), "uscc"].unique()
    last = c.sort_values(["uscc", "granted_at"], kind="mergesort").groupby(
        "uscc", sort=False).tail(1).set_index("uscc")
    miss = ctx.usccs[~ctx.usccs.isin(covered)]
    df = last.reindex(miss)[["granted_at", "expires_at", "revoked_at"]].reset_index(
        names="uscc")
    revoked = df["revoked_at"].notna() & (df["revoked_at"] <= ctx.as_of)
    df["reason"] = np.where(df["granted_at"].isna(), "none",
                            np.where(revoked, "revoked", "expired"))
    df["trigger"] = df["revoked_at"].where(revoked, df["expires_at"]).fillna(ctx.as_of)
    return _hits(df, p["level"], "trigger", ["reason", "granted_at", "expires_at",
                                             "revoked_at"])


def _stale(ctx: _Context, p: dict) -> pd.DataFrame:
    latest = pd.Series(pd.NaT, index=ctx.usccs, dtype="datetime64[ns]")
    for name, known in (("vat_returns", "filing_date"), ("invoices", "period_end"),
                        ("payroll", "filing_date"), ("payments", "due_date")):
        t = ctx.table(name, known)
        if not t.empty:
            latest = pd.concat([latest, t.groupby("uscc")[known].max()], axis=1).max(axis=1)
    df = pd.DataFrame({"uscc": ctx.usccs, "latest_data": latest.reindex(ctx.usccs).to_numpy()})
    # no data yet: silent since registration (a firm registered 10 days ago owes nothing yet)
    ent = ctx.table("enterprises", "registration_date")
    registered = pd.Series(pd.NaT, index=ctx.usccs, dtype="datetime64[ns]")
    if not ent.empty:
        registered = ent.drop_duplicates("uscc").set_index("uscc")["registration_date"] \
            .reindex(ctx.usccs)
    since = df["latest_data"].fillna(pd.Series(registered.to_numpy(), index=df.index))
    df["days_stale"] = (ctx.as_of - since).dt.days
    # a filer whose latest return is the last one due has nothing newer to send (a quarterly
    # filer without a monthly invoice feed can be 3 months "old" and up to date)
    vat = ctx.table("vat_returns", "filing_date")
    current = pd.Series(False, index=ctx.usccs)
    if not vat.empty:
        last = _latest_returns(vat)
        up_to_date = last["period_end"] >= _last_due_end(ctx.as_of, last["filing_frequency"])
        current = up_to_date.reindex(ctx.usccs, fill_value=False)
    stale = since.isna() | (df["days_stale"] > p["days"])
    hit = df[stale.to_numpy() & ~current.to_numpy(dtype=bool)]
    hit = hit.assign(trigger=since[hit.index].fillna(ctx.as_of))
    return _hits(hit, p["level"], "trigger", ["latest_data", "days_stale"])


def _repair(ctx: _Context, p: dict) -> pd.DataFrame:
    parts = []
    ev = ctx.events(("credit_repair",), since=ctx.since)
    if not ev.empty:
        parts.append(_hits(ev.assign(reason="credit_repair"), p["level"], "event_date",
                           ["reason", "event_date"]))
    g = ctx.grades()
    if not g.empty:
        up = g[(g["effective_date"] > ctx.since) & g["in_force"]
               & (g["rank"] < g["previous_rank"])]
        up = up.assign(reason="grade_upgrade", grade=up["grade"].astype(str))
        parts.append(_hits(up, p["level"], "effective_date",
                           ["reason", "previous_grade", "grade", "effective_date"]))
    return pd.concat(parts, ignore_index=True) if parts else _empty()


R = WarningRule
#: The built-in rules (domain.md §9), by code.
RULES: dict[str, WarningRule] = {r.code: r for r in (
    R("EW01", "state", "非正常户或注销", "Abnormal (非正常户) or deregistered",
      {"level": "red"}, _status),
    R("EW02", "state", "纳税信用D级或重大税收违法失信",
      "Tax credit grade D or major violation listing",
      {"level": "red", "listing_months": 36}, _grade_d),
    R("EW03", "state", "存在欠税", "Tax arrears outstanding",
      {"red_months": 2, "red_share": 0.10}, _arrears),
    R("EW04", "state", "逾期未申报（截止日后{grace_days}天）",
      "Return not filed {grace_days} days after the deadline", {"grace_days": 15}, _filing_stop),
    R("EW05", "state", "连续{months}个月零申报", "{months} months of zero sales in a row",
      {"level": "orange", "months": 3}, _zero_sales),
    R("EW06", "state", "近3个月销售额同比下降", "Sales of the last 3 months down year on year",
      {"orange": -0.5, "red": -0.7}, _sales_drop),
    R("EW07", "state", "{days}天以上未开具销项发票", "No sales invoices for {days}+ days",
      {"level": "orange", "days": 60, "min_active_months": 3}, _invoice_stop),
    R("EW08", "event", "红字发票占比异常", "Unusual share of red-letter invoices",
      {"level": "yellow", "ratio": 0.2, "baseline_multiple": 3.0}, _red_letter),
    R("EW09", "event", "纳税信用等级下调", "Tax credit grade downgraded",
      {"level": "yellow", "level_to_c": "orange"}, _downgrade),
    R("EW10", "event", "法定代表人变更", "Legal representative changed",
      {"level": "yellow", "level_with_other": "orange", "days": 90}, _key_change),
    R("EW11", "state", "社保参保人数{months}个月内下降",
      "Insured headcount down within {months} months",
      {"months": 3, "yellow": -0.3, "orange": -0.5}, _headcount),
    R("EW13", "event", "新增税务处罚、稽查或违法记录", "New tax penalty, audit or violation",
      {"level": "orange"}, _penalty),
    R("EW14", "state", "连续{months}个月进销比高于{ratio}", "Purchases above {ratio}x sales for "
      "{months} months", {"level": "yellow", "months": 3, "ratio": 1.2}, _input_output),
    R("EW15", "event", "主管税务机关迁移", "Moved to another tax office",
      {"level": "yellow"}, _migration),
    R("EW16", "state", "授权已撤销或过期，停止使用涉税数据并重新授权",
      "Consent revoked or expired: stop using the tax data, ask again",
      {"level": "yellow"}, _consent),
    R("EW17", "state", "涉税数据超过{days}天未更新", "No fresh tax data for {days}+ days",
      {"level": "yellow", "days": 45}, _stale),
    R("EW18", "event", "信用修复或等级上调，建议重新评分", "Credit repair or upgrade: re-score",
      {"level": "info"}, _repair),
)}


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class WarningConfig:
    """Which rules run, with which thresholds — the ``[monitoring]`` table as data.

    Parameters
    ----------
    lookback_days : int, default 31
        The window of event rules: what happened since the last refresh.
    disabled : tuple of str
        Rule codes not evaluated.
    rules : dict of code → dict
        Parameter overrides per rule (thresholds, levels).
    """

    lookback_days: int = 31
    disabled: tuple[str, ...] = ()
    rules: dict | None = None

    def __post_init__(self) -> None:
        where = "[monitoring]"
        if not isinstance(self.lookback_days, int) or self.lookback_days < 1:
            raise ValueError(f"{where}: lookback_days must be a whole number >= 1")
        unknown = sorted((set(self.disabled) | set(self.rules or {})) - set(RULES))
        if unknown:
            raise ValueError(f"{where}: unknown rule code(s) {unknown}; the rules are "
                             f"{list(RULES)}")
        for code, over in (self.rules or {}).items():
            extra = sorted(set(over) - set(RULES[code].params))
            if extra:
                raise ValueError(f"{where} rules.{code}: unknown setting(s) {extra}; it has "
                                 f"{sorted(RULES[code].params)}")
            for k, v in over.items():
                default = RULES[code].params[k]
                if k.startswith("level") and v not in LEVELS:
                    raise ValueError(f"{where} rules.{code}.{k}: a level is one of {LEVELS}, "
                                     f"got {v!r}")
                if isinstance(default, (int, float)) and (
                        isinstance(v, bool) or not isinstance(v, (int, float))
                        or not np.isfinite(v)):
                    raise ValueError(f"{where} rules.{code}.{k}: a number, got {v!r}")
                if isinstance(default, int) and not isinstance(default, bool):
                    least = 0 if k == "grace_days" else 1  # a count of months or days
                    if float(v) != int(v) or v < least:
                        raise ValueError(f"{where} rules.{code}.{k}: a whole number of "
                                         f"{'days' if 'days' in k else 'months'} >= {least}, "
                                         f"got {v!r}")

    @classmethod
    def from_params(cls, d: dict | None) -> WarningConfig:
        """Build from a ``[monitoring]`` table (unknown keys are an error)."""
        d = dict(d or {})
        extra = sorted(set(d) - {"lookback_days", "disabled", "rules"})
        if extra:
            raise ValueError(f"[monitoring]: unknown setting(s) {extra}; expected "
                             "lookback_days, disabled, rules")
        return cls(lookback_days=d.get("lookback_days", 31),
                   disabled=tuple(d.get("disabled", ())), rules=dict(d.get("rules", {})))

    def params(self, code: str) -> dict:
        """Return the rule's parameters: its defaults with this bank's overrides."""
        given = (self.rules or {}).get(code, {})
        defaults = RULES[code].params
        return {**defaults, **{k: int(v) if isinstance(defaults[k], int)
                               and not isinstance(defaults[k], bool) else v
                               for k, v in given.items()}}  # 3.0 from TOML: 3

    def active(self) -> list[str]:
        """Return the codes of the rules that run."""
        return [c for c in RULES if c not in self.disabled]


# ---------------------------------------------------------------- evaluation
def _jsonable(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(v).date())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return int(v) if float(v).is_integer() and abs(v) < 2**53 else round(float(v), 6)
    return v if isinstance(v, (int, str, bool)) else str(v)


def _consents(consents) -> pd.DataFrame | None:
    if consents is None:
        return None
    need = {"uscc", "granted_at", "expires_at"}
    missing = sorted(need - set(consents.columns))
    if missing:
        raise ValueError(f"consents: missing column(s) {missing}; expected uscc, granted_at, "
                         "expires_at and optionally revoked_at (the consents table)")
    c = consents.copy()
    c["uscc"] = c["uscc"].astype(str)
    if "revoked_at" not in c.columns:
        c["revoked_at"] = pd.NaT
    for col in ("granted_at", "expires_at", "revoked_at"):
        c[col] = pd.to_datetime(c[col])
    return c


def early_warnings(ds: TaxDataset, as_of, *, book=None, config: WarningConfig | dict |
                   None = None, previous: pd.DataFrame | None = None,
                   consents: pd.DataFrame | None = None, lang: str = "zh") -> pd.DataFrame:
    """Evaluate the early-warning rules for the enterprises on the book at ``as_of``.

    Parameters
    ----------
    ds : TaxDataset
        The refreshed tax data (rows recorded after ``as_of`` are ignored).
    as_of : date-like
        The refresh date.
    book : iterable of str or DataFrame with ``uscc``, optional
        The enterprises with a live loan (default: every enterprise of ``ds``).
    config : WarningConfig or dict, optional
        Rule selection and thresholds (a ``[monitoring]`` table).
    previous : DataFrame, optional
        The alerts of the previous run, to mark each alert ``new``, ``ongoing`` or
        ``escalated``.
    consents : DataFrame, optional
        Authorisations (``uscc``, ``granted_at``, ``expires_at``, ``revoked_at``) for
        EW16; default: the dataset's ``consents`` table if it has one, else EW16 is skipped.
    lang : {"zh", "en"}

    Returns
    -------
    DataFrame
        One row per (enterprise, rule) that fired, most severe first: ``uscc``, ``rule``,
        ``level``, ``message``, ``evidence`` (JSON), ``trigger_date``, ``as_of``,
        ``rescore`` (EW18), ``status``.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    cfg = config if isinstance(config, WarningConfig) else WarningConfig.from_params(config)
    as_of = as_of_date(as_of)  # a day, Beijing wall time, as features
    if book is None:  # every enterprise registered by the as-of date
        ent = ds["enterprises"]
        known = ent["registration_date"] <= as_of if "registration_date" in ent.columns \
            else np.ones(len(ent), dtype=bool)
        usccs = ent.loc[np.asarray(known), "uscc"].astype(str)
    else:
        usccs = book_codes(book)
    usccs = pd.Index(usccs.unique())
    if consents is None and "consents" in ds:
        consents = ds["consents"]
    ctx = _Context(ds, as_of, cfg.lookback_days, usccs, _consents(consents))
    found = []
    for code in cfg.active():
        rule, params = RULES[code], cfg.params(code)
        hits = rule.detect(ctx, params)
        if hits.empty:
            continue
        evidence_cols = [c for c in hits.columns if c not in ("uscc", "level", "trigger_date")]
        records = hits[evidence_cols].to_dict("records")
        hits = hits[["uscc", "level", "trigger_date"]].assign(
            rule=code,
            message=(rule.zh if lang == "zh" else rule.en).format(**params),
            evidence=[json.dumps({k: j for k, v in r.items() if (j := _jsonable(v)) is not None},
                                 ensure_ascii=False, sort_keys=True) for r in records])
        found.append(hits)
    if not found:
        alerts = pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
        alerts["as_of"] = pd.Series([], dtype="datetime64[ns]")
        return alerts
    alerts = pd.concat(found, ignore_index=True)
    alerts["rank"] = alerts["level"].map(_RANK)
    # one alert per enterprise and rule: the most severe, then the latest trigger
    alerts = alerts.sort_values(["uscc", "rule", "rank", "trigger_date"],
                                ascending=[True, True, True, False], kind="mergesort")
    alerts = alerts.drop_duplicates(["uscc", "rule"], keep="first")
    alerts["as_of"] = as_of
    alerts["rescore"] = alerts["rule"] == "EW18"
    alerts["status"] = _status_vs(alerts, previous)
    alerts = alerts.sort_values(["rank", "uscc", "rule"], kind="mergesort")
    return alerts[COLUMNS].reset_index(drop=True)


def _status_vs(alerts: pd.DataFrame, previous: pd.DataFrame | None) -> np.ndarray:
    if previous is None or previous.empty:
        return np.full(len(alerts), "new", dtype=object)
    prev = previous.assign(uscc=previous["uscc"].astype(str))
    prev_rank = prev.assign(rank=prev["level"].map(_RANK)).groupby(["uscc", "rule"])["rank"] \
        .min()
    key = pd.MultiIndex.from_arrays([alerts["uscc"], alerts["rule"]])
    before = prev_rank.reindex(key).to_numpy()
    # an event rule's alert about a later event than last time is a new alert, not the old one
    prev_trigger = pd.to_datetime(prev["trigger_date"]).groupby(
        [prev["uscc"], prev["rule"]]).max().reindex(key).to_numpy()
    event = alerts["rule"].map(lambda c: c in RULES and RULES[c].kind == "event").to_numpy(
        dtype=bool)
    later = event & (pd.to_datetime(alerts["trigger_date"]).to_numpy() > prev_trigger)
    return np.where(np.isnan(before) | later, "new",
                    np.where(alerts["rank"].to_numpy() < before, "escalated", "ongoing"))
