"""Consent (授权) and purpose limitation: who may be processed, for what, with which data.

An authorisation record: the enterprise (``uscc``), the bank, the purposes it covers, the
scope (tables, or ``*``), when it was granted, when it expires, when it was revoked, and how
it was verified (real-name authentication, double authorisation …). Checks are point in
time: a revocation takes effect from its timestamp, an expiry on its date.

Purposes are declared on every call. Tax data from 银税互动 may serve credit management only:
credit assessment (授信审批), post-loan monitoring (贷后管理) and model development on
authorised history (模型开发); anything else is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data.ids import mask_uscc_array, normalize_uscc
from ..errors import ConsentError, PurposeError

__all__ = [
    "COLUMNS",
    "PURPOSES",
    "ConsentRegistry",
    "as_beijing",
    "check_purpose",
    "normalise_uscc",
    "now_in_beijing",
]

BEIJING = "Asia/Shanghai"
#: Purposes tax data may be used for: id → (中文, English).
PURPOSES: dict[str, tuple[str, str]] = {
    "credit_assessment": ("授信审批", "credit assessment"),
    "post_loan_monitoring": ("贷后管理", "post-loan monitoring"),
    "model_development": ("模型开发（已授权历史数据）", "model development on authorised history"),
}
#: Columns of a consent table (``revoked_at``, ``bank``, ``verification`` may be empty).
COLUMNS = ("uscc", "bank", "purposes", "scope", "granted_at", "expires_at", "revoked_at",
           "verification")


def check_purpose(purpose) -> str:
    """Return ``purpose`` if tax data may be used for it; raise :class:`PurposeError` if not."""
    if purpose is None or purpose == "":
        raise PurposeError("declare the purpose of this use of tax data: one of "
                           f"{list(PURPOSES)}")
    if purpose not in PURPOSES:
        raise PurposeError(f"tax data may not be used for {purpose!r}: 银税互动 data serve "
                           f"credit management only ({', '.join(PURPOSES)})")
    return purpose


def normalise_uscc(usccs) -> pd.Series:
    """Return USCCs as validation stores them: trimmed, full-width forms converted, upper case.

    Missing codes raise :class:`ConsentError` (an enterprise must be named to be checked).
    """
    if isinstance(usccs, pd.Series | pd.Index):
        s = pd.Series(usccs.to_numpy(), dtype="str")
    else:
        s = pd.Series(list(usccs), dtype="str")
    if s.isna().any():
        rows = np.flatnonzero(s.isna().to_numpy())[:5].tolist()
        raise ConsentError(f"{int(s.isna().sum())} enterprise(s) without a USCC, e.g. rows "
                           f"{rows}: every use of tax data names the enterprise")
    dirty = pc.match_substring_regex(pa.array(s, type=pa.large_string()),
                                     r"^\s|\s$|[^\x00-\x7f]|[a-z]").to_numpy(
        zero_copy_only=False).astype(bool)
    if dirty.any():
        s = s.copy()
        s[dirty] = [normalize_uscc(v) for v in s[dirty]]
    return s


def as_beijing(moment) -> pd.Timestamp:
    """Return a moment as Beijing wall time without a zone (naive moments are kept)."""
    t = pd.Timestamp(moment)
    return t.tz_convert(BEIJING).tz_localize(None) if t.tzinfo is not None else t


def now_in_beijing() -> pd.Timestamp:
    """Return the current wall time in Beijing, without a zone (the library's convention)."""
    return pd.Timestamp.now(tz=BEIJING).tz_localize(None)


#: an ISO 8601 time of day with a zone: ``T14:05:00+08:00``, `` 06:05Z``
_ZONED = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"


def _beijing(values: pd.Series, column: str) -> pd.Series:
    """Read timestamps; zoned ones become Beijing wall time without a zone.

    ISO 8601 text may mix dates and date-times (``2025-06-30``, ``2025-06-30 14:05``) and
    zoned and unzoned values; an unzoned one is Beijing wall time already.
    """
    try:
        try:
            t = pd.to_datetime(values)  # one format throughout (inferred from the first)
        except (ValueError, TypeError):  # mixed: dates and times, zoned and not
            s = pd.Series(values).reset_index(drop=True)
            text = s.astype("string")
            zoned = text.str.contains(_ZONED, regex=True, na=False).to_numpy()
            t = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            if (~zoned).any():
                t[~zoned] = pd.to_datetime(s[~zoned], format="ISO8601")
            if zoned.any():
                t[zoned] = (pd.to_datetime(text[zoned], format="ISO8601", utc=True)
                            .dt.tz_convert(BEIJING).dt.tz_localize(None))
            t.index = values.index if isinstance(values, pd.Series) else t.index
    except (ValueError, TypeError) as exc:
        raise ConsentError(f"consent table: {column} holds values that are not dates "
                           f"({str(exc).splitlines()[0].split(' You might')[0]})") from exc
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        t = t.dt.tz_convert(BEIJING).dt.tz_localize(None)
    return t


def _split(v) -> frozenset[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return frozenset()
    if isinstance(v, (list, tuple, set, frozenset, np.ndarray)):
        return frozenset(str(x).strip() for x in v)
    return frozenset(x.strip() for x in str(v).replace(",", ";").split(";") if x.strip())


def _canonical(col: pd.Series, empty: frozenset[str]) -> pd.Series:
    """Each cell as ``";a;b;"`` (sorted, ``empty`` when blank), parsed once per distinct value."""
    def text(v) -> str:
        return ";" + ";".join(sorted(_split(v) or empty)) + ";"

    try:
        distinct = pd.unique(col)
    except TypeError:  # lists in the cells: unhashable, parse each
        return col.map(text).astype(object)
    return col.map({v: text(v) for v in distinct}).astype(object)


def _covers(scope: pd.Series, need: frozenset[str]) -> pd.Series:
    ok = pd.Series(True, index=scope.index)
    for table in need:
        ok &= scope.str.contains(f";{table};", regex=False)
    return ok


class ConsentRegistry:
    """Authorisation records, checked point in time for a purpose and a scope.

    Parameters
    ----------
    table : DataFrame
        One row per authorisation, columns :data:`COLUMNS` (``purposes`` and ``scope`` as
        lists or ``;``-separated text; ``scope`` ``*`` means every table).
    bank : str, optional
        Only this bank's authorisations count.
    """

    def __init__(self, table: pd.DataFrame, *, bank: str | None = None) -> None:
        missing = [c for c in ("uscc", "purposes", "granted_at", "expires_at")
                   if c not in table.columns]
        if missing:
            raise ConsentError(f"consent table: missing column(s) {missing}; expected "
                               f"{list(COLUMNS)}")
        t = table.copy()
        for c in ("bank", "scope", "revoked_at", "verification"):
            if c not in t.columns:
                t[c] = "*" if c == "scope" else None
        t["uscc"] = normalise_uscc(t["uscc"]).to_numpy()
        for c in ("granted_at", "expires_at", "revoked_at"):
            t[c] = _beijing(t[c], c)
        bad = t["granted_at"].isna() | t["expires_at"].isna()
        if bad.any():
            rows = mask_uscc_array(t.loc[bad, "uscc"].head(3)).tolist()
            raise ConsentError(f"consent table: {int(bad.sum())} authorisation(s) without a "
                               f"granted_at or expires_at date, e.g. {rows}")
        # kept as ";a;b;" text so checks are vectorised string matches
        t["purposes"] = _canonical(t["purposes"], frozenset())
        unknown = sorted(set().union(*(set(p.strip(";").split(";")) - {""}
                                       for p in pd.unique(t["purposes"]))) - set(PURPOSES))
        if unknown:
            raise ConsentError(f"consent table: unknown purpose(s) {unknown}; the purposes are "
                               f"{list(PURPOSES)}")
        t["scope"] = _canonical(t["scope"], frozenset({"*"}))
        if bank is not None:
            t = t[t["bank"].astype(str) == bank]
        self.table = t.reset_index(drop=True)
        self.bank = bank

    def __len__(self) -> int:
        return len(self.table)

    @classmethod
    def from_file(cls, path, *, bank: str | None = None) -> ConsentRegistry:
        """Load a consent table from CSV, Parquet or JSON lines."""
        path = Path(path)
        if not path.is_file():
            raise ConsentError(f"{path}: no such consent file")
        if path.suffix == ".parquet":
            t = pd.read_parquet(path)
        elif path.suffix == ".csv":
            t = pd.read_csv(path, dtype={"uscc": str})
        elif path.suffix in (".json", ".jsonl"):
            t = pd.read_json(path, lines=path.suffix == ".jsonl", dtype={"uscc": str})
        else:
            raise ConsentError(f"{path}: read consents from .csv, .parquet or .json(l)")
        return cls(t, bank=bank)

    def check(self, usccs, purpose: str, at, *, tables=None) -> pd.DataFrame:
        """Whether each enterprise may be processed for ``purpose`` at ``at``.

        Parameters
        ----------
        usccs : iterable of str
        purpose : str
            One of :data:`PURPOSES`.
        at : date-like or datetime
            The moment of use (a revocation counts from its timestamp).
        tables : iterable of str, optional
            Tables the use reads; the authorisation's scope must cover them all.

        Returns
        -------
        DataFrame
            Indexed by ``uscc`` (input order): ``allowed`` and ``reason`` (``ok``, ``none``,
            ``not_yet``, ``expired``, ``revoked``, ``purpose`` or ``scope``).
        """
        check_purpose(purpose)
        at = as_beijing(at)
        need = frozenset(tables or ())
        ask = pd.Index(normalise_uscc(usccs))
        t = self.table[self.table["uscc"].isin(ask)]
        # the best reason per authorisation, then the best per enterprise (ok wins)
        order = ["ok", "scope", "purpose", "revoked", "expired", "not_yet"]
        reason = np.select(
            [t["granted_at"] > at, t["expires_at"] <= at,
             t["revoked_at"].notna() & (t["revoked_at"] <= at),
             ~t["purposes"].str.contains(f";{purpose};", regex=False),
             ~(t["scope"].str.contains(";*;", regex=False) | _covers(t["scope"], need))],
            ["not_yet", "expired", "revoked", "purpose", "scope"], default="ok")
        rank = pd.Series(pd.Categorical(reason, categories=order, ordered=True).codes,
                         index=t["uscc"].to_numpy())
        best = rank.groupby(level=0).min()
        codes = best.reindex(ask).to_numpy()
        out = pd.DataFrame({"reason": np.where(np.isnan(codes), "none",
                                               np.asarray(order, dtype=object)[
                                                   np.nan_to_num(codes).astype(int)])},
                           index=ask)
        out.index.name = "uscc"
        out.insert(0, "allowed", out["reason"] == "ok")
        return out

    def check_pairs(self, usccs, at, purpose: str, *, tables=None) -> pd.DataFrame:
        """Like :meth:`check`, each enterprise at its own moment (e.g. its application date).

        Returns a frame aligned with the inputs (``allowed``, ``reason``; default index).
        """
        check_purpose(purpose)
        need = frozenset(tables or ())
        ask = pd.DataFrame({"uscc": normalise_uscc(usccs),
                            "at": _beijing(pd.Series(at).reset_index(drop=True)
                                           if isinstance(at, pd.Series | np.ndarray)
                                           else pd.Series(list(at)), "at")})
        if len(ask["at"]) and ask["at"].isna().any():
            raise ValueError("check_pairs: every pair needs a date")
        ask["row"] = np.arange(len(ask))
        m = ask.merge(self.table, on="uscc", how="inner")
        order = ["ok", "scope", "purpose", "revoked", "expired", "not_yet"]
        reason = np.select(
            [m["granted_at"] > m["at"], m["expires_at"] <= m["at"],
             m["revoked_at"].notna() & (m["revoked_at"] <= m["at"]),
             ~m["purposes"].str.contains(f";{purpose};", regex=False),
             ~(m["scope"].str.contains(";*;", regex=False) | _covers(m["scope"], need))],
            ["not_yet", "expired", "revoked", "purpose", "scope"], default="ok")
        codes = pd.Series(pd.Categorical(reason, categories=order, ordered=True).codes,
                          index=m["row"].to_numpy()).groupby(level=0).min()
        best = codes.reindex(np.arange(len(ask))).to_numpy()
        out = pd.DataFrame({"reason": np.where(
            np.isnan(best), "none",
            np.asarray(order, dtype=object)[np.nan_to_num(best).astype(int)])})
        out.insert(0, "allowed", out["reason"] == "ok")
        return out

    def require(self, usccs, purpose: str, at, *, tables=None) -> None:
        """Raise :class:`ConsentError` unless every enterprise may be processed."""
        res = self.check(usccs, purpose, at, tables=tables)
        bad = res[~res["allowed"]]
        if len(bad):
            shown = ", ".join(f"{m} ({r})" for m, r in zip(
                mask_uscc_array(bad.index[:5].to_series()), bad["reason"][:5], strict=True))
            raise ConsentError(f"{len(bad):,} enterprise(s) lack a live authorisation for "
                               f"{purpose}: {shown}")
