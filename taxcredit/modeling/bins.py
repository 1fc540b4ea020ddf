"""Fitted bins of one feature, as typed data: edges or category sets, never strings to parse.

Bin order (the index :meth:`FeatureBins.bin_index` returns): the regular bins, then one bin per
special-value group, then the missing bin. Numeric bins are right-open: a value equal to a split
goes to the upper bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from .categories import category_key, category_keys
from .metrics import woe_iv_table

__all__ = ["UNSEEN", "FeatureBins", "present_keys", "special_index"]

#: How values that training never saw are scored: a missing value when no training row was
#: missing, an empty special bin, or an unknown category.
UNSEEN = ("riskiest", "neutral", "error")


def _num(v) -> float | str:
    """JSON-safe float (infinities as strings)."""
    v = float(v)
    return "inf" if v == math.inf else "-inf" if v == -math.inf else v


def _numbers(values) -> list[float]:
    """Return the special values that are numbers (not text, not booleans) as floats."""
    return [float(v) for v in values
            if isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)]


def present_keys(s: pd.Series) -> np.ndarray:
    """Category key of every value (None where missing), each distinct value keyed once."""
    present = s.notna().to_numpy()
    keys = np.full(len(s), None, dtype=object)
    keys[present] = category_keys(s[present])
    return keys


def special_index(s: pd.Series, specials, kind: str, keys: np.ndarray | None = None
                  ) -> np.ndarray:
    """Special-value group of each value (``-1``: none); the first matching group wins.

    Values are compared the way the regular bins compare them, so a code scores the same
    whatever dtype it arrives in: a categorical value by its key
    (:func:`~taxcredit.modeling.categories.category_key`: ``9``, ``9.0`` and ``"9"`` alike),
    a numeric one by its number (``"-999"`` read from text is ``-999.0``) and, for a
    declared sentinel that is not a number (``"N/A"``), by the value itself. Missing values
    are never special. ``keys``: :func:`present_keys` of a categorical ``s``, when the caller
    has them already.
    """
    out = np.full(len(s), -1, dtype=np.int64)
    if not specials:
        return out
    present = s.notna().to_numpy()
    if kind == "categorical":
        keys = present_keys(s) if keys is None else keys
        for k, (_, values) in enumerate(specials):
            hit = np.isin(keys, [category_key(v) for v in values]) & present & (out < 0)
            out[hit] = k
        return out
    numbers = pd.to_numeric(s.where(present), errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.nan)
    for k, (_, values) in enumerate(specials):
        nums = _numbers(values)
        text = [v for v in values if isinstance(v, str)]
        hit = np.isin(numbers, nums) | (s.isin(text).to_numpy() if text else False)
        hit &= present & (out < 0)
        out[hit] = k
    return out


@dataclass(frozen=True)
class FeatureBins:
    """The bins of one feature and their statistics on the training data.

    Parameters
    ----------
    name : str
        Feature name.
    kind : {"numeric", "categorical"}
        How values are binned.
    splits : tuple of float
        Numeric: increasing interior edges; ``len(splits) + 1`` regular bins.
    groups : tuple of tuple of str
        Categorical: the categories of each regular bin.
    specials : tuple of (str, tuple)
        Special-value groups ``(label, values)``, each its own bin, before missing.
    n_event, n_nonevent : tuple of float
        Training counts per bin (regular, specials, missing).
    trend : str
        Event-rate trend of the regular bins (``ascending``, ``descending``, ``peak``,
        ``valley`` or ``none``).
    unseen : {"riskiest", "neutral", "error"}
        How values training never saw are scored: as the riskiest bin (the conservative
        default), with WoE 0, or by raising.
    codes : {"text", "bool"}
        Categorical: what the category keys stand for — text and numeric codes, or the
        booleans ``"True"`` / ``"False"`` (exported to SQL as ``TRUE`` / ``FALSE``).
    """

    name: str
    kind: str
    splits: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    specials: tuple[tuple[str, tuple], ...] = ()
    n_event: tuple[float, ...] = ()
    n_nonevent: tuple[float, ...] = ()
    trend: str = "none"
    unseen: str = "riskiest"
    codes: str = "text"
    _lookup: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("numeric", "categorical"):
            raise ValueError(f"{self.name}: kind must be numeric or categorical, got {self.kind}")
        if self.unseen not in UNSEEN:
            raise ValueError(f"{self.name}: unseen must be one of {UNSEEN}, got {self.unseen!r}")
        if list(self.splits) != sorted(set(self.splits)):
            raise ValueError(f"{self.name}: splits must be strictly increasing, got "
                             f"{list(self.splits)}")
        if len(self.n_event) != self.n_bins or len(self.n_nonevent) != self.n_bins:
            raise ValueError(f"{self.name}: {self.n_bins} bins but {len(self.n_event)} event and "
                             f"{len(self.n_nonevent)} non-event counts")
        seen: set = set()
        for g in self.groups:
            dup = seen.intersection(g)
            if dup:
                raise ValueError(f"{self.name}: categories {sorted(dup)} are in two bins")
            seen.update(g)
        if self.codes not in ("text", "bool"):
            raise ValueError(f"{self.name}: codes must be 'text' or 'bool', got {self.codes!r}")

    # ------------------------------------------------------------------ shape
    @property
    def n_regular(self) -> int:
        """Number of regular (non-special, non-missing) bins."""
        return len(self.splits) + 1 if self.kind == "numeric" else len(self.groups)

    @property
    def n_bins(self) -> int:
        """All bins: regular, special groups and the missing bin."""
        return self.n_regular + len(self.specials) + 1

    @property
    def missing_bin(self) -> int:
        """Index of the missing bin (the last)."""
        return self.n_bins - 1

    def labels(self) -> list[str]:
        """Readable label of each bin."""
        if self.kind == "numeric":
            edges = [-math.inf, *self.splits, math.inf]
            out = [f"[{_fmt(a)}, {_fmt(b)})" for a, b in pairwise(edges)]
        else:
            out = ["{" + ", ".join(map(str, g)) + "}" for g in self.groups]
        out += [f"special {label}" for label, _ in self.specials]
        return [*out, "missing"]

    # ------------------------------------------------------------------ statistics
    def _stats(self) -> pd.DataFrame:
        if "stats" not in self._lookup:
            self._lookup["stats"] = woe_iv_table(self.n_event, self.n_nonevent)
        return self._lookup["stats"]

    @property
    def iv(self) -> float:
        """Information value over all bins."""
        return float(self._stats()["iv"].sum())

    @property
    def woe(self) -> np.ndarray:
        """WoE of each bin as scored: an empty bin gets the ``unseen`` treatment."""
        if "woe" not in self._lookup:
            stats = self._stats()
            woe = stats["woe"].to_numpy(dtype=float).copy()
            empty = (stats["n_event"] + stats["n_nonevent"]).to_numpy() == 0
            filled = woe[~empty]
            fill = (float(filled.max()) if self.unseen == "riskiest" and len(filled) else 0.0)
            woe[empty] = fill if self.unseen != "error" else np.nan
            self._lookup["woe"] = woe
        return self._lookup["woe"]

    @property
    def unknown_woe(self) -> float:
        """WoE given to a category never seen in training (NaN: ``unseen="error"``)."""
        if self.unseen == "error":
            return math.nan
        filled = self._stats()["woe"][(self._stats()["n_event"]
                                        + self._stats()["n_nonevent"]) > 0]
        return float(filled.max()) if self.unseen == "riskiest" and len(filled) else 0.0

    def table(self) -> pd.DataFrame:
        """Return the binning table: one row per bin and a total row.

        Columns: ``bin`` (label), ``type`` (regular / special / missing), ``n``, ``share``,
        ``n_event``, ``n_nonevent``, ``event_rate``, ``woe``, ``iv``.
        """
        stats = self._stats()
        n = stats["n_event"] + stats["n_nonevent"]
        types = (["regular"] * self.n_regular + ["special"] * len(self.specials) + ["missing"])
        t = pd.DataFrame({
            "bin": self.labels(), "type": types, "n": n, "share": n / max(n.sum(), 1),
            "n_event": stats["n_event"], "n_nonevent": stats["n_nonevent"],
            "event_rate": np.where(n > 0, stats["n_event"] / n.where(n > 0, 1), np.nan),
            "woe": self.woe, "iv": stats["iv"]})
        total = pd.DataFrame([{"bin": "total", "type": "", "n": n.sum(), "share": 1.0,
                               "n_event": stats["n_event"].sum(),
                               "n_nonevent": stats["n_nonevent"].sum(),
                               "event_rate": stats["n_event"].sum() / max(n.sum(), 1),
                               "woe": np.nan, "iv": stats["iv"].sum()}])
        return pd.concat([t, total], ignore_index=True)

    # ------------------------------------------------------------------ applying
    def bin_index(self, x) -> np.ndarray:
        """Bin of each value (``-1``: a category never seen in training)."""
        if self.kind == "numeric":
            fast = self._numeric_index(x)
            if fast is not None:
                return fast
        s = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object)
                                                         if self.kind == "categorical"
                                                         else np.asarray(x))
        missing = s.isna().to_numpy()
        out = np.full(len(s), self.missing_bin, dtype=np.int64)
        value_keys = present_keys(s) if self.kind == "categorical" else None  # once, for both
        group = special_index(s, self.specials, self.kind, value_keys)
        special = group >= 0
        out[special] = self.n_regular + group[special]
        rest = ~missing & ~special
        if self.kind == "numeric":
            try:
                v = s[rest].to_numpy(dtype=float)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"feature {self.name!r} is numeric but holds values that are "
                                f"not numbers ({exc})") from exc
            out[rest] = np.searchsorted(np.asarray(self.splits, dtype=float), v, side="right")
        else:
            if "categories" not in self._lookup:
                keys = pd.Index([category_key(c) for g in self.groups for c in g])
                which = np.repeat(np.arange(len(self.groups)), [len(g) for g in self.groups])
                first = ~keys.duplicated()  # a key twice (old files): its first group wins
                self._lookup["categories"] = (keys[first], np.append(which[first], -1))
            cats, which = self._lookup["categories"]
            pos = cats.get_indexer(value_keys[rest])
            out[rest] = np.where(pos >= 0, which[pos], -1)
        return out

    def _numeric_index(self, x) -> np.ndarray | None:
        """Bin index straight from a float array (None when ``x`` is not plain numbers)."""
        if isinstance(x, pd.Series):
            if not (pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)):
                return None
            v = x.to_numpy(dtype=float, na_value=np.nan)
        else:
            v = np.asarray(x)
            if v.dtype.kind not in "iuf":
                return None
            v = v.astype(float, copy=False)
        if "splits" not in self._lookup:
            self._lookup["splits"] = np.asarray(self.splits, dtype=float)
        out = np.searchsorted(self._lookup["splits"], v, side="right")
        for k, (_, values) in enumerate(self.specials):
            hit = np.isin(v, _numbers(values)) & (out < self.n_regular)  # first group wins
            out[hit] = self.n_regular + k
        out[np.isnan(v)] = self.missing_bin
        return out

    def transform_woe(self, x) -> np.ndarray:
        """WoE of each value; raises for unseen values when ``unseen="error"``."""
        idx = self.bin_index(x)
        woe = np.append(self.woe, self.unknown_woe)[idx]  # -1 → unknown category
        if self.unseen == "error" and np.isnan(woe).any():
            rows = np.flatnonzero(np.isnan(woe))[:5].tolist()
            raise ValueError(
                f"feature {self.name!r}: {int(np.isnan(woe).sum())} value(s) fall in bins "
                f"training never saw (e.g. rows {rows}); refit, or set unseen='riskiest' or "
                "'neutral'")
        return woe

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Plain JSON-able data (round-trips with :meth:`from_dict`)."""
        return {"name": self.name, "kind": self.kind,
                "splits": [_num(v) for v in self.splits],
                "groups": [list(g) for g in self.groups],
                "specials": [{"label": lab, "values": [_plain(v) for v in vals]}
                             for lab, vals in self.specials],
                "n_event": [float(v) for v in self.n_event],
                "n_nonevent": [float(v) for v in self.n_nonevent],
                "trend": self.trend, "unseen": self.unseen,
                **({"codes": self.codes} if self.codes != "text" else {})}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureBins:
        """Rebuild from :meth:`to_dict` output."""
        return cls(name=d["name"], kind=d["kind"],
                   splits=tuple(float(v) for v in d.get("splits", [])),
                   groups=tuple(tuple(g) for g in d.get("groups", [])),
                   specials=tuple((s["label"], tuple(s["values"]))
                                  for s in d.get("specials", [])),
                   n_event=tuple(d["n_event"]), n_nonevent=tuple(d["n_nonevent"]),
                   trend=d.get("trend", "none"), unseen=d.get("unseen", "riskiest"),
                   codes=d.get("codes", "text"))


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.6g}"
