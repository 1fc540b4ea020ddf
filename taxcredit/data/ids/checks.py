"""Normalising, checking, classifying and describing identifiers, one value at a time."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Final

from ...errors import TaxDataError
from ._tables import (
    _CATEGORIES,
    _DEPARTMENTS,
    _LEGACY15_RE,
    _MIN_BIRTH_YEAR,
    _ORG_RE,
    _ORG_WEIGHTS,
    _PROVINCES,
    _RID15_RE,
    _RID18_RE,
    _RID_CHECK,
    _RID_WEIGHTS,
    _USCC_RE,
    _USCC_VALUE,
    _USCC_WEIGHTS,
    USCC_CHARSET,
    _is_missing,
)
from .masking import mask_resident_id

# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

# Full-width ASCII (U+FF01-U+FF5E) -> ASCII, the ideographic space -> space, a-z -> A-Z.
_NORMALIZE_TABLE: Final[dict[int, int]] = {
    **{cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)},
    0x3000: 0x20,
}
for _cp in range(ord("a"), ord("z") + 1):
    _NORMALIZE_TABLE[_cp] = _cp - 32
    _NORMALIZE_TABLE[_cp + 0xFEE0] = _cp - 32  # full-width a-z straight to upper case
del _cp
# Stripped from both ends: Unicode whitespace, zero-width characters and the BOM that Excel
# CSV exports glue to the first cell.
_STRIP_RE: Final = re.compile(
    "^[\\s\u200b\u200c\u200d\u2060\ufeff]+|[\\s\u200b\u200c\u200d\u2060\ufeff]+\\Z"
)



def normalize_uscc(code: Any) -> Any:
    r"""Clean a raw identifier: strip surrounding whitespace, convert full-width, upper-case.

    Full-width letters and digits (``９１１１０１０８…``, common in Chinese Excel exports) become
    ASCII, ASCII and full-width ``a-z`` become ``A-Z``, and whitespace (including the
    ideographic space U+3000 and the no-break space), zero-width characters and the byte-order
    mark are removed from both ends. Inner characters are otherwise left alone, so the result
    still has to be validated. The function suits every kind of taxpayer ID (resident IDs with
    a lower-case ``x`` are fixed too).

    Parameters
    ----------
    code : str or None
        Raw value.

    Returns
    -------
    str or None
        The cleaned string; missing values (``None``, ``NaN``, ``pd.NA``) are returned
        unchanged.

    Raises
    ------
    TypeError
        If `code` is neither a string nor a missing value.

    Examples
    --------
    >>> normalize_uscc(" ９１１１０１０８５５１３８５０８２ｑ\u3000")
    '91110108551385082Q'
    """
    if isinstance(code, str):
        return _STRIP_RE.sub("", code.translate(_NORMALIZE_TABLE))
    if _is_missing(code):
        return code
    raise TypeError(f"normalize_uscc expects a str, got {type(code).__name__}: {code!r}")


# ---------------------------------------------------------------------------------------------
# Scalar checks
# ---------------------------------------------------------------------------------------------


def _check31(first17: str) -> str:
    """Mod-31 check character of 17 characters already known to be in the charset."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _org_check(body8: str) -> str:
    """GB 11714 check character of 8 characters from ``0-9A-Z``."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    """Compute the GB 32100 check character (position 18) of a USCC.

    The check character is ``USCC_CHARSET[(31 - S mod 31) mod 31]`` with
    ``S = sum(value(c_i) * (3**i mod 31) for i = 0..16)``, ``value`` being the index in
    :data:`USCC_CHARSET`. Only the length and the character set are checked here;
    the layout (digits at positions 3-8) is checked by :func:`is_valid_uscc`.

    Parameters
    ----------
    first17 : str
        The first 17 characters of the code, upper case.

    Returns
    -------
    str
        One character of :data:`USCC_CHARSET`.

    Raises
    ------
    TypeError
        If `first17` is not a string.
    taxcredit.errors.TaxDataError
        A ``ValueError``: `first17` does not have 17 characters or contains a character
        outside :data:`USCC_CHARSET` (the message names the character and its 1-based
        position).

    Examples
    --------
    >>> uscc_check_char("91110108551385082")
    'Q'
    """
    if not isinstance(first17, str):
        raise TypeError(f"uscc_check_char expects a str, got {type(first17).__name__}")
    if len(first17) != 17:
        raise TaxDataError(
            f"uscc_check_char needs the first 17 characters of a USCC, got {len(first17)} "
            f"characters: {first17!r}"
        )
    for pos, ch in enumerate(first17, start=1):
        if ch not in _USCC_VALUE:
            raise TaxDataError(
                f"character {ch!r} at position {pos} of {first17!r} is not in the USCC "
                f"character set {USCC_CHARSET!r}{_charset_hint(ch)}"
            )
    return _check31(first17)


def _charset_hint(ch: str) -> str:
    if ch.isascii() and ch.islower():
        return " (lower case: clean the value with normalize_uscc first)"
    if ch in "IOZSV":
        return " (I, O, Z, S and V are never used in a USCC)"
    if not ch.isascii():
        return " (non-ASCII: full-width characters are converted by normalize_uscc)"
    return ""


def is_valid_uscc(code: Any, *, strict: bool = True) -> bool:
    """Tell whether `code` is a well-formed 统一社会信用代码 (GB 32100-2015).

    The comparison is exact: no whitespace stripping, case folding or full-width
    conversion (see :func:`normalize_uscc`).

    Parameters
    ----------
    code : object
        Candidate code. Anything that is not a ``str`` (``None``, ``NaN``, numbers, bytes)
        is invalid.
    strict : bool, default True
        If True, check the format, the mod-31 check character (position 18) and the check
        character of the embedded GB 11714 organisation code (position 17). If False, check
        the format only (18 characters from :data:`USCC_CHARSET`, positions 3-8 digits), which
        accepts real early pilot codes that fail the checksums.

    Returns
    -------
    bool

    See Also
    --------
    uscc_valid_mask : The vectorised version.
    validate_uscc : Normalise, and raise with the reason when invalid.

    Examples
    --------
    >>> is_valid_uscc("91110108551385082Q")
    True
    >>> is_valid_uscc("91350100M0001TGQXM"), is_valid_uscc("91350100M0001TGQXM", strict=False)
    (False, True)
    """
    if not isinstance(code, str) or _USCC_RE.fullmatch(code) is None:
        return False
    if not strict:
        return True
    return _check31(code[:17]) == code[17] and _org_check(code[8:16]) == code[16]


def validate_uscc(code: Any, *, strict: bool = True) -> str:
    """Normalise a USCC and check it, raising with the exact reason when it is invalid.

    Parameters
    ----------
    code : object
        Raw code; normalised with :func:`normalize_uscc` first.
    strict : bool, default True
        See :func:`is_valid_uscc`.

    Returns
    -------
    str
        The normalised, valid code.

    Raises
    ------
    taxcredit.errors.TaxDataError
        A ``ValueError`` whose message names the failed check: type, length, character set
        at a 1-based position, region code not digits, embedded organisation-code check
        (expected and actual character) and / or mod-31 check (expected and actual
        character). A value that is a valid resident ID is masked in the message.

    Examples
    --------
    >>> validate_uscc(" 91110108551385082q ")
    '91110108551385082Q'
    """
    if not isinstance(code, str):
        text = str(code)
        shown = f"{mask_resident_id(text)!r}" if is_valid_resident_id(text) else repr(code)
        raise TaxDataError(f"USCC must be a str, got {type(code).__name__}: {shown}")
    norm = normalize_uscc(code)
    personal = is_valid_resident_id(norm)
    if personal:  # never echo a personal ID number into logs
        shown = f"{mask_resident_id(norm)!r} (a resident ID number, masked)"
    else:
        shown = repr(norm) if norm == code else f"{norm!r} (normalised from {code!r})"
    if len(norm) != 18:
        raise TaxDataError(
            f"USCC {shown}: length check failed: expected 18 characters, got {len(norm)}"
        )
    for pos, ch in enumerate(norm, start=1):
        if 3 <= pos <= 8:
            if ch not in "0123456789":
                raise TaxDataError(
                    f"USCC {shown}: region code check failed: positions 3-8 must be the "
                    f"6-digit registration region code, position {pos} is {ch!r}"
                )
        elif ch not in _USCC_VALUE:
            raise TaxDataError(
                f"USCC {shown}: charset check failed: character {ch!r} at position {pos} is "
                f"not in {USCC_CHARSET!r}{_charset_hint(ch)}"
            )
    if strict:
        problems = []
        org_expected = _org_check(norm[8:16])
        if org_expected != norm[16]:
            org_code = "" if personal else f" {norm[8:16]}-{norm[16]}"
            problems.append(
                f"org-code check (GB 11714) failed: embedded organisation code{org_code} "
                f"needs check character {org_expected!r} at position 17, got {norm[16]!r}"
            )
        expected = _check31(norm[:17])
        if expected != norm[17]:
            problems.append(
                f"mod-31 check (GB 32100) failed: expected check character {expected!r} at "
                f"position 18, got {norm[17]!r}"
            )
        if problems:
            raise TaxDataError(
                f"USCC {shown}: " + "; ".join(problems) + " (some real early pilot codes fail "
                "the checksums: pass strict=False to check the format only)"
            )
    return norm


def is_valid_org_code(code9: Any) -> bool:
    """Tell whether `code9` is a valid 组织机构代码 (GB 11714).

    Parameters
    ----------
    code9 : object
        Nine characters, exactly: 8 from ``0-9A-Z`` and the check character (``0-9`` or
        ``X``), without the hyphen often printed before the check character.

    Returns
    -------
    bool
        False for anything that is not such a string, including ``None``.

    Examples
    --------
    >>> is_valid_org_code("551385082"), is_valid_org_code("551385083")
    (True, False)
    """
    if not isinstance(code9, str) or _ORG_RE.fullmatch(code9) is None:
        return False
    return _org_check(code9[:8]) == code9[8]


def _plausible_birth_date(year: int, month: int, day: int) -> bool:
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    return year >= _MIN_BIRTH_YEAR and born <= _dt.date.today()


def is_valid_resident_id(code: Any) -> bool:
    """Tell whether `code` is a valid 居民身份证号码 (GB 11643).

    An 18-character ID must be 17 digits plus a check character (``0-9`` or upper-case
    ``X``) matching the mod-11 checksum, with a real calendar date between 1850 and today at
    positions 7-14. A legacy 15-digit ID has no check character, so it is accepted on format
    and birth date alone (``19YYMMDD`` at positions 7-12): roughly 4 % of random 15-digit
    strings pass, so treat a 15-digit "valid" as *plausible*, not proven.

    Parameters
    ----------
    code : object
        Candidate ID, exact (a lower-case ``x`` is invalid; see :func:`normalize_uscc`).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid_resident_id("11010519491231002X")
    True
    """
    if not isinstance(code, str):
        return False
    if len(code) == 18 and _RID18_RE.fullmatch(code):
        total = sum(int(c) * w for c, w in zip(code[:17], _RID_WEIGHTS, strict=True))
        if _RID_CHECK[total % 11] != code[17]:
            return False
        return _plausible_birth_date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    if len(code) == 15 and _RID15_RE.fullmatch(code):
        return _plausible_birth_date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]))
    return False


def classify_taxpayer_id(code: Any) -> str:
    """Classify a taxpayer identification number (纳税人识别号).

    Parameters
    ----------
    code : object
        Candidate ID, exact (clean raw values with :func:`normalize_uscc` first).

    Returns
    -------
    str
        One of

        * ``"resident_id"``: a valid 18- or 15-digit resident ID (:func:`is_valid_resident_id`);
          legacy 个体工商户 used the owner's ID as taxpayer ID. This is personal data.
        * ``"uscc"``: a USCC passing the strict checks.
        * ``"uscc_lenient"``: USCC format but a failed checksum (pilot code or typo).
        * ``"legacy_15"``: 6-digit region code + valid GB 11714 organisation code.
        * ``"invalid"``: anything else, including non-strings.

    Notes
    -----
    The kinds overlap, and the overlap is resolved in favour of ``"resident_id"``:

    * Every 18-character resident ID also has the USCC *format* (digits are in the USCC
      character set and ``X`` is too), and roughly 1 in 341 (1/31 * 1/11) also passes both
      USCC checksums. A value that passes the GB 11643 checksum *and* carries a plausible
      birth date is reported as ``"resident_id"`` even then, so that it is masked and handled
      as personal data (a wrongly protected enterprise code costs little; a leaked ID number
      does not).
    * A consequence: a resident ID with a typo fails GB 11643 and is then reported as
      ``"uscc_lenient"`` (or, rarely, ``"uscc"``). Do not treat ``"uscc_lenient"`` values as
      non-personal without a further look.
    * A 15-digit value can be both a legacy resident ID (no checksum; the date test passes
      for about 4 % of random digits) and a legacy enterprise ID (numeric organisation code);
      it is reported as ``"resident_id"`` for the same reason.
    * Conversely, an all-digit USCC is taken for a resident ID only if it passes GB 11643
      (1 in 11) and positions 7-14 read as a plausible date, which needs its region code to
      end in ``18``, ``19`` or ``20`` (positions 7-8 are the first digits of the year).
    """
    if not isinstance(code, str):
        return "invalid"
    # Personal-data safety first: a resident ID is recognised before any enterprise format.
    if is_valid_resident_id(code):
        return "resident_id"
    if len(code) == 18:
        if is_valid_uscc(code, strict=True):
            return "uscc"
        if is_valid_uscc(code, strict=False):
            return "uscc_lenient"
        return "invalid"
    if len(code) == 15 and _LEGACY15_RE.fullmatch(code) and is_valid_org_code(code[6:]):
        return "legacy_15"
    return "invalid"


def describe_uscc(code: Any) -> dict[str, Any]:
    """Break a USCC into its parts, with Chinese and English labels.

    Parameters
    ----------
    code : str
        The code; normalised with :func:`normalize_uscc` and required to have the USCC format
        (checksums may fail: they are reported, not enforced).

    Returns
    -------
    dict
        Keys ``code`` (normalised), ``registration_department`` (position 1),
        ``registration_department_zh``, ``registration_department_en``, ``category``
        (position 2), ``category_zh``, ``category_en``, ``region_code`` (positions 3-8),
        ``province_zh``, ``org_code`` (positions 9-17), ``check_char`` (position 18),
        ``org_code_check_ok``, ``mod31_check_ok`` and ``valid_strict``. Labels unknown to
        GB 32100-2015 are ``None``.

    Raises
    ------
    taxcredit.errors.TaxDataError
        If the code does not have the USCC format (see :func:`validate_uscc`).

    Examples
    --------
    >>> d = describe_uscc("91110108551385082Q")
    >>> d["category_zh"], d["region_code"], d["province_zh"]
    ('企业', '110108', '北京市')
    """
    norm = validate_uscc(code, strict=False)
    dept, cat = norm[0], norm[1]
    dept_labels = _DEPARTMENTS.get(dept, (None, None))
    cat_labels = _CATEGORIES.get(dept, {}).get(cat, (None, None))
    org_ok = _org_check(norm[8:16]) == norm[16]
    mod31_ok = _check31(norm[:17]) == norm[17]
    return {
        "code": norm,
        "registration_department": dept,
        "registration_department_zh": dept_labels[0],
        "registration_department_en": dept_labels[1],
        "category": cat,
        "category_zh": cat_labels[0],
        "category_en": cat_labels[1],
        "region_code": norm[2:8],
        "province_zh": _PROVINCES.get(norm[2:4]),
        "org_code": norm[8:17],
        "check_char": norm[17],
        "org_code_check_ok": org_ok,
        "mod31_check_ok": mod31_ok,
        "valid_strict": org_ok and mod31_ok,
    }
