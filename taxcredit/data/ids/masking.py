"""Masking identifiers and names for display and logs (JR/T 0171 conventions)."""

from __future__ import annotations

from typing import Any

from ._tables import _is_missing

# ---------------------------------------------------------------------------------------------
# Masking (scalar)
# ---------------------------------------------------------------------------------------------


def _keep(n: int, head: int, tail: int, exact_len: int) -> tuple[int, int]:
    """Characters kept at each end of an n-character value (see the module docstring)."""
    if n == exact_len:
        return head, tail
    quarter = n // 4
    return min(head, quarter), min(tail, quarter)


def _mask(value: Any, head: int, tail: int, exact_len: int) -> Any:
    if _is_missing(value):
        return value
    s = value if isinstance(value, str) else str(value)
    h, t = _keep(len(s), head, tail, exact_len)
    return s[:h] + "*" * (len(s) - h - t) + s[len(s) - t :]


def mask_uscc(code: Any) -> Any:
    """Mask a USCC for display: keep the first 8 and the last 2 characters.

    The first 8 characters (registration department, category, region) describe the kind
    and place of the organisation, not a person, and are kept; the organisation code is
    hidden: ``91110108551385082Q`` -> ``91110108********2Q``. Values of another length keep
    at most ``len // 4`` characters at each end. A valid resident ID in an enterprise
    column (an individual business filing under its owner's ID, accepted by lenient
    checks) is personal data and is masked as one (:func:`mask_resident_id`).

    Parameters
    ----------
    code : object
        The value; non-strings other than missing values are converted with ``str``.

    Returns
    -------
    str or missing value
        The masked string, or `code` itself when it is ``None`` / ``NaN`` / ``pd.NA``.
        Never raises.

    See Also
    --------
    mask_uscc_array : The vectorised version.
    """
    from .checks import is_valid_resident_id  # checks imports this module

    if isinstance(code, str) and len(code) == 18 and is_valid_resident_id(code):
        return mask_resident_id(code)
    return _mask(code, 8, 2, 18)


def mask_resident_id(code: Any) -> Any:
    """Mask a resident ID: keep the first 3 and the last 4 characters (JR/T 0171).

    ``11010519491231002X`` -> ``110***********002X``. Values of another length (e.g. legacy
    15-digit IDs) keep at most ``len // 4`` characters at each end, so the birth date is
    always hidden.

    Parameters
    ----------
    code : object
        The value; non-strings other than missing values are converted with ``str``.

    Returns
    -------
    str or missing value
        The masked string, or `code` itself when it is missing. Never raises.
    """
    return _mask(code, 3, 4, 18)


def mask_phone(code: Any) -> Any:
    """Mask a phone number: keep the first 3 and the last 4 characters of 11 (JR/T 0171).

    ``13812341234`` -> ``138****1234``. Other lengths (landlines, ``+86`` prefixes) keep at
    most ``len // 4`` characters at each end. The value is not cleaned first.

    Parameters
    ----------
    code : object
        The value; non-strings other than missing values are converted with ``str``.

    Returns
    -------
    str or missing value
        The masked string, or `code` itself when it is missing. Never raises.
    """
    return _mask(code, 3, 4, 11)


def mask_name(name: Any) -> Any:
    """Mask a personal name: keep the first character, star the rest (JR/T 0171).

    ``张三`` -> ``张*``, ``张三丰`` -> ``张**``. A one-character name becomes ``*`` (keeping
    it would show the whole name); the empty string stays empty.

    Parameters
    ----------
    name : object
        The value; non-strings other than missing values are converted with ``str``.

    Returns
    -------
    str or missing value
        The masked string, or `name` itself when it is missing. Never raises.
    """
    if _is_missing(name):
        return name
    s = name if isinstance(name, str) else str(name)
    if len(s) <= 1:
        return "*" * len(s)
    return s[0] + "*" * (len(s) - 1)
