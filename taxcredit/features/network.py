"""交易网络 — trade network: red-letter and voided invoices, counterparties, concentration."""

from __future__ import annotations

import numpy as np

from .context import Context, longest_run, safe_div
from .operations import _invoice_panels

__all__ = ["compute"]

FEATURES = ("red_invoice_ratio_12m", "void_invoice_ratio_12m", "n_buyers_avg_12m",
            "top1_buyer_share", "top5_buyer_share", "buyer_hhi", "n_suppliers_avg_12m",
            "input_output_ratio", "max_invoice_gap_24m")


def _monthly_mean(sums: dict[str, np.ndarray], column: str) -> np.ndarray:
    """Mean over the months with invoices (one row per month and direction)."""
    return safe_div(sums[column], sums["months"])


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add the trade-network features to ``out``."""
    if not ctx.has("invoices"):
        for f in FEATURES:
            out[f] = np.full(ctx.n, np.nan)
        return
    o = _invoice_panels(ctx, "out")
    i = _invoice_panels(ctx, "in")
    net = o["amount"]
    red = o["red_amount"]
    out["red_invoice_ratio_12m"] = safe_div(red, net + red)
    if "void_count" in o:  # only the months that record void counts, both sides of the ratio
        void = np.where(o["void_recorded_months"] > 0, o["void_count"], np.nan)
        out["void_invoice_ratio_12m"] = safe_div(void, o["count_void_recorded"] + void)
    else:
        out["void_invoice_ratio_12m"] = np.full(ctx.n, np.nan)
    out["n_buyers_avg_12m"] = _monthly_mean(o, "n_counterparties")
    for fid, col in (("top1_buyer_share", "top1_share"), ("top5_buyer_share", "top5_share"),
                     ("buyer_hhi", "counterparty_hhi")):
        out[fid] = safe_div(o[col + "_w"], o[col + "_den"])
    out["n_suppliers_avg_12m"] = _monthly_mean(i, "n_counterparties")
    out["input_output_ratio"] = safe_div(i["amount"], np.where(net > 0, net, np.nan))
    eligible = ctx.months_after_first_filing()[:, :24]
    gap = eligible & (o["count_panel"][:, :24] == 0)
    out["max_invoice_gap_24m"] = np.where(eligible.any(axis=1), longest_run(gap), np.nan)
