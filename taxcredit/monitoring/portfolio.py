"""Portfolio monitoring over time: stability against development, grades, migration, vintages.

For a series of as-of dates (month-ends, say) the book is scored as known at each date; the
PD and every model feature are compared with the development sample (PSI / CSI, thresholds
0.10 and 0.25), the grade distribution is tracked, grade migration is tabulated between
consecutive dates, and the applications are followed by vintage (month of application):
approval rate under the strategy and the bad rate of the approved, once their outcome
window has matured.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..features import build_features
from ..features.engine import as_of_dates
from ..strategy import Strategy
from ._book import book_codes
from .validation import PSI_ACT, PSI_WATCH, card_samples, stability_index

__all__ = ["PortfolioMonitor", "monitor_portfolio"]


@dataclass
class PortfolioMonitor:
    """Monitoring tables, one row per date (or vintage).

    Attributes
    ----------
    stability : DataFrame
        ``as_of``, ``variable`` (``pd`` or a feature), ``n_book`` (enterprises on the book),
        ``psi`` and ``status`` (stable / watch / act) against the development sample; a
        date with nobody on the book yet has PSI NaN and status ``empty book``.
    grades : DataFrame
        Share of the book in each grade (columns) per ``as_of`` (rows); all 0 for an empty
        book.
    migration : dict of (from, to) → DataFrame
        Row-normalised grade migration between consecutive dates (enterprises on the book at
        both).
    vintages : DataFrame
        Per application month: ``applications``, ``approved``, ``approval_rate``,
        ``matured`` (approved with a matured outcome), ``defaults``, ``bad_rate``.
    findings : list of str
    """

    stability: pd.DataFrame
    grades: pd.DataFrame
    migration: dict = field(default_factory=dict)
    vintages: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by a sheet-friendly name."""
        out = {"stability": self.stability, "grades": self.grades.reset_index(),
               "vintages": self.vintages}
        for (a, b), m in self.migration.items():
            out[f"migration_{a:%Y%m%d}_{b:%Y%m%d}"] = m.reset_index()
        out["findings"] = pd.DataFrame({"finding": self.findings or ["none"]})
        return out

    def to_html(self, path) -> str:
        """Write one self-contained HTML file (plots embedded)."""
        from .report import write_portfolio_html

        return write_portfolio_html(self, path)

    def to_excel(self, path) -> str:
        """Write an Excel workbook: one sheet per table (needs openpyxl)."""
        from .report import write_excel

        return write_excel(self, path)


def _score(strategy: Strategy, ds: TaxDataset, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    X = build_features(ds, as_of=as_of, features=strategy.spec.needed_features())
    return X, strategy.decide_features(X, reasons="none")


def monitor_portfolio(strategy: Strategy, ds: TaxDataset, dates, *, book=None,
                      development: pd.DataFrame | None = None,
                      horizon_months: int = 12) -> PortfolioMonitor:
    """Monitor a strategy's book over a series of as-of dates.

    Parameters
    ----------
    strategy : Strategy
        Fitted.
    ds : TaxDataset
        Tax data (and applications, for vintages and the development sample).
    dates : iterable of date-like
        The as-of dates, in order.
    book : iterable of str or DataFrame with a ``uscc`` column, optional
        The enterprises on the book (default: every enterprise of ``ds``).
    development : DataFrame, optional
        The development applications (``uscc``, ``application_date``); default: the
        strategy's training window (:func:`card_samples`).
    horizon_months : int
        Outcome window of the vintages' bad rates.
    """
    strategy._check_fitted()
    dates = [pd.Timestamp(d) for d in as_of_dates(list(dates))]  # days, as features
    if not dates or dates != sorted(dates):
        raise ValueError("dates must be a non-empty, increasing series of as-of dates")
    feats = strategy.spec.feature_list()
    if development is None:
        samples = card_samples(strategy, ds, horizon_months=horizon_months)
        if "train" not in samples:
            t0, t1 = strategy.card_["training_window"]
            raise ValueError(
                f"monitor_portfolio: the data hold no matured application of the strategy's "
                f"training window ({t0} – {t1}) to compare the book with; pass the "
                "development applications yourself (development=, columns uscc and "
                "application_date)")
        development = samples["train"]
    dev_pairs = development[["uscc", "application_date"]].rename(
        columns={"application_date": "as_of"})
    dev_X, dev_out = _score(strategy, ds, dev_pairs)
    ent = ds["enterprises"]
    chosen = ent["uscc"].astype(str) if book is None else book_codes(book, ds)
    order = list(strategy.spec.grades.grades)
    stab, shares, migration = [], {}, {}
    previous: pd.Series | None = None
    prev_date = None
    reg = pd.Series(ent["registration_date"].to_numpy(), index=ent["uscc"].astype(str))
    for as_of in dates:  # the book at each date: enterprises registered by then
        on_book = chosen[(reg.reindex(chosen.to_numpy()) <= as_of).to_numpy()]
        X, out = _score(strategy, ds.select(on_book), as_of)
        for var in ["pd", *feats]:
            ref = dev_out["pd"] if var == "pd" else dev_X[var]
            now = out["pd"] if var == "pd" else X[var]
            stab.append({"as_of": as_of, "variable": var, "n_book": len(out),
                         "psi": stability_index(ref.reset_index(drop=True),
                                                now.reset_index(drop=True))
                         if len(out) else np.nan})  # nobody on the book yet: no shift
        grade = pd.Series(out["grade"].astype(str).to_numpy(),
                          index=out.index.get_level_values(0).astype(str))
        shares[as_of] = grade.value_counts(normalize=True).reindex(order, fill_value=0.0)
        if previous is not None:
            both = previous.index.intersection(grade.index)
            m = pd.crosstab(pd.Categorical(previous[both], categories=order),
                            pd.Categorical(grade[both], categories=order),
                            normalize="index", dropna=False)
            m.index.name, m.columns.name = "from", "to"
            migration[(prev_date, as_of)] = m
        previous, prev_date = grade, as_of
    stability = pd.DataFrame(stab)
    stability["status"] = np.where(stability["n_book"] == 0, "empty book",
                                   np.where(stability["psi"] >= PSI_ACT, "act",
                                            np.where(stability["psi"] >= PSI_WATCH, "watch",
                                                     "stable")))
    grades = pd.DataFrame(shares).T
    grades.index.name = "as_of"
    vintages = _vintages(strategy, ds, horizon_months)
    mon = PortfolioMonitor(stability=stability, grades=grades, migration=migration,
                           vintages=vintages)
    mon.findings = _findings(mon, order)
    return mon


def _vintages(strategy: Strategy, ds: TaxDataset, horizon_months: int) -> pd.DataFrame:
    if "applications" not in ds or not len(ds["applications"]):
        return pd.DataFrame()
    apps = ds["applications"].sort_values(["application_date", "application_id"],
                                          kind="mergesort")
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    _, out = _score(strategy, ds, pairs)
    approved = (out["decision"] == "approve").to_numpy()
    target = strategy.card_.get("target", "default_12m")
    y = apps[target].to_numpy(dtype=float, na_value=np.nan) if target in apps.columns else \
        np.full(len(apps), np.nan)
    end = apps["observed_through"].max() if "observed_through" in apps.columns else pd.NaT
    matured = (apps["application_date"] + pd.DateOffset(months=horizon_months) <= end) \
        .to_numpy() & ~np.isnan(y)
    t = pd.DataFrame({"vintage": apps["application_date"].dt.to_period("M").to_numpy(),
                      "approved": approved, "matured": approved & matured,
                      "default": approved & matured & (np.nan_to_num(y) == 1)})
    g = t.groupby("vintage").agg(applications=("approved", "size"), approved=("approved", "sum"),
                                 matured=("matured", "sum"), defaults=("default", "sum"))
    g["approval_rate"] = g["approved"] / g["applications"]
    g["bad_rate"] = np.where(g["matured"] > 0, g["defaults"] / g["matured"].where(
        g["matured"] > 0, 1), np.nan)
    g = g.reset_index()
    g["vintage"] = g["vintage"].astype(str)
    return g


def _findings(m: PortfolioMonitor, order: list[str]) -> list[str]:
    out = []
    pd_rows = m.stability[m.stability["variable"] == "pd"]
    for row in pd_rows[pd_rows["status"].isin(["watch", "act"])].itertuples():
        verb = "shifted" if row.status == "act" else "is drifting"
        out.append(f"{row.as_of.date()}: the PD distribution {verb} (PSI {row.psi:.2f})")
    feats = m.stability[(m.stability["variable"] != "pd") & (m.stability["status"] == "act")]
    for as_of, t in feats.groupby("as_of"):
        top = t.sort_values("psi", ascending=False).head(3)
        out.append(f"{as_of.date()}: {len(t)} feature(s) shifted (CSI ≥ {PSI_ACT}): "
                   + ", ".join(f"{v} {p:.2f}" for v, p in zip(top["variable"], top["psi"],
                                                              strict=True)))
    rank = {g: i for i, g in enumerate(order)}
    for (a, b), mig in m.migration.items():
        worse = sum(mig.loc[f, t] * m.grades.loc[a, f] for f in order for t in order
                    if rank[t] >= rank[f] + 2)
        if worse > 0.05:
            out.append(f"{a.date()} → {b.date()}: {worse:.1%} of the book fell two grades or "
                       "more")
    return out
