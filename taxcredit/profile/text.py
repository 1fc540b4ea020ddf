"""Strengths and weaknesses as short sentences, built column-wise with Arrow string kernels.

Each sentence names the indicator, its value in a readable unit (万元 / CNY k / m, %, months,
grade letters, yes/no) and the peer comparison, e.g. ``近12月纳税总额 12.3万元（优于84%的同行）``
or ``Tax paid, last 12 months CNY 123.5k (better than 84% of peers)``. No loop over rows:
values are formatted per unit on the rows that have that unit, then put back in row order.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..features import FEATURES

__all__ = ["LANGS", "format_values", "sentences"]

LANGS = ("zh", "en")
_GRADES = pa.array(["?", "A", "B", "M", "C", "D"])  # ordinal code → letter
_UNITS = {f.id: f.unit for f in FEATURES}


def _num(x: np.ndarray, decimals: int) -> pa.Array:
    """Write rounded numbers as text; whole numbers without a decimal point; never "-0"."""
    x = np.round(x, decimals) + 0.0
    if decimals == 0:
        return pa.array(x).cast(pa.int64(), safe=False).cast(pa.string())
    return pa.array(x).cast(pa.string())  # Arrow writes 1.0 as "1"


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _scaled(x: np.ndarray, steps: list[tuple[float, int, str]], prefix: str) -> pa.Array:
    """``x`` in the largest unit step it reaches: steps of (size, decimals, suffix)."""
    out = None
    for size, decimals, suffix in steps:  # largest step first
        text = _cat(prefix, _num(x / size, decimals), suffix)
        out = text if out is None else pc.if_else(pa.array(np.abs(x) >= size), text, out)
    return out


def _format_unit(x: np.ndarray, unit: str, lang: str) -> pa.Array:
    zh = lang == "zh"
    if unit == "CNY":
        steps = ([(1.0, 0, "元"), (1e4, 1, "万元"), (1e8, 2, "亿元")] if zh else
                 [(1.0, 0, ""), (1e3, 1, "k"), (1e6, 2, "m")])
        return _scaled(x, steps, "" if zh else "CNY ")
    if unit == "share":
        return _cat(_num(100.0 * x, 1), "%")
    if unit in ("months", "count", "people"):
        suffix = {"months": ("个月", " months"), "count": ("次", ""),
                  "people": ("人", " people")}[unit][0 if zh else 1]
        return _cat(_num(x, 0), suffix)
    if unit == "grade":
        code = np.clip(np.round(np.nan_to_num(x)), 0, 5).astype(np.int64)
        return pc.take(_GRADES, pa.array(code))
    if unit == "flag":
        yes, no = ("是", "否") if zh else ("yes", "no")
        return pc.if_else(pa.array(x > 0), yes, no)
    if unit == "score":
        return _num(x, 0)
    return _num(x, 2)


def format_values(values: np.ndarray, units: np.ndarray, lang: str) -> pa.Array:
    """Format ``values[i]`` in ``units[i]`` (the catalog's unit names) for ``lang``."""
    order = np.argsort(units, kind="stable")
    parts = []
    su, sv = units[order], values[order]
    bounds = np.flatnonzero(np.r_[True, su[1:] != su[:-1], True])
    for a, b in itertools.pairwise(bounds):
        parts.append(_format_unit(sv[a:b], str(su[a]), lang))
    if not parts:
        return pa.array([], type=pa.string())
    joined = pa.concat_arrays([p.cast(pa.string()) for p in parts])
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return pc.take(joined, pa.array(back))


def _join(a: pa.Array, b: pa.Array, sep: str) -> pa.Array:
    """Join ``a + sep + b`` where both are non-empty, else keep whichever is.

    No nulls involved: pyarrow 26's ``binary_join_element_wise(null_handling="skip")``
    drops the rows where every input is null.
    """
    both = pc.and_(pc.not_equal(a, ""), pc.not_equal(b, ""))
    return pc.if_else(both, _cat(a, sep, b), pc.if_else(pc.equal(a, ""), b, a))


#: Positions in the comparison table beyond the whole percentiles 1–99.
_BEST, _LAST, _NEAR, _FAR = 101, 102, 103, 104


def _tails(lang: str, good: bool) -> pa.Array:
    """Return the peer comparisons: whole percentiles 1–99, then best, last, near, far.

    "Best" and "last" only for the true extremes (a percentile of exactly 100 or 0);
    two-tailed indicators (scored by closeness to the peer median) say near or far.
    """
    zh = lang == "zh"
    out = [""] * 105
    for p in range(1, 100):
        out[p] = ((("（优于" if good else "（仅优于") + f"{p}%的同行）") if zh else
                  (" (better than " if good else " (better than only ") + f"{p}% of peers)")
    out[_BEST] = "（同行最优）" if zh else " (best among peers)"
    out[_LAST] = "（同行最末）" if zh else " (last among peers)"
    out[_NEAR] = "（接近同行中位数）" if zh else " (close to the peer median)"
    out[_FAR] = "（偏离同行中位数）" if zh else " (far from the peer median)"
    return pa.array(out)


def _tail_index(pct: np.ndarray, two_tailed: np.ndarray, good: bool) -> np.ndarray:
    whole = np.clip(np.round(np.nan_to_num(pct)), 1, 99).astype(np.int64)
    idx = np.where(pct == 100, _BEST, np.where(pct == 0, _LAST, whole))
    return np.where(two_tailed, _NEAR if good else _FAR, idx)


def sentences(P: pd.DataFrame, X: pd.DataFrame, lang: str, top: int
              ) -> tuple[pd.Series, pd.Series]:
    """Describe the ``top`` best (percentile ≥ 50) and worst (< 50) indicators of each row, as text.

    Parameters
    ----------
    P : DataFrame
        Oriented peer percentiles (0–100, higher = better), one column per indicator.
    X : DataFrame
        The indicators' values (same rows, same columns available).
    lang : {"zh", "en"}
    top : int

    Returns
    -------
    strengths, weaknesses : Series of str
        Sentences joined by "；" (中文) or "; " (English); "" when there is none.
    """
    feats = {f.id: f for f in FEATURES}
    names = list(P.columns)
    n = len(P)
    if not names or not n or top < 1:
        empty = pd.Series([""] * n, index=P.index, dtype="str")
        return empty, empty.copy()
    label = pa.array([(feats[c].zh if lang == "zh" else feats[c].en) + " " for c in names])
    units = np.asarray([_UNITS.get(c, "ratio") for c in names])
    both = np.asarray([feats[c].direction == "both" for c in names])
    vals = P.to_numpy(dtype=float)
    raw = X[names].to_numpy(dtype=float, na_value=np.nan)
    rows = np.arange(n)
    sep = "；" if lang == "zh" else "; "
    k = min(top, len(names))
    out = []
    for good in (True, False):
        key = np.where(np.isnan(vals), np.inf, -vals if good else vals)
        part = np.argpartition(key, k - 1, axis=1)[:, :k] if k < len(names) else \
            np.tile(np.arange(len(names)), (n, 1))
        order = part[rows[:, None], np.argsort(key[rows[:, None], part], axis=1, kind="stable")]
        tails = _tails(lang, good)
        joined = None
        for slot in range(k):
            j = order[:, slot]
            pct, value = vals[rows, j], raw[rows, j]
            keep = np.isfinite(pct) & np.isfinite(value) & ((pct >= 50) if good else (pct < 50))
            text = _cat(pc.take(label, pa.array(j)), format_values(value, units[j], lang),
                        pc.take(tails, pa.array(_tail_index(pct, both[j], good))))
            text = pc.if_else(pa.array(keep), text, "")
            joined = text if joined is None else _join(joined, text, sep)
        series = joined.to_pandas().astype("str")
        series.index = P.index
        out.append(series)
    return out[0], out[1]
