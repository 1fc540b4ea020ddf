"""`Strategy`: a bank's spec, fitted.

Features → rules → PD, score, grade, reasons → decision and limit, for every enterprise asked
about.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..errors import TaxDataError
from ..features import build_features, labels, monotone_constraints
from ..features.engine import as_of_dates
from ..modeling import GBMRiskModel, PDCalibrator, WoEScorecard, label_reasons, metrics
from .rules import evaluate_rules
from .spec import StrategySpec

__all__ = ["DECISIONS", "HORIZON_MONTHS", "Strategy", "decision_bands", "labelled", "matured"]

DECISIONS = ("approve", "refer", "decline")
N_REASONS = 3
#: the code in ``rule_hits`` of an approval the limit policy gives no amount (referred)
NO_LIMIT = "LIMIT_NONE"
NO_LIMIT_MESSAGE = {"zh": "按额度政策无可贷金额（低于最低额度或缺少纳税信用级别），转人工审核",
                    "en": "the limit policy gives no amount (below the minimum loan or no tax "
                          "credit grade): referred for review"}


#: Outcome window of the default flag, in months.
HORIZON_MONTHS = 12


def matured(apps: pd.DataFrame, horizon_months: int = HORIZON_MONTHS) -> pd.DataFrame:
    """Keep the applications whose outcome window ended by the last observation date.

    A recent application has a known outcome only if it already defaulted; training or
    testing on those inflates the default rate (censoring). Without ``observed_through`` the
    applications are kept as they are.
    """
    if "observed_through" not in apps.columns or apps["observed_through"].isna().all():
        return apps
    end = apps["observed_through"].max()
    return apps[apps["application_date"] + pd.DateOffset(months=horizon_months) <= end]


def labelled(ds: TaxDataset, target: str, use: str) -> pd.DataFrame:
    """Applications with a known ``target``, in date order (``use`` names the caller)."""
    if "applications" not in ds:
        raise TaxDataError(f"{use} needs the applications table (with outcomes)")
    apps = ds["applications"]
    if target not in apps.columns:
        raise TaxDataError(f"applications has no outcome column {target!r}")
    return apps[apps[target].notna()].sort_values(["application_date", "application_id"],
                                                  kind="mergesort")


def _training_rows(ds: TaxDataset, target: str) -> pd.DataFrame:
    known = matured(labelled(ds, target, "fitting a strategy"))
    if known[target].nunique() < 2:
        raise TaxDataError(f"applications.{target}: need both defaults and non-defaults, got "
                           f"{known[target].value_counts().to_dict()}")
    return known


def decision_bands(p: np.ndarray, approve_max_pd: float, refer_max_pd: float) -> np.ndarray:
    """Approve, refer or decline by the calibrated PD alone (before rules and limits).

    The bands are half-open like the master scale's grades (``[lower, upper)``): a PD equal
    to ``approve_max_pd`` is referred, so a bound shared with a grade boundary splits whole
    grades and every enterprise of a grade gets the same band.
    """
    p = np.asarray(p, dtype=float)
    return np.where(p < approve_max_pd, "approve",
                    np.where(p < refer_max_pd, "refer", "decline")).astype(object)


class Strategy:
    """A bank strategy: a :class:`StrategySpec` and, once fitted, its model and calibration.

    Parameters
    ----------
    spec : StrategySpec
    """

    def __init__(self, spec: StrategySpec, model=None) -> None:
        if (spec.model_type == "custom") != (model is not None) and model is not None:
            raise ValueError(f"strategy {spec.name!r}: model=… is only for model type "
                             f"'custom', not {spec.model_type!r}")
        self.spec = spec
        self.model = model
        self.model_ = None
        self.calibrator_: PDCalibrator | None = None
        self.card_: dict = {}
        #: Fitted add-ons saved with the strategy as ``<name>.json`` and hashed in the model
        #: card (e.g. the profile reference population, see :mod:`taxcredit.profile`).
        self.attachments_: dict[str, dict] = {}

    def __repr__(self) -> str:
        state = "fitted" if self.model_ is not None else "not fitted"
        return f"Strategy({self.spec.name!r} v{self.spec.version}, {self.spec.model_type}, {state})"

    # ------------------------------------------------------------------ fit
    def _new_model(self, features: list[str]):
        params = dict(self.spec.model_params)
        if self.spec.model_type == "custom":
            if self.model is None:
                raise ValueError(f"strategy {self.spec.name!r} has model type 'custom': give "
                                 "the estimator, Strategy(spec, model=your_classifier)")
            from ..modeling import SklearnRiskModel

            return SklearnRiskModel(self.model)
        if self.spec.model_type == "scorecard":
            from ..modeling import WoEBinner

            binner_params = params.pop("binner", {})
            return WoEScorecard(binner=WoEBinner(**binner_params), scale=self.spec.scale,
                                **params)
        params.setdefault("monotone", monotone_constraints(features))
        return GBMRiskModel(**params)

    def fit(self, ds: TaxDataset, *, target: str = "default_12m",
            calibration_share: float = 0.2, until=None) -> Strategy:
        """Fit on the matured applications, each at its application date.

        Only applications whose 12-month outcome window has ended count (:func:`matured`):
        a recent one is labelled only if it already defaulted.

        The latest ``calibration_share`` of applications (by date) calibrate the PD (the
        spec's method, anchored to its central tendency when it has one); the rest train
        the model. Nothing known after an application's date is used.

        Parameters
        ----------
        ds : TaxDataset
            Tax data with an ``applications`` table holding ``target``.
        target : str
            Outcome column (1 = default).
        calibration_share : float
            Latest share of the applications used to calibrate.
        until : date-like, optional
            Use only applications dated before this (e.g. to keep a later cohort out of time).
        """
        if not 0 < calibration_share < 1:
            raise ValueError(f"calibration_share must be in (0, 1), got {calibration_share}")
        apps = _training_rows(ds, target)
        if until is not None:
            apps = apps[apps["application_date"] < as_of_dates([until])[0]]  # Beijing date
        pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
        features = self.spec.feature_list()
        X = build_features(ds, as_of=pairs, features=features).reset_index(drop=True)
        y = apps[target].astype(int).to_numpy()
        # the calibration sample starts on a new day: a day's applications are on one side
        days = apps["application_date"].to_numpy()
        cut = round(len(y) * (1 - calibration_share))
        if 0 < cut < len(y):
            day = np.searchsorted(days, days[cut], side="left")
            cut = int(day if day > 0 else np.searchsorted(days, days[cut], side="right"))
        if min(y[:cut].sum(), y[cut:].sum()) < 1 or cut < 10:
            raise TaxDataError("too few applications with outcomes to train and calibrate "
                               f"({len(y)} rows, {int(y.sum())} defaults)")
        self.attachments_ = {}  # add-ons fitted for an earlier model do not carry over
        model = self._new_model(features).fit(X.iloc[:cut], y[:cut])
        raw = model.predict_proba(X.iloc[cut:])[:, 1]
        self.calibrator_ = PDCalibrator(self.spec.calibration,
                                        central_tendency=self.spec.central_tendency,
                                        ).fit(raw, y[cut:])
        self.model_ = model
        pd_cal = self.calibrator_.transform(raw)
        dates = apps["application_date"]
        self.card_ = {
            "target": target,
            "training_window": [str(dates.iloc[0].date()), str(dates.iloc[cut - 1].date())],
            "calibration_window": [str(dates.iloc[cut].date()), str(dates.iloc[-1].date())],
            "n_train": cut, "n_calibration": len(y) - cut,
            "default_rate_train": float(y[:cut].mean()),
            "default_rate_calibration": float(y[cut:].mean()),
            "central_tendency": self.spec.central_tendency,
            "features": features,
            "metrics_calibration": {"auc": metrics.auc(y[cut:], pd_cal),
                                    "ks": metrics.ks(y[cut:], pd_cal),
                                    "brier": metrics.brier(y[cut:], pd_cal)},
            "data_fingerprint": _fingerprint(apps, target),
        }
        return self

    def save(self, folder):
        """Write the fitted strategy to ``folder`` (see :func:`save_strategy`)."""
        from .artifact import save_strategy

        return save_strategy(self, folder)

    # ------------------------------------------------------------------ decide
    def _check_fitted(self) -> None:
        if self.model_ is None or self.calibrator_ is None:
            raise ValueError(f"strategy {self.spec.name!r} is not fitted: call fit(ds) or "
                             "load a saved one with taxcredit.load_strategy(folder)")

    def pd(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated PD of each row of a feature frame."""
        self._check_fitted()
        return self.calibrator_.transform(self.model_.predict_proba(
            X[self.spec.feature_list()])[:, 1])

    def decide(self, ds: TaxDataset, as_of, *, lang: str = "zh",
               reasons: str = "not_approved") -> pd.DataFrame:
        """Decide for every enterprise (one date) or every (uscc, as_of) pair.

        Returns
        -------
        pandas.DataFrame
            One row per enterprise or pair, in input order, indexed by (uscc, as_of):
            ``eligible``, ``rule_hits`` (codes), ``rule_messages``, ``pd``, ``score``,
            ``grade``, ``reason_1..3`` (labels in ``lang``; for the rows ``reasons`` asks
            for: ``"not_approved"`` — declines and referrals, the default, as reason codes
            cost time for tree models — ``"all"`` or ``"none"``), ``decision`` (approve /
            refer / decline) and ``limit``. An approval always has a limit: where the limit
            policy gives no amount (no grade, or below the minimum loan) the case is referred
            with ``LIMIT_NONE`` among its ``rule_hits``. Enterprises the data know nothing
            about still get a row (their features are missing, and the rules say what that
            means).
        """
        self._check_fitted()
        X = build_features(ds, as_of=as_of, features=self.spec.needed_features())
        return self.decide_features(X, lang=lang, reasons=reasons)

    def decide_features(self, X: pd.DataFrame, *, lang: str = "zh",
                        reasons: str = "not_approved") -> pd.DataFrame:
        """:meth:`decide` on features already built (one row per enterprise or pair)."""
        self._check_fitted()
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        if reasons not in ("not_approved", "all", "none"):
            raise ValueError(f"reasons must be 'not_approved', 'all' or 'none', got {reasons!r}")
        spec = self.spec
        index = X.index  # a plain index inside: column access with a MultiIndex costs copies
        X = X.reset_index(drop=True)
        missing = [f for f in spec.needed_features() if f not in X.columns]
        if missing:
            raise ValueError(f"the feature frame lacks {missing} (build it with "
                             "build_features(…, features=strategy.spec.needed_features()))")
        if len(X) == 0:  # nothing asked, nothing decided: the columns, no rows
            return self._empty_decisions(index)
        hits = evaluate_rules(list(spec.rules), X)
        Xf = X[spec.feature_list()]
        points = None
        if isinstance(self.model_, WoEScorecard):  # one pass gives the PD and the reasons
            points = self.model_.feature_points(Xf)
            p = self.calibrator_.transform(self.model_.pd_from_points(points))
        else:
            p = self.calibrator_.transform(self.model_.predict_proba(Xf)[:, 1])
        score = np.round(spec.scale.score(np.clip(p, 1e-9, 1 - 1e-9))).astype(np.int64)
        grade = spec.grades.grade(p)
        decision = decision_bands(p, spec.approve_max_pd, spec.refer_max_pd)
        decision[hits["referred"].to_numpy() & (decision == "approve")] = "refer"
        decision[hits["knocked_out"].to_numpy()] = "decline"
        # an approval needs an amount: a limit policy that gives none (grade unknown, tax
        # too small for the minimum loan) sends the case to a credit officer
        limit = spec.limits.limits(X, approved=decision == "approve")
        no_amount = (decision == "approve") & (limit <= 0)
        decision[no_amount] = "refer"
        # reason codes for the rows that need them (TreeSHAP is costly): declines and referrals
        need = (decision != "approve") if reasons == "not_approved" else \
            np.ones(len(X), dtype=bool) if reasons == "all" else np.zeros(len(X), dtype=bool)
        why = pd.DataFrame({f"reason_{i}": np.full(len(X), None, dtype=object)
                            for i in range(1, N_REASONS + 1)}, index=X.index)
        if need.any():
            raw = (self.model_.reasons(None, k=N_REASONS, points=points.loc[need])
                   if points is not None else self.model_.reasons(Xf.loc[need], k=N_REASONS))
            got = label_reasons(raw, labels(), lang=lang, values=Xf.loc[need])
            for i in range(1, N_REASONS + 1):
                why.loc[need, f"reason_{i}"] = got[f"reason_{i}"].to_numpy()
        rule_hits = hits["rule_hits"].to_numpy().astype(object)
        rule_hits[no_amount] = [f"{h};{NO_LIMIT}" if h else NO_LIMIT
                                for h in rule_hits[no_amount]]
        msg = {r.code: (r.zh if lang == "zh" else r.en) or r.code for r in spec.rules}
        msg[NO_LIMIT] = NO_LIMIT_MESSAGE[lang]
        sep = "；" if lang == "zh" else "; "
        out = pd.DataFrame({
            "eligible": ~hits["knocked_out"].to_numpy(),
            "rule_hits": rule_hits,
            "rule_messages": [sep.join(msg[c] for c in codes.split(";")) if codes else ""
                              for codes in rule_hits],
            "pd": p, "score": score, "grade": grade,
        }, index=X.index)
        for i in range(1, N_REASONS + 1):
            out[f"reason_{i}"] = why[f"reason_{i}"].to_numpy()
        out["decision"] = pd.Categorical(decision, categories=list(DECISIONS))
        out["limit"] = limit
        out.index = index
        return out

    @staticmethod
    def _empty_decisions(index: pd.Index) -> pd.DataFrame:
        cols = {"eligible": pd.Series(dtype=bool), "rule_hits": pd.Series(dtype=object),
                "rule_messages": pd.Series(dtype=object), "pd": pd.Series(dtype=float),
                "score": pd.Series(dtype=np.int64), "grade": pd.Series(dtype=object),
                **{f"reason_{i}": pd.Series(dtype=object) for i in range(1, N_REASONS + 1)},
                "decision": pd.Series(pd.Categorical([], categories=list(DECISIONS))),
                "limit": pd.Series(dtype=float)}
        out = pd.DataFrame(cols)
        out.index = index
        return out


def _fingerprint(apps: pd.DataFrame, target: str) -> str:
    """SHA-256 of the training applications (ids, dates, outcomes), order-independent."""
    cols = apps[["application_id", "uscc", "application_date", target]].astype(str)
    rows = (cols["application_id"] + "|" + cols["uscc"] + "|" + cols["application_date"]
            + "|" + cols[target]).sort_values(kind="mergesort")
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()
