"""PD calibration on held-out data, and prior correction for re-sampled training data.

A calibrator maps a model's raw PD to a calibrated one. Every method is plain numbers once
fitted (two or three coefficients; or the isotonic step function's knots), so they
round-trip through JSON like every other fitted object.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy.linalg import LinAlgWarning
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from .woe import _binary_y

__all__ = ["PDCalibrator", "prior_correction"]

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def prior_correction(pd_, sample_rate: float, population_rate: float) -> np.ndarray:
    """Move PDs from a re-sampled training event rate to the population's.

    A model trained where events were ``sample_rate`` of rows (e.g. defaults over-sampled to
    50 %) over-states PDs for a population whose rate is ``population_rate``; the correction
    multiplies the odds by ``[π/(1−π)] / [ρ/(1−ρ)]`` (π population, ρ sample), exact for
    re-sampling that keeps the within-class distributions.
    """
    for name, r in (("sample_rate", sample_rate), ("population_rate", population_rate)):
        if not 0 < r < 1:
            raise ValueError(f"{name} must be in (0, 1), got {r}")
    shift = (np.log(population_rate / (1 - population_rate))
             - np.log(sample_rate / (1 - sample_rate)))
    return expit(_logit(np.asarray(pd_, dtype=float)) + shift)


class PDCalibrator(TransformerMixin, BaseEstimator):
    """Calibrate raw PDs against observed outcomes on held-out data.

    Parameters
    ----------
    method : {"platt", "beta", "isotonic"}, default "platt"
        ``platt``: a logistic regression on the raw PD's log-odds (two parameters, smooth,
        keeps the ranking; when the data do not support a positive slope — a handful of
        events — only the level is moved, so the ranking is never reversed; so too when
        every default has a higher raw PD than every non-default (or a lower one), where the
        best slope would be infinite and every PD 0 or 1); ``beta``: beta
        calibration (Kull, Silva Filho & Flach 2017), a logistic regression on ``ln p`` and
        ``−ln(1−p)`` with non-negative weights (three parameters; bends the tails separately,
        which Platt cannot — e.g. a model over-stating the riskiest grade; Platt is its special
        case ``a = b``); ``isotonic``: a monotone step function (needs more data; ties
        neighbouring PDs).
    central_tendency : float, optional
        Anchor the level to this default rate — the bank's expectation for the period the PDs
        are for (its central tendency: a long-run average for through-the-cycle PDs, a
        forecast for point-in-time ones). After the method is fitted, the log-odds are moved
        by one constant so that the mean calibrated PD over the calibration rows equals it;
        the ranking and the method's shape stay as fitted. Use it when the calibration
        period's default rate is not the one expected ahead (a downturn coming, or a
        calibration window that was unusually benign). None: the calibration rows' own rate.

    Attributes
    ----------
    coef_, intercept_ : float
        Platt: calibrated log-odds = ``intercept_ + coef_ · raw log-odds``.
    a_, b_, intercept_ : float
        Beta: calibrated log-odds = ``intercept_ + a_ · ln p − b_ · ln(1 − p)``, ``a_, b_ ≥ 0``.
    x_, y_ : numpy.ndarray
        Isotonic: the knots (raw PD → calibrated PD), interpolated linearly, clipped outside.
    shift_ : float
        Log-odds added for ``central_tendency`` (0.0 without one).
    """

    def __init__(self, method: str = "platt", central_tendency: float | None = None) -> None:
        self.method = method
        self.central_tendency = central_tendency

    def fit(self, pd_raw, y):
        """Fit on raw PDs and the outcomes they should predict."""
        if self.method not in ("platt", "beta", "isotonic"):
            raise ValueError(f"method must be 'platt', 'beta' or 'isotonic', got "
                             f"{self.method!r}")
        ct = self.central_tendency
        if ct is not None and (isinstance(ct, bool) or not isinstance(ct, numbers.Real)
                               or not 0 < ct < 1):
            raise ValueError(f"central_tendency must be a default rate in (0, 1) or None, "
                             f"got {ct!r}")
        p = _raw(pd_raw)
        yy = _binary_y(y, len(p))
        if yy.min() == yy.max():
            raise ValueError(f"calibration needs defaults and non-defaults; the {len(yy)} "
                             f"calibration row(s) hold only "
                             f"{'defaults' if yy.min() else 'non-defaults'}")
        self.shift_ = 0.0
        if self.method == "platt":
            self.coef_, self.intercept_ = 1.0, _shift_to_mean(_logit(p), yy.mean())
            if not _separated(p, yy):
                (coef,), intercept = _max_likelihood(_logit(p).reshape(-1, 1), yy)
                if coef > 0:  # else too little data to trust a slope: never reverse ranks
                    self.coef_, self.intercept_ = float(coef), intercept
        elif self.method == "beta":
            self.a_, self.b_, self.intercept_ = _fit_beta(p, yy)
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip",
                                     increasing=True).fit(p, yy)
            self.x_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.y_ = np.asarray(iso.y_thresholds_, dtype=float)
        self.n_features_in_ = 1
        if ct is not None:
            self.shift_ = _shift_to_mean(self._log_odds(p), float(ct))
            reached = float(self.transform(p).mean())
            if abs(reached - ct) > 1e-6:
                raise ValueError(f"central_tendency {ct}: the calibrated PDs cannot average to "
                                 f"it (they reach {reached:.6g}); the calibration rows are too "
                                 "few or too one-sided for this method — try 'platt'")
        return self

    def _log_odds(self, p: np.ndarray) -> np.ndarray:
        """Calibrated log-odds before the central-tendency shift."""
        if self.method == "platt":
            return self.intercept_ + self.coef_ * _logit(p)
        if self.method == "beta":
            return self.intercept_ + _beta_features(p) @ [self.a_, self.b_]
        return _logit(np.interp(p, self.x_, self.y_))

    def transform(self, pd_raw) -> np.ndarray:
        """Calibrated PDs (1-D)."""
        check_is_fitted(self, "n_features_in_")
        p = _raw(pd_raw)
        shift = getattr(self, "shift_", 0.0)
        if self.method == "isotonic" and not shift:
            return np.interp(p, self.x_, self.y_)  # the steps exactly, 0 and 1 included
        return expit(self._log_odds(p) + shift)

    def to_dict(self) -> dict:
        """Plain data."""
        check_is_fitted(self, "n_features_in_")
        anchor = ({"central_tendency": float(self.central_tendency), "shift": self.shift_}
                  if self.central_tendency is not None else {})
        if self.method == "platt":
            return {"method": "platt", "coef": self.coef_, "intercept": self.intercept_,
                    **anchor}
        if self.method == "beta":
            return {"method": "beta", "a": self.a_, "b": self.b_, "intercept": self.intercept_,
                    **anchor}
        return {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist(), **anchor}

    @classmethod
    def from_dict(cls, d: dict) -> PDCalibrator:
        """Rebuild a fitted calibrator."""
        ct = d.get("central_tendency")
        est = cls(method=d["method"], central_tendency=None if ct is None else float(ct))
        est.shift_ = float(d.get("shift", 0.0))
        if d["method"] == "platt":
            est.coef_, est.intercept_ = float(d["coef"]), float(d["intercept"])
        elif d["method"] == "beta":
            est.a_, est.b_ = float(d["a"]), float(d["b"])
            est.intercept_ = float(d["intercept"])
        else:
            est.x_, est.y_ = np.asarray(d["x"], dtype=float), np.asarray(d["y"], dtype=float)
        est.n_features_in_ = 1
        return est


def _beta_features(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.column_stack([np.log(p), -np.log1p(-p)])


def _fit_beta(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Beta calibration's ``(a, b, c)`` by maximum likelihood, with ``a, b ≥ 0``.

    A negative weight is dropped and the other refitted (the authors' procedure); when
    neither is positive, only the level moves (``a = b = 1``), so ranks never reverse.
    """
    if _separated(p, y):  # both features rise with p: their weights would be infinite
        return 1.0, 1.0, _shift_to_mean(_logit(p), y.mean())
    F = _beta_features(p)

    def lr(cols):
        return _max_likelihood(F[:, cols], y)

    w, c = lr([0, 1])
    if (w >= 0).all() and w.sum() > 0:
        return float(w[0]), float(w[1]), c
    best = int(np.argmax(w))
    w1, c1 = lr([best])
    if w1[0] > 0:
        ab = [0.0, 0.0]
        ab[best] = float(w1[0])
        return ab[0], ab[1], c1
    return 1.0, 1.0, _shift_to_mean(_logit(p), y.mean())


def _separated(p: np.ndarray, y: np.ndarray) -> bool:
    """Whether the raw PDs separate defaults from non-defaults (no overlap, ties included).

    Then a logistic regression on any increasing function of ``p`` has no finite maximum
    likelihood: its slope runs to ±infinity.
    """
    events, others = p[y == 1], p[y == 0]
    return bool(events.min() >= others.max() or events.max() <= others.min())


def _max_likelihood(F: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Unpenalised logistic regression to full precision: ``(weights, intercept)``."""
    with warnings.catch_warnings():  # tiny or near-separable samples: sklearn falls back to
        warnings.simplefilter("ignore", LinAlgWarning)  # lbfgs; the callers' guards decide
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10,
                               max_iter=200).fit(F, y)
    return m.coef_[0], float(m.intercept_[0])


def _shift_to_mean(logit: np.ndarray, rate: float) -> float:
    """Intercept ``b`` with mean(sigmoid(logit + b)) equal to ``rate``.

    The mean rises monotonically from 0 to 1 with ``b``; the bracket reaches from below the
    smallest log-odds to above the largest, so the root is always inside it.
    """
    from scipy.optimize import brentq

    rate = float(np.clip(rate, 1e-6, 1 - 1e-6))

    def gap(b: float) -> float:
        return float(np.mean(expit(logit + b))) - rate

    reach = 50.0 + float(np.max(np.abs(logit)))
    return float(brentq(gap, -reach, reach, xtol=1e-12))


def _raw(pd_raw) -> np.ndarray:
    p = np.asarray(pd_raw, dtype=float)
    if p.ndim == 2 and p.shape[1] in (1, 2):  # one column, or predict_proba output
        p = p[:, -1]
    if p.ndim != 1:
        raise ValueError(f"raw PDs must be one value per row (a 1-D array, one column, or "
                         f"predict_proba's two columns); got shape {p.shape}")
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise ValueError("raw PDs must be probabilities in [0, 1] without missing values")
    return p
