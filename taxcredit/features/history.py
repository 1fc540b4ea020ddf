"""历史信用 — filing compliance, the tax credit grade as known at as-of, and events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Context
from .tax import _months_back

__all__ = ["GRADE_ORDINAL", "compute"]

GRADE_ORDINAL = {"A": 1, "B": 2, "M": 3, "C": 4, "D": 5}
VIOLATION_EVENTS = ("violation", "penalty", "major_violation_listing")
KEY_CHANGES = ("legal_rep_change", "address_change", "tax_office_change")


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add filing-compliance, grade and event features to ``out``."""
    _late_filings(ctx, out)
    _grades(ctx, out)
    _events(ctx, out)


def _late_filings(ctx: Context, out: dict[str, np.ndarray]) -> None:
    count = np.zeros(ctx.n)
    history = np.zeros(ctx.n, dtype=bool)
    for table in ("vat_returns", "cit_returns"):
        if not ctx.has(table):
            continue
        rows, pairs = ctx.known(table, "filing_date", version="first")  # the original filing
        k = ctx.end[pairs] - ctx.months(table, "period_end", rows)
        window = (k >= 0) & (k < 24)
        history |= np.bincount(pairs[window], minlength=ctx.n) > 0  # a return in the window
        late = (ctx.column(table, "filing_date", rows, "date")
                > ctx.column(table, "due_date", rows, "date")) & window
        count += np.bincount(pairs[late], minlength=ctx.n)
    out["late_filings_24m"] = np.where(history, count, np.nan)


def _grades(ctx: Context, out: dict[str, np.ndarray]) -> None:
    nan = np.full(ctx.n, np.nan)
    for f in ("credit_grade", "credit_score", "worst_grade_2y"):
        out[f] = nan.copy()
    repaired = np.zeros(ctx.n)
    if ctx.has("credit_grades"):
        rows, pairs = ctx.known("credit_grades", "effective_date")
        g = ctx.tables["credit_grades"]
        year = g["year"].to_numpy(dtype=np.int64)[rows]
        eff = ctx.column("credit_grades", "effective_date", rows, "date").astype(np.int64)
        labels = ctx.column("credit_grades", "grade", rows, str)
        grade = pd.Series(labels, dtype=object).map(GRADE_ORDINAL).to_numpy(dtype=float)
        score = ctx.column("credit_grades", "score", rows)
        # the revision in force for each (pair, year): the latest effective one
        order = np.lexsort((eff, year, pairs))
        p, y, gr, sc = pairs[order], year[order], grade[order], score[order]
        last_of_year = np.ones(len(p), dtype=bool)
        last_of_year[:-1] = (p[1:] != p[:-1]) | (y[1:] != y[:-1])
        p, y, gr, sc = p[last_of_year], y[last_of_year], gr[last_of_year], sc[last_of_year]
        last = np.ones(len(p), dtype=bool)
        last[:-1] = p[1:] != p[:-1]
        out["credit_grade"][p[last]] = gr[last]
        out["credit_score"][p[last]] = sc[last]
        # the worst A-D grade (M is not a quality level) of the two latest evaluation years
        q = np.where(gr == GRADE_ORDINAL["M"], np.nan, gr)
        idx = np.flatnonzero(last)
        prev = np.maximum(idx - 1, 0)
        has_prev = (idx > 0) & (p[prev] == p[idx]) & (y[prev] == y[idx] - 1)
        worst = np.where(has_prev, np.fmax(q[idx], q[prev]), q[idx])
        out["worst_grade_2y"][p[idx]] = worst
        source = ctx.column("credit_grades", "source", rows, str)
        start = _months_back(ctx.as_of, 24)[pairs]
        eff_d = ctx.column("credit_grades", "effective_date", rows, "date")
        rep = (source == "repair") & (eff_d > start)
        repaired += np.bincount(pairs[rep], minlength=ctx.n)
    if ctx.has("events"):
        rows, pairs = ctx.known("events", "event_date")
        kind = ctx.column("events", "event_type", rows, str)
        date = ctx.column("events", "event_date", rows, "date")
        rep = (kind == "credit_repair") & (date > _months_back(ctx.as_of, 24)[pairs])
        repaired += np.bincount(pairs[rep], minlength=ctx.n)
    known = ctx.has("credit_grades") or ctx.has("events")
    out["repaired_recently"] = np.where(known, (repaired > 0).astype(float), np.nan)


def _events(ctx: Context, out: dict[str, np.ndarray]) -> None:
    if not ctx.has("events"):
        for f in ("violations_36m", "abnormal_now", "key_changes_12m"):
            out[f] = np.full(ctx.n, np.nan)
        return
    rows, pairs = ctx.known("events", "event_date")
    kind = ctx.column("events", "event_type", rows, str)
    date = ctx.column("events", "event_date", rows, "date")
    amount = np.nan_to_num(ctx.column("events", "amount", rows))
    in36 = date > _months_back(ctx.as_of, 36)[pairs]
    bad = np.isin(kind, VIOLATION_EVENTS) | ((kind == "audit") & (amount > 0))
    out["violations_36m"] = np.bincount(pairs[bad & in36], minlength=ctx.n).astype(float)
    in12 = date > _months_back(ctx.as_of, 12)[pairs]
    key = np.isin(kind, KEY_CHANGES) & in12
    out["key_changes_12m"] = np.bincount(pairs[key], minlength=ctx.n).astype(float)
    day = date.astype(np.int64)
    last_abnormal = np.full(ctx.n, np.iinfo(np.int64).min)
    last_restored = np.full(ctx.n, np.iinfo(np.int64).min)
    np.maximum.at(last_abnormal, pairs[kind == "abnormal_status"], day[kind == "abnormal_status"])
    np.maximum.at(last_restored, pairs[kind == "status_restored"], day[kind == "status_restored"])
    out["abnormal_now"] = (last_abnormal > last_restored).astype(float)
