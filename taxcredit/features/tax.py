"""纳税贡献 — tax contribution, and the payment side of 历史信用: arrears, late payments, fees."""

from __future__ import annotations

import numpy as np

from .context import HORIZON, Context, longest_run, safe_div

__all__ = ["compute"]

#: Tax types that count as tax contribution (social insurance and penalties do not).
TAX_TYPES = ("vat", "cit", "surtax", "iit", "stamp", "other")
CONTRIBUTION = ("tax_12m", "tax_yoy", "avg_annual_tax_24m", "cit_to_sales", "tax_paid_months_24m")
PAYMENT_HISTORY = ("late_payments_24m", "arrears_now", "arrears_to_sales", "arrears_months_12m",
                   "arrears_max_duration_24m", "fees_penalties_24m")


def _months_back(as_of: np.ndarray, months: int) -> np.ndarray:
    """``as_of`` minus whole months (day clipped to the month's length)."""
    as_of = as_of.astype("datetime64[D]")
    m = as_of.astype("datetime64[M]") - months
    day = (as_of - as_of.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    last = ((m + 1).astype("datetime64[D]") - 1 - m.astype("datetime64[D]")).astype(int)
    return m.astype("datetime64[D]") + np.minimum(day, last).astype("timedelta64[D]")


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add tax-contribution and payment-history features to ``out``."""
    nan = np.full(ctx.n, np.nan)
    history = np.zeros(ctx.n, dtype=bool)
    if ctx.has("vat_returns"):
        history = (~np.isnan(ctx.vat_panel()["sales"][:, :24])).any(axis=1)
    if ctx.has("payments"):  # any liability known by as-of is history too
        _, pairs = ctx.known("payments", "due_date")
        history = history | (np.bincount(pairs, minlength=ctx.n) > 0)
    if ctx.has("vat_returns"):
        v = ctx.vat_panel()
        out["vat_burden"] = safe_div(np.nansum(v["vat_payable"][:, :12], axis=1),
                                     np.where(out["sales_12m"] > 0, out["sales_12m"], np.nan))
    else:
        out["vat_burden"] = nan.copy()
    if not ctx.has("payments"):
        for f in (*CONTRIBUTION, *PAYMENT_HISTORY):
            out[f] = nan.copy()
        return
    _contribution(ctx, out, history)
    _payment_history(ctx, out, history)


def _quarterly_period(ctx: Context, pairs: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Whether a quarterly VAT return ends at each payment's (pair, period-end month)."""
    out = np.zeros(len(pairs), dtype=bool)
    if not ctx.has("vat_returns"):
        return out
    quarter_end = ctx.vat_panel()["quarter_end"]
    k = ctx.end[pairs] - month
    inside = (k >= 0) & (k < HORIZON)
    out[inside] = quarter_end[pairs[inside], k[inside]] > 0
    return out


def _contribution(ctx: Context, out: dict[str, np.ndarray], history: np.ndarray) -> None:
    rows, pairs = ctx.known("payments", "due_date")  # a liability is known from its due date
    paid = ctx.column("payments", "payment_date", rows, "date")
    sel = ctx.is_in("payments", "tax_type", rows, TAX_TYPES) & (paid <= ctx.as_of_of(pairs))
    rows, pairs = rows[sel], pairs[sel]
    is_cit = ctx.is_in("payments", "tax_type", rows, ["cit"])
    amount = ctx.column("payments", "amount", rows)
    period = ctx.column("payments", "period_end", rows, "date")
    due = ctx.column("payments", "due_date", rows, "date")
    month = ctx.months("payments", "period_end", rows)
    # spread a liability over the months of its period: the annual CIT settlement over its
    # year, CIT prepayments over their quarter, VAT of quarterly filers over their quarter
    annual = is_cit & ((due - period) > np.timedelta64(100, "D"))
    quarter = (is_cit & ~annual) | (ctx.is_in("payments", "tax_type", rows, ("vat", "surtax"))
                                    & _quarterly_period(ctx, pairs, month))
    span = np.where(annual, 12, np.where(quarter, 3, 1))
    # months before the window end of the period's newest and oldest month
    k_new = ctx.end[pairs] - month
    k_old = k_new + span - 1
    amount = np.nan_to_num(amount)

    def window_sum(lo: int, hi: int, values: np.ndarray) -> np.ndarray:
        """Σ of the part of each amount that falls in months ``lo..hi`` (spread evenly)."""
        overlap = np.clip(np.minimum(k_old, hi) - np.maximum(k_new, lo) + 1, 0, None)
        return np.bincount(pairs, weights=values * overlap / span, minlength=ctx.n)

    tax12 = window_sum(0, 11, amount)
    prev12 = window_sum(12, 23, amount)
    out["tax_12m"] = np.where(history, tax12, np.nan)
    out["tax_yoy"] = np.where(history, safe_div(tax12, np.where(prev12 > 0, prev12, np.nan)) - 1,
                              np.nan)
    out["avg_annual_tax_24m"] = np.where(history, (tax12 + prev12) / 2, np.nan)
    sales12 = out.get("sales_12m", np.full(ctx.n, np.nan))
    cit12 = window_sum(0, 11, np.where(is_cit, amount, 0.0))
    out["cit_to_sales"] = safe_div(cit12, np.where(sales12 > 0, sales12, np.nan))
    # months of the 24m window covered by some tax paid: +1 where a period starts, −1 after
    lo = np.maximum(k_new, 0)
    hi = np.minimum(k_old, 23)
    live = (lo <= hi) & (amount > 0)
    width = 25
    marks = np.bincount(np.concatenate([pairs[live] * width + lo[live],
                                        pairs[live] * width + hi[live] + 1]),
                        weights=np.concatenate([np.ones(live.sum()), -np.ones(live.sum())]),
                        minlength=ctx.n * width).reshape(ctx.n, width)
    covered = np.cumsum(marks, axis=1)[:, :24] > 0.5
    out["tax_paid_months_24m"] = np.where(history, covered.sum(axis=1), np.nan)


def _payment_history(ctx: Context, out: dict[str, np.ndarray], history: np.ndarray) -> None:
    rows, pairs = ctx.known("payments", "due_date")
    as_of = ctx.as_of_of(pairs)
    due = ctx.column("payments", "due_date", rows, "date")
    amount = ctx.column("payments", "amount", rows)
    paid = ctx.column("payments", "payment_date", rows, "date")
    paid_known = ~np.isnat(paid) & (paid <= as_of)
    unpaid = ~paid_known
    # arrears at as-of
    out["arrears_now"] = np.where(
        history | (np.bincount(pairs, minlength=ctx.n) > 0),
        np.bincount(pairs, weights=np.where(unpaid, amount, 0.0), minlength=ctx.n), np.nan)
    mean_sales = safe_div(out.get("sales_12m", np.full(ctx.n, np.nan)), 12.0)
    out["arrears_to_sales"] = safe_div(out["arrears_now"],
                                       np.where(mean_sales > 0, mean_sales, np.nan))
    # month-ends in arrears: due ≤ month end < payment date
    end = ctx.end[pairs]
    due_m = ctx.months("payments", "due_date", rows)
    never = np.iinfo(np.int64).max // 4
    pay_m = np.where(paid_known, ctx.months("payments", "payment_date", rows), never)
    k_hi = np.minimum(end - due_m, HORIZON - 1)
    k_lo = np.maximum(end - pay_m + 1, 0)
    ok = k_lo <= k_hi
    width = HORIZON + 1
    n_ok = int(ok.sum())
    diff = np.bincount(np.concatenate([pairs[ok] * width + k_lo[ok],
                                       pairs[ok] * width + k_hi[ok] + 1]),
                       weights=np.concatenate([np.ones(n_ok), -np.ones(n_ok)]),
                       minlength=ctx.n * width).reshape(ctx.n, width)
    in_arrears = np.cumsum(diff, axis=1)[:, :HORIZON] > 0.5
    out["arrears_months_12m"] = np.where(history, in_arrears[:, :12].sum(axis=1), np.nan)
    out["arrears_max_duration_24m"] = np.where(history, longest_run(in_arrears[:, :24]), np.nan)
    # late payments and fees in the 24 months before as-of
    start = _months_back(ctx.as_of, 24)[pairs]
    recent = due > start
    late = recent & (unpaid | (paid > due))
    out["late_payments_24m"] = np.where(history, np.bincount(pairs[late], minlength=ctx.n),
                                        np.nan)
    fee_raw = (ctx.column("payments", "late_fee", rows)
               if "late_fee" in ctx.tables["payments"].columns else np.full(len(rows), np.nan))
    fee = np.nan_to_num(fee_raw)
    fee_in = paid_known & (paid > start)
    penalty = ctx.is_in("payments", "tax_type", rows, ["penalty"]) & (due > start)
    total = np.where(fee_in, fee, 0.0) + np.where(penalty, amount, 0.0)
    # fees are unknown for an enterprise with a payment made by its as-of whose late fee is
    # not recorded (none paid: nothing to charge, 0) — decided per pair, never from the
    # whole table: the same whatever the chunk, and later data change nothing
    fees_known = np.bincount(pairs[paid_known & np.isnan(fee_raw)], minlength=ctx.n) == 0
    out["fees_penalties_24m"] = np.where(history & fees_known,
                                         np.bincount(pairs, weights=total, minlength=ctx.n),
                                         np.nan)
