"""Supervised optimal binning of one feature: pre-bins, then the best trend-constrained grouping.

Numeric features are cut into up to ``max_n_prebins`` quantile pre-bins (each distinct value its
own pre-bin when there are few); categorical features are ordered by event rate and grouped
into pre-bins of similar size. :func:`~taxcredit.modeling.partition.optimal_partition` then
groups the pre-bins. Missing values and declared special values never enter the regular bins:
each special group and the missing values have a bin of their own.

With ``max_pvalue`` two significance tests guard against bins that fit noise:

* a categorical feature first passes a chi-square test of independence between its categories
  and the outcome (``k − 1`` degrees of freedom, on the raw categories, before any ordering by
  event rate could bias it); not significant → one regular bin, so a code with no bearing on
  risk (a province, a branch) adds no IV from its categories instead of the IV of its noise
  sorted into order (missing and special values keep bins of their own);
* then adjacent regular bins whose event rates do not differ significantly (two-sided z-test
  of two proportions, pooled variance) are merged, the least significant pair first, until
  every neighbour differs. Merging neighbours keeps a monotone or peaked trend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from .bins import FeatureBins, present_keys, special_index
from .categories import category_key
from .metrics import ZERO_CELL
from .partition import TRENDS, optimal_partition, segment_iv

__all__ = ["fit_bins", "normalise_specials"]

AUTO_TRENDS = ("ascending", "descending")


def normalise_specials(specials) -> tuple[tuple[str, tuple], ...]:
    """``[-1, -999]`` (each value its own bin) or ``{"label": [values]}`` → typed groups."""
    if specials is None:
        return ()
    if isinstance(specials, Mapping):
        groups = [(str(k), tuple(v if isinstance(v, (list, tuple, set)) else [v]))
                  for k, v in specials.items()]
    elif isinstance(specials, (list, tuple, set, np.ndarray)):
        groups = [(str(v), (v,)) for v in specials]
    else:
        raise TypeError(f"special values must be a list or a dict of label -> values, got "
                        f"{type(specials).__name__}")
    seen: set = set()
    for label, values in groups:
        if seen.intersection(values):
            raise ValueError(f"special value(s) {sorted(map(str, seen & set(values)))} are in "
                             "two groups")
        seen.update(values)
        if not values:
            raise ValueError(f"special group {label!r} has no values")
    return tuple(groups)


def _counts(codes: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    e = np.bincount(codes, weights=y, minlength=n)
    return e, np.bincount(codes, minlength=n) - e


def _numeric_prebins(v: np.ndarray, max_n_prebins: int) -> np.ndarray:
    """Candidate splits: distinct values when few, else distinct quantiles (right-open)."""
    uniq = np.unique(v)
    if len(uniq) <= max_n_prebins:
        return uniq[1:]
    q = np.quantile(v, np.linspace(0, 1, max_n_prebins + 1)[1:-1], method="lower")
    splits = np.unique(q)
    # a split at the minimum would leave an empty first bin
    return splits[splits > uniq[0]]


def independence_pvalue(events: np.ndarray, non_events: np.ndarray) -> float:
    """p-value of the chi-square test of independence of a ``2 × k`` table of counts.

    Columns with no rows are ignored; fewer than two columns, or an outcome that never (or
    always) happens, give 1.0 (nothing to tell apart).
    """
    e, ne = np.asarray(events, dtype=float), np.asarray(non_events, dtype=float)
    keep = (e + ne) > 0
    e, ne = e[keep], ne[keep]
    n = e + ne
    te, total = e.sum(), n.sum()
    if len(n) < 2 or te <= 0 or te >= total:
        return 1.0
    exp_e = n * te / total
    exp_ne = n - exp_e
    stat = float(np.sum((e - exp_e) ** 2 / exp_e + (ne - exp_ne) ** 2 / exp_ne))
    return float(chi2.sf(stat, len(n) - 1))


def two_proportion_pvalue(e1: float, n1: float, e2: float, n2: float) -> float:
    """Two-sided p-value of the pooled z-test that two event rates are equal."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (e1 + e2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0
    z = abs(e1 / n1 - e2 / n2) / math.sqrt(var)
    return math.erfc(z / math.sqrt(2))


def merge_insignificant(ends: list[int], e: np.ndarray, ne: np.ndarray,
                        max_pvalue: float) -> list[int]:
    """Drop group boundaries between neighbours that do not differ at ``max_pvalue``.

    ``ends`` are group ends over pre-bins with counts ``e``/``ne`` (as from
    :func:`~taxcredit.modeling.partition.optimal_partition`); the least significant
    neighbouring pair is merged first, until every remaining pair differs.
    """
    ends = list(ends)
    ce = np.concatenate([[0.0], np.cumsum(e, dtype=float)])
    cn = np.concatenate([[0.0], np.cumsum(np.asarray(e, dtype=float) + ne)])
    while len(ends) > 1:
        starts = [0, *ends[:-1]]
        ge = [ce[b] - ce[a] for a, b in zip(starts, ends, strict=True)]
        gn = [cn[b] - cn[a] for a, b in zip(starts, ends, strict=True)]
        p = [two_proportion_pvalue(ge[g], gn[g], ge[g + 1], gn[g + 1])
             for g in range(len(ends) - 1)]
        worst = int(np.argmax(p))
        if p[worst] <= max_pvalue:
            break
        del ends[worst]  # the boundary between groups worst and worst + 1
    return ends


def _choose(e: np.ndarray, ne: np.ndarray, trend: str, max_n_bins: int, min_count: float,
            ) -> tuple[list[int], str]:
    """Best grouping for ``trend`` ("auto": the better of ascending and descending by IV)."""
    if trend != "auto":
        return optimal_partition(e, ne, trend=trend, max_bins=max_n_bins,
                                 min_count=min_count), trend
    best: tuple[float, list[int], str] | None = None
    iv, _, _ = segment_iv(e, ne)
    for t in AUTO_TRENDS:
        ends = optimal_partition(e, ne, trend=t, max_bins=max_n_bins, min_count=min_count)
        starts = [0, *ends[:-1]]
        total = float(sum(iv[a, b] for a, b in zip(starts, ends, strict=True)))
        if best is None or total > best[0] + 1e-12:
            best = (total, ends, t)
    assert best is not None
    return best[1], best[2]


def fit_bins(
    x,
    y,
    *,
    name: str = "x",
    kind: str = "numeric",
    max_n_bins: int = 8,
    min_bin_size: float = 0.05,
    max_n_prebins: int = 20,
    trend: str = "auto",
    specials=None,
    user_splits: Sequence | None = None,
    unseen: str = "riskiest",
    max_pvalue: float | None = None,
) -> FeatureBins:
    """Fit the bins of one feature.

    Parameters
    ----------
    x : array-like
        Feature values (missing: NaN/None).
    y : array-like of {0, 1}
        Outcomes (1 = event).
    name : str
        Feature name (for messages and the fitted object).
    kind : {"numeric", "categorical"}
        How to bin.
    max_n_bins : int
        Most regular bins.
    min_bin_size : float
        Smallest regular bin, as a share of all rows (0 ≤ … < 0.5).
    max_n_prebins : int
        Pre-bins the optimiser groups (more: finer splits, slower).
    trend : {"auto", "ascending", "descending", "peak", "valley", "none"}
        Event-rate trend over the regular bins (for categorical features the categories are
        ordered by event rate, so the trend is ascending by construction).
    specials : list or dict, optional
        Special values, each in its own bin (list) or in named groups (dict label → values).
    user_splits : sequence, optional
        Manual bins instead of the optimiser: split points (numeric) or a list of category
        groups (categorical; categories not listed go to the unknown treatment).
    unseen : {"riskiest", "neutral", "error"}
        How values training never saw are scored.
    max_pvalue : float, optional
        Significance the optimiser's bins must reach (module notes): a categorical feature's
        chi-square test of independence, then every pair of neighbouring bins. Not applied to
        ``user_splits``. None: no tests.
    """
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"{name}: kind must be 'numeric' or 'categorical', got {kind!r}")
    if trend not in (*TRENDS, "auto"):
        raise ValueError(f"{name}: trend must be 'auto' or one of {TRENDS}, got {trend!r}")
    if not 0 <= min_bin_size < 0.5:
        raise ValueError(f"min_bin_size must be in [0, 0.5), got {min_bin_size}")
    if max_n_bins < 1 or max_n_prebins < 1:
        raise ValueError("max_n_bins and max_n_prebins must be >= 1")
    if max_pvalue is not None and not 0 < max_pvalue <= 1:
        raise ValueError(f"max_pvalue must be in (0, 1] or None, got {max_pvalue}")
    s = x.reset_index(drop=True) if isinstance(x, pd.Series) else pd.Series(
        np.asarray(x, dtype=object) if kind == "categorical" else np.asarray(x))
    y = np.asarray(y, dtype=float)
    if len(s) != len(y):
        raise ValueError(f"{name}: x has {len(s)} rows but y has {len(y)}")
    groups = normalise_specials(specials)
    missing = s.isna().to_numpy()
    keys = present_keys(s) if kind == "categorical" else None  # once, for both uses
    special_of = special_index(s, groups, kind, keys)
    regular = ~missing & (special_of < 0)
    min_count = min_bin_size * len(s)
    extra_codes = np.where(missing, len(groups), special_of)  # specials 0.., missing last
    e_extra, ne_extra = _counts(extra_codes[~regular], y[~regular], len(groups) + 1)
    yr = y[regular]
    if kind == "numeric":
        try:
            v = s[regular].to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"feature {name!r}: numeric binning needs numbers ({exc}); "
                            "declare it categorical") from exc
        if np.isinf(v).any():
            raise ValueError(f"feature {name!r}: {int(np.isinf(v).sum())} infinite value(s); "
                             "replace them or declare them special values")
        if user_splits is not None:
            splits = np.unique(np.asarray(user_splits, dtype=float))
            used = trend if trend != "auto" else "none"
        else:
            pre = _numeric_prebins(v, max_n_prebins) if len(v) else np.array([])
            e, ne = _counts(np.searchsorted(pre, v, side="right"), yr, len(pre) + 1)
            ends, used = _choose(e, ne, trend, max_n_bins, min_count)
            if max_pvalue is not None:
                ends = merge_insignificant(ends, e, ne, max_pvalue)
            splits = pre[np.asarray(ends[:-1], dtype=int) - 1] if len(ends) > 1 else pre[:0]
        codes = np.searchsorted(splits, v, side="right")
        e, ne = _counts(codes, yr, len(splits) + 1)
        return FeatureBins(name=name, kind="numeric", splits=tuple(float(t) for t in splits),
                           specials=groups, n_event=tuple(np.r_[e, e_extra]),
                           n_nonevent=tuple(np.r_[ne, ne_extra]), trend=used, unseen=unseen)
    values = keys[regular]
    code_kind = "bool" if pd.api.types.is_bool_dtype(s) or (
        len(values) and set(values) <= {"True", "False"}
        and all(isinstance(v, bool | np.bool_) for v in pd.unique(s[regular]))) else "text"
    if user_splits is not None:
        cat_groups = [tuple(category_key(c) for c in g) for g in user_splits]
        used = "none"
    else:
        cats, codes = np.unique(values, return_inverse=True)
        e, ne = _counts(codes, yr, len(cats))
        rate = (e + ZERO_CELL * (e == 0)) / np.maximum(e + ne, 1)
        order = np.lexsort((cats, rate))  # by event rate, ties by name: deterministic
        pre_of = _size_groups((e + ne)[order], max_n_prebins)
        pe = np.bincount(pre_of, weights=e[order])
        pne = np.bincount(pre_of, weights=ne[order])
        if max_pvalue is not None and independence_pvalue(e, ne) > max_pvalue:
            ends = [len(pe)]  # the categories do not tell risk apart: one bin
        else:
            ends, _ = _choose(pe, pne, "ascending", max_n_bins, min_count)
            if max_pvalue is not None:
                ends = merge_insignificant(ends, pe, pne, max_pvalue)
        bounds = np.searchsorted(pre_of, ends[:-1], side="left")  # category positions
        cat_groups = [tuple(g) for g in np.split(cats[order], bounds)]
        used = "ascending"
    bins = FeatureBins(name=name, kind="categorical", groups=tuple(cat_groups),
                       specials=groups, n_event=(0.0,) * (len(cat_groups) + len(groups) + 1),
                       n_nonevent=(0.0,) * (len(cat_groups) + len(groups) + 1), trend=used,
                       unseen=unseen, codes=code_kind)
    idx = bins.bin_index(pd.Series(values, dtype=object))
    if (idx < 0).any():  # only with user_splits: every training category needs a bin
        left = sorted(set(values[idx < 0]))
        raise ValueError(f"feature {name!r}: user_splits leave categories {left[:10]} "
                         f"({len(left)} in all) without a bin; add them to a group")
    e, ne = _counts(idx, yr, len(cat_groups))
    return FeatureBins(name=name, kind="categorical", groups=tuple(cat_groups), specials=groups,
                       n_event=tuple(np.r_[e, e_extra]), n_nonevent=tuple(np.r_[ne, ne_extra]),
                       trend=used, unseen=unseen, codes=code_kind)


def _size_groups(sizes: np.ndarray, n_groups: int) -> np.ndarray:
    """Consecutive groups of roughly equal total size; group id per element (0..)."""
    if len(sizes) <= n_groups:
        return np.arange(len(sizes))
    cum = np.cumsum(sizes) - sizes / 2  # midpoint of each element
    return np.minimum((cum / sizes.sum() * n_groups).astype(int), n_groups - 1)
