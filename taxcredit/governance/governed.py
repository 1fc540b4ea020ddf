"""Governed use of tax data: consent, purpose, breaker and audit around every decision.

:class:`Governance` bundles a bank's consent registry, audit log, circuit breaker, the actor
and the masking choice. Its :meth:`~Governance.decide` and :meth:`~Governance.monitor` are
the high-level calls: an enterprise without a live authorisation for the purpose is not
processed — it appears in the output with ``decision = "not_processed"`` and the reason —
every call is audited (actor, purpose, strategy version, input fingerprint, what came out),
and identifiers are masked in what is returned unless the caller is authorised to see them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..data.ids import mask_uscc_array
from ..features import feature_inputs
from ..strategy import Strategy
from .audit import AuditLog
from .breaker import CircuitBreaker
from .consent import ConsentRegistry, check_purpose, normalise_uscc
from .masking import mask_frame

__all__ = ["NOT_PROCESSED", "Governance"]

NOT_PROCESSED = "not_processed"
#: Tables the early-warning rules read (an authorisation's scope must cover them).
MONITORING_TABLES = ("vat_returns", "payments", "invoices", "payroll", "credit_grades",
                     "events")
_REASON_TEXT = {
    "zh": {"none": "无授权", "not_yet": "授权尚未生效", "expired": "授权已过期",
           "revoked": "授权已撤销", "purpose": "授权用途不含本次用途",
           "scope": "授权范围不含所需数据"},
    "en": {"none": "no authorisation", "not_yet": "authorisation not yet in force",
           "expired": "authorisation expired", "revoked": "authorisation revoked",
           "purpose": "authorisation does not cover this purpose",
           "scope": "authorisation does not cover the data needed"},
}


def _fingerprint(values: pd.Series, key: bytes) -> str:
    """Return a keyed (HMAC-SHA-256) fingerprint of a set of values.

    A plain hash of one USCC could be brute-forced back from its masked form.
    """
    text = "\n".join(sorted(values.astype(str)))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()



@dataclass
class Governance:
    """A bank's governance settings for one actor.

    Parameters
    ----------
    consents : ConsentRegistry
    actor : str
        Who is using the data (a user or a service account); recorded in the audit log.
    audit : AuditLog, optional
        Where every call is recorded.
    breaker : CircuitBreaker, optional
    mask : bool, default True
        Mask identifiers in returned frames. ``False`` only for authorised internal use.
    key : bytes, optional
        Secret for the keyed fingerprints in the audit log (default: random per instance;
        give the bank's own to compare fingerprints across runs).

    Notes
    -----
    The breaker counts, per actor, enterprises asked for that *never* authorised the bank
    (``reason = "none"``); lapsed authorisations in monitoring are expected and only reported.
    Give batch service accounts their own limits (a nightly book of a million enterprises is
    not an analyst's query).
    """

    consents: ConsentRegistry
    actor: str
    audit: AuditLog | None = None
    breaker: CircuitBreaker | None = None
    mask: bool = True
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        if not self.actor:
            raise ValueError("governance needs the actor: who is using the tax data")

    # ------------------------------------------------------------------ admit
    def admit(self, usccs, purpose: str, at, *, tables=None, now=None) -> pd.DataFrame:
        """Check consent for each enterprise and count the request on the breaker.

        ``at`` is one moment, or one per enterprise (e.g. each application date). Returns
        ``allowed`` / ``reason`` aligned with ``usccs`` (see
        :meth:`ConsentRegistry.check_pairs`). Raises :class:`~taxcredit.errors.AccessRefused`
        when the breaker is open (the trip is audited) and
        :class:`~taxcredit.errors.PurposeError` for a purpose tax data may not serve (also
        audited).
        """
        usccs = normalise_uscc(usccs)
        try:
            check_purpose(purpose)
        except Exception as exc:
            self._audit(event="refused", purpose=str(purpose), why=str(exc), n=len(usccs))
            raise
        when = pd.Series(at) if isinstance(at, (pd.Series, np.ndarray, list)) else \
            pd.Series([pd.Timestamp(at)] * len(usccs))
        res = self.consents.check_pairs(usccs, when, purpose, tables=tables)
        res.index = usccs.to_numpy()
        if self.breaker is not None:
            never = usccs[(res["reason"] == "none").to_numpy()].nunique()
            self.breaker.check(self.actor, usccs.unique(), at=now, without_consent=never)
        return res

    def _audit(self, **fields) -> None:
        if self.audit is not None:
            self.audit.append(actor=self.actor, **fields)

    def _ids(self, usccs: pd.Series) -> dict:
        ids = {"n_enterprises": int(usccs.nunique()),
               "enterprises_hmac": _fingerprint(usccs.drop_duplicates(), self.key)}
        if usccs.nunique() <= 100:
            ids["enterprises"] = sorted(mask_uscc_array(usccs.unique()).tolist())
        return ids

    # ------------------------------------------------------------------ decide
    def decide(self, strategy: Strategy, ds: TaxDataset, as_of, *,
               purpose: str = "credit_assessment", lang: str = "zh",
               reasons: str = "not_approved", at=None, now=None) -> pd.DataFrame:
        """:meth:`Strategy.decide` for the enterprises with live consent; the rest kept.

        Parameters
        ----------
        strategy, ds, as_of, lang, reasons
            As :meth:`Strategy.decide`.
        purpose : str
            Declared purpose (``credit_assessment`` by default).
        at : date-like or "as_of", optional
            The moment of use checked against the authorisations: default ``now`` (the data
            are used now, so a revocation made after the as-of date counts); ``"as_of"`` checks
            each pair at its own date (replaying history, e.g. a backtest).
        now : datetime-like, optional
            Wall-clock time of the use (default: the current time).

        Returns
        -------
        DataFrame
            The decision output plus ``consent`` (``ok`` or why not); rows without consent
            have ``decision = "not_processed"``, no PD, no score, no limit. USCCs masked
            unless ``mask=False``.
        """
        pairs = _pairs(ds, as_of)
        tables = sorted({c.split(".")[0] for c in feature_inputs(
            strategy.spec.needed_features())})
        now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
        if isinstance(at, str) and at == "as_of":
            when = pairs["as_of"]
        else:
            when = pd.Series([now if at is None else pd.Timestamp(at)] * len(pairs))
        admitted = self.admit(pairs["uscc"], purpose, when, tables=tables, now=now)
        ok = admitted["allowed"].to_numpy(dtype=bool)
        parts = []
        if ok.any():
            keep = pairs[ok]
            sub = ds.select(keep["uscc"].unique())
            parts.append(strategy.decide(sub, keep.reset_index(drop=True), lang=lang,
                                         reasons=reasons))
        out = _with_refusals(parts, pairs, ok, admitted["reason"].to_numpy(), lang)
        counts = out["decision"].value_counts().to_dict()
        self._audit(event="decide", purpose=purpose, strategy=strategy.spec.name,
                    version=strategy.spec.version,
                    spec_sha256=hashlib.sha256(strategy.spec.to_toml().encode()).hexdigest(),
                    training_data_sha256=strategy.card_.get("data_fingerprint", ""),
                    input_hmac=_fingerprint(pairs["uscc"] + "@" + pairs["as_of"].astype(str),
                                            self.key),
                    as_of=f"{pairs['as_of'].min().date()}..{pairs['as_of'].max().date()}",
                    decisions={str(k): int(v) for k, v in
                                                       counts.items()},
                    **self._ids(pairs["uscc"]))
        return mask_frame(out) if self.mask else out

    # ------------------------------------------------------------------ monitor
    def monitor(self, ds: TaxDataset, as_of, *, book, config=None, previous=None,
                lang: str = "zh", now=None) -> pd.DataFrame:
        """Early warnings for the book's enterprises with live consent for monitoring.

        Consent is checked at ``now`` (the moment of use) for the tables the rules read.
        Enterprises without it get one EW16 alert (stop using their data) and nothing else.
        """
        from ..monitoring import early_warnings

        usccs = normalise_uscc(book["uscc"] if isinstance(book, pd.DataFrame) else book) \
            .drop_duplicates()
        when = pd.Timestamp(as_of)
        now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
        admitted = self.admit(usccs, "post_loan_monitoring", now, tables=MONITORING_TABLES,
                              now=now)
        allowed = admitted.index[admitted["allowed"].to_numpy()]
        alerts = early_warnings(ds, when, book=allowed, config=config, previous=previous,
                                lang=lang, consents=self.consents.table)
        refused = admitted[~admitted["allowed"].to_numpy()]
        if len(refused):
            msg = _REASON_TEXT[lang]
            extra = pd.DataFrame({
                "uscc": refused.index, "rule": "EW16", "level": "yellow",
                "message": [("停止使用涉税数据：" if lang == "zh" else
                             "Stop using the tax data: ") + msg[r] for r in refused["reason"]],
                "evidence": [f'{{"reason": "{r}"}}' for r in refused["reason"]],
                "trigger_date": when, "as_of": when, "rescore": False, "status": "new"})
            alerts = pd.concat([alerts, extra], ignore_index=True)
            rank = alerts["level"].map({lv: i for i, lv in enumerate(
                ("red", "orange", "yellow", "info"))})
            alerts = alerts.iloc[np.lexsort((alerts["rule"], alerts["uscc"], rank))] \
                .reset_index(drop=True)
        levels = alerts["level"].value_counts().to_dict()
        self._audit(event="monitor", purpose="post_loan_monitoring", as_of=str(when.date()),
                    alerts={str(k): int(v) for k, v in levels.items()},
                    not_processed=len(refused), **self._ids(usccs))
        return mask_frame(alerts) if self.mask else alerts


def _pairs(ds: TaxDataset, as_of) -> pd.DataFrame:
    if isinstance(as_of, pd.DataFrame):
        missing = sorted({"uscc", "as_of"} - set(as_of.columns))
        if missing:
            raise ValueError(f"as_of pairs lack column(s) {missing}")
        p = as_of[["uscc", "as_of"]].copy()
    else:
        p = pd.DataFrame({"uscc": ds["enterprises"]["uscc"].to_numpy(),
                          "as_of": pd.Timestamp(as_of)})
    p["uscc"] = normalise_uscc(p["uscc"]).to_numpy()
    p["as_of"] = pd.to_datetime(p["as_of"])
    return p.reset_index(drop=True)


def _with_refusals(parts: list[pd.DataFrame], pairs: pd.DataFrame, ok: np.ndarray,
                   reason: np.ndarray, lang: str) -> pd.DataFrame:
    """Put the decided rows and the not-processed ones back in input order."""
    from ..strategy.strategy import DECISIONS

    cats = [*DECISIONS, NOT_PROCESSED]
    refused = pairs[~ok]
    no = pd.DataFrame({"eligible": False, "rule_hits": "",
                       "rule_messages": [_REASON_TEXT[lang][r] for r in reason[~ok]],
                       "pd": np.nan, "score": pd.array([pd.NA] * len(refused), dtype="Int64"),
                       "grade": None, "reason_1": None, "reason_2": None, "reason_3": None,
                       "decision": NOT_PROCESSED, "limit": np.nan},
                      index=pd.MultiIndex.from_frame(refused[["uscc", "as_of"]]))
    frames = [*parts, no] if len(no) else parts
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    out["decision"] = pd.Categorical(out["decision"].astype(str), categories=cats)
    order = pd.MultiIndex.from_frame(pairs[["uscc", "as_of"]])
    out = out.reindex(order)
    out["consent"] = reason
    return out
