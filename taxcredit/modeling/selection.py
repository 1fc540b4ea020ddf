"""Feature selection for a WoE logistic regression: IV, correlation, VIF, stepwise, sign checks.

Every step records why a feature left (``dropped`` rows: feature, step, reason), so a model
reviewer can follow each decision.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression

__all__ = ["LogitFit", "fit_logit", "select_features"]


class LogitFit:
    """A logistic regression with the statistics bankers ask for.

    Attributes
    ----------
    intercept : float
    coef : numpy.ndarray
    table : pandas.DataFrame
        ``feature``, ``coef``, ``std_err``, ``z``, ``p_value`` (Wald, from the observed
        information matrix; the intercept is the first row, named ``(intercept)``).
    log_likelihood, aic, bic : float
    """

    def __init__(self, W: np.ndarray, y: np.ndarray, names: list[str], C: float | None) -> None:
        n, k = W.shape
        if k:
            # C=inf: no penalty (the classic scorecard, whose p-values are then exact)
            lr = LogisticRegression(C=np.inf if C is None else C, solver="lbfgs",
                                    max_iter=2000, tol=1e-10)
            lr.fit(W, y)
            self.intercept = float(lr.intercept_[0])
            self.coef = lr.coef_[0].astype(float)
        else:
            rate = float(np.clip(y.mean(), 1e-12, 1 - 1e-12))
            self.intercept = math.log(rate / (1 - rate))
            self.coef = np.zeros(0)
        X1 = np.column_stack([np.ones(n), W])
        eta = X1 @ np.r_[self.intercept, self.coef]
        p = 1 / (1 + np.exp(-eta))
        info = X1.T @ (X1 * (p * (1 - p))[:, None])
        try:
            cov = np.linalg.inv(info)
            se = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            se = np.full(k + 1, np.nan)
        beta = np.r_[self.intercept, self.coef]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = beta / se
        self.table = pd.DataFrame({"feature": ["(intercept)", *names], "coef": beta,
                                   "std_err": se, "z": z,
                                   "p_value": 2 * stats.norm.sf(np.abs(z))})
        eps = 1e-15
        self.log_likelihood = float(np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        self.aic = 2 * (k + 1) - 2 * self.log_likelihood
        self.bic = math.log(n) * (k + 1) - 2 * self.log_likelihood


def fit_logit(W: pd.DataFrame, y: np.ndarray, C: float | None = None) -> LogitFit:
    """Fit a logistic regression of ``y`` on the columns of ``W``."""
    return LogitFit(W.to_numpy(dtype=float), y, [str(c) for c in W.columns], C)


def _vif(W: pd.DataFrame) -> pd.Series:
    """Variance inflation factors (the diagonal of the inverse correlation matrix)."""
    if W.shape[1] < 2:
        return pd.Series(1.0, index=W.columns)
    corr = np.corrcoef(W.to_numpy(dtype=float), rowvar=False)
    inv = np.linalg.pinv(corr)
    return pd.Series(np.diag(inv), index=W.columns)


def select_features(W: pd.DataFrame, y: np.ndarray, iv: pd.Series, *, min_iv: float,
                    max_corr: float | None, max_vif: float | None, stepwise: bool,
                    sign_check: str, C: float | None,
                    ) -> tuple[list[str], pd.DataFrame, LogitFit]:
    """Choose the features of a WoE logistic regression and fit it.

    Steps, in order: IV at least ``min_iv``; of two features with WoE correlation above
    ``max_corr`` keep the higher IV; drop the highest VIF while above ``max_vif``; optional
    forward stepwise by BIC; then coefficients must be positive (WoE is positive for riskier
    bins, so a negative coefficient reverses a feature's evidence): ``sign_check="drop"``
    removes the worst offender and refits until none is left, ``"error"`` raises, ``"ignore"``
    keeps them.

    Returns
    -------
    selected : list of str
    dropped : pandas.DataFrame
        ``feature``, ``step``, ``reason``.
    fit : LogitFit
    """
    dropped: list[dict] = []
    order = iv.sort_values(ascending=False, kind="mergesort")
    keep = []
    for name, value in order.items():
        if value < min_iv:
            dropped.append({"feature": name, "step": "iv",
                            "reason": f"IV {value:.4f} below {min_iv}"})
        elif W[name].std() == 0:
            dropped.append({"feature": name, "step": "iv", "reason": "a single bin (constant)"})
        else:
            keep.append(name)
    if max_corr is not None and len(keep) > 1:
        corr = W[keep].corr().abs()
        kept: list[str] = []
        for name in keep:  # highest IV first
            clash = [k for k in kept if corr.loc[name, k] > max_corr]
            if clash:
                dropped.append({"feature": name, "step": "correlation",
                                "reason": f"|corr| {corr.loc[name, clash[0]]:.2f} with "
                                          f"{clash[0]} (higher IV)"})
            else:
                kept.append(name)
        keep = kept
    if max_vif is not None:
        while len(keep) > 1:
            v = _vif(W[keep])
            worst = v.idxmax()
            if v[worst] <= max_vif:
                break
            dropped.append({"feature": worst, "step": "vif",
                            "reason": f"VIF {v[worst]:.1f} above {max_vif}"})
            keep.remove(worst)
    if stepwise and keep:
        chosen: list[str] = []
        best = fit_logit(W[[]], y, C).bic
        candidates = list(keep)
        while candidates:
            trials = {c: fit_logit(W[[*chosen, c]], y, C).bic for c in candidates}
            c = min(trials, key=lambda k: (trials[k], candidates.index(k)))
            if trials[c] >= best:
                break
            best = trials[c]
            chosen.append(c)
            candidates.remove(c)
        for c in candidates:
            dropped.append({"feature": c, "step": "stepwise",
                            "reason": "does not lower BIC given the others"})
        keep = chosen
    fit = fit_logit(W[keep], y, C)
    while sign_check != "ignore" and len(keep) and (fit.coef <= 0).any():
        bad = [keep[i] for i in np.flatnonzero(fit.coef <= 0)]
        if sign_check == "error":
            raise ValueError(f"coefficient(s) of {bad} are not positive: their WoE evidence "
                             "is reversed (collinearity?); drop them or use sign_check='drop'")
        worst = keep[int(np.argmin(fit.coef))]
        dropped.append({"feature": worst, "step": "sign",
                        "reason": f"coefficient {fit.coef.min():.3f} ≤ 0 (reverses its WoE)"})
        keep.remove(worst)
        fit = fit_logit(W[keep], y, C)
    return keep, pd.DataFrame(dropped, columns=["feature", "step", "reason"]), fit
