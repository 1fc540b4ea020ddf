"""资产负债 — assets and liabilities from the latest statements filed by the as-of date."""

from __future__ import annotations

import numpy as np

from .context import HORIZON, Context, safe_div

__all__ = ["compute"]

FEATURES = ("debt_to_assets", "current_ratio", "net_margin", "fs_vs_vat_gap",
            "liabilities_to_tax", "total_assets")


def latest_statements(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """For each pair, the row of its latest statements filed by as-of (-1: none), and the year."""
    rows, pairs = ctx.known("financials", "filing_date")
    year = ctx.tables["financials"]["year"].to_numpy(dtype=np.int64)[rows]
    filed = ctx.column("financials", "filing_date", rows, "date").astype(np.int64)
    order = np.lexsort((filed, year, pairs))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = pairs[order][1:] != pairs[order][:-1]
    row = np.full(ctx.n, -1)
    yr = np.full(ctx.n, -1)
    row[pairs[order][last]] = rows[order][last]
    yr[pairs[order][last]] = year[order][last]
    return row, yr


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add balance-sheet features to ``out`` (``total_assets`` is kept for size classes)."""
    if not ctx.has("financials"):
        for f in FEATURES:
            out[f] = np.full(ctx.n, np.nan)
        return
    row, year = latest_statements(ctx)
    has = row >= 0
    fs = ctx.tables["financials"]

    def col(name: str) -> np.ndarray:
        if name not in fs.columns:
            return np.full(ctx.n, np.nan)
        v = np.append(fs[name].to_numpy(dtype=float, na_value=np.nan), np.nan)
        return v[np.where(has, row, -1)]  # -1: the padded NaN

    assets, liabilities = col("total_assets"), col("total_liabilities")
    out["total_assets"] = assets
    out["debt_to_assets"] = safe_div(liabilities, np.where(assets > 0, assets, np.nan))
    cl = col("current_liabilities")
    out["current_ratio"] = safe_div(col("current_assets"), np.where(cl > 0, cl, np.nan))
    revenue = col("revenue")
    out["net_margin"] = safe_div(col("net_profit"), np.where(revenue > 0, revenue, np.nan))
    # VAT sales of the statements' year, when all 12 months are known
    if ctx.has("vat_returns"):
        s = ctx.vat_panel()["sales"]
        month = ctx.end[:, None] - np.arange(HORIZON)[None, :]
        in_year = (month // 12 + 1970) == year[:, None]
        seen = in_year & ~np.isnan(s)
        vat_year = np.where(seen.sum(axis=1) == 12, np.where(seen, s, 0).sum(axis=1), np.nan)
        gap = np.abs(revenue - vat_year)
        out["fs_vs_vat_gap"] = safe_div(gap, np.where(vat_year > 0, vat_year, np.nan))
    else:
        out["fs_vs_vat_gap"] = np.full(ctx.n, np.nan)
    tax = out.get("avg_annual_tax_24m", np.full(ctx.n, np.nan))
    out["liabilities_to_tax"] = safe_div(liabilities, np.where(tax > 0, tax, np.nan))
