"""生产经营 — operations: sales level, growth, stability, filing activity, invoicing, staff."""

from __future__ import annotations

import numpy as np

from .context import HORIZON, Context, longest_run, safe_div

__all__ = ["compute"]


def _nansum_or_nan(x: np.ndarray) -> np.ndarray:
    seen = ~np.isnan(x)
    return np.where(seen.any(axis=1), np.nansum(x, axis=1), np.nan)


def _cv(x: np.ndarray) -> np.ndarray:
    """Coefficient of variation over the observed columns (needs 2; mean must be > 0)."""
    seen = ~np.isnan(x)
    n = seen.sum(axis=1)
    mean = safe_div(np.nansum(x, axis=1), n)
    sq = np.where(seen, (x - mean[:, None]) ** 2, 0.0).sum(axis=1)
    std = np.sqrt(safe_div(sq, n))
    out = safe_div(std, np.where(mean > 0, mean, np.nan))
    return np.where(n >= 2, out, np.nan)


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add the operations features to ``out``."""
    nan = np.full(ctx.n, np.nan)
    if not ctx.has("vat_returns"):
        for f in ("sales_12m", "sales_yoy", "sales_mom_3v12", "sales_3m_yoy", "sales_cv_12m",
                  "zero_sales_months_12m", "max_zero_run_12m", "active_month_ratio_24m",
                  "months_since_sales", "missing_filings_12m", "quarter_end_share"):
            out[f] = nan.copy()
    else:
        _sales(ctx, out)
    _invoicing(ctx, out)
    _staff(ctx, out)


def _sales(ctx: Context, out: dict[str, np.ndarray]) -> None:
    s = ctx.vat_panel()["sales"]
    l12, p12 = s[:, :12], s[:, 12:24]
    seen12 = ~np.isnan(l12)
    has12 = seen12.any(axis=1)
    sales12 = _nansum_or_nan(l12)
    prev12 = _nansum_or_nan(p12)
    out["sales_12m"] = sales12
    # growth against a partial year would mistake youth for growth: P12 must be complete
    full_prev = (~np.isnan(p12)).sum(axis=1) == 12
    out["sales_yoy"] = np.where(full_prev, safe_div(sales12, np.where(prev12 > 0, prev12,
                                                                      np.nan)) - 1, np.nan)
    mean12 = safe_div(np.nansum(l12, axis=1), seen12.sum(axis=1))
    last3 = s[:, :3]
    mean3 = safe_div(np.nansum(last3, axis=1), (~np.isnan(last3)).sum(axis=1))
    out["sales_mom_3v12"] = safe_div(mean3, np.where(mean12 > 0, mean12, np.nan))
    cur3, ago3 = _nansum_or_nan(s[:, :3]), _nansum_or_nan(s[:, 12:15])
    out["sales_3m_yoy"] = safe_div(cur3, np.where(ago3 > 0, ago3, np.nan)) - 1
    quarters = l12.reshape(ctx.n, 4, 3)
    q_sums = np.where(np.isnan(quarters).all(axis=2), np.nan, np.nansum(quarters, axis=2))
    out["sales_cv_12m"] = np.where(ctx.quarterly, _cv(q_sums), _cv(l12))
    zero = seen12 & (l12 == 0)
    out["zero_sales_months_12m"] = np.where(has12, zero.sum(axis=1), np.nan)
    out["max_zero_run_12m"] = np.where(has12, longest_run(zero), np.nan)
    after_ff = ctx.months_after_first_filing()
    eligible24 = after_ff[:, :24].sum(axis=1)
    active24 = (~np.isnan(s[:, :24]) & (s[:, :24] > 0) & after_ff[:, :24]).sum(axis=1)
    out["active_month_ratio_24m"] = safe_div(active24, eligible24)
    positive = ~np.isnan(s) & (s > 0)
    any_seen = (~np.isnan(s)).any(axis=1)
    first_pos = np.where(positive.any(axis=1), positive.argmax(axis=1), HORIZON)
    out["months_since_sales"] = np.where(any_seen, first_pos, np.nan).astype(float)
    # periods after the first filing with no return known
    missing_month = np.isnan(l12) & after_ff[:, :12]
    blocks = missing_month.reshape(ctx.n, 4, 3)
    block_due = after_ff[:, :12].reshape(ctx.n, 4, 3)[:, :, 0]  # the quarter's last month
    missing_q = (np.isnan(quarters).all(axis=2) & block_due).sum(axis=1)
    missing = np.where(ctx.quarterly, missing_q, blocks.sum(axis=(1, 2)))
    out["missing_filings_12m"] = np.where(np.isnan(ctx.first_filing_month), np.nan, missing)
    month = ctx.end[:, None] - np.arange(12)[None, :]
    quarter_end = (month % 12) % 3 == 2
    qe = np.nansum(np.where(quarter_end, l12, 0.0), axis=1)
    share = safe_div(qe, np.where(sales12 > 0, sales12, np.nan))
    out["quarter_end_share"] = np.where(ctx.quarterly, np.nan, share)


def _invoice_panels(ctx: Context, direction: str) -> dict[str, np.ndarray]:
    """Invoices of one direction known at as-of.

    Returns a ``count`` month panel (zero for months without invoices: the table lists only
    months with some) and one-dimensional L12 sums per pair: ``amount``, ``count``,
    ``red_amount``, ``void_count``, ``n_counterparties``, ``months`` (months with invoices),
    and for each share column its weighted sum ``<share>_w`` and weight ``<share>_den`` (the
    gross amount of each month).
    """
    key = ("invoices", direction)
    if key in ctx.cache:
        return ctx.cache[key]
    rows, pairs = ctx.known("invoices", "period_end")
    sel = ctx.is_in("invoices", "direction", rows, [direction])
    rows, pairs = rows[sel], pairs[sel]
    inv = ctx.tables["invoices"]
    month = ctx.months("invoices", "period_end", rows)
    count = np.nan_to_num(ctx.column("invoices", "count", rows))
    out = {"count_panel": ctx.panels(pairs, month, {"c": count}, fill=0.0)["c"]}
    k = ctx.end[pairs] - month
    in12 = (k >= 0) & (k < 12)
    p12 = pairs[in12]
    rows12 = rows[in12]

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(p12, weights=values, minlength=ctx.n)

    amount = ctx.column("invoices", "amount", rows12)
    out["amount"] = total(np.nan_to_num(amount))
    out["count"] = total(np.nan_to_num(ctx.column("invoices", "count", rows12)))
    out["months"] = total((ctx.column("invoices", "count", rows12) > 0).astype(float))
    for col in ("red_amount", "void_count", "n_counterparties"):
        if col in inv.columns:
            out[col] = total(np.nan_to_num(ctx.column("invoices", col, rows12)))
    if "void_count" in inv.columns:  # void counts are unknown for 数电 months: leave them out
        recorded = ~np.isnan(ctx.column("invoices", "void_count", rows12))
        out["void_recorded_months"] = total(recorded.astype(float))
        out["count_void_recorded"] = total(np.where(
            recorded, np.nan_to_num(ctx.column("invoices", "count", rows12)), 0.0))
    # shares are weighted by the month's gross amount (net + red-letter), never negative: a
    # month whose credit notes exceed its sales must not turn a share above 1 or below 0
    gross = np.nan_to_num(amount)
    if "red_amount" in inv.columns:
        gross = gross + np.nan_to_num(ctx.column("invoices", "red_amount", rows12))
    gross = np.maximum(gross, 0.0)
    for col in ("top1_share", "top5_share", "counterparty_hhi"):
        v = ctx.column("invoices", col, rows12)
        w = np.where(np.isnan(v), 0.0, gross)
        out[col + "_w"] = total(np.nan_to_num(v) * w)
        out[col + "_den"] = total(w)
    out["seen12"] = np.bincount(p12, minlength=ctx.n) > 0
    ctx.cache[key] = out
    return out


def _invoicing(ctx: Context, out: dict[str, np.ndarray]) -> None:
    nan = np.full(ctx.n, np.nan)
    if not ctx.has("invoices"):
        out["invoice_declared_ratio"] = nan.copy()
        out["invoice_count_12m"] = nan.copy()
        return
    o = _invoice_panels(ctx, "out")
    amount12 = o["amount"]
    sales12 = out.get("sales_12m", nan)
    out["invoice_declared_ratio"] = safe_div(amount12, np.where(sales12 > 0, sales12, np.nan))
    history = _has_history(ctx, o)
    out["invoice_count_12m"] = np.where(history, o["count"], np.nan)


def _has_history(ctx: Context, invoice_panels: dict[str, np.ndarray]) -> np.ndarray:
    """Tell which pairs have L12 history: a return or an invoice of the window is known."""
    seen = invoice_panels["seen12"].copy()
    if ctx.has("vat_returns"):
        seen |= (~np.isnan(ctx.vat_panel()["sales"][:, :12])).any(axis=1)
    return seen


def _staff(ctx: Context, out: dict[str, np.ndarray]) -> None:
    nan = np.full(ctx.n, np.nan)
    if not ctx.has("payroll"):
        for f in ("headcount", "headcount_chg_6m", "sales_per_head"):
            out[f] = nan.copy()
        return
    rows, pairs = ctx.known("payroll", "filing_date")
    month = ctx.months("payroll", "period_end", rows)
    h = ctx.panel(pairs, month, ctx.column("payroll", "headcount", rows), add=False)
    # an active enterprise that never declared any staff has none: 0, not unknown (one
    # that has declared is unknown for a month not declared yet)
    if ctx.has("vat_returns"):
        declared = np.bincount(pairs, minlength=ctx.n) > 0
        active = ~np.isnan(ctx.vat_panel()["sales"]) & ~declared[:, None]
        h = np.where(np.isnan(h) & active, 0.0, h)
    l12 = h[:, :12]
    seen = ~np.isnan(l12)
    latest = np.where(seen.any(axis=1), l12[np.arange(ctx.n), seen.argmax(axis=1)], np.nan)
    out["headcount"] = latest
    out["headcount_chg_6m"] = safe_div(h[:, 0], np.where(h[:, 6] > 0, h[:, 6], np.nan)) - 1
    mean_h = safe_div(np.nansum(l12, axis=1), seen.sum(axis=1))
    out["sales_per_head"] = safe_div(out.get("sales_12m", nan),
                                     np.where(mean_h > 0, mean_h, np.nan))
