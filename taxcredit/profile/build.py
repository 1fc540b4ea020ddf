"""Profiles with a bank strategy: fit its reference, save it with it, join its decisions.

The reference population of a strategy is the enterprises it was trained on, each at its
latest application date (point in time), profiled with the settings of the strategy's
``[profile]`` table. It travels with the strategy as an attachment (``profile_reference.json``,
hashed in the model card), so a profile taken today compares with the portfolio's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..errors import ArtifactError, TaxDataError
from ..features import DIMENSIONS, build_features
from ..features.engine import as_of_date
from ..strategy import Strategy
from ..strategy.strategy import matured
from .profiler import LEVELS, Profiler

__all__ = ["ATTACHMENT", "DIMENSIONS_OUT", "build_profiles", "decide_with_profiles",
           "fit_reference", "join_profiles", "needed_features", "profiler_for",
           "registered_pairs"]

#: Name of the strategy attachment holding the fitted reference.
ATTACHMENT = "profile_reference"
#: The profile columns joined to decisions, with their Spark types.
DIMENSIONS_OUT = (*((f"score_{d}", "double") for d in DIMENSIONS), ("profile_score", "double"),
                  ("strengths", "string"), ("weaknesses", "string"),
                  *((f"peer_{d}", "double") for d in DIMENSIONS))


def registered_pairs(ds: TaxDataset, as_of) -> pd.DataFrame:
    """(uscc, as_of) pairs of the enterprises registered by one as-of date.

    An enterprise registered later did not exist then: it has no profile at that date and
    is no one's peer (an unknown registration date counts as registered, as in
    :func:`build_profiles`).
    """
    usccs = ds["enterprises"]["uscc"].astype(str).to_numpy()
    every = pd.MultiIndex.from_arrays([usccs, np.full(len(usccs), as_of_date(as_of))])
    known = _registered(ds, every)
    return pd.DataFrame({"uscc": usccs[known], "as_of": every.get_level_values(1)[known]})


def _registered(ds: TaxDataset, index: pd.MultiIndex) -> np.ndarray:
    """Whether each (uscc, as_of) row's enterprise was registered by its date."""
    ent = ds["enterprises"]
    if "registration_date" not in ent:
        return np.ones(len(index), dtype=bool)
    reg = pd.Series(ent["registration_date"].to_numpy(), index=ent["uscc"].astype(str))
    reg = reg[~reg.index.duplicated()]
    when = reg.reindex(index.get_level_values(0).astype(str)).to_numpy()
    return ~(when > index.get_level_values(1).to_numpy())  # unknown date: kept


def needed_features(profiler: Profiler) -> list[str]:
    """Features a profile reads: its indicators and the peer-group keys."""
    return [*profiler.indicators, *sorted({c for lv in LEVELS for c in lv})]


def fit_reference(strategy: Strategy, ds: TaxDataset, *, target: str | None = None,
                  until=None) -> Profiler:
    """Fit the profile reference of a strategy and attach it (saved with the strategy).

    Parameters
    ----------
    strategy : Strategy
        Its spec's ``[profile]`` table gives the settings.
    ds : TaxDataset
        The data the strategy was (or is being) trained on, with ``applications``.
    target : str, optional
        Outcome column; only applications with a known outcome are used, like the
        strategy's training set (default: the strategy's target, else ``default_12m``).
    until : date-like, optional
        Only applications dated before this.

    Returns
    -------
    Profiler
        The fitted profiler (also stored in ``strategy.attachments_``).
    """
    profiler = Profiler.from_params(strategy.spec.profile,
                                    where=f"strategy {strategy.spec.name!r} [profile]")
    if "applications" not in ds:
        raise TaxDataError("fitting a profile reference needs the applications table")
    apps = ds["applications"]
    target = target or strategy.card_.get("target", "default_12m")
    if target in apps.columns:  # the strategy's training set: matured, labelled applications
        apps = matured(apps[apps[target].notna()])
    if until is not None:
        apps = apps[apps["application_date"] < pd.Timestamp(until)]
    if not len(apps):
        raise TaxDataError("no applications to fit the profile reference on")
    latest = (apps.sort_values(["uscc", "application_date"], kind="mergesort")
              .drop_duplicates("uscc", keep="last"))
    pairs = latest[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    X = build_features(ds, as_of=pairs, features=needed_features(profiler))
    profiler.fit(X)
    strategy.attachments_[ATTACHMENT] = profiler.to_dict()
    return profiler


def profiler_for(strategy: Strategy) -> Profiler:
    """Return the fitted profiler a strategy carries (see :func:`fit_reference`)."""
    ref = strategy.attachments_.get(ATTACHMENT)
    if ref is None:
        raise ArtifactError(
            f"strategy {strategy.spec.name!r} has no profile reference: fit one with "
            "taxcredit.profile.fit_reference(strategy, ds) (taxcredit train does) and save "
            "the strategy again")
    return Profiler.from_dict(ref)


def build_profiles(ds: TaxDataset, as_of, *, strategy: Strategy | None = None,
                   profiler: Profiler | None = None, lang: str = "zh",
                   detail: bool = False) -> pd.DataFrame:
    """Profile every enterprise (one date) or every (uscc, as_of) pair.

    Parameters
    ----------
    ds : TaxDataset
    as_of : date-like or DataFrame of (uscc, as_of)
    strategy : Strategy, optional
        Use the reference this strategy carries.
    profiler : Profiler, optional
        Use this fitted profiler. With neither, the reference is fitted on the enterprises
        being profiled (a portfolio compared with itself), each only at a date it was
        registered by (an enterprise that did not exist yet is no one's peer).
    lang : {"zh", "en"}
    detail : bool
        Add each indicator's oriented peer percentile (``pct_<indicator>``) and its value
        (``value_<indicator>``).

    Returns
    -------
    DataFrame
        Indexed by (uscc, as_of): the dimension scores, ``profile_score``, ``strengths``,
        ``weaknesses`` (see :meth:`Profiler.profile`) and the peer medians
        (``peer_<dimension>``).
    """
    if strategy is not None and profiler is not None:
        raise ValueError("give a strategy or a profiler, not both")
    if strategy is not None:
        profiler = profiler_for(strategy)
    own = profiler is None
    if own:
        profiler = Profiler()
    X = build_features(ds, as_of=as_of, features=needed_features(profiler))
    if own:  # peers are the enterprises that existed at their date
        profiler.fit(X[_registered(ds, X.index)])
    return _profile_frame(profiler, X, lang=lang, detail=detail)


def _profile_frame(profiler: Profiler, X: pd.DataFrame, *, lang: str,
                   detail: bool) -> pd.DataFrame:
    out = profiler.profile(X, lang=lang, detail=detail)
    parts = [out, profiler.peer_medians(X)]
    if detail:  # each indicator's value next to its percentile
        parts.append(X[[c for c in profiler.indicators if c in X.columns]].add_prefix("value_"))
    return pd.concat(parts, axis=1)


def decide_with_profiles(strategy: Strategy, ds: TaxDataset, as_of, *, lang: str = "zh",
                         reasons: str = "not_approved", detail: bool = False) -> pd.DataFrame:
    """:meth:`Strategy.decide` with the enterprise profile joined to each decision.

    The features are built once for both. Columns: the decision output, then the profile
    columns of :func:`build_profiles`.
    """
    profiler = profiler_for(strategy)
    need = list(dict.fromkeys([*strategy.spec.needed_features(), *needed_features(profiler)]))
    X = build_features(ds, as_of=as_of, features=need)
    return join_profiles(strategy, X, profiler=profiler, lang=lang, reasons=reasons,
                         detail=detail)


def join_profiles(strategy: Strategy, X: pd.DataFrame, *, profiler: Profiler | None = None,
                  lang: str = "zh", reasons: str = "not_approved",
                  detail: bool = False) -> pd.DataFrame:
    """:func:`decide_with_profiles` on features already built."""
    profiler = profiler or profiler_for(strategy)
    decisions = strategy.decide_features(X, lang=lang, reasons=reasons)
    prof = _profile_frame(profiler, X, lang=lang, detail=detail)
    clash = sorted(set(decisions.columns) & set(prof.columns))
    if clash:  # pragma: no cover - the column names are disjoint by construction
        raise ValueError(f"decision and profile columns clash: {clash}")
    return pd.concat([decisions, prof], axis=1)
