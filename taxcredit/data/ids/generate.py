"""Generating valid USCCs for synthetic data, vectorised."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pandas as pd

from ...errors import TaxDataError
from ._tables import (
    _CHARSET_CODEPOINTS,
    _ORG_CHECK_BYTES,
    _ORG_CHECK_V31,
    _ORG_WEIGHTS,
    _USCC_VALUE,
    _USCC_WEIGHTS,
    _V31_TO_V36,
    DEFAULT_REGION_CODES,
    USCC_CHARSET,
)
from .vectorised import _fixed_width, _weighted_sum

# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def _region_array(region_codes: Any) -> np.ndarray:
    if region_codes is None:
        region_codes = DEFAULT_REGION_CODES
    if isinstance(region_codes, str | bytes):
        raise TypeError("region_codes must be a sequence of 6-digit strings, not one string")
    if isinstance(region_codes, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        items = list(region_codes.to_numpy(dtype=object))
    else:
        items = list(np.asarray(region_codes, dtype=object).reshape(-1))
    if not items:
        raise ValueError("region_codes is empty")
    for code in dict.fromkeys(items):  # distinct values, first-seen order
        if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
            raise TaxDataError(
                f"region_codes must hold 6-digit GB/T 2260 codes as str, got {code!r}"
            )
    return np.array(items, dtype="U6")


def generate_uscc(rng: np.random.Generator, n: int, *, region_codes: Any = None) -> np.ndarray:
    """Draw `n` valid USCCs of enterprises (``91...``) for synthetic data.

    Each code is registration department ``9``, category ``1`` (企业), a region code drawn
    uniformly from the entries of `region_codes`, 8 organisation-code characters drawn
    uniformly from :data:`USCC_CHARSET` (so I, O, S, V, Z never appear), the GB 11714 check
    character of those 8 (a digit or ``X``, both in the charset) and the mod-31 check
    character. Every code passes ``is_valid_uscc(code, strict=True)``. The work is vectorised:
    a million codes take a fraction of a second.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same codes.
    n : int
        Number of codes, ``>= 0``.
    region_codes : array-like of str, optional
        6-digit GB/T 2260 region codes to draw from (duplicates weigh more). Defaults to
        :data:`DEFAULT_REGION_CODES`, a list of real district codes.

    Returns
    -------
    numpy.ndarray of dtype ``<U18``
        The codes. **Uniqueness is not guaranteed**: with ``31**8`` (about 8.5e11) organisation
        codes per region, a million codes collide with probability of roughly 0.5 / number of
        regions; deduplicate (e.g. with ``np.unique``) and top up if unique keys matter.

    Raises
    ------
    TypeError
        If `rng` is not a ``numpy.random.Generator`` or `n` is not an integer.
    ValueError
        If `n` is negative or `region_codes` is empty or holds a value that is not a 6-digit
        string.

    Examples
    --------
    >>> from taxcredit.data.ids import uscc_valid_mask
    >>> codes = generate_uscc(np.random.default_rng(0), 3, region_codes=["440300"])
    >>> [c[:8] for c in codes], bool(uscc_valid_mask(codes).all())
    (['91440300', '91440300', '91440300'], True)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(n, bool):
        raise TypeError("n must be an integer, got bool")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    regions = _region_array(region_codes)

    region_idx = rng.integers(0, len(regions), size=n)
    org = rng.integers(0, 31, size=(8, n), dtype=np.uint8)  # USCC values of positions 9-16
    return _assemble_uscc("9", "1", regions, region_idx, org)


def _assemble_uscc(
    department: str, category: str, regions: np.ndarray, region_idx: np.ndarray, org: np.ndarray
) -> np.ndarray:
    """Assemble codes from validated parts, without a per-code loop.

    `regions` is a ``<U6`` array of digit strings, `region_idx` picks one per code and `org`
    is the (8, n) uint8 matrix of USCC values of positions 9-16. Work is position-major in
    USCC values; code points are written once at the end.
    """
    n = org.shape[1]
    regions = np.ascontiguousarray(regions, dtype="U6")
    region_points = regions.view(np.uint32).reshape(-1, 6)
    region_sums = ((region_points - ord("0")) * np.array(_USCC_WEIGHTS[2:8])).sum(axis=1) % 31
    org_total = _weighted_sum(_V31_TO_V36[org], _ORG_WEIGHTS)
    org_check = (11 - org_total % 11).astype(np.intp)  # 1..11 -> '1'..'9', 'X', '0'
    total = _weighted_sum(org, _USCC_WEIGHTS[8:16])
    total += _ORG_CHECK_V31[org_check] * np.uint16(_USCC_WEIGHTS[16])
    total += region_sums[region_idx].astype(np.uint16)
    total += _USCC_VALUE[department] * _USCC_WEIGHTS[0] + _USCC_VALUE[category] * _USCC_WEIGHTS[1]
    check = (31 - total % 31) % 31

    points = np.empty((n, 18), dtype=np.uint32)
    points[:, 0] = ord(department)
    points[:, 1] = ord(category)
    points[:, 2:8] = region_points[region_idx]
    points[:, 8:16] = _CHARSET_CODEPOINTS[org.T]
    points[:, 16] = _ORG_CHECK_BYTES[org_check]
    points[:, 17] = _CHARSET_CODEPOINTS[check]
    return points.view("U18").reshape(n)


def build_uscc(
    region_codes: Any,
    org_numbers: Any,
    *,
    department: str = "9",
    category: str = "1",
) -> np.ndarray:
    """Build valid USCCs deterministically from region codes and organisation-code numbers.

    Number ``k`` in ``[0, 31**8)`` becomes the 8 organisation-code characters
    ``USCC_CHARSET[d]`` of its base-31 digits ``d`` (most significant first), followed by
    the GB 11714 check character and the mod-31 check character. Distinct numbers therefore
    give distinct organisation codes, hence distinct USCCs: feed a bijection of the
    enterprise number (e.g. ``(a * i + b) % 31**8`` with ``a`` coprime to 31) to get unique,
    random-looking keys. Vectorised, like :func:`generate_uscc`.

    Parameters
    ----------
    region_codes : str or array-like of str
        6-digit GB/T 2260 region code of each code (a single string applies to all).
    org_numbers : int or array-like of int
        Numbers in ``[0, 31**8)``, broadcast against `region_codes`.
    department : str, default "9"
        Registration department character (``9``: market regulation).
    category : str, default "1"
        Category character (``1``: enterprise; ``2`` with department ``9``: 个体工商户).

    Returns
    -------
    numpy.ndarray of dtype ``<U18``
        One valid code per element (1-D).

    Raises
    ------
    TypeError
        If the region codes are not strings or the numbers are not integers.
    ValueError
        If a region code is not 6 ASCII digits, a number is outside ``[0, 31**8)`` or
        `department` / `category` is not one character of :data:`USCC_CHARSET`.

    Examples
    --------
    >>> build_uscc(["110108", "440300"], [0, 31**8 - 1]).tolist()
    ['911101080000000007', '91440300YYYYYYYY78']
    """
    for name, char in (("department", department), ("category", category)):
        if not (isinstance(char, str) and len(char) == 1 and char in _USCC_VALUE):
            raise ValueError(f"{name} must be one character of {USCC_CHARSET!r}, got {char!r}")
    if isinstance(region_codes, str):
        regions = np.array([region_codes])
    elif isinstance(region_codes, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        regions = np.asarray(region_codes.to_numpy(dtype=object), dtype=object)
    else:
        regions = np.asarray(region_codes)
    regions = regions.reshape(-1)
    if regions.dtype.kind == "O":
        fixed, exact, _ = _fixed_width(regions, 7)
        if not exact.all():
            bad = regions[np.flatnonzero(~exact)[0]]
            raise TypeError(f"region codes must be str, got {type(bad).__name__}: {bad!r}")
        regions = fixed
    elif regions.dtype.kind != "U":
        raise TypeError(f"region codes must be str, got an array of dtype {regions.dtype}")
    points = np.ascontiguousarray(regions, dtype="U7").view(np.uint32).reshape(-1, 7)
    ok = (np.strings.str_len(regions) == 6) & ((points[:, :6] - ord("0")) < 10).all(axis=1)
    if not ok.all():
        bad = regions[np.flatnonzero(~ok)[0]]
        raise ValueError(f"region codes must be 6 ASCII digits (GB/T 2260), got {bad!r}")

    numbers = np.asarray(org_numbers)
    if numbers.dtype.kind not in "iu":
        raise TypeError(f"org_numbers must be integers, got dtype {numbers.dtype}")
    regions, numbers = np.broadcast_arrays(regions.astype("U6"), numbers.reshape(-1))
    if numbers.size and (numbers.min() < 0 or numbers.max() >= 31**8):
        raise ValueError(
            f"org_numbers must lie in [0, 31**8) = [0, {31**8}), "
            f"got values in [{numbers.min()}, {numbers.max()}]"
        )
    remaining = numbers.astype(np.int64)
    org = np.empty((8, remaining.size), dtype=np.uint8)
    for j in range(7, -1, -1):  # base-31 digits, least significant last
        org[j] = remaining % 31
        remaining = remaining // 31
    return _assemble_uscc(department, category, regions, np.arange(remaining.size), org)
