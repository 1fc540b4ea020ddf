"""Masking of identifiers in outputs, logs and reports (JR/T 0171 display conventions).

USCC ``91110108********2Q``, resident ID ``110***********1234``, phone ``138****1234``,
names ``张*``. :func:`mask_frame` masks every identifier column of a frame (and a ``uscc``
index level); :func:`pseudonym` gives a stable keyed hash for joining without the identifier.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from ..data.ids import mask_name, mask_phone, mask_resident_id, mask_uscc_array

__all__ = ["IDENTIFIER_COLUMNS", "PSEUDONYM", "conceal", "mask_frame", "pseudonym"]

#: Column names treated as identifiers, and their masks.
IDENTIFIER_COLUMNS = {
    "uscc": "uscc", "taxpayer_id": "uscc", "name": "name", "legal_rep_name": "name",
    "contact_name": "name", "resident_id": "resident_id", "legal_rep_id": "resident_id",
    "id_number": "resident_id", "phone": "phone", "mobile": "phone", "contact_phone": "phone",
}
#: Column of the keyed pseudonym that masked outputs carry (to join runs without the USCC).
PSEUDONYM = "uscc_key"
_MASKS = {"name": mask_name, "resident_id": mask_resident_id, "phone": mask_phone}


def _mask_series(s: pd.Series, kind: str) -> pd.Series:
    if kind == "uscc":
        return pd.Series(mask_uscc_array(s.astype("object")), index=s.index, name=s.name)
    return s.astype("object").map(_MASKS[kind])


def mask_frame(df: pd.DataFrame, *, columns: dict | None = None) -> pd.DataFrame:
    """Return a copy with every identifier column (and a ``uscc`` index level) masked.

    Parameters
    ----------
    df : DataFrame
    columns : dict of column → kind, optional
        More identifier columns (kind: ``uscc``, ``name``, ``resident_id``, ``phone``).
    """
    kinds = {**IDENTIFIER_COLUMNS, **(columns or {})}
    out = df.copy()
    for c in out.columns:
        if c in kinds:
            out[c] = _mask_series(out[c], kinds[c])
    names = list(out.index.names)
    if any(n in kinds for n in names):
        frame = out.index.to_frame(index=False)
        for n in names:
            if n in kinds:
                frame[n] = _mask_series(frame[n], kinds[n])
        out.index = pd.MultiIndex.from_frame(frame) if len(names) > 1 else \
            pd.Index(frame[names[0]], name=names[0])
    return out


def pseudonym(values, key: bytes) -> pd.Series:
    """Stable keyed hash (HMAC-SHA-256, 16 hex) of identifiers: joinable, not reversible."""
    if not key:
        raise ValueError("pseudonym needs a secret key")
    s = pd.Series(values, dtype="object").astype(str)
    base = hmac.new(key, digestmod=hashlib.sha256)  # copying the keyed state is cheaper

    def one(v: str) -> str:
        h = base.copy()
        h.update(v.encode())
        return h.hexdigest()[:16]

    return pd.Series([one(v) for v in s], index=s.index, dtype=object)


def conceal(df: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Mask ``df`` and add :data:`PSEUDONYM`, the keyed pseudonym of its ``uscc``.

    The pseudonym lets the next run (or the bank's loan system, holding the same key) join
    on the enterprise without seeing its code; with the same key it is the same every run.
    """
    if "uscc" in df.columns:
        ids = df["uscc"]
    elif "uscc" in df.index.names:
        ids = df.index.get_level_values("uscc")
    else:
        return mask_frame(df)
    out = df.copy()
    out[PSEUDONYM] = pseudonym(ids, key).to_numpy()
    return mask_frame(out)
