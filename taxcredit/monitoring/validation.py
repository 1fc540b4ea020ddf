"""Validation of a fitted strategy on labelled samples (SR 11-7 / IRB-style evidence).

For each sample (train, calibration, out of time, or any the bank names): discrimination
(AUC, KS, Gini with bootstrap confidence intervals, Brier), the gains table, rank ordering
and calibration by grade (predicted vs observed default rate, with a one-sided binomial test
and the Jeffreys test), score stability (PSI) and feature stability (CSI) against the
reference sample, the scorecard's binning tables and the model card — as DataFrames
(:class:`ValidationReport`), rendered by :mod:`taxcredit.monitoring.report`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import beta, binom

from ..data import TaxDataset
from ..features import build_features
from ..modeling import WoEScorecard, metrics
from ..strategy import Strategy
from ..strategy.strategy import labelled, matured

__all__ = ["PSI_ACT", "PSI_WATCH", "ValidationReport", "card_samples", "grade_table",
           "stability_index", "validate"]

#: PSI below which a distribution is stable; from which it is acted on (industry heuristics).
PSI_WATCH, PSI_ACT = 0.10, 0.25


@dataclass
class ValidationReport:
    """Everything a validator reads, as DataFrames.

    Attributes
    ----------
    strategy : str
    summary : DataFrame
        One row per sample: n, defaults, default rate, mean PD, AUC, KS, Gini (each with
        ``_lo`` / ``_hi`` bootstrap bounds), Brier, score PSI against the reference.
    gains, grades : dict of sample → DataFrame
        Gains table by PD decile; calibration and rank ordering by grade.
    curves : dict of sample → DataFrame
        ROC (``fpr``, ``tpr``) and KS (``score``, ``cum_bad``, ``cum_good``) points.
    stability : DataFrame
        PSI of the PD and of every model feature (CSI) of each sample against the reference,
        with a status (stable / watch / act).
    binning : dict of feature → DataFrame
        The scorecard's binning tables (empty for other models).
    card : dict
        The strategy's model card.
    findings : list of str
        What a validator should look at (failed tests, instability, broken rank ordering).
    """

    strategy: str
    reference: str
    summary: pd.DataFrame
    gains: dict[str, pd.DataFrame]
    grades: dict[str, pd.DataFrame]
    curves: dict[str, dict[str, pd.DataFrame]]
    stability: pd.DataFrame
    binning: dict[str, pd.DataFrame] = field(default_factory=dict)
    card: dict = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    scores: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (``grades_<sample>``, ``gains_<sample>``, ``bins_<feature>``…).

        Names are whole, so two samples never share one; the Excel workbook shortens them to
        legal, unique sheet names.
        """
        out = {"summary": self.summary, "stability": self.stability}
        for name, t in self.grades.items():
            out[f"grades_{name}"] = t
        for name, t in self.gains.items():
            out[f"gains_{name}"] = t
        for feat, t in self.binning.items():
            out[f"bins_{feat}"] = t
        card = pd.DataFrame({"item": list(self.card), "value": [
            v if isinstance(v, (str, int, float)) else str(v) for v in self.card.values()]})
        out["model_card"] = card
        out["findings"] = pd.DataFrame({"finding": self.findings or ["none"]})
        return out

    def to_html(self, path) -> str:
        """Write one self-contained HTML file (see :mod:`taxcredit.monitoring.report`)."""
        from .report import write_html

        return write_html(self, path)

    def to_excel(self, path) -> str:
        """Write an Excel workbook: one sheet per table (needs openpyxl)."""
        from .report import write_excel

        return write_excel(self, path)


def card_samples(strategy: Strategy, ds: TaxDataset, target: str | None = None, *,
                 horizon_months: int = 12) -> dict[str, pd.DataFrame]:
    """Split the matured, labelled applications by the model card's windows.

    ``train`` and ``calibration`` are the windows the strategy was fitted on; ``out_of_time``
    is every later one. Only applications whose outcome window (``horizon_months``) ended by
    the last observation date count: a recent application has a known outcome only if it
    already defaulted, and keeping those would inflate the default rate.
    """
    card = strategy.card_
    if "training_window" not in card:
        raise ValueError(f"strategy {strategy.spec.name!r} has no model card windows: fit it "
                         "first, or pass the samples yourself")
    target = target or card.get("target", "default_12m")
    apps = matured(labelled(ds, target, "validation"), horizon_months)
    d = apps["application_date"]
    t0, t1 = (pd.Timestamp(x) for x in card["training_window"])
    c0, c1 = (pd.Timestamp(x) for x in card["calibration_window"])
    # a day is in one sample (cards written before fits split on a day boundary could share
    # the boundary day: it counts as calibration)
    out = {"train": apps[(d >= t0) & (d <= t1) & (d < c0)],
           "calibration": apps[(d >= c0) & (d <= c1)], "out_of_time": apps[d > c1]}
    return {k: v for k, v in out.items() if len(v)}


def _bootstrap(y: np.ndarray, p: np.ndarray, n_boot: int, rng: np.random.Generator,
               level: float) -> dict[str, tuple[float, float]]:
    stats = {"auc": [], "ks": []}
    n = len(y)
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        yb = y[i]
        if yb.min() == yb.max():
            continue
        stats["auc"].append(metrics.auc(yb, p[i]))
        stats["ks"].append(metrics.ks(yb, p[i]))
    a = (1 - level) / 2
    out = {k: (float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) if v else
           (np.nan, np.nan) for k, v in stats.items()}
    out["gini"] = (2 * out["auc"][0] - 1, 2 * out["auc"][1] - 1)
    return out


def _curves(y: np.ndarray, p: np.ndarray) -> dict[str, pd.DataFrame]:
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # one point per distinct score
    tp = np.cumsum(ys)[last]
    fp = np.cumsum(1 - ys)[last]
    n1, n0 = max(ys.sum(), 1), max(len(ys) - ys.sum(), 1)
    roc = pd.DataFrame({"fpr": np.r_[0.0, fp / n0], "tpr": np.r_[0.0, tp / n1]})
    ks = pd.DataFrame({"pd": ps[last], "cum_bad": tp / n1, "cum_good": fp / n0})
    return {"roc": roc, "ks": ks}


def grade_table(y, pd_, grades, order: list[str], *, min_n: int = 30) -> pd.DataFrame:
    """Calibration and rank ordering by grade, with the binomial and Jeffreys tests.

    ``rank_ok``: the grade's observed default rate is not below that of the previous grade
    with at least ``min_n`` loans (smaller grades are always ``True`` and skipped over).

    ``p_binomial``: P(at least the observed defaults | the grade's mean PD), one-sided — small
    means the PD underestimates the risk. ``p_jeffreys``: the Jeffreys posterior probability
    (Beta(d + ½, n − d + ½)) that the true default rate is at or below the mean PD — the
    EBA/ECB back-test; small means the same.
    """
    g = pd.Categorical(np.asarray(grades, dtype=object), categories=order, ordered=True)
    t = metrics.calibration_table(y, pd_, g)
    n, d, m = t["n"].to_numpy(), t["n_event"].to_numpy(), t["mean_pd"].to_numpy()
    t["p_binomial"] = binom.sf(d - 1, n, m)
    t["p_jeffreys"] = beta.cdf(m, d + 0.5, n - d + 0.5)
    # rank ordering among the grades with enough loans to say anything (min_n)
    big = (t["n"] >= min_n).to_numpy()
    rates = t["observed_rate"].to_numpy()[big]
    ok = np.ones(len(t), dtype=bool)
    ok[np.flatnonzero(big)] = np.r_[True, rates[1:] >= rates[:-1]]
    t["rank_ok"] = ok
    return t.rename(columns={"group": "grade"})


def _frame(ds: TaxDataset, rows: pd.DataFrame, strategy: Strategy) -> pd.DataFrame:
    pairs = rows[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    return build_features(ds, as_of=pairs, features=strategy.spec.needed_features())


def validate(strategy: Strategy, ds: TaxDataset, samples: dict[str, pd.DataFrame] | None = None,
             *, target: str | None = None, reference: str | None = None, n_boot: int = 200,
             level: float = 0.95, random_state: int = 0) -> ValidationReport:
    """Validate a fitted strategy on labelled samples.

    Parameters
    ----------
    strategy : Strategy
        Fitted.
    ds : TaxDataset
        Tax data with the applications.
    samples : dict of name → DataFrame, optional
        Applications (``uscc``, ``application_date`` and the target) per sample; default:
        the model card's windows (:func:`card_samples`).
    target : str, optional
        Outcome column (default: the model card's).
    reference : str, optional
        The sample stability is measured against (default: the first).
    n_boot : int
        Bootstrap resamples for the confidence intervals.
    level : float
        Confidence level of the intervals.
    random_state : int
    """
    strategy._check_fitted()
    target = target or strategy.card_.get("target", "default_12m")
    if samples is None:
        samples = card_samples(strategy, ds, target)
        if samples and "out_of_time" not in samples:
            warnings.warn(
                f"validate: no matured application after the calibration window (ends "
                f"{strategy.card_['calibration_window'][1]}), so no out-of-time sample — the "
                "report covers the samples the model was fitted on only; fit with until= to "
                "keep a later cohort out of time, or pass samples=", UserWarning, stacklevel=2)
    if not samples:
        raise ValueError("no samples to validate on")
    for name, s in samples.items():
        missing = sorted({"uscc", "application_date", target} - set(s.columns))
        if missing:
            raise ValueError(f"sample {name!r} lacks column(s) {missing}")
        if not s[target].notna().any():
            raise ValueError(f"sample {name!r} has no application with a known {target} "
                             f"({len(s)} row(s)): nothing to validate on")
    reference = reference or next(iter(samples))
    if reference not in samples:
        raise ValueError(f"reference {reference!r} is not one of the samples {list(samples)}")
    rng = np.random.default_rng(random_state)
    order = list(strategy.spec.grades.grades)
    feats = strategy.spec.feature_list()
    rows, gains, grades, curves, scored = [], {}, {}, {}, {}
    for name, s in samples.items():
        s = s[s[target].notna()]
        X = _frame(ds, s, strategy)
        out = strategy.decide_features(X, reasons="none")
        y = s[target].astype(int).to_numpy()
        p = out["pd"].to_numpy()
        scored[name] = pd.concat([X[feats].reset_index(drop=True),
                                  pd.DataFrame({"pd": p, "score": out["score"].to_numpy(),
                                                "grade": out["grade"].to_numpy(), "y": y})],
                                 axis=1)
        both = 0 < y.sum() < len(y)
        ci = _bootstrap(y, p, n_boot, rng, level) if both else {}
        row = {"sample": name, "n": len(y), "defaults": int(y.sum()),
               "default_rate": float(y.mean()) if len(y) else np.nan,
               "mean_pd": float(p.mean()) if len(p) else np.nan}
        for k, f in (("auc", metrics.auc), ("ks", metrics.ks), ("gini", metrics.gini)):
            row[k] = f(y, p) if both else np.nan
            row[f"{k}_lo"], row[f"{k}_hi"] = ci.get(k, (np.nan, np.nan))
        row["brier"] = metrics.brier(y, p) if len(y) else np.nan
        rows.append(row)
        if both:
            gains[name] = metrics.gains_table(y, p)
            curves[name] = _curves(y, p)
        grades[name] = grade_table(y, p, out["grade"].astype(str), order)
    summary = pd.DataFrame(rows)
    stability = _stability(scored, reference, feats)
    summary["psi_score"] = summary["sample"].map(
        stability[stability["variable"] == "pd"].set_index("sample")["psi"]).to_numpy()
    binning = {}
    if isinstance(strategy.model_, WoEScorecard):
        binning = {f: strategy.model_.binner_.binning_table(f) for f in strategy.model_.selected_}
    report = ValidationReport(strategy=strategy.spec.name, reference=reference, summary=summary,
                              gains=gains, grades=grades, curves=curves, stability=stability,
                              binning=binning, card=dict(strategy.card_), scores=scored)
    report.findings = _findings(report)
    return report


def _stability(scored: dict[str, pd.DataFrame], reference: str, feats: list[str]
               ) -> pd.DataFrame:
    ref = scored[reference]
    rows = []
    for name, s in scored.items():
        if name == reference:
            continue
        for var in ["pd", *feats]:
            if ref[var].notna().sum() < 10 or not len(s[var]):
                continue
            rows.append({"sample": name, "variable": var, "psi": stability_index(ref[var],
                                                                                 s[var])})
    t = pd.DataFrame(rows, columns=["sample", "variable", "psi"])
    t["status"] = np.where(t["psi"] >= PSI_ACT, "act",
                           np.where(t["psi"] >= PSI_WATCH, "watch", "stable"))
    return t


def stability_index(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    """PSI of a numeric column (deciles of ``expected``) or of a categorical one (categories).

    A categorical column compares the shares of each category (missing values a category of
    their own), with the same empty-cell rule as :func:`taxcredit.modeling.metrics.psi`.
    """
    if expected.dtype.kind in "biuf" and actual.dtype.kind in "biuf":
        return metrics.psi(expected.to_numpy(dtype=float), actual.to_numpy(dtype=float),
                           bins=bins)
    e = expected.astype(object).where(expected.notna(), "∅").astype(str).value_counts()
    a = actual.astype(object).where(actual.notna(), "∅").astype(str).value_counts()
    cats = e.index.union(a.index)
    ce = e.reindex(cats, fill_value=0).to_numpy(dtype=float)
    ca = a.reindex(cats, fill_value=0).to_numpy(dtype=float)
    ce[ce == 0] = metrics.ZERO_CELL
    ca[ca == 0] = metrics.ZERO_CELL
    pe, pa = ce / ce.sum(), ca / ca.sum()
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def _findings(r: ValidationReport) -> list[str]:
    out = []
    for name, t in r.grades.items():
        low = t[(t["n"] >= 30) & ((t["p_binomial"] < 0.05) | (t["p_jeffreys"] < 0.05))]
        for g in low["grade"]:
            out.append(f"{name}: grade {g} defaults more than its PD (binomial/Jeffreys p < 0.05)")
        if not t["rank_ok"].all():
            out.append(f"{name}: observed default rates do not rise grade by grade")
    shifted = r.stability[r.stability["status"] == "act"]
    for name, t in shifted.groupby("sample", sort=False):
        if (t["variable"] == "pd").any():
            psi = float(t.loc[t["variable"] == "pd", "psi"].iloc[0])
            out.append(f"{name}: the PD distribution shifted (PSI {psi:.2f} ≥ {PSI_ACT})")
        feats = t[t["variable"] != "pd"].sort_values("psi", ascending=False)
        if len(feats):
            top = ", ".join(f"{v} {p:.2f}" for v, p in zip(feats["variable"].head(5),
                                                            feats["psi"].head(5), strict=True))
            out.append(f"{name}: {len(feats)} feature(s) shifted (CSI ≥ {PSI_ACT}): {top}"
                       + (" …" if len(feats) > 5 else ""))
    for row in r.summary.itertuples():
        if row.sample != r.reference and np.isfinite(row.auc):
            ref = r.summary.set_index("sample").loc[r.reference, "auc"]
            if np.isfinite(ref) and row.auc < ref - 0.05:
                out.append(f"{row.sample}: AUC {row.auc:.3f} is more than 0.05 below "
                           f"{r.reference}'s {ref:.3f}")
    return out
