"""`Profiler`: dimension scores 0–100 from peer percentiles, with strengths and weaknesses.

Each catalog indicator is placed among the enterprise's peers — same industry section, size
class and province, or broader groups when that one is too small — as a mid-rank percentile
against a fitted reference population, oriented by its risk direction (higher = better): a
"safer" indicator keeps its percentile, a "riskier" one is flipped, a two-tailed one scores
by closeness to the peer median. A dimension's score is the (weighted) mean of its indicators.

The reference is a grid of 101 quantiles per (peer group, indicator): plain numbers, saved as
JSON, so a profile taken today compares with the population the bank fitted on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import DIMENSIONS, FEATURES

__all__ = ["LEVELS", "Profiler"]

#: Peer groups, finest first; the last (no key) is everyone.
LEVELS: tuple[tuple[str, ...], ...] = (("industry_section", "size_class", "province"),
                                       ("industry_section", "size_class"),
                                       ("industry_section",), ())
GRID = np.linspace(0.0, 1.0, 101)


def _keys(X: pd.DataFrame, level: tuple[str, ...]) -> pd.Series:
    if not level:
        return pd.Series("*", index=X.index)
    parts = [X[c].astype("str").fillna("∅") for c in level]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


def _orient(pct: np.ndarray, direction: str) -> np.ndarray:
    if direction == "safer":
        return pct
    if direction == "riskier":
        return 100.0 - pct
    return 100.0 - 2.0 * np.abs(pct - 50.0)  # both tails: closeness to the peer median


class Profiler:
    """Fit a reference population; profile enterprises against their peers.

    Parameters
    ----------
    min_group_size : int
        Fewest reference values of an indicator for a peer group to be used; smaller groups
        fall back to the next broader level (see :data:`LEVELS`).
    weights : dict of feature → float, optional
        Indicator weights inside their dimension (default 1).
    dimension_weights : dict of dimension → float, optional
        Weights of the dimensions in the overall score (default 1).
    """

    def __init__(self, min_group_size: int = 30, weights: dict | None = None,
                 dimension_weights: dict | None = None) -> None:
        self.min_group_size = min_group_size
        self.weights = dict(weights or {})
        self.dimension_weights = dict(dimension_weights or {})
        self.indicators = [f for f in FEATURES if f.kind == "numeric"
                           and f.direction in ("safer", "riskier", "both")]
        self.reference_: dict | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame) -> Profiler:
        """Fit the reference quantile grids from a feature frame (``build_features`` output)."""
        missing = sorted({c for lv in LEVELS for c in lv} - set(X.columns))
        if missing:
            raise ValueError(f"the feature frame lacks the peer-group keys {missing}")
        ref: dict = {}
        for level in LEVELS:
            keys = _keys(X, level).to_numpy()
            codes, names = pd.factorize(keys)
            for f in self.indicators:
                if f.id not in X.columns:
                    continue
                v = X[f.id].to_numpy(dtype=float, na_value=np.nan)
                ok = ~np.isnan(v)
                grids = _group_quantiles(codes[ok], v[ok], len(names), self.min_group_size)
                ref[(level, f.id)] = {str(names[g]): q for g, q in grids.items()}
        self.reference_ = ref
        return self

    # ------------------------------------------------------------------ transform
    def percentiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """Oriented peer percentile (0–100, higher = better) of every indicator."""
        if self.reference_ is None:
            raise ValueError("the profiler is not fitted: call fit(X) on a reference population")
        out = {}
        keys = {level: pd.factorize(_keys(X, level).to_numpy()) for level in LEVELS}
        for f in self.indicators:
            if f.id not in X.columns:
                continue
            v = X[f.id].to_numpy(dtype=float, na_value=np.nan)
            pct = np.full(len(X), np.nan)
            todo = ~np.isnan(v)
            for level in LEVELS:  # finest group that has a reference
                grids = self.reference_.get((level, f.id), {})
                if not grids or not todo.any():
                    continue
                names = list(grids)
                codes, distinct = keys[level]  # look up the distinct keys, not every row
                g = pd.Index(names).get_indexer(distinct)[codes]
                use = todo & (g >= 0)
                if use.any():
                    Q = np.vstack([grids[n] for n in names])
                    pct[use] = _mid_rank(v[use], Q, g[use])
                    todo &= ~use
            out[f.id] = _orient(pct, f.direction)
        return pd.DataFrame(out, index=X.index)

    def profile(self, X: pd.DataFrame, *, lang: str = "zh", top: int = 2) -> pd.DataFrame:
        """Dimension scores, the overall score, and the top strengths and weaknesses.

        Returns one row per row of ``X``: ``score_<dimension>`` (0–100), ``profile_score``,
        ``strengths`` and ``weaknesses`` (short sentences in ``lang``, joined by "；" / "; ").
        """
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        P = self.percentiles(X)
        out = pd.DataFrame(index=X.index)
        dim_scores = []
        for dim in DIMENSIONS:
            cols = [f.id for f in self.indicators if f.dimension == dim and f.id in P.columns]
            if not cols:
                out[f"score_{dim}"] = np.nan
                continue
            w = np.array([self.weights.get(c, 1.0) for c in cols], dtype=float)
            vals = P[cols].to_numpy()
            ok = ~np.isnan(vals)
            num = np.where(ok, vals, 0.0) @ w
            den = ok.astype(float) @ w
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"score_{dim}"] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
            dim_scores.append((dim, self.dimension_weights.get(dim, 1.0)))
        S = out[[f"score_{d}" for d, _ in dim_scores]].to_numpy()
        w = np.array([wt for _, wt in dim_scores])
        ok = ~np.isnan(S)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["profile_score"] = (np.where(ok, S, 0) @ w) / np.where(ok @ w > 0, ok @ w, np.nan)
        out["strengths"], out["weaknesses"] = _sentences(P, X, lang, top)
        return out


def _group_quantiles(codes: np.ndarray, values: np.ndarray, n_groups: int,
                     min_size: int) -> dict[int, np.ndarray]:
    """101 quantiles ('lower' method) of each group with at least ``min_size`` values."""
    if not len(values):
        return {}
    order = np.lexsort((values, codes))
    codes, values = codes[order], values[order]
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    big = np.flatnonzero(counts >= max(min_size, 1))
    pos = starts[big, None] + np.floor(GRID[None, :] * (counts[big, None] - 1)).astype(int)
    Q = values[pos]
    return {int(g): Q[i] for i, g in enumerate(big)}


def _mid_rank(v: np.ndarray, Q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each value in its group's quantile grid (0–100).

    One sort for all groups: grid points and queries are ordered by (group, value); a query's
    count of grid points below it (and at or below it) is read from a running count.
    """
    n_groups, width = Q.shape
    gq = np.repeat(np.arange(n_groups), width)
    items_g = np.concatenate([gq, g])
    items_v = np.concatenate([Q.ravel(), v])
    is_grid = np.concatenate([np.ones(gq.size, dtype=np.int64), np.zeros(len(v), np.int64)])
    group_start = np.arange(n_groups) * width  # grid points before each group, in sort order
    out = np.zeros(len(v))
    for grid_first in (0, 1):  # 0: "<" (queries before equal grid points); 1: "<="
        tie = is_grid if grid_first == 0 else 1 - is_grid
        order = np.lexsort((tie, items_v, items_g))
        running = np.cumsum(is_grid[order])
        query_pos = order >= gq.size
        counts = np.empty(len(v), dtype=np.int64)
        counts[order[query_pos] - gq.size] = running[query_pos]
        out += counts - group_start[g]
    return 100.0 * out / (2.0 * width)


def _fmt(x: np.ndarray) -> pd.Series:
    """Numbers as short text, vectorised: whole numbers from 100 up, else two decimals."""
    whole = pd.Series(np.round(x)).astype("Int64").astype("str")
    small = pd.Series(np.round(x, 2)).astype("str").str.replace(r"\.0$", "", regex=True)
    return whole.where(np.abs(x) >= 100, small)


def _join(parts: list[pd.Series], sep: str) -> list[str]:
    out = parts[0]
    for p in parts[1:]:
        out = out.where(p == "", out.where(out == "", out + sep) + p)
    return out.tolist()


def _sentences(P: pd.DataFrame, X: pd.DataFrame, lang: str, top: int) -> tuple[list, list]:
    """Describe the ``top`` best and worst indicators of each row in short sentences.

    Built column-wise with vectorised string operations (no loop over rows).
    """
    feats = {f.id: f for f in FEATURES}
    names = list(P.columns)
    label = np.asarray([feats[n].zh if lang == "zh" else feats[n].en for n in names],
                       dtype=object)
    vals = P.to_numpy()
    raw = X[names].to_numpy(dtype=float, na_value=np.nan)
    rows = np.arange(len(vals))
    sep = "；" if lang == "zh" else "; "
    out = []
    for good in (True, False):
        filled = np.where(np.isnan(vals), -np.inf if good else np.inf, vals)
        order = np.argsort(-filled if good else filled, axis=1, kind="stable")[:, :top]
        parts = []
        for k in range(order.shape[1]):
            j = order[:, k]
            pct, value = vals[rows, j], raw[rows, j]
            keep = np.isfinite(pct) & ((pct >= 50) if good else (pct < 50))
            shown = pd.Series(label[j], dtype="str") + " " + _fmt(value)
            p_txt = _fmt(np.round(pct))
            if lang == "zh":
                tail = ("（优于" if good else "（仅优于") + p_txt + "%的同行）"
            else:
                tail = (" (better than " if good else " (better than only ") + p_txt + \
                    "% of peers)"
            parts.append((shown + tail).where(keep, ""))
        out.append(_join(parts, sep) if parts else [""] * len(vals))
    return out[0], out[1]
