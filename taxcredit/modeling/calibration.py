"""PD calibration on held-out data, and prior correction for re-sampled training data.

A calibrator maps a model's raw PD to a calibrated one. Both methods are plain numbers once
fitted (two coefficients; or the isotonic step function's knots), so they round-trip through
JSON like every other fitted object.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
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
    return 1 / (1 + np.exp(-(_logit(np.asarray(pd_, dtype=float)) + shift)))


class PDCalibrator(TransformerMixin, BaseEstimator):
    """Calibrate raw PDs against observed outcomes on held-out data.

    Parameters
    ----------
    method : {"platt", "isotonic"}, default "platt"
        ``platt``: a logistic regression on the raw PD's log-odds (two parameters, smooth,
        keeps the ranking; when the data do not support a positive slope — a handful of
        events — only the level is moved, so the ranking is never reversed); ``isotonic``: a
        monotone step function (needs more data; ties
        neighbouring PDs).

    Attributes
    ----------
    coef_, intercept_ : float
        Platt: calibrated log-odds = ``intercept_ + coef_ · raw log-odds``.
    x_, y_ : numpy.ndarray
        Isotonic: the knots (raw PD → calibrated PD), interpolated linearly, clipped outside.
    """

    def __init__(self, method: str = "platt") -> None:
        self.method = method

    def fit(self, pd_raw, y):
        """Fit on raw PDs and the outcomes they should predict."""
        if self.method not in ("platt", "isotonic"):
            raise ValueError(f"method must be 'platt' or 'isotonic', got {self.method!r}")
        p = _raw(pd_raw)
        yy = _binary_y(y, len(p))
        if self.method == "platt":
            lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
            lr.fit(_logit(p).reshape(-1, 1), yy)
            self.coef_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
            if not self.coef_ > 0:  # too little data to trust a slope: never reverse ranks
                self.coef_, self.intercept_ = 1.0, _shift_to_mean(_logit(p), yy.mean())
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip",
                                     increasing=True).fit(p, yy)
            self.x_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.y_ = np.asarray(iso.y_thresholds_, dtype=float)
        self.n_features_in_ = 1
        return self

    def transform(self, pd_raw) -> np.ndarray:
        """Calibrated PDs (1-D)."""
        check_is_fitted(self, "n_features_in_")
        p = _raw(pd_raw)
        if self.method == "platt":
            return 1 / (1 + np.exp(-(self.intercept_ + self.coef_ * _logit(p))))
        return np.interp(p, self.x_, self.y_)

    def to_dict(self) -> dict:
        """Plain data."""
        check_is_fitted(self, "n_features_in_")
        if self.method == "platt":
            return {"method": "platt", "coef": self.coef_, "intercept": self.intercept_}
        return {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> PDCalibrator:
        """Rebuild a fitted calibrator."""
        est = cls(method=d["method"])
        if d["method"] == "platt":
            est.coef_, est.intercept_ = float(d["coef"]), float(d["intercept"])
        else:
            est.x_, est.y_ = np.asarray(d["x"], dtype=float), np.asarray(d["y"], dtype=float)
        est.n_features_in_ = 1
        return est


def _shift_to_mean(logit: np.ndarray, rate: float) -> float:
    """Intercept ``b`` with mean(sigmoid(logit + b)) equal to ``rate``."""
    from scipy.optimize import brentq

    rate = float(np.clip(rate, 1e-6, 1 - 1e-6))

    def gap(b: float) -> float:
        return float(np.mean(1 / (1 + np.exp(-(logit + b))))) - rate

    return float(brentq(gap, -50.0, 50.0))


def _raw(pd_raw) -> np.ndarray:
    p = np.asarray(pd_raw, dtype=float)
    if p.ndim == 2 and p.shape[1] == 2:  # predict_proba output
        p = p[:, 1]
    p = p.ravel()
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise ValueError("raw PDs must be probabilities in [0, 1] without missing values")
    return p
