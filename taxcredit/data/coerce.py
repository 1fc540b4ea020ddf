"""Safe, vectorised coercion of raw columns to the dtypes of the data contract.

Each coercer returns the converted column and a boolean mask of the rows whose *present* value
could not be converted. A column that cannot be converted safely as a whole (a float column where
text codes belong, a boolean where an amount belongs) raises :class:`ColumnTypeError`.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from .schema import Column

__all__ = ["ColumnTypeError", "coerce_column", "empty_column"]

_FULLWIDTH = str.maketrans(
    {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "}
)


class ColumnTypeError(ValueError):
    """A whole column has a type that cannot be converted safely."""


def _normalise_text(s: pd.Series, col: Column) -> pd.Series:
    """Strip blanks; codes also lose full-width forms (Excel exports) and, for USCCs, case."""
    s = s.astype("str")
    pattern = r"^\s|\s$" if col.free_text else r"^\s|\s$|[^\x00-\x7f]"
    if col.name == "uscc":
        pattern += "|[a-z]"
    hits = pc.match_substring_regex(pa.array(s, type=pa.large_string()), pattern)
    dirty = hits.to_numpy(zero_copy_only=False).astype(bool, copy=False) & s.notna().to_numpy()
    if not dirty.any():
        return s
    s = s.copy()
    fix = s[dirty].str.strip()
    if not col.free_text:
        fix = fix.map(lambda v: v.translate(_FULLWIDTH).strip())
    if col.name == "uscc":
        fix = fix.str.upper()
    s[dirty] = fix
    return s


def _is_text(s: pd.Series) -> np.ndarray:
    """For an ``object`` column: which values are ``str`` (missing values count as text)."""
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return np.ones(len(s), dtype=bool)
    flags = s.map(lambda v: isinstance(v, str), na_action="ignore")
    return flags.fillna(True).to_numpy(dtype=bool)


def _as_text(s: pd.Series, col: Column, normalise: bool = True,
             ) -> tuple[pd.Series, np.ndarray]:
    bad = np.zeros(len(s), dtype=bool)
    if ptypes.is_bool_dtype(s) or ptypes.is_float_dtype(s) or ptypes.is_datetime64_any_dtype(s):
        raise ColumnTypeError(
            f"has dtype {s.dtype}; codes and names must be read as text "
            "(e.g. pd.read_csv(..., dtype=str)) so that leading zeros and letters survive"
        )
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if ptypes.is_integer_dtype(s):
        out = s.astype("Int64").astype("str")
    elif s.dtype == object:  # hand-built or Excel frames: flag the values that are not text
        bad = ~_is_text(s)
        out = s.where(~bad).astype("str")
    elif ptypes.is_string_dtype(s):
        out = s.astype("str")
    else:
        raise ColumnTypeError(f"has dtype {s.dtype}, expected text")
    if normalise:
        out = _normalise_text(out, col)
    empty = (out == "").to_numpy(dtype=bool, na_value=False)
    if empty.any():
        out = out.where(~empty)
    return out, bad


def _as_category(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    assert col.allowed is not None
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = pd.Series(s.cat.categories.astype("str")).str.strip()
        mapped = cats.map(lambda v: col.aliases.get(v, v))
        codes = pd.Index(col.allowed).get_indexer(mapped)
        new_codes = np.where(s.cat.codes.to_numpy() >= 0, codes[s.cat.codes.to_numpy()], -1)
        bad = (new_codes < 0) & s.notna().to_numpy()
        out = pd.Categorical.from_codes(np.where(bad, -1, new_codes), categories=col.allowed)
        return pd.Series(out, index=s.index, name=s.name), bad
    if not (ptypes.is_string_dtype(s) or s.dtype == object):
        raise ColumnTypeError(f"has dtype {s.dtype}, expected one of {list(col.allowed)}")
    text, bad_text = _as_text(s, col)
    allowed = pd.Index(col.allowed)
    codes = allowed.get_indexer(text)
    unknown = (codes < 0) & text.notna().to_numpy()
    if unknown.any() and col.aliases:
        text = text.replace(dict(col.aliases))
        codes = allowed.get_indexer(text)
        unknown = (codes < 0) & text.notna().to_numpy()
    cat = pd.Categorical.from_codes(codes, categories=col.allowed)
    return pd.Series(cat, index=s.index, name=s.name), unknown | bad_text


def _text_to_float(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype(
        "float64")


def _as_float(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_bool_dtype(s) or ptypes.is_datetime64_any_dtype(s):
        raise ColumnTypeError(f"has dtype {s.dtype}, expected numbers")
    if ptypes.is_numeric_dtype(s):
        out = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index, name=s.name)
        bad = np.zeros(len(s), dtype=bool)
    elif s.dtype == object:  # numbers, numeric text and strays mixed
        is_text = _is_text(s)
        is_number = s.map(lambda v: isinstance(v, numbers.Number)
                          and not isinstance(v, (bool, np.bool_)),
                          na_action="ignore").fillna(False).to_numpy(dtype=bool)
        out = pd.Series(np.nan, index=s.index, name=s.name)
        if is_number.any():
            out[is_number] = s[is_number].astype("float64")
        text, _ = _as_text(s.where(is_text & ~is_number), col)
        parsed = _text_to_float(text)
        out = out.where(~text.notna().to_numpy(), parsed)
        bad = s.notna().to_numpy() & out.isna().to_numpy()
    else:
        text, bad = _as_text(s, col)
        out = _text_to_float(text)
        bad = bad | (out.isna().to_numpy() & text.notna().to_numpy())
    values = out.to_numpy()
    bad = bad | np.isinf(values)
    return out.where(~np.isinf(values)), bad


_INT_LIMIT = 2**53  # integers beyond this are not exact as floats: refused


def _as_int(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_integer_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        huge = np.abs(v) > _INT_LIMIT
        if not huge.any():
            return s.astype("Int64"), np.zeros(len(s), dtype=bool)
        s = pd.Series(np.where(huge, np.nan, v), index=s.index, name=s.name)
        return s.astype("Int64"), huge
    out, bad = _as_float(s, col)
    values = out.to_numpy()
    with np.errstate(invalid="ignore"):
        wrong = ~np.isnan(values) & ((np.floor(values) != values)
                                     | (np.abs(values) > _INT_LIMIT))
    bad = bad | wrong
    values = np.where(wrong, np.nan, values)
    return pd.Series(values, index=s.index, name=s.name).astype("Int64"), bad


def _midnight(s: pd.Series) -> pd.Series:
    """Drop times of day (dates are calendar dates); a no-op when there are none."""
    v = s.to_numpy()
    has_time = (v != v.astype("datetime64[D]")) & ~np.isnat(v)
    return s.dt.normalize() if has_time.any() else s


_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"
#: Dates a ``datetime64[ns]`` column can hold; anything outside is refused row by row.
_NS_MIN, _NS_MAX = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")


def _naive_local(s: pd.Series) -> pd.Series:
    """Time-zone-aware values → Asia/Shanghai wall time, naive."""
    return s.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)


def _parse_text_dates(text: pd.Series) -> pd.Series:
    """Parse ISO dates (with or without a UTC offset) and common Chinese layouts."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    has_tz = text.str.contains(_TZ_SUFFIX, regex=True, na=False).to_numpy()
    if has_tz.any():  # offsets may differ row to row: go through UTC
        aware = pd.to_datetime(text[has_tz], errors="coerce", format="ISO8601", utc=True)
        out[has_tz] = _naive_local(aware).astype("datetime64[us]")
    plain = ~has_tz & text.notna().to_numpy()
    if plain.any():
        part = text[plain]
        parsed = pd.to_datetime(part, errors="coerce", format="ISO8601")
        for fmt in ("%Y%m%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
            retry = parsed.isna()
            if not retry.any():
                break
            parsed = parsed.where(~retry, pd.to_datetime(part.where(retry), errors="coerce",
                                                         format=fmt))
        out[plain] = parsed.astype("datetime64[us]")
    return out


def _as_date(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    if isinstance(s.dtype, pd.ArrowDtype) and (pa.types.is_timestamp(s.dtype.pyarrow_dtype)
                                               or pa.types.is_date(s.dtype.pyarrow_dtype)):
        tz = getattr(s.dtype.pyarrow_dtype, "tz", None)
        s = pd.Series(pd.to_datetime(s.astype("datetime64[us, UTC]" if tz else
                                              "datetime64[us]")), index=s.index, name=s.name)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = _naive_local(s)
    present = s.notna().to_numpy()
    if ptypes.is_datetime64_dtype(s):
        out = s
        bad = np.zeros(len(s), dtype=bool)
    elif ptypes.is_numeric_dtype(s) or ptypes.is_bool_dtype(s):
        raise ColumnTypeError(
            f"has dtype {s.dtype}; dates must be dates or text like 2024-03-31, not numbers"
        )
    elif s.dtype == object and not _is_text(s).all():  # date objects, maybe mixed with text
        is_text = _is_text(s)
        objects = s.where(~is_text)
        try:
            out = pd.to_datetime(objects, errors="coerce")
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                out = _naive_local(out)
            out = out.astype("datetime64[us]")
        except (ValueError, TypeError, OverflowError):  # out-of-range or mixed zones
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
            for k, v in objects.dropna().items():  # the rare slow path, row by row
                try:
                    ts = pd.Timestamp(v)
                    ts = ts.tz_convert("Asia/Shanghai").tz_localize(None) if ts.tzinfo else ts
                    out[k] = ts
                except (ValueError, TypeError, OverflowError):
                    pass
        if is_text.any():
            text, _ = _as_text(s.where(is_text).astype("str"), col)
            parsed = _parse_text_dates(text)
            out = out.where(~is_text, parsed)
        bad = out.isna().to_numpy() & present
    else:
        text, bad = _as_text(s, col)
        out = _parse_text_dates(text)
        bad = bad | (out.isna().to_numpy() & text.notna().to_numpy())
    beyond = ((out < _NS_MIN) | (out > _NS_MAX)).to_numpy(dtype=bool, na_value=False)
    if beyond.any():  # e.g. 9999-12-31 "open end" markers
        out = out.where(~beyond)
        bad = bad | beyond
    return _midnight(out.astype("datetime64[ns]")), bad


_COERCERS = {
    "string": _as_text,
    "category": _as_category,
    "float": _as_float,
    "int": _as_int,
    "date": _as_date,
}


def coerce_column(s: pd.Series, col: Column, *, normalise: bool = True,
                  ) -> tuple[pd.Series, np.ndarray]:
    """Convert ``s`` to the dtype of ``col``.

    Parameters
    ----------
    s : pandas.Series
        Raw column.
    col : Column
        Its declared contract.
    normalise : bool
        Strip blanks and convert full-width characters (and case, for USCCs) of text.

    Returns
    -------
    values : pandas.Series
        Converted column (integers as nullable ``Int64`` until missing rows are removed).
    bad : numpy.ndarray of bool
        Rows whose present value could not be converted (they are missing in ``values``).

    Raises
    ------
    ColumnTypeError
        When the column as a whole cannot be converted safely.
    """
    if col.kind == "string":
        return _as_text(s, col, normalise=normalise)
    return _COERCERS[col.kind](s, col)


def empty_column(col: Column, index: pd.Index) -> pd.Series:
    """Return an all-missing column with the contract dtype of ``col`` (absent optional columns)."""
    n = len(index)
    if col.kind == "category":
        assert col.allowed is not None
        values = pd.Categorical([None] * n, categories=col.allowed)
        return pd.Series(values, index=index, name=col.name)
    if col.kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), index=index,
                         name=col.name)
    if col.kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"), index=index, name=col.name)
    if col.kind == "string":
        return pd.Series([None] * n, index=index, name=col.name, dtype="str")
    return pd.Series(np.full(n, np.nan), index=index, name=col.name)
