"""Governed use of tax data: consent, purpose, breaker and audit around every decision.

:class:`Governance` bundles a bank's consent registry, audit log, circuit breaker, the actor
and the masking choice. Its :meth:`~Governance.decide` and :meth:`~Governance.monitor` are
the high-level calls: an enterprise without a live authorisation for the purpose is not
processed — it appears in the output with ``decision = "not_processed"`` and the reason —
every call is audited (actor, purpose, strategy version, input fingerprint, what came out),
and identifiers are masked in what is returned unless the caller is authorised to see them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..data.ids import mask_uscc_array
from ..errors import AccessRefused, TaxDataError
from ..features import feature_inputs
from ..features.engine import as_of_date, as_of_dates
from ..strategy import Strategy
from .audit import AuditLog
from .breaker import CircuitBreaker
from .consent import ConsentRegistry, as_beijing, check_purpose, normalise_uscc, now_in_beijing
from .masking import PSEUDONYM, conceal, pseudonym

__all__ = ["NOT_PROCESSED", "Governance", "consent_reasons", "merge_refusals", "place",
           "tables_read"]

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
    text = "\n".join(np.sort(values.to_numpy(dtype=str)).tolist())
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()



def _book_usccs(book) -> pd.Series:
    """Return the book's enterprises once each (codes, or a table of loans with ``uscc``)."""
    if isinstance(book, pd.DataFrame):
        if "uscc" not in book.columns:
            raise ValueError(f"book: a table of loans needs a 'uscc' column (got "
                             f"{list(book.columns)[:10]})")
        book = book["uscc"]
    return normalise_uscc(book).drop_duplicates().reset_index(drop=True)


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
    #: The last record this governance wrote to the audit log (or would have, without one).
    last_record: dict | None = field(default=None, init=False, repr=False)

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
            was_open = self.breaker.tripped(self.actor) is not None
            try:
                self.breaker.check(self.actor, usccs.unique(), at=now, without_consent=never)
            except AccessRefused as exc:  # the trip is audited by the breaker; every
                if was_open:              # refusal after it is on record too
                    self._audit(event="refused", purpose=purpose, why=str(exc),
                                n=len(usccs))
                raise
        return res

    def _audit(self, **fields) -> None:
        consent_at = self.__dict__.pop("_consent_at", None)  # the moment the check used
        record = {"actor": self.actor, "masked": self.mask,
                  **({"consent_at": consent_at} if consent_at is not None else {}), **fields}
        self.last_record = self.audit.append(**record) if self.audit is not None else record

    def _ids(self, usccs: pd.Series) -> dict:
        ids = {"n_enterprises": int(usccs.nunique()),
               "enterprises_hmac": _fingerprint(usccs.drop_duplicates(), self.key)}
        if usccs.nunique() <= 100:
            ids["enterprises"] = sorted(mask_uscc_array(usccs.unique()).tolist())
        return ids

    def _moments(self, dates: pd.Series, at, now: pd.Timestamp) -> pd.Series:
        """Return the moment of use checked for each row: now, its own date, or one date.

        Never a moment after ``now``: consent granted later has not been given yet. A date
        given for all rows must not lie ahead; a row's own date that does (replaying
        history, ``"as_of"``, with a date still to come) is checked now. The next audit
        record says which moment was used (``consent_at``).
        """
        if isinstance(at, str) and at.replace("-", "_") == "as_of":
            self._consent_at = "as_of"
            own = pd.to_datetime(dates).to_numpy().astype("datetime64[ns]")
            return pd.Series(np.minimum(own, np.datetime64(now, "ns")))
        moment = now if at is None else as_beijing(at)
        if moment > now:
            raise ValueError(f"consent cannot be checked at {moment}, after now ({now}): "
                             "an authorisation not yet given does not count")
        self._consent_at = "now" if at is None else str(moment)
        return pd.Series(np.full(len(dates), np.datetime64(moment, "ns"),
                                 dtype="datetime64[ns]"))

    def admit_pairs(self, pairs: pd.DataFrame, purpose: str, *, tables=None, at=None,
                    now=None) -> tuple[np.ndarray, np.ndarray]:
        """Admit (uscc, as_of) pairs for ``purpose``; return the allowed mask and the reasons.

        ``at``: None (the moment of use, ``now``), ``"as_of"`` (each pair at its own date)
        or a date. See :meth:`admit`.
        """
        now = _now(now)
        admitted = self.admit(pairs["uscc"], purpose, self._moments(pairs["as_of"], at, now),
                              tables=tables, now=now)
        return admitted["allowed"].to_numpy(dtype=bool), admitted["reason"].to_numpy()

    def _admit_applications(self, ds: TaxDataset, purpose: str, at, now, what: str,
                            until=None, tables=None):
        """Return the dataset with only the applications authorised for ``purpose``.

        With ``until``, only the applications dated before it are used (and checked).
        """
        from ..errors import ConsentError

        if "applications" not in ds:
            raise ConsentError(f"{what} needs the applications table")
        apps = ds["applications"]
        if until is not None:
            apps = apps[(apps["application_date"] < pd.Timestamp(until)).to_numpy()]
        pairs = pd.DataFrame({"uscc": apps["uscc"].to_numpy(),
                              "as_of": apps["application_date"].to_numpy()})
        ok, reason = self.admit_pairs(pairs, purpose, tables=tables, at=at, now=now)
        if len(apps) and not ok.any():
            hint = (" (the data are history: to replay each application at its own date, "
                    "check consent as of then — at='as_of', --consent-at as-of)"
                    if at is None else "")
            self._audit(event=_EVENTS[what], purpose=purpose,
                        refused="no application authorised",
                        applications_authorised=0,
                        not_processed=pd.Series(reason).value_counts().to_dict())
            raise ConsentError(f"{what}: none of the {len(apps):,} applications is authorised "
                               f"for {purpose}{hint}")
        kept = TaxDataset({**ds.tables, "applications": apps[ok].reset_index(drop=True)},
                          validated=ds.validated)
        refused = pd.Series(reason[~ok]).value_counts().to_dict()
        return kept, int(ok.sum()), {str(k): int(v) for k, v in refused.items()}

    def _finish(self, out: pd.DataFrame) -> pd.DataFrame:
        """Mask the output (with the keyed pseudonym ``uscc_key``) unless unmasked."""
        return conceal(out, self.key) if self.mask else out

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
        tables = tables_read(strategy.spec.needed_features())
        now = _now(now)
        ok, reason = self.admit_pairs(pairs, purpose, tables=tables, at=at, now=now)
        parts = []
        if ok.any():
            keep = pairs[ok]
            sub = only_tables(ds.select(keep["uscc"].unique()), tables)
            parts.append(strategy.decide(sub, keep.reset_index(drop=True), lang=lang,
                                         reasons=reasons))
        out = merge_refusals(parts, pairs, ok, reason, lang)
        self.audit_decisions(strategy, pairs, out["decision"], purpose=purpose)
        return self._finish(out)

    def admit_batch(self, usccs, as_of, strategy: Strategy, features, *, at=None,
                    **fields) -> tuple[pd.DataFrame, frozenset, dict[str, str]]:
        """Admit every enterprise of a large scoring run once, before it is spread out.

        Checks credit-assessment consent for ``usccs`` at ``as_of`` (for the tables
        ``features`` read), writes a ``decide_start`` record (with ``fields``) and returns the
        pairs, the authorised codes and, for the others, why not — what chunk workers or
        Spark executors need to decide only the authorised (:func:`consent_reasons`).
        """
        usccs = normalise_uscc(usccs)
        pairs = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(as_of)})
        ok, reason = self.admit_pairs(pairs, "credit_assessment", tables=tables_read(features),
                                      at=at)
        self.audit_decisions(strategy, pairs, pd.Series(np.where(ok, "to_decide",
                                                                 NOT_PROCESSED)),
                             event="decide_start", **fields)
        return pairs, frozenset(usccs[ok]), dict(zip(usccs[~ok], reason[~ok], strict=True))

    def audit_decisions(self, strategy: Strategy, pairs: pd.DataFrame, decisions: pd.Series,
                        *, purpose: str = "credit_assessment", event: str = "decide",
                        **fields) -> None:
        """Record a scoring run: who, purpose, strategy version, input fingerprint, outcome."""
        counts = decisions.value_counts().to_dict()
        span = (f"{pairs['as_of'].min().date()}..{pairs['as_of'].max().date()}"
                if len(pairs) else "")
        self._audit(event=event, purpose=purpose, strategy=strategy.spec.name,
                    version=strategy.spec.version,
                    spec_sha256=hashlib.sha256(strategy.spec.to_toml().encode()).hexdigest(),
                    training_data_sha256=strategy.card_.get("data_fingerprint", ""),
                    input_hmac=_fingerprint(pairs["uscc"].astype(str) + "@"
                                            + pairs["as_of"].astype(str), self.key),
                    as_of=span, decisions={str(k): int(v) for k, v in counts.items() if v},
                    **fields, **self._ids(pairs["uscc"]))

    # ------------------------------------------------------------------ features
    def features(self, ds: TaxDataset, as_of, *, features=None,
                 purpose: str = "credit_assessment", at=None, now=None,
                 **kwargs) -> pd.DataFrame:
        """:func:`~taxcredit.features.build_features` for the pairs with live consent.

        Rows without consent stay, with every feature missing; the ``consent`` column says
        ``ok`` or why not. Other keyword arguments go to ``build_features``.
        """
        from ..features import build_features

        def compute(keep, wanted):
            return build_features(only_tables(ds.select(keep["uscc"].unique()),
                                              tables_read(wanted)),
                                  as_of=keep, features=wanted, **kwargs)

        return self._features(_pairs(ds, as_of), compute, features, purpose, at, now)

    def features_folder(self, path, as_of, *, features=None,
                        purpose: str = "credit_assessment", at=None, now=None, out=None,
                        **kwargs) -> pd.DataFrame | dict:
        """:func:`~taxcredit.features.build_features_folder` (streamed) with consent.

        As :meth:`features`, for a Parquet folder: features are computed for the authorised
        pairs only (the folder is still streamed whole, chunk by chunk, and the declared
        columns of every enterprise in a chunk are read before the others are left aside).

        With ``out`` (a ``.parquet`` path) and one as-of date the rows are written there in
        bounded memory, every enterprise in the folder's order (the unauthorised ones with
        missing features and their ``consent``), category features as text; a summary is
        returned (``rows``, ``processed``, ``not_processed``). Otherwise the frame is
        returned.
        """
        import pyarrow.parquet as pq

        from ..features import build_features_folder

        if isinstance(as_of, pd.DataFrame):
            pairs = _pairs(None, as_of)
        else:
            ids = pq.read_table(Path(path) / "enterprises.parquet", columns=["uscc"])
            pairs = pd.DataFrame({"uscc": normalise_uscc(ids.column("uscc").to_pylist()),
                                  "as_of": as_of_dates([as_of])[0]})
            if out is not None:
                return self._features_streamed(path, pairs, features, purpose, at, now,
                                               Path(out), kwargs)

        def compute(keep, wanted):
            return build_features_folder(path, keep, features=wanted, **kwargs)

        X = self._features(pairs, compute, features, purpose, at, now)
        if out is None:
            return X
        X.reset_index().to_parquet(out, index=False)
        return {"rows": len(X), "processed": int((X["consent"] == "ok").sum()),
                "not_processed": int((X["consent"] != "ok").sum())}

    def _features_streamed(self, path, pairs: pd.DataFrame, features, purpose, at, now,
                           out: Path, kwargs: dict, block: int = 65_536) -> dict:
        """Write the governed features of one date to ``out``, block by block."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..features import FEATURES, build_features_folder, feature_ids

        wanted = list(features) if features is not None else feature_ids()
        kinds = {f.id: f.kind for f in FEATURES}
        ok, reason = self.admit_pairs(pairs, purpose, tables=tables_read(wanted), at=at,
                                      now=now)
        scratch = out.with_name(f".{out.name}.authorised")
        partial = out.with_name(f".{out.name}.writing")  # moved into place once complete
        out.parent.mkdir(parents=True, exist_ok=True)
        writer, done = None, False
        try:
            batches = iter(())
            if ok.any():
                day = str(pd.Timestamp(pairs["as_of"].iloc[0]).date())
                build_features_folder(path, day, features=wanted, out=scratch,
                                      only=pairs.loc[ok, "uscc"], **kwargs)
                batches = pq.ParquetFile(scratch).iter_batches(batch_size=block)
            pending = pd.DataFrame()
            for lo in range(0, max(len(pairs), 1), block):
                sl = slice(lo, lo + block)
                need = int(ok[sl].sum())
                while len(pending) < need:
                    try:
                        more = next(batches).to_pandas()
                    except StopIteration:
                        raise RuntimeError("fewer feature rows than authorised enterprises"
                                           ) from None
                    pending = more if pending.empty else pd.concat([pending, more],
                                                                   ignore_index=True)
                got, pending = pending.iloc[:need], pending.iloc[need:]
                part = place([got.set_index(["uscc", "as_of"])] if need else [],
                             pairs.iloc[sl].reset_index(drop=True), ok[sl])
                part = part.reindex(columns=wanted)
                for c in wanted:  # one type per column, whoever is in the block
                    part[c] = part[c].astype("str" if kinds.get(c) == "category" else
                                             "float64")
                part["consent"] = reason[sl]
                table = pa.Table.from_pandas(self._finish(part).reset_index(),
                                             preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(partial, table.schema)
                writer.write_table(table.cast(writer.schema))
            if writer is not None:
                writer.close()
                writer = None
                os.replace(partial, out)  # an earlier output is replaced only by a whole one
            done = True
        finally:
            if writer is not None:
                writer.close()
            scratch.unlink(missing_ok=True)
            partial.unlink(missing_ok=True)
            # a run that failed half-way is on record too
            self._audit_features(pairs, ok, purpose, len(wanted), streamed=True,
                                 **({} if done else {"completed": False}))
        return {"rows": len(pairs), "processed": int(ok.sum()),
                "not_processed": int((~ok).sum()),
                "reasons": pd.Series(reason[~ok]).value_counts().to_dict()}

    def _features(self, pairs, compute, features, purpose, at, now) -> pd.DataFrame:
        from ..features import feature_ids

        wanted = list(features) if features is not None else feature_ids()
        ok, reason = self.admit_pairs(pairs, purpose, tables=tables_read(wanted), at=at,
                                      now=now)
        if ok.any():
            X = compute(pairs[ok].reset_index(drop=True), wanted)
        else:  # nobody authorised: the rows stay, every feature missing
            X = pd.DataFrame(np.nan, columns=wanted, index=range(0))
        out = place([X], pairs, ok)
        out["consent"] = reason
        self._audit_features(pairs, ok, purpose, len(wanted))
        return self._finish(out)

    def _audit_features(self, pairs: pd.DataFrame, ok: np.ndarray, purpose: str,
                        n_features: int, **fields) -> None:
        self._audit(event="features", purpose=purpose, features=n_features,
                    input_hmac=_fingerprint(pairs["uscc"] + "@" + pairs["as_of"].astype(str),
                                            self.key),
                    processed=int(ok.sum()), not_processed=int((~ok).sum()), **fields,
                    **self._ids(pairs["uscc"]))

    # ------------------------------------------------------------------ profile
    def profile(self, ds: TaxDataset, as_of, *, strategy: Strategy | None = None,
                profiler=None, purpose: str = "credit_assessment", lang: str = "zh",
                detail: bool = False, reference_as_of=None, at=None,
                now=None) -> pd.DataFrame:
        """:func:`~taxcredit.profile.build_profiles` for the pairs with live consent.

        Without a ``strategy`` or ``profiler`` the reference is fitted on the authorised
        enterprises themselves (the others' data are not read) — or, with
        ``reference_as_of``, on every authorised enterprise of ``ds`` registered by that
        date (to profile a few enterprises against the whole book). Rows without consent
        stay, without scores; ``consent`` says why.
        """
        from ..features import build_features
        from ..profile import Profiler, build_profiles, needed_features, profiler_for
        from ..profile.build import registered_pairs

        if profiler is None and strategy is not None:
            profiler = profiler_for(strategy)
        if reference_as_of is not None and profiler is not None:
            raise ValueError("reference_as_of fits a reference: give it without a strategy "
                             "or profiler")
        pairs = _pairs(ds, as_of)
        need = needed_features(profiler if profiler is not None else Profiler())
        now = _now(now)
        reference = "strategy" if profiler is not None else \
            "the authorised enterprises themselves"
        if reference_as_of is not None:
            peers = _pairs(None, registered_pairs(ds, reference_as_of))
            ok_ref, _ = self.admit_pairs(peers, purpose, tables=tables_read(need), at=at,
                                         now=now)
            if not ok_ref.any():
                from ..errors import ConsentError

                raise ConsentError(f"no enterprise of the data is authorised for {purpose} "
                                   f"at {reference_as_of}: there is no reference to compare "
                                   "with")
            ref = peers[ok_ref].reset_index(drop=True)
            profiler = Profiler().fit(build_features(
                only_tables(ds.select(ref["uscc"].unique()), tables_read(need)), as_of=ref,
                features=need))
            reference = (f"the {int(ok_ref.sum()):,} authorised enterprises of the data at "
                         f"{pd.Timestamp(ref['as_of'].iloc[0]).date()}")
        ok, reason = self.admit_pairs(pairs, purpose, tables=tables_read(need), at=at,
                                      now=now)
        keep = pairs[ok].reset_index(drop=True)
        sub = only_tables(ds.select(keep["uscc"].unique()), tables_read(need))
        computed = [build_profiles(sub, keep, profiler=profiler, lang=lang, detail=detail)
                    ] if ok.any() else []
        out = place(computed, pairs, ok)
        out["consent"] = reason
        self._audit(event="profile", purpose=purpose, reference=reference,
                    processed=int(ok.sum()), not_processed=int((~ok).sum()),
                    **self._ids(pairs["uscc"]))
        return self._finish(out)

    # ------------------------------------------------------------------ model development
    def fit(self, strategy: Strategy, ds: TaxDataset, *, target: str = "default_12m",
            until=None, reference: bool = True, at=None, now=None) -> Strategy:
        """Fit ``strategy`` (and its profile reference) on authorised applications only.

        Purpose ``model_development``: an application whose enterprise did not authorise
        that purpose (at the moment of use; ``at="as_of"`` replays each application's date)
        is left out of training and of the reference, and counted in the audit record.
        """
        now = _now(now)
        from ..profile import Profiler, needed_features

        need = list(strategy.spec.needed_features())
        if reference:
            need += needed_features(Profiler.from_params(strategy.spec.profile))
        kept, n_ok, refused = self._admit_applications(ds, "model_development", at, now,
                                                       "training", until=until,
                                                       tables=tables_read(need))
        try:
            strategy.fit(kept, target=target, until=until)
        except TaxDataError as exc:  # say how many consent left out, and what to do
            n_all = n_ok + sum(refused.values())
            hint = ("; to replay history, check consent at each application's date "
                    "(at='as_of', --consent-at as-of)" if at is None else "")
            raise TaxDataError(f"{exc} — {n_ok:,} of {n_all:,} applications are authorised "
                               f"for model development{hint}") from exc
        if reference:
            from ..profile import fit_reference

            fit_reference(strategy, kept, target=target, until=until)
        self._audit(event="train", purpose="model_development", strategy=strategy.spec.name,
                    version=strategy.spec.version, until=None if until is None else
                    str(pd.Timestamp(until).date()), applications_authorised=n_ok,
                    not_processed=refused, n_train=int(strategy.card_.get("n_train", 0)),
                    training_data_sha256=strategy.card_.get("data_fingerprint", ""))
        return strategy

    def validate(self, strategy: Strategy, ds: TaxDataset, *, at=None, now=None, **kwargs):
        """:func:`~taxcredit.monitoring.validate` on authorised applications only.

        Purpose ``model_development`` (validation is part of the model's life cycle); other
        keyword arguments go to ``validate``.
        """
        from ..monitoring import validate

        now = _now(now)
        kept, n_ok, refused = self._admit_applications(
            ds, "model_development", at, now, "validation",
            tables=tables_read(strategy.spec.needed_features()))
        report = validate(strategy, kept, **kwargs)
        summary = report.summary
        self._audit(event="validate", purpose="model_development",
                    strategy=strategy.spec.name, version=strategy.spec.version,
                    applications_authorised=n_ok, not_processed=refused,
                    outcome={str(r["sample"]): {"n": int(r["n"]), "auc": round(float(r["auc"]),
                                                                                4)}
                             for _, r in summary.iterrows()})
        return report

    # ------------------------------------------------------------------ monitoring
    def portfolio(self, strategy: Strategy, ds: TaxDataset, dates, *, book=None, at=None,
                  now=None, **kwargs):
        """:func:`~taxcredit.monitoring.monitor_portfolio` on the authorised book.

        Purpose ``post_loan_monitoring``, checked at ``now`` (``at="as_of"``: at the last
        date; applications at their own dates). Enterprises of the book without consent are
        left out and counted in the audit record.
        """
        from ..monitoring import monitor_portfolio

        now = _now(now)
        dates = [pd.Timestamp(d) for d in as_of_dates(list(dates))]  # days, as monitored
        usccs = _book_usccs(book if book is not None else ds["enterprises"]["uscc"])
        last = pd.Series([max(dates) if dates else now] * len(usccs))
        pairs = pd.DataFrame({"uscc": usccs, "as_of": last})
        ok, reason = self.admit_pairs(pairs, "post_loan_monitoring", at=at, now=now,
                                      tables=tables_read(strategy.spec.needed_features()))
        kept = ds
        if "applications" in ds:
            kept, _, _ = self._admit_applications(
                ds, "post_loan_monitoring", at, now, "portfolio monitoring",
                tables=tables_read(strategy.spec.needed_features()))
        if not ok.any():
            from ..errors import ConsentError

            self._audit(event="portfolio", purpose="post_loan_monitoring", processed=0,
                        not_processed=pd.Series(reason).value_counts().to_dict(),
                        **self._ids(usccs))
            raise ConsentError(f"none of the {len(usccs):,} enterprises of the book is "
                               "authorised for post-loan monitoring")
        mon = monitor_portfolio(strategy, kept, dates, book=usccs[ok].tolist(), **kwargs)
        self._audit(event="portfolio", purpose="post_loan_monitoring",
                    strategy=strategy.spec.name, version=strategy.spec.version,
                    dates=[str(d.date()) for d in dates], processed=int(ok.sum()),
                    not_processed=pd.Series(reason[~ok]).value_counts().to_dict(),
                    **self._ids(usccs))
        return mon

    # ------------------------------------------------------------------ monitor
    def _unmask_previous(self, previous, usccs: pd.Series):
        """Give a masked previous run's alerts back their codes, through ``uscc_key``."""
        if previous is None or previous.empty or "uscc" not in previous:
            return previous
        if not previous["uscc"].astype(str).str.contains("*", regex=False).any():
            return previous
        if PSEUDONYM not in previous:
            raise ValueError("the previous alerts are masked and carry no uscc_key: they "
                             "cannot be matched with this run's (keep the uscc_key column)")
        known = pd.Series(usccs.to_numpy(), index=pseudonym(usccs, self.key).to_numpy())
        known = known[~known.index.duplicated()]
        codes = known.reindex(previous[PSEUDONYM].astype(str)).to_numpy()
        if pd.isna(codes).all() and len(codes):
            raise ValueError("none of the previous alerts' uscc_key matches an enterprise "
                             "of the book: were they written with another key (governance "
                             "key_file)?")
        return previous.assign(uscc=codes)[pd.notna(codes)]

    def monitor(self, ds: TaxDataset, as_of, *, book=None, config=None, previous=None,
                lang: str = "zh", at=None, now=None) -> pd.DataFrame:
        """Early warnings for the book's enterprises with live consent for monitoring.

        Consent is checked at ``now`` (the moment of use; ``at="as_of"`` replays the as-of
        date) for the tables the rules read. Enterprises without it get one EW16 alert (stop
        using their data) and nothing else. ``book`` defaults to every enterprise of ``ds``.
        """
        from ..monitoring import WarningConfig, early_warnings

        when = as_of_date(as_of)
        if isinstance(book, pd.DataFrame) and "uscc" not in book.columns:
            raise TaxDataError(f"book: needs a uscc column (got {list(book.columns)})")
        if book is None:  # every enterprise registered by the as-of date
            ent = ds["enterprises"]
            book = ent["uscc"] if "registration_date" not in ent else \
                ent.loc[(ent["registration_date"] <= when).to_numpy(), "uscc"]
        usccs = _book_usccs(book)
        now = _now(now)
        admitted = self.admit(usccs, "post_loan_monitoring",
                              self._moments(pd.Series([when] * len(usccs)), at, now),
                              tables=MONITORING_TABLES, now=now)
        allowed = admitted.index[admitted["allowed"].to_numpy()]
        previous = self._unmask_previous(previous, usccs)
        # consent was checked above, at the moment of use: EW16 is added below, not re-derived
        # at the as-of date (which could contradict it)
        cfg = config if isinstance(config, WarningConfig) else WarningConfig.from_params(config)
        cfg = dataclasses.replace(cfg, disabled=tuple(sorted({*cfg.disabled, "EW16"})))
        alerts = early_warnings(ds, when, book=allowed, config=cfg, previous=previous,
                                lang=lang)
        refused = admitted[~admitted["allowed"].to_numpy()]
        if len(refused):
            msg = _REASON_TEXT[lang]
            extra = pd.DataFrame({
                "uscc": refused.index, "rule": "EW16", "level": "yellow",
                "message": [("停止使用涉税数据：" if lang == "zh" else
                             "Stop using the tax data: ") + msg[r] for r in refused["reason"]],
                "evidence": [f'{{"reason": "{r}"}}' for r in refused["reason"]],
                "trigger_date": when, "as_of": when, "rescore": False,
                "status": _ew16_status(refused.index, previous)})
            alerts = pd.concat([alerts, extra], ignore_index=True)
            rank = alerts["level"].map({lv: i for i, lv in enumerate(
                ("red", "orange", "yellow", "info"))})
            alerts = alerts.iloc[np.lexsort((alerts["rule"], alerts["uscc"], rank))] \
                .reset_index(drop=True)
        levels = alerts["level"].value_counts().to_dict()
        self._audit(event="monitor", purpose="post_loan_monitoring", as_of=str(when.date()),
                    alerts={str(k): int(v) for k, v in levels.items()},
                    not_processed=len(refused), **self._ids(usccs))
        return self._finish(alerts)


def _ew16_status(usccs: pd.Index, previous) -> np.ndarray:
    """``ongoing`` where the previous run already told to stop using the data, else ``new``."""
    if previous is None or previous.empty:
        return np.full(len(usccs), "new", dtype=object)
    before = set(previous.loc[previous["rule"] == "EW16", "uscc"].astype(str))
    return np.where(usccs.isin(list(before)), "ongoing", "new").astype(object)


_EVENTS = {"training": "train", "validation": "validate", "portfolio monitoring": "portfolio"}


def _now(now) -> pd.Timestamp:
    return now_in_beijing() if now is None else as_beijing(now)


def only_tables(ds: TaxDataset, tables) -> TaxDataset:
    """Return ``ds`` with only ``tables`` (and ``enterprises``): what the consent covered."""
    keep = {"enterprises", *tables}
    return TaxDataset({t: df for t, df in ds.tables.items() if t in keep},
                      validated=ds.validated)


def tables_read(features) -> list[str]:
    """Return the tables ``features`` read (what an authorisation's scope must cover)."""
    return sorted(feature_inputs(list(features)))


def _pairs(ds: TaxDataset | None, as_of) -> pd.DataFrame:
    """(uscc, as_of) pairs keyed as the feature engine keys them (codes and dates)."""
    if isinstance(as_of, pd.DataFrame):
        missing = sorted({"uscc", "as_of"} - set(as_of.columns))
        if missing:
            raise TaxDataError(f"as_of pairs lack column(s) {missing} (got "
                               f"{list(as_of.columns)})")
        p = as_of[["uscc", "as_of"]].reset_index(drop=True)
    else:
        p = pd.DataFrame({"uscc": ds["enterprises"]["uscc"].to_numpy(), "as_of": as_of})
    return pd.DataFrame({"uscc": normalise_uscc(p["uscc"]).to_numpy(),
                         "as_of": as_of_dates(p["as_of"]) if len(p) else
                         np.array([], dtype="datetime64[ns]")})


def consent_reasons(usccs: pd.Series, allowed, refused: dict) -> np.ndarray:
    """Return each enterprise's consent reason: ``ok`` if allowed, its refusal, else ``none``.

    Fails closed: an enterprise in neither (e.g. a code written differently than when
    consent was checked) is not processed.
    """
    why = usccs.map(refused).to_numpy(dtype=object)
    known = usccs.isin(allowed).to_numpy() if len(allowed) else np.zeros(len(usccs), bool)
    return np.where(pd.isna(why), np.where(known, "ok", "none"), why).astype(object)


def place(computed: list[pd.DataFrame], pairs: pd.DataFrame, ok: np.ndarray,
          refused: pd.DataFrame | None = None) -> pd.DataFrame:
    """Put rows computed for the allowed pairs and rows for the refused ones in input order.

    ``computed`` are frames of the allowed pairs, in their order (the engine keeps the order
    of the pairs it is given); ``refused`` holds one row per refused pair (default: no
    columns, so every computed column is missing there). Rows are placed by position, so
    duplicated pairs are fine; the result is indexed by ``pairs``.
    """
    n_ok = int(ok.sum())
    done = pd.concat(computed) if len(computed) > 1 else (computed[0] if computed else None)
    if done is None:
        done = pd.DataFrame(index=range(0))
    if len(done) != n_ok:
        raise RuntimeError(f"{len(done)} rows computed for {n_ok} authorised pairs")
    if n_ok and "uscc" in (done.index.names or []):
        got = done.index.get_level_values("uscc").astype(str).to_numpy()
        same = np.array_equal(got, pairs["uscc"].to_numpy()[ok].astype(str))
        if same and "as_of" in done.index.names:
            same = np.array_equal(done.index.get_level_values("as_of").to_numpy(
                dtype="datetime64[ns]"), pairs["as_of"].to_numpy(dtype="datetime64[ns]")[ok])
        if not same:
            raise RuntimeError("computed rows are not in the order of the authorised pairs")
    no = refused if refused is not None else pd.DataFrame(index=range(len(ok) - n_ok))
    both = pd.concat([done.reset_index(drop=True), no.reset_index(drop=True)],
                     ignore_index=True)
    where = np.concatenate([np.flatnonzero(ok), np.flatnonzero(~ok)])
    out = both.iloc[np.argsort(where, kind="stable")]
    out.index = pd.MultiIndex.from_frame(pairs[["uscc", "as_of"]])
    return out


def merge_refusals(parts: list[pd.DataFrame], pairs: pd.DataFrame, ok: np.ndarray,
                   reason: np.ndarray, lang: str) -> pd.DataFrame:
    """Put the decided rows and the not-processed ones back in input order.

    ``parts`` are decision frames of the allowed pairs, in their order; the refused pairs get
    ``decision = "not_processed"`` and their reason as the rule message; ``consent`` is added.
    """
    from ..strategy.strategy import DECISIONS

    n_no = int((~ok).sum())
    no = pd.DataFrame({"eligible": np.zeros(n_no, dtype=bool), "rule_hits": "",
                       "rule_messages": [_REASON_TEXT[lang][r] for r in reason[~ok]],
                       "pd": np.nan, "score": pd.array([pd.NA] * n_no, dtype="Int64"),
                       "grade": None, "reason_1": None, "reason_2": None, "reason_3": None,
                       "decision": NOT_PROCESSED, "limit": np.nan}, index=range(n_no))
    if parts:
        no = no[[c for c in parts[0].columns if c in no.columns]]
    out = place(parts, pairs, ok, no)
    out["decision"] = pd.Categorical(out["decision"].astype(str),
                                     categories=[*DECISIONS, NOT_PROCESSED])
    out["score"] = out["score"].astype("Int64")  # one type whether or not rows were refused
    out["consent"] = reason
    return out
