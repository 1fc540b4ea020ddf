"""`WoEBinner`: optimal binning of every column and its weight-of-evidence transform.

A scikit-learn transformer: hyper-parameters in ``__init__`` only, fitted state in attributes
ending in ``_``, ``feature_names_in_``, ``get_feature_names_out`` and ``set_output`` work, the
index of a DataFrame is kept, and it clones, pipelines and grid-searches like any other.
Everything fitted round-trips through plain JSON (:meth:`WoEBinner.to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._common import JSONMixin, tabular_binary_tags
from .binning import fit_bins
from .bins import FeatureBins

__all__ = ["WoEBinner"]

FORMAT = "taxcredit.WoEBinner/1"


def _per_feature(value, name: str, default):
    """Resolve a hyper-parameter given once for all features or as a dict per feature."""
    if isinstance(value, Mapping):
        return value.get(name, default)
    return default if value is None else value


def _str_keys(value):
    """Key a per-feature mapping by text, as column names are (``{20: …}`` → ``{"20": …}``)."""
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value


def _frame(X, names_in=None) -> pd.DataFrame:
    """``X`` as a DataFrame (arrays get ``x0, x1, …`` or the fitted names)."""
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("Sparse data was passed for X, but dense data is required; a WoE "
                        "binner needs every value (use X.toarray())")
    if isinstance(X, pd.DataFrame):
        df = X
        if not all(isinstance(c, str) for c in df.columns):  # names are text everywhere
            df = df.set_axis([str(c) for c in df.columns], axis=1)
    elif hasattr(X, "to_pandas"):  # polars / pyarrow tables
        df = X.to_pandas()
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"Expected a 2-D table of features, got shape {arr.shape}. "
                             "Reshape your data with .reshape(-1, 1) for a single feature")
        names = names_in if names_in is not None and len(names_in) == arr.shape[1] else [
            f"x{i}" for i in range(arr.shape[1])]
        df = pd.DataFrame(arr, columns=list(names))
    if df.shape[1] == 0:
        raise ValueError(f"0 feature(s) (shape={df.shape}) while a minimum of 1 is required.")
    if df.shape[0] == 0:
        raise ValueError(f"0 sample(s) (shape={df.shape}) while a minimum of 1 is required.")
    for c, dtype in df.dtypes.items():  # (dtypes: no Series built per column)
        if dtype.kind == "c" or (pd.api.types.is_object_dtype(dtype) and df[c].map(
                lambda v: isinstance(v, complex)).any()):
            raise ValueError(f"Complex data not supported (column {c!r})")
    return df


def _scoring_frame(est, X, *, needed=None, what: str = "feature(s)",
                   select: bool = True) -> pd.DataFrame:
    """``X`` checked against what ``est`` was fitted on, for scoring.

    Named input (a DataFrame) must hold the ``needed`` columns (default: every fitted feature),
    which are then selected in fitted order unless ``select`` is False; an array must have
    ``n_features_in_`` columns.
    """
    df = _frame(X, est.feature_names_in_)
    if isinstance(X, pd.DataFrame) or hasattr(X, "to_pandas"):
        needed = list(est.feature_names_in_ if needed is None else needed)
        missing = [f for f in needed if f not in df.columns]
        if missing:
            raise ValueError(f"X lacks {what} {missing}")
        return df[needed] if select else df
    if df.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {df.shape[1]} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input")
    return df


#: labels that name the *good* outcome: were one of them sorted last, scikit-learn's
#: convention would make it the event (a PD of being good) — refused instead
_NON_EVENT_LABELS = frozenset({
    "good", "non-default", "nondefault", "non_default", "no default", "no_default",
    "not default", "not_default", "performing", "paid", "repaid", "current", "normal", "ok",
    "正常", "好", "良好", "未违约", "履约", "正常还款"})


def _binary_y(y, n: int) -> np.ndarray:
    """Return the outcome as 0/1 floats.

    0/1 (or bool) as given; any other two labels in sorted order, the greater being the event
    (as scikit-learn's classifiers take ``classes_[1]``). Text labels whose last one names the
    good outcome (``"bad"``/``"good"``: ``"good"`` would be the event) are refused.
    """
    if y is None:
        raise ValueError("WoEBinner requires y to be passed, but the target y is None: fit(X, y) "
                         "needs the binary outcome (1 = event)")
    arr = column_or_1d(y, warn=True)
    if len(arr) != n:
        raise ValueError(f"y has {len(arr)} values but X has {n} rows")
    if pd.isna(arr).any():
        raise ValueError(f"Input y contains NaN ({int(pd.isna(arr).sum())} value(s)): the "
                         "outcome must be known for every training row")
    if arr.dtype.kind == "f" and np.isinf(arr).any():
        raise ValueError("Input y contains infinity; y must be a binary outcome")
    labels = np.unique(arr)
    if len(labels) > 2:
        kind = type_of_target(arr)
        if kind == "continuous":
            raise ValueError("Unknown label type: continuous. y must be a binary outcome "
                             "(1 = event)")
        raise ValueError(f"Only binary classification is supported. The type of the target is "
                         f"{kind}: {len(labels)} distinct values {[str(v) for v in labels[:6]]}")
    if arr.dtype.kind in "biuf" and set(labels.tolist()) <= {0, 1}:
        return arr.astype(float)
    if len(labels) == 2 and str(labels[-1]).strip().lower() in _NON_EVENT_LABELS:
        raise ValueError(
            f"y holds the labels {[str(v) for v in labels]}: the event (1 = default) would be "
            f"{str(labels[-1])!r}, the label sorted last (scikit-learn's convention), which "
            f"names the good outcome. Pass y as 0/1 with 1 = default, e.g. "
            f"(y == {str(labels[0])!r}).astype(int)")
    return (arr == labels[-1]).astype(float) if len(labels) == 2 else np.zeros(n)


class WoEBinner(JSONMixin, TransformerMixin, BaseEstimator):
    """Bin every feature optimally and replace values by their bin's weight of evidence.

    ``WoE = ln(share of events / share of non-events)``: positive is riskier than average.

    Parameters
    ----------
    max_n_bins : int, default 8
        Most regular bins per feature.
    min_bin_size : float, default 0.05
        Smallest regular bin, as a share of the training rows.
    max_n_prebins : int, default 20
        Pre-bins the optimiser groups.
    monotonic_trend : str or dict, default "auto"
        ``"auto"`` (the better of ascending/descending by IV), ``"ascending"``,
        ``"descending"``, ``"peak"``, ``"valley"`` or ``"none"``; a dict gives it per feature
        (features not in the dict: ``"auto"``).
    special_values : list or dict, optional
        Special codes kept out of the regular bins. A list applies to every numeric feature;
        a dict maps a feature to its list (or to a dict label → values).
    user_splits : dict, optional
        Manual bins per feature: split points (numeric) or category groups (categorical).
    categorical_features : "auto" or list of str, default "auto"
        Features binned as categories; ``"auto"``: non-numeric columns.
    unseen : {"riskiest", "neutral", "error"}, default "riskiest"
        Treatment of values training never saw (missing when no training row was missing,
        unknown categories): the riskiest bin's WoE, 0, or an error.
    output : {"woe", "index"}, default "woe"
        Transform to WoE values or to bin indices.
    n_jobs : int, default 1
        Features binned in parallel (threads).
    max_pvalue : float, optional
        Significance the optimiser's bins must reach: a categorical feature whose categories
        fail a chi-square test of independence with the outcome gets one bin (IV 0), and
        neighbouring bins whose event rates do not differ at this level (z-test) are merged.
        None (default) keeps the IV-optimal bins; 0.05 or 0.01 guards against codes that fit
        noise (many categories, few events), at some cost in AUC when every feature is
        informative.

    Attributes
    ----------
    bins_ : dict of str → FeatureBins
        The fitted bins of each feature.
    iv_ : pandas.Series
        Information value of each feature.
    feature_names_in_ : numpy.ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"overdue_months": rng.integers(0, 6, 2000)})
    >>> y = (rng.random(2000) < 0.02 + 0.04 * X["overdue_months"]).astype(int)
    >>> b = WoEBinner().fit(X, y)
    >>> b.bins_["overdue_months"].trend
    'ascending'
    """

    def __init__(self, max_n_bins: int = 8, min_bin_size: float = 0.05,
                 max_n_prebins: int = 20, monotonic_trend="auto", special_values=None,
                 user_splits=None, categorical_features="auto", unseen: str = "riskiest",
                 output: str = "woe", n_jobs: int = 1,
                 max_pvalue: float | None = None) -> None:
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.max_n_prebins = max_n_prebins
        self.monotonic_trend = monotonic_trend
        self.special_values = special_values
        self.user_splits = user_splits
        self.categorical_features = categorical_features
        self.unseen = unseen
        self.output = output
        self.n_jobs = n_jobs
        self.max_pvalue = max_pvalue

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Fit the bins of every column of ``X`` against the binary outcome ``y``."""
        if self.output not in ("woe", "index"):
            raise ValueError(f"output must be 'woe' or 'index', got {self.output!r}")
        df = _frame(X)
        y = _binary_y(y, len(df))
        names = [str(c) for c in df.columns]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        cats = self._categorical(df)
        # per-feature parameters keyed like the columns (text), whatever the user's keys
        trends, special_values = _str_keys(self.monotonic_trend), _str_keys(self.special_values)
        user_splits = _str_keys(self.user_splits or {})
        for name in (set(user_splits) | set(self._dict_keys())) - set(names):
            raise ValueError(f"a parameter names feature {name!r}, which X does not have")

        def one(col) -> FeatureBins:
            name = str(col)
            kind = "categorical" if name in cats else "numeric"
            specials = (special_values.get(name) if isinstance(special_values, Mapping)
                        else (special_values if kind == "numeric" else None))
            return fit_bins(df[col], y, name=name, kind=kind, max_n_bins=self.max_n_bins,
                            min_bin_size=self.min_bin_size, max_n_prebins=self.max_n_prebins,
                            trend=_per_feature(trends, name, "auto"), specials=specials,
                            user_splits=user_splits.get(name),
                            unseen=self.unseen, max_pvalue=self.max_pvalue)

        cols = list(df.columns)
        fitted = Parallel(n_jobs=self.n_jobs, prefer="threads")(delayed(one)(c) for c in cols)
        self.bins_ = {str(c): b for c, b in zip(cols, fitted, strict=True)}
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.iv_ = pd.Series({n: b.iv for n, b in self.bins_.items()}, name="iv")
        return self

    def _dict_keys(self):
        keys: set = set()
        for p in (self.monotonic_trend, self.special_values):
            if isinstance(p, Mapping):
                keys |= set(map(str, p))
        if isinstance(self.categorical_features, (list, tuple)):
            keys |= set(map(str, self.categorical_features))
        return keys

    def _categorical(self, df: pd.DataFrame) -> set[str]:
        if isinstance(self.categorical_features, str):
            if self.categorical_features != "auto":
                raise ValueError("categorical_features must be 'auto' or a list of names")
            return {str(c) for c in df.columns
                    if not (pd.api.types.is_numeric_dtype(df[c])
                            and not pd.api.types.is_bool_dtype(df[c]))}
        return {str(c) for c in self.categorical_features}

    # ------------------------------------------------------------------ transform
    def transform(self, X):
        """WoE (or bin index) of every value.

        Returns a NumPy array, or — after ``set_output(transform="pandas")`` — a DataFrame
        with the input's index and column names.
        """
        check_is_fitted(self, "bins_")
        df = _scoring_frame(self, X, what="feature(s) seen in fit")
        dtype = float if self.output == "woe" else np.int64
        out = np.empty((len(df), self.n_features_in_), dtype=dtype)
        for j, (name, col) in enumerate(zip(self.feature_names_in_, df.columns, strict=True)):
            b = self.bins_[name]
            out[:, j] = (b.transform_woe(df[col]) if self.output == "woe"
                         else b.bin_index(df[col]))
        return out  # set_output(transform="pandas") gives a DataFrame with X's index

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the output columns: the input feature names."""
        check_is_fitted(self, "bins_")
        return np.asarray(self.feature_names_in_, dtype=object)

    # ------------------------------------------------------------------ reports
    def binning_table(self, feature: str) -> pd.DataFrame:
        """Return the binning table of one feature (counts, event rate, WoE, IV, share)."""
        check_is_fitted(self, "bins_")
        feature = str(feature)  # column names are text once fitted
        if feature not in self.bins_:
            raise KeyError(f"no feature {feature!r}; fitted: {list(self.bins_)[:10]}…")
        return self.bins_[feature].table()

    def summary(self) -> pd.DataFrame:
        """One row per feature: kind, trend, bins, IV; strongest first."""
        check_is_fitted(self, "bins_")
        rows = [{"feature": n, "kind": b.kind, "trend": b.trend, "n_bins": b.n_regular,
                 "iv": b.iv} for n, b in self.bins_.items()]
        return pd.DataFrame(rows).sort_values("iv", ascending=False, kind="mergesort",
                                              ignore_index=True)

    def plot(self, feature: str, ax=None):
        """Bar chart of bin shares with the event rate per bin (needs matplotlib)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("plotting needs matplotlib: pip install 'taxcredit[plot]'") from exc
        t = self.binning_table(feature).iloc[:-1]
        t = t[t["n"] > 0]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        ax.bar(range(len(t)), t["share"], color="#9ecae1", label="share of rows")
        ax.set_xticks(range(len(t)), t["bin"], rotation=30, ha="right")
        ax.set_ylabel("share")
        ax2 = ax.twinx()
        ax2.plot(range(len(t)), t["event_rate"], "o-", color="#d62728", label="event rate")
        ax2.set_ylabel("event rate")
        ax.set_title(f"{feature}  (IV {self.bins_[feature].iv:.3f})")
        return ax

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Hyper-parameters and fitted bins as plain data."""
        check_is_fitted(self, "bins_")
        params = {k: v for k, v in self.get_params().items()}
        return {"format": FORMAT, "params": _jsonable(params),
                "features": [self.bins_[n].to_dict() for n in self.feature_names_in_]}

    @classmethod
    def from_dict(cls, d: dict) -> WoEBinner:
        """Rebuild a fitted binner from :meth:`to_dict` output."""
        if d.get("format") != FORMAT:
            raise ValueError(f"not a WoEBinner document (format {d.get('format')!r}, expected "
                             f"{FORMAT!r})")
        est = cls(**d["params"])
        est.bins_ = {f["name"]: FeatureBins.from_dict(f) for f in d["features"]}
        est.feature_names_in_ = np.asarray(list(est.bins_), dtype=object)
        est.n_features_in_ = len(est.bins_)
        est.iv_ = pd.Series({n: b.iv for n, b in est.bins_.items()}, name="iv")
        return est

    def __sklearn_tags__(self):
        tags = tabular_binary_tags(super().__sklearn_tags__())
        tags.target_tags.required = True
        if tags.transformer_tags is not None:  # WoE: float64; bin indices: int64
            tags.transformer_tags.preserves_dtype = ["float64"] if self.output == "woe" else []
        return tags


def _jsonable(v):
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
