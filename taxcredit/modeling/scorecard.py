"""`WoEScorecard`: binning → WoE → logistic regression → integer points, deployable as SQL.

The score is the sum of integer points (higher is safer); ``predict_proba`` is the PD of that
score on the :class:`~taxcredit.modeling.scale.ScoreScale`, so Python, the points table and the
exported SQL agree exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._common import JSONMixin, tabular_binary_tags
from .bins import FeatureBins
from .categories import category_key
from .reasons import top_k
from .scale import ScoreScale
from .selection import select_features
from .woe import WoEBinner, _binary_y, _frame, _jsonable, _scoring_frame

__all__ = ["WoEScorecard"]

FORMAT = "taxcredit.WoEScorecard/1"


class WoEScorecard(JSONMixin, ClassifierMixin, BaseEstimator):
    """A points scorecard: optimal WoE binning, feature selection, logistic regression, scaling.

    Parameters
    ----------
    binner : WoEBinner, optional
        The binning (None: ``WoEBinner()`` with its defaults). To tune it — in
        ``set_params`` or a grid search — pass one, then its parameters are
        ``binner__max_n_bins`` etc.: ``GridSearchCV(WoEScorecard(binner=WoEBinner()),
        {"binner__max_n_bins": [5, 8]})`` (scikit-learn's convention for a sub-estimator
        left at None, as in its ensembles).
    min_iv : float, default 0.005
        Features with a lower information value are not used. The default keeps weak but real
        evidence (weak features get small coefficients under the L2 penalty; on German credit
        and the UCI credit-card sample this ranks as well as keeping everything) while pure
        noise stays out; 0.02 is the usual rule of thumb for a shorter card.
    max_corr : float or None, default 0.7
        Of two features whose WoE correlate more, the one with the higher IV is kept.
    max_vif : float or None, default None
        Drop the highest variance-inflation factor while above this.
    stepwise : bool, default False
        Forward selection by BIC after the filters.
    sign_check : {"drop", "error", "ignore"}, default "drop"
        A non-positive coefficient reverses a feature's evidence: drop it (and refit), raise,
        or keep it.
    C : float or None, default 1.0
        Inverse L2 strength of the logistic regression (1.0, as scikit-learn's default; on
        German credit it ranks slightly better than no penalty). None: unpenalised, the
        classic scorecard whose Wald p-values are then exact (with a penalty they are computed
        at the penalised estimate and are approximate).
    scale : ScoreScale, optional
        Points scaling (default ``ScoreScale()``: 600 points at 50:1, 20 points to double).
    spread_intercept : bool, default True
        Share the intercept's points equally among the features' bins (a card with no base
        points), or keep it as separate base points.

    Attributes
    ----------
    binner_ : WoEBinner
        Fitted on all features.
    selected_ : list of str
        Features in the card.
    dropped_ : pandas.DataFrame
        Features left out: ``feature``, ``step``, ``reason``.
    coefficients_ : pandas.DataFrame
        ``feature``, ``coef``, ``std_err``, ``z``, ``p_value``, ``iv``.
    points_ : pandas.DataFrame
        The card: ``feature``, ``bin``, ``type``, ``woe``, ``points`` per bin (plus an
        ``unknown`` row for categorical features).
    base_points_ : int
        Points every applicant gets (0 when the intercept is spread).
    classes_ : numpy.ndarray
        The two outcome labels; ``classes_[1]`` is the event.
    """

    def __init__(self, binner: WoEBinner | None = None, min_iv: float = 0.005,
                 max_corr: float | None = 0.7, max_vif: float | None = None,
                 stepwise: bool = False, sign_check: str = "drop", C: float | None = 1.0,
                 scale: ScoreScale | None = None, spread_intercept: bool = True) -> None:
        self.binner = binner
        self.min_iv = min_iv
        self.max_corr = max_corr
        self.max_vif = max_vif
        self.stepwise = stepwise
        self.sign_check = sign_check
        self.C = C
        self.scale = scale
        self.spread_intercept = spread_intercept

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Bin, select, fit the regression and build the points table."""
        if self.sign_check not in ("drop", "error", "ignore"):
            raise ValueError(f"sign_check must be drop, error or ignore, got "
                             f"{self.sign_check!r}")
        df = _frame(X)
        yy = _binary_y(y, len(df))
        labels = np.unique(np.asarray(y).ravel())
        self.classes_ = labels if len(labels) == 2 else np.array([0, 1])
        binner = clone(self.binner) if self.binner is not None else WoEBinner()
        binner.set_params(output="woe")
        binner.set_output(transform="default")
        self.binner_ = binner.fit(df, yy)
        W = pd.DataFrame(self.binner_.transform(df), columns=self.binner_.feature_names_in_)
        selected, dropped, fit = select_features(
            W, yy, self.binner_.iv_, min_iv=self.min_iv, max_corr=self.max_corr,
            max_vif=self.max_vif, stepwise=self.stepwise, sign_check=self.sign_check, C=self.C)
        self.selected_ = selected
        self.dropped_ = dropped
        table = fit.table.copy()
        table["iv"] = [np.nan] + [float(self.binner_.iv_[f]) for f in selected]
        self.coefficients_ = table
        self.intercept_ = np.array([fit.intercept])
        self.coef_ = fit.coef.reshape(1, -1)
        self.feature_names_in_ = self.binner_.feature_names_in_
        self.n_features_in_ = self.binner_.n_features_in_
        self._build_points()
        return self

    def _scale(self) -> ScoreScale:
        return self.scale if self.scale is not None else ScoreScale()

    def _build_points(self) -> None:
        sc = self._scale()
        base = sc.offset - sc.factor * float(self.intercept_[0])
        n = len(self.selected_)
        share = base / n if (self.spread_intercept and n) else 0.0
        self.base_points_ = 0 if (self.spread_intercept and n) else round(base)
        rows, lookup = [], {}
        for name, b in zip(self.selected_, self.coef_[0], strict=True):
            bins = self.binner_.bins_[name]
            woe = np.append(bins.woe, bins.unknown_woe)
            pts = np.round(-sc.factor * b * woe + share)
            lookup[name] = pts
            for label, kind, w, p in zip([*bins.labels(), "unknown"],
                                         [*bins.table()["type"][:-1], "unknown"], woe, pts,
                                         strict=True):
                if kind == "unknown" and bins.kind != "categorical":
                    continue
                rows.append({"feature": name, "bin": label, "type": kind, "woe": w,
                             "points": p})
        self.points_ = pd.DataFrame(rows, columns=["feature", "bin", "type", "woe", "points"])
        self._lookup = lookup

    # ------------------------------------------------------------------ scoring
    def _columns(self, X) -> pd.DataFrame:
        check_is_fitted(self, "points_")
        return _scoring_frame(self, X, needed=self.selected_, what="the card's feature(s)",
                              select=False)

    def feature_points(self, X) -> pd.DataFrame:
        """Points of every card feature for every row (the index of ``X`` kept)."""
        df = self._columns(X)
        out = {}
        for name in self.selected_:
            bins: FeatureBins = self.binner_.bins_[name]
            idx = bins.bin_index(df[name])
            pts = self._lookup[name][idx]  # -1 (unknown category) → the last entry
            if bins.unseen == "error":
                bins.transform_woe(df[name])  # raises, naming the rows
            out[name] = pts
        return pd.DataFrame(out, index=df.index, columns=list(self.selected_))

    def score_points(self, X) -> np.ndarray:
        """Integer score of each row (higher is safer)."""
        pts = self.feature_points(X)
        return pts.sum(axis=1).to_numpy() + self.base_points_

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the event implied by the score."""
        sc = self._scale()
        return -(self.score_points(X) - sc.offset) / sc.factor

    def pd_from_points(self, points: pd.DataFrame) -> np.ndarray:
        """PD of each row from its :meth:`feature_points` (no second pass over the data)."""
        sc = self._scale()
        score = points.sum(axis=1).to_numpy() + self.base_points_
        return 1 / (1 + np.exp((score - sc.offset) / sc.factor))

    def predict_proba(self, X) -> np.ndarray:
        """``[P(non-event), P(event)]`` per row, from the integer score."""
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Predict the more likely label (event when PD ≥ 0.5; decide with PDs or grades)."""
        check_is_fitted(self, "points_")
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def reasons(self, X, k: int = 3, *, points: pd.DataFrame | None = None) -> pd.DataFrame:
        """Top-``k`` reasons per row: the features whose points fall furthest below their best.

        Returns columns ``reason_1..k`` (feature names, None when fewer features lost points)
        and ``points_lost_1..k``. Pass ``points`` (from :meth:`feature_points`) to skip
        recomputing them.
        """
        pts = self.feature_points(X) if points is None else points
        # the best points of each feature: over its bins (and the unknown row, categorical)
        best = np.array([np.nanmax(self._lookup[f] if self.binner_.bins_[f].kind ==
                                   "categorical" else self._lookup[f][:-1])
                         for f in self.selected_])
        lost = best[None, :] - pts.to_numpy()
        return top_k(lost, list(self.selected_), k, pts.index, "points_lost")

    # ------------------------------------------------------------------ export
    def to_sql(self, *, score_name: str = "score") -> str:
        """Export the card as one SQL expression (``CASE WHEN`` per feature), ``AS score_name``.

        Numeric bins test ``col < split`` in order (right-open bins), special values and NULL
        first; categorical bins test ``col IN (...)``; unknown categories take the ELSE
        branch (the ``unknown`` row of the card; NULL when ``unseen="error"``).

        Categorical codes (special values included) are written as their keys
        (:mod:`taxcredit.modeling.categories`): text, a whole number without a fraction. A
        database column must hold them the same way — ``'1'``, not ``'1.0'`` (Python reads
        both as code 1; SQL compares text as it is) — or be an integer column.
        """
        check_is_fitted(self, "points_")
        parts = [str(self.base_points_)] if self.base_points_ else []
        for name in self.selected_:
            parts.append(_case(self.binner_.bins_[name], self._lookup[name]))
        body = "\n  + ".join(parts) if parts else "0"
        return f"(\n  {body}\n) AS {_ident(score_name)}"

    def to_dict(self) -> dict:
        """Return the fitted card as plain data (round-trips with :meth:`from_dict`)."""
        check_is_fitted(self, "points_")
        return {"format": FORMAT,
                "params": {"min_iv": self.min_iv, "max_corr": self.max_corr,
                           "max_vif": self.max_vif, "stepwise": self.stepwise,
                           "sign_check": self.sign_check, "C": self.C,
                           "scale": self._scale().to_dict(),
                           "spread_intercept": self.spread_intercept,
                           "binner": (None if self.binner is None
                                      else _jsonable(self.binner.get_params()))},
                "binner": self.binner_.to_dict(), "classes": self.classes_.tolist(),
                "selected": list(self.selected_), "intercept": float(self.intercept_[0]),
                "coef": self.coef_[0].tolist(),
                "coefficients": json.loads(self.coefficients_.to_json(orient="records")),
                "dropped": self.dropped_.to_dict(orient="records")}

    @classmethod
    def from_dict(cls, d: dict) -> WoEScorecard:
        """Rebuild a fitted card."""
        if d.get("format") != FORMAT:
            raise ValueError(f"not a WoEScorecard document (format {d.get('format')!r})")
        params = dict(d["params"])
        params["scale"] = ScoreScale.from_dict(params["scale"])
        binner = params.pop("binner", None)  # absent in files written before it was kept
        est = cls(binner=None if binner is None else WoEBinner(**binner), **params)
        est.binner_ = WoEBinner.from_dict(d["binner"])
        est.classes_ = np.asarray(d["classes"])
        est.selected_ = list(d["selected"])
        est.intercept_ = np.array([d["intercept"]])
        est.coef_ = np.asarray(d["coef"], dtype=float).reshape(1, -1)
        est.coefficients_ = pd.DataFrame(d["coefficients"])
        est.dropped_ = pd.DataFrame(d["dropped"], columns=["feature", "step", "reason"])
        est.feature_names_in_ = est.binner_.feature_names_in_
        est.n_features_in_ = est.binner_.n_features_in_
        est._build_points()
        return est

    def __sklearn_tags__(self):
        return tabular_binary_tags(super().__sklearn_tags__())


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(v) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(float(v)) if isinstance(v, float) else str(v)


def _case(bins: FeatureBins, pts: np.ndarray) -> str:
    col = _ident(bins.name)
    p = [int(v) if np.isfinite(v) else None for v in pts]

    def val(i):
        return "NULL" if p[i] is None else str(p[i])

    lines = [f"WHEN {col} IS NULL THEN {val(bins.missing_bin)}"]
    for k, (_, values) in enumerate(bins.specials):
        if bins.kind == "categorical":  # compared by key, like the category groups
            values = dict.fromkeys(category_key(v) for v in values)
        lines.append(f"WHEN {col} IN ({', '.join(_lit(v) for v in values)}) "
                     f"THEN {val(bins.n_regular + k)}")
    if bins.kind == "numeric":
        for i, s in enumerate(bins.splits):
            lines.append(f"WHEN {col} < {s!r} THEN {val(i)}")
        lines.append(f"ELSE {val(bins.n_regular - 1)}")
    else:
        lit = (lambda c: c.upper()) if bins.codes == "bool" else _lit  # TRUE / FALSE
        for i, g in enumerate(bins.groups):
            lines.append(f"WHEN {col} IN ({', '.join(lit(c) for c in g)}) THEN {val(i)}")
        lines.append(f"ELSE {val(len(pts) - 1)}")
    return "CASE " + " ".join(lines) + " END"
