"""Whole-column USCC checks and masking, without a Python loop over rows."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._tables import (
    _LUT_V31,
    _LUT_V36,
    _MIN_BIRTH_YEAR,
    _ORG_CHECK_BYTES,
    _ORG_WEIGHTS,
    _RID_CHECK,
    _RID_WEIGHTS,
    _STAR,
    _USCC_WEIGHTS,
)
from .masking import mask_uscc

# ---------------------------------------------------------------------------------------------
# Vectorised paths
# ---------------------------------------------------------------------------------------------


def _weighted_sum(rows: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    """Return ``sum_j rows[j] * weights[j]`` in uint16, looping over the few rows only.

    The sums of valid codes stay below 65536 (at most 30 * 30 * 17 for mod 31 and
    35 * 10 * 8 for GB 11714); sums of invalid codes may wrap, but those codes are rejected
    by the character-set test anyway.
    """
    total = np.zeros(rows.shape[1], dtype=np.uint16)
    for row, weight in zip(rows, weights, strict=True):
        total += row * np.uint16(weight)
    return total


def _valid_columns(mat: np.ndarray, strict: bool) -> np.ndarray:
    """Check each column of an (18, m) uint8 matrix of bytes / code points clipped to 255.

    Position-major layout keeps every step a contiguous elementwise operation.
    """
    values = _LUT_V31[mat]  # USCC value per character, 255 outside the character set
    ok = values.max(axis=0) < 31
    ok &= values[2:8].max(axis=0) < 10  # the region code is digits (values 0-9)
    if strict and mat.shape[1]:
        total = _weighted_sum(values[:17], _USCC_WEIGHTS)
        ok &= values[17] == (31 - total % 31) % 31
        org_total = _weighted_sum(_LUT_V36[mat[8:16]], _ORG_WEIGHTS)
        ok &= mat[16] == _ORG_CHECK_BYTES[11 - org_total % 11]
    return ok


def _resident_id_columns(mat: np.ndarray) -> np.ndarray:
    """Tell which columns of an (18, m) code-point matrix are valid resident IDs (GB 11643).

    Vectorised :func:`~taxcredit.data.ids.is_valid_resident_id` for 18 characters: 17
    digits and a check character by the mod-11 sum, and a real birth date from 1850 to today
    at positions 7-14.
    """
    digits = mat.astype(np.int16) - ord("0")
    ok = ((digits[:17] >= 0) & (digits[:17] <= 9)).all(axis=0)
    last = mat[17]
    ok &= ((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X"))
    d = np.where(ok[None, :], digits, 0).astype(np.int32)
    total = sum(d[j] * w for j, w in enumerate(_RID_WEIGHTS))
    check = np.frombuffer(_RID_CHECK.encode(), dtype=np.uint8)[total % 11]
    ok &= last == check
    year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9]
    month = d[10] * 10 + d[11]
    day = d[12] * 10 + d[13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    days = month_days[np.clip(month, 0, 12)] + (leap & (month == 2))
    today = _dt.date.today()
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= days) & (year >= _MIN_BIRTH_YEAR)
    ok &= year * 10_000 + month * 100 + day <= today.year * 10_000 + today.month * 100 + today.day
    return ok


def _arrow_chunks(codes: Any) -> list[Any] | None:
    """Arrow string chunks behind a pandas Series/Index/array, or None if not arrow-backed."""
    array = codes.array if isinstance(codes, pd.Series | pd.Index) else codes
    if not isinstance(array, pd.arrays.ArrowExtensionArray):
        return None
    import pyarrow as pa

    data = array.__arrow_array__()
    if pa.types.is_string_view(data.type):
        data = data.cast(pa.large_string())
    if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return list(data.chunks) if isinstance(data, pa.ChunkedArray) else [data]


def _arrow_valid_mask(chunks: list[Any], strict: bool) -> np.ndarray:
    """Check arrow string chunks, reading their UTF-8 buffers directly.

    A valid code is 18 ASCII characters, i.e. exactly 18 UTF-8 bytes that are all ASCII;
    any non-ASCII byte maps to "not allowed", so byte-level checking is exact.
    """
    import pyarrow as pa

    parts = []
    for chunk in chunks:
        n = len(chunk)
        out = np.zeros(n, dtype=bool)
        if n:
            _, offsets_buf, data_buf = chunk.buffers()
            offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            offsets = np.frombuffer(offsets_buf, dtype=offset_type)[
                chunk.offset : chunk.offset + n + 1
            ].astype(np.int64)
            present = chunk.is_valid().to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(present & (np.diff(offsets) == 18))
            if rows.size:
                data = np.frombuffer(data_buf, dtype=np.uint8)
                windows = np.lib.stride_tricks.sliding_window_view(data, 18)  # no copy
                mat = np.ascontiguousarray(windows[offsets[rows]].T)  # (18, len(rows))
                out[rows] = _valid_columns(mat, strict)
        parts.append(out)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _as_array(codes: Any, func: str) -> np.ndarray:
    """Turn the supported inputs into a NumPy array (object, unicode or other dtype)."""
    if isinstance(codes, str | bytes):
        raise TypeError(
            f"{func} expects a sequence of codes (Series, array, list), got a single "
            f"{type(codes).__name__}; use the scalar function for one value"
        )
    if isinstance(codes, pd.DataFrame):
        raise TypeError(f"{func} expects one column (a Series), got a DataFrame")
    if isinstance(codes, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        array = codes.array if isinstance(codes, pd.Series | pd.Index) else codes
        if isinstance(array, pd.arrays.ArrowExtensionArray):
            import pyarrow as pa

            data = array.__arrow_array__()
            if pa.types.is_string_view(data.type):  # pandas cannot convert it (missing -> None)
                data = data.cast(pa.large_string())
                return np.asarray(data.to_numpy(zero_copy_only=False), dtype=object)
        return np.asarray(codes.to_numpy(dtype=object), dtype=object)
    if isinstance(codes, np.ndarray):
        return codes
    if not isinstance(codes, Iterable):
        raise TypeError(f"{func} expects a sequence of codes, got {type(codes).__name__}")
    items = list(codes)
    return np.fromiter(items, dtype=object, count=len(items))


def _fixed_width(obj: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed-width unicode copy of a 1-D object array, its exact rows and its missing rows.

    A row is exact when the element is a ``str`` of at most `width` characters that survives
    the round trip (NumPy drops trailing NUL characters, and ``astype`` converts numbers and
    bytes, truncates long strings); only exact rows may take the vectorised path.
    """
    missing = pd.isna(obj)
    filled = obj.copy()
    filled[missing] = ""
    try:
        fixed = filled.astype(f"U{width}")
        exact = np.asarray(filled == fixed, dtype=bool)
        if exact.shape != obj.shape:
            raise ValueError("elementwise comparison failed")
    except Exception:
        # Exotic elements (arrays, objects with an odd __str__ or __eq__): blank every
        # non-string with a per-row type test, then redo the vectorised steps.
        is_str = np.fromiter((isinstance(x, str) for x in obj), dtype=bool, count=len(obj))
        filled[~is_str] = ""
        fixed = filled.astype(f"U{width}")
        exact = is_str & np.asarray(filled == fixed, dtype=bool)
    exact &= ~missing
    return fixed, exact, missing


def _codepoint_columns(fixed: np.ndarray) -> np.ndarray:
    """(18, m) uint8 matrix of the first 18 code points, clipped to 255 (never allowed)."""
    width = fixed.dtype.itemsize // 4
    points = np.minimum(fixed.view(np.uint32).reshape(-1, width), 255).astype(np.uint8)
    return np.ascontiguousarray(points[:, :18].T)


def uscc_valid_mask(codes: Any, *, strict: bool = True) -> np.ndarray:
    """Vectorised :func:`is_valid_uscc`: one boolean per code.

    Parameters
    ----------
    codes : pandas.Series, pandas.Index, numpy.ndarray or sequence
        Codes, compared exactly (normalise first if needed). Missing values and
        non-strings are invalid. Arrow-backed string data (the pandas 3 default ``str``
        dtype) is read straight from its buffers.
    strict : bool, default True
        See :func:`is_valid_uscc`.

    Returns
    -------
    numpy.ndarray of bool
        Same length (and, for a NumPy input, shape) as `codes`. Agrees element by element
        with :func:`is_valid_uscc` (for a NumPy unicode array, with its elements: NumPy
        itself drops trailing NUL characters when it stores strings).

    Raises
    ------
    TypeError
        If `codes` is a single string, a DataFrame or not iterable.

    Examples
    --------
    >>> uscc_valid_mask(["91110108551385082Q", "91110108551385082R", None]).tolist()
    [True, False, False]
    """
    chunks = _arrow_chunks(codes)
    if chunks is not None:
        return _arrow_valid_mask(chunks, strict)
    arr = _as_array(codes, "uscc_valid_mask")
    shape = arr.shape
    flat = arr.reshape(-1)
    if flat.dtype.kind == "U":
        fixed, exact = flat.astype("U19"), np.ones(flat.shape, dtype=bool)
    elif flat.dtype.kind == "O":
        fixed, exact, _ = _fixed_width(flat, 19)
    else:  # numbers, bytes, booleans: never a str
        return np.zeros(shape, dtype=bool)
    # Every row is checked (cheaper than gathering the candidates first); rows that are not
    # exact 18-character strings are then rejected whatever their characters.
    out = exact & (np.strings.str_len(fixed) == 18)
    out &= _valid_columns(_codepoint_columns(fixed), strict)
    return out.reshape(shape)


def mask_uscc_array(codes: Any) -> np.ndarray:
    """Vectorised :func:`mask_uscc` for a whole column.

    Parameters
    ----------
    codes : pandas.Series, pandas.Index, numpy.ndarray or sequence
        Values to mask.

    Returns
    -------
    numpy.ndarray of object
        One masked ``str`` per value, element by element equal to :func:`mask_uscc`;
        missing values are kept as they are (the same objects). Strings of up to 18
        characters are masked without a Python loop; longer strings and non-string values
        (rare in an ID column) go through :func:`mask_uscc` one by one.

    Raises
    ------
    TypeError
        If `codes` is a single string, a DataFrame or not iterable.

    Examples
    --------
    >>> mask_uscc_array(["91110108551385082Q", None]).tolist()
    ['91110108********2Q', None]
    """
    arr = _as_array(codes, "mask_uscc_array")
    shape = arr.shape
    flat = arr.reshape(-1)
    if flat.dtype.kind in "iu":  # integer IDs: str(int) is what numpy writes too
        obj = flat.astype(str).astype(object)
    elif flat.dtype.kind == "O":
        obj = flat
    else:
        obj = flat.astype(object)
    fixed, exact, missing = _fixed_width(obj, 19)
    lengths = np.strings.str_len(fixed)
    is_fast = exact & (lengths <= 18)
    out = obj.copy()
    if is_fast.any():
        # Star the middle of every row in place (rows that are not fast are discarded).
        points = fixed.view(np.uint32).reshape(-1, 19)
        quarter = lengths // 4
        head = np.where(lengths == 18, 8, np.minimum(8, quarter))
        tail = np.where(lengths == 18, 2, np.minimum(2, quarter))
        rows18 = np.flatnonzero(is_fast & (lengths == 18))
        if len(rows18):  # a resident ID is personal data: masked as one (see mask_uscc)
            person = rows18[_resident_id_columns(_codepoint_columns(fixed[rows18]))]
            head[person], tail[person] = 3, 4
        positions = np.arange(19)
        star = (positions >= head[:, None]) & (positions < (lengths - tail)[:, None])
        np.copyto(points, _STAR, where=star)
        out = np.where(is_fast, fixed.astype(object), out)
    for i in np.flatnonzero(~is_fast & ~missing):  # strings over 18 characters, non-strings
        out[i] = mask_uscc(obj[i])
    return out.reshape(shape)
