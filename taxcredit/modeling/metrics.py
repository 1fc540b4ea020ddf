"""Discrimination, stability and calibration metrics for binary credit outcomes.

Conventions (declared, because credit libraries disagree on them — see ``docs/peers.md`` §5):

* ``y`` is 1 for an event (default, "bad") and 0 otherwise.
* ``score`` is a *risk* score: higher means riskier (a PD, or minus points). Pass
  ``higher_is_riskier=False`` for credit points, where higher is safer. The metric values
  never flip sign behind your back.
* Tied scores are grouped: AUC counts a tie as half a win; KS is taken between distinct scores.
* Binned statistics use right-open intervals ``[lower, upper)``: a value equal to an edge goes to
  the upper bin. Missing values get their own bin.
* A bin with no events or no non-events would make WoE, IV or PSI infinite; such a cell counts as
  half an observation (``ZERO_CELL``), and only such cells are adjusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaincinv, ndtr, ndtri
from scipy.stats import rankdata

__all__ = ["ZERO_CELL", "AUCComparison", "auc", "auc_compare", "auc_interval", "brier",
           "calibration_table", "gains_table", "gini", "information_value", "ks", "psi",
           "woe_iv_table"]

#: Count used in place of zero for an empty event or non-event cell.
ZERO_CELL = 0.5


def _xy(y, score, higher_is_riskier: bool = True) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    s = np.asarray(score, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise ValueError(f"y and score must be 1-D and the same length, got shapes {y.shape} "
                         f"and {s.shape}")
    if len(y) == 0:
        raise ValueError("y is empty")
    if np.isnan(s).any():
        rows = np.flatnonzero(np.isnan(s))[:5].tolist()
        raise ValueError(f"score has {int(np.isnan(s).sum())} missing value(s), e.g. at "
                         f"positions {rows}; score or drop them explicitly")
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        seen = sorted(map(str, pd.unique(pd.Series(y.ravel()))))[:6]
        raise ValueError(f"y must hold only 0 and 1 (event = 1), without missing values; "
                         f"got values {seen}")
    y = y.astype(np.int8)
    return y, (s if higher_is_riskier else -s)


def _both_classes(y: np.ndarray, what: str) -> None:
    n1 = int(y.sum())
    if n1 == 0 or n1 == len(y):
        raise ValueError(f"{what} needs both events and non-events; y has only "
                         f"{'events' if n1 else 'non-events'}")


def auc(y, score, *, higher_is_riskier: bool = True) -> float:
    """Area under the ROC curve: P(an event scores riskier than a non-event), ties half.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcomes, 1 = event.
    score : array-like of float
        Risk scores (higher riskier unless ``higher_is_riskier=False``).
    higher_is_riskier : bool
        Orientation of ``score``.

    Returns
    -------
    float
    """
    y, s = _xy(y, score, higher_is_riskier)
    _both_classes(y, "AUC")
    ranks = pd.Series(s).rank(method="average").to_numpy()  # ties share their mean rank
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of the rows of ``scores`` (k × n) and DeLong's covariance of them (k × k).

    Placement values from mid-ranks (Sun & Xu 2014): an event's share of non-events it
    outscores, a non-event's share of events that outscore it, ties counting half.
    """
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    rank_all = rankdata(np.hstack([pos, neg]), axis=1)
    v10 = (rank_all[:, :m] - rankdata(pos, axis=1)) / n
    v01 = 1.0 - (rank_all[:, m:] - rankdata(neg, axis=1)) / m
    aucs = v10.mean(axis=1)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def _delong_input(y, scores: tuple, higher_is_riskier: bool) -> tuple[np.ndarray, np.ndarray]:
    rows = [_xy(y, s, higher_is_riskier) for s in scores]
    yy = rows[0][0]
    _both_classes(yy, "AUC")
    if min(int(yy.sum()), len(yy) - int(yy.sum())) < 2:
        raise ValueError("DeLong's variance needs at least two events and two non-events")
    return yy, np.vstack([s for _, s in rows])


def auc_interval(y, score, *, level: float = 0.95,
                 higher_is_riskier: bool = True) -> tuple[float, float, float]:
    """AUC with DeLong's confidence interval.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcomes, 1 = event.
    score : array-like of float
        Risk scores (higher riskier unless ``higher_is_riskier=False``).
    level : float
        Two-sided confidence level.
    higher_is_riskier : bool
        Orientation of ``score``.

    Returns
    -------
    (auc, lower, upper) : tuple of float
        The interval is the normal one on DeLong's variance, clipped to [0, 1].

    References
    ----------
    DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44(3), 837–845.
    """
    _check_level(level)
    yy, s = _delong_input(y, (score,), higher_is_riskier)
    aucs, cov = _delong(yy, s)
    half = ndtri(0.5 + level / 2) * math.sqrt(max(cov[0, 0], 0.0))
    a = float(aucs[0])
    return a, max(a - half, 0.0), min(a + half, 1.0)


@dataclass(frozen=True)
class AUCComparison:
    """Result of :func:`auc_compare`: two AUCs on the same rows and DeLong's paired test."""

    auc_a: float
    auc_b: float
    difference: float  # auc_a − auc_b
    std_error: float
    z: float
    p_value: float  # two-sided, H0: equal AUCs
    lower: float  # confidence interval of the difference
    upper: float
    level: float


def auc_compare(y, score_a, score_b, *, level: float = 0.95,
                higher_is_riskier: bool = True) -> AUCComparison:
    """Compare the AUCs of two scores on the same rows (DeLong's paired test).

    For champion/challenger questions: is the challenger's higher AUC more than the noise of
    this sample? The two scores' errors are correlated (same rows, same outcomes), which this
    test accounts for and comparing two separate intervals does not.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcomes, 1 = event.
    score_a, score_b : array-like of float
        Risk scores of the two models for the same rows (higher riskier unless
        ``higher_is_riskier=False``, which applies to both).
    level : float
        Two-sided confidence level of the interval of the difference.
    higher_is_riskier : bool
        Orientation of both scores.

    Returns
    -------
    AUCComparison
        Both AUCs, ``difference = auc_a − auc_b``, its standard error, ``z``, the two-sided
        ``p_value`` (1.0 when the scores rank the rows identically) and the interval.

    References
    ----------
    DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44(3), 837–845; the mid-rank
    computation of Sun & Xu (2014), *IEEE Signal Processing Letters* 21(11), 1389–1393.
    """
    _check_level(level)
    yy, s = _delong_input(y, (score_a, score_b), higher_is_riskier)
    aucs, cov = _delong(yy, s)
    diff = float(aucs[0] - aucs[1])
    se = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
    if se == 0.0:  # identical placements: no evidence of a difference
        z, p = 0.0, 1.0
    else:
        z = diff / se
        p = float(2 * ndtr(-abs(z)))
    half = ndtri(0.5 + level / 2) * se
    return AUCComparison(auc_a=float(aucs[0]), auc_b=float(aucs[1]), difference=diff,
                         std_error=se, z=z, p_value=p, lower=diff - half, upper=diff + half,
                         level=level)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")


def gini(y, score, *, higher_is_riskier: bool = True) -> float:
    """Gini coefficient (accuracy ratio) ``2 * AUC - 1``."""
    return 2.0 * auc(y, score, higher_is_riskier=higher_is_riskier) - 1.0


def ks(y, score, *, higher_is_riskier: bool = True) -> float:
    """Kolmogorov–Smirnov statistic.

    The largest gap between the cumulative distributions of events and non-events, evaluated
    between distinct score values (ties grouped).
    """
    y, s = _xy(y, score, higher_is_riskier)
    _both_classes(y, "KS")
    order = np.argsort(s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.append(s[1:] != s[:-1], True)  # the last row of each distinct score
    cum1 = np.cumsum(y)[last] / y.sum()
    cum0 = np.cumsum(1 - y)[last] / (len(y) - y.sum())
    return float(np.max(np.abs(cum1 - cum0)))


def brier(y, pd_) -> float:
    """Brier score: mean squared error of predicted probabilities."""
    y, p = _xy(y, pd_)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("brier needs probabilities in [0, 1]")
    return float(np.mean((p - y) ** 2))


def woe_iv_table(events, non_events) -> pd.DataFrame:
    """WoE and IV of bins given their event and non-event counts.

    ``WoE = ln(share of events / share of non-events)``: positive WoE means riskier than
    average. A zero count is replaced by :data:`ZERO_CELL` (and only then).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_event``, ``n_nonevent``, ``woe``, ``iv`` (the bin's IV contribution).
    """
    e = np.asarray(events, dtype=float)
    ne = np.asarray(non_events, dtype=float)
    if e.shape != ne.shape or e.ndim != 1:
        raise ValueError("events and non_events must be 1-D of the same length")
    if (e < 0).any() or (ne < 0).any():
        raise ValueError("counts must be non-negative")
    empty = (e + ne) == 0
    ea = np.where((e == 0) & ~empty, ZERO_CELL, e)
    nea = np.where((ne == 0) & ~empty, ZERO_CELL, ne)
    te, tne = ea.sum(), nea.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pe, pne = ea / te, nea / tne
        woe = np.where(empty, 0.0, np.log(pe / pne))
    iv = np.where(empty, 0.0, (pe - pne) * woe)
    return pd.DataFrame({"n_event": e, "n_nonevent": ne, "woe": woe, "iv": iv})


def information_value(x, y, *, bins: int | np.ndarray | None = None) -> float:
    """Information value of a feature against the outcome.

    Parameters
    ----------
    x : array-like
        A binned (categorical / integer code) feature, or a numeric one with ``bins``.
    y : array-like of {0, 1}
        Outcomes.
    bins : int or array of edges, optional
        Cut a numeric ``x`` into this many quantile bins, or at these edges (right-open);
        missing values form their own bin.
    """
    y = np.asarray(y)
    x = pd.Series(np.asarray(x) if not isinstance(x, pd.Series) else x.to_numpy())
    if bins is not None:
        x = pd.Series(_cut(x.to_numpy(dtype=float), _edges(x.to_numpy(dtype=float), bins)))
    codes, _ = pd.factorize(x, use_na_sentinel=False)
    y, _ = _xy(y, np.zeros(len(y)))
    n = codes.max() + 1
    e = np.bincount(codes, weights=y, minlength=n)
    ne = np.bincount(codes, minlength=n) - e
    return float(woe_iv_table(e, ne)["iv"].sum())


def _edges(x: np.ndarray, bins) -> np.ndarray:
    if np.ndim(bins) == 0:
        finite = x[~np.isnan(x)]
        if not len(finite):
            return np.array([])
        with np.errstate(invalid="ignore"):  # between two infinities: NaN, dropped
            q = np.quantile(finite, np.linspace(0, 1, int(bins) + 1)[1:-1])
        return np.unique(q[~np.isnan(q)])
    return np.sort(np.asarray(bins, dtype=float))


def _cut(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value (right-open bins); missing → -1."""
    idx = np.searchsorted(edges, x, side="right")
    return np.where(np.isnan(x), -1, idx)


def psi(expected, actual, *, bins: int | np.ndarray = 10) -> float:
    """Compute the population stability index of ``actual`` against ``expected``.

    Parameters
    ----------
    expected, actual : array-like of float
        The reference sample (e.g. development scores) and the one to compare.
    bins : int or array of edges
        Quantile bins of ``expected`` (default 10) or explicit edges; right-open, with the
        lowest and highest bins open-ended; missing values are a bin of their own. An empty
        cell counts as :data:`ZERO_CELL` observations, so PSI stays finite.

    Returns
    -------
    float
        ``Σ (a − e) · ln(a / e)`` over bins of shares ``e`` (expected) and ``a`` (actual).
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if not len(e) or not len(a):
        raise ValueError("psi needs non-empty expected and actual samples")
    edges = _edges(e, bins)
    n = len(edges) + 2  # bins 0..len(edges), missing last
    ce = np.bincount(np.where(np.isnan(e), n - 1, _cut(e, edges)), minlength=n).astype(float)
    ca = np.bincount(np.where(np.isnan(a), n - 1, _cut(a, edges)), minlength=n).astype(float)
    used = (ce + ca) > 0
    ce, ca = ce[used], ca[used]
    ce[ce == 0] = ZERO_CELL
    ca[ca == 0] = ZERO_CELL
    pe, pa = ce / ce.sum(), ca / ca.sum()
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def gains_table(y, score, *, n_bands: int = 10, higher_is_riskier: bool = True,
                ) -> pd.DataFrame:
    """Gains (lift / capture) table by score band, riskiest band first.

    Bands are quantiles of the score with tied scores kept together (so bands can differ in
    size). Columns: ``band``, ``min_score``, ``max_score``, ``n``, ``n_event``,
    ``event_rate``, ``cum_share`` (of population, riskiest first), ``cum_capture`` (share of
    all events), ``cum_event_rate``, ``lift`` (band event rate over the overall one),
    ``cum_lift`` and ``ks`` (the gap between cumulative event and non-event shares).
    """
    y, s = _xy(y, score, higher_is_riskier)
    _both_classes(y, "a gains table")
    order = np.argsort(-s, kind="mergesort")  # riskiest first
    s_sorted = s[order]
    rank = pd.Series(-s_sorted).rank(method="max").to_numpy()  # ties share the band
    band = np.minimum((np.ceil(rank * n_bands / len(s)) - 1).astype(int), n_bands - 1)
    _, band = np.unique(band, return_inverse=True)
    y_sorted = y[order]
    g = pd.DataFrame({"band": band + 1, "score": s_sorted if higher_is_riskier else -s_sorted,
                      "y": y_sorted})
    t = g.groupby("band").agg(min_score=("score", "min"), max_score=("score", "max"),
                              n=("y", "size"), n_event=("y", "sum")).reset_index()
    total_e, total = y.sum(), len(y)
    t["event_rate"] = t["n_event"] / t["n"]
    t["cum_share"] = t["n"].cumsum() / total
    t["cum_capture"] = t["n_event"].cumsum() / total_e
    t["cum_event_rate"] = t["n_event"].cumsum() / t["n"].cumsum()
    t["lift"] = t["event_rate"] / (total_e / total)
    t["cum_lift"] = t["cum_event_rate"] / (total_e / total)
    cum_ne = (t["n"] - t["n_event"]).cumsum() / (total - total_e)
    t["ks"] = (t["cum_capture"] - cum_ne).abs()
    return t


def calibration_table(y, pd_, groups, *, level: float = 0.95) -> pd.DataFrame:
    """Observed against predicted default rate per group (e.g. per grade).

    The interval is the Jeffreys interval of the observed rate — Beta(d + ½, n − d + ½)
    quantiles, the EBA/ECB choice for PD back-testing; ``within`` says whether the mean
    predicted PD lies inside it.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcomes.
    pd_ : array-like of float
        Predicted probabilities.
    groups : array-like
        Group of each row (grades); the table follows their sorted order (categorical order
        for a categorical). Rows without a group are a group of their own (last, labelled
        missing), never left out.
    level : float
        Two-sided confidence level, in (0, 1).
    """
    _check_level(level)
    y, p = _xy(y, pd_)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("calibration_table needs predicted probabilities in [0, 1]")
    g = pd.Series(groups).reset_index(drop=True)
    if len(g) != len(y):
        raise ValueError("groups must have the same length as y")
    t = (pd.DataFrame({"group": g, "y": y, "pd": p})
         .groupby("group", observed=True, sort=True, dropna=False)
         .agg(n=("y", "size"), n_event=("y", "sum"), mean_pd=("pd", "mean")).reset_index())
    t["observed_rate"] = t["n_event"] / t["n"]
    alpha = (1 - level) / 2
    a, b = t["n_event"] + 0.5, t["n"] - t["n_event"] + 0.5
    t["lower"] = np.where(t["n_event"] > 0, betaincinv(a, b, alpha), 0.0)
    t["upper"] = np.where(t["n_event"] < t["n"], betaincinv(a, b, 1 - alpha), 1.0)
    t["within"] = (t["mean_pd"] >= t["lower"]) & (t["mean_pd"] <= t["upper"])
    return t
