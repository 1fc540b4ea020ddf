"""Enterprise and personal identifiers found in Chinese tax data.

This module validates, classifies, describes, masks and generates the identifiers that key
tax records of small and micro enterprises:

* **统一社会信用代码 (USCC)**, GB 32100-2015: 18 characters from the 31-character set
  ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V), laid out as

  - position 1: 登记管理部门 registration department (``1`` 机构编制, ``5`` 民政,
    ``9`` 工商 / 市场监管, ``Y`` 其他, ...);
  - position 2: 机构类别 organisation category (for ``9``: ``1`` 企业, ``2`` 个体工商户,
    ``3`` 农民专业合作社);
  - positions 3-8: registration region code, 6 digits (GB/T 2260);
  - positions 9-17: embedded organisation code (GB 11714), 8 characters and its own check
    character;
  - position 18: check character, mod 31 over positions 1-17 with weights ``3**i mod 31``.

* **组织机构代码**, GB 11714: 8 characters from ``0-9A-Z`` and a check character
  (``0-9`` or ``X``), mod 11 with weights ``3 7 9 10 5 8 4 2``.
* **居民身份证号码 (resident ID)**, GB 11643: 17 digits, a birth date at positions 7-14 and a
  check character (``0-9`` or ``X``), mod 11; legacy IDs have 15 digits and a 6-digit
  ``YYMMDD`` birth date at positions 7-12 (year ``19YY``) and no check character.
* **legacy 15-character enterprise taxpayer ID** (税务登记证号 before 2015): the 6-digit region
  code followed by the 9-character organisation code.

An 18-character taxpayer ID is not necessarily a USCC: 个体工商户 were long registered under
their owner's resident ID. :func:`classify_taxpayer_id` tells the kinds apart and errs on the
side of treating ambiguous values as personal data.

Strictness and normalisation
----------------------------
All predicates are *exact*: they do not strip whitespace, change case or convert full-width
characters, and they return ``False`` for anything that is not a ``str``. Clean raw values
first with :func:`normalize_uscc` (which is suitable for every kind of taxpayer ID), or use
:func:`validate_uscc`, which normalises and then says precisely which check failed.

``strict=True`` (the default) checks the format, the mod-31 check character and the embedded
GB 11714 check character. ``strict=False`` checks the format only: some codes issued during
the 2015 pilots (e.g. ``91350100M0001TGQXM``, Fujian) are real but fail the checksums.

Vectorised functions
--------------------
:func:`uscc_valid_mask` and :func:`mask_uscc_array` take a pandas Series or Index (including
the pandas 3 ``str`` dtype), a NumPy array or a list, treat missing values as invalid / leave
them unchanged, and do not loop over rows in Python: a million codes take well under a second.
:func:`generate_uscc` draws valid codes for synthetic data and :func:`build_uscc` builds them
deterministically from organisation-code numbers, also without a per-code loop.

Masking conventions
-------------------
Personal identifiers follow the display conventions of JR/T 0171 (个人金融信息保护技术规范):

- resident ID, 18 characters: keep the first 3 and the last 4, ``110***********1234``;
- mobile phone, 11 characters: keep the first 3 and the last 4, ``138****1234``;
- personal name: keep the first character only, ``张*``, ``张**`` (one character: ``*``).

A USCC is public and not personal data; masking it in shared outputs is this library's own
convention: keep the first 8 characters (department, category, region: they describe the kind
and place of the organisation, not a person) and the last 2, and hide the organisation code:
``91110108********2Q``.

Values of an unexpected length are still masked, more aggressively: at most ``len // 4``
characters are kept at each end (nothing for fewer than 4 characters), so at least half of
such a value is hidden. The mask functions never raise; missing values (``None``, ``NaN``,
``pd.NA``) are returned unchanged, and other non-string values are converted with ``str``
before masking.
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from ..errors import TaxDataError

__all__ = [
    "DEFAULT_REGION_CODES",
    "USCC_CHARSET",
    "build_uscc",
    "classify_taxpayer_id",
    "describe_uscc",
    "generate_uscc",
    "is_valid_org_code",
    "is_valid_resident_id",
    "is_valid_uscc",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "mask_uscc",
    "mask_uscc_array",
    "normalize_uscc",
    "uscc_check_char",
    "uscc_valid_mask",
    "validate_uscc",
]

# ---------------------------------------------------------------------------------------------
# Reference tables
# ---------------------------------------------------------------------------------------------

#: The 31 characters a USCC may contain; a character's value is its index (GB 32100-2015).
USCC_CHARSET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"

_USCC_VALUE: Final[dict[str, int]] = {c: i for i, c in enumerate(USCC_CHARSET)}
#: Weights of positions 1-17 of a USCC: ``3**i mod 31``.
_USCC_WEIGHTS: Final[tuple[int, ...]] = tuple(pow(3, i, 31) for i in range(17))
#: Weights of the 8 body characters of a GB 11714 organisation code.
_ORG_WEIGHTS: Final[tuple[int, ...]] = (3, 7, 9, 10, 5, 8, 4, 2)
#: Weights of the 17 digits of a GB 11643 resident ID.
_RID_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK: Final[str] = "10X98765432"

_CS_CLASS = "0-9A-HJ-NPQRTUWXY"  # USCC_CHARSET as a regex class (ASCII only, no \d)
_USCC_RE: Final = re.compile(rf"[{_CS_CLASS}]{{2}}[0-9]{{6}}[{_CS_CLASS}]{{10}}")
_ORG_RE: Final = re.compile(r"[0-9A-Z]{8}[0-9X]")
_RID18_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_RID15_RE: Final = re.compile(r"[0-9]{15}")
_LEGACY15_RE: Final = re.compile(r"[0-9]{6}[0-9A-Z]{8}[0-9X]")

#: Earliest birth year accepted as plausible in a resident ID.
_MIN_BIRTH_YEAR: Final[int] = 1850

#: 登记管理部门 (position 1): code -> (Chinese, English).
_DEPARTMENTS: Final[dict[str, tuple[str, str]]] = {
    "1": ("机构编制", "Public-sector establishment authority"),
    "2": ("外交", "Foreign affairs"),
    "3": ("司法行政", "Judicial administration"),
    "4": ("文化", "Culture"),
    "5": ("民政", "Civil affairs"),
    "6": ("旅游", "Tourism"),
    "7": ("宗教", "Religious affairs"),
    "8": ("工会", "Trade unions"),
    "9": ("工商（市场监管）", "Market regulation (industry and commerce)"),
    "A": ("中央军委改革和编制办公室", "CMC Reform and Organisation Office"),
    "N": ("农业", "Agriculture"),
    "Y": ("其他", "Other"),
}

_OTHER: Final[tuple[str, str]] = ("其他", "Other")
#: 机构类别 (position 2) per registration department: code -> (Chinese, English).
_CATEGORIES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "1": {
        "1": ("机关", "Government organ"),
        "2": ("事业单位", "Public institution"),
        "3": ("中央编办直接管理机构编制的群众团体", "Mass organisation"),
        "9": _OTHER,
    },
    "2": {"1": ("外国常驻新闻机构", "Resident foreign news agency"), "9": _OTHER},
    "3": {
        "1": ("律师执业机构", "Law firm"),
        "2": ("公证处", "Notary office"),
        "3": ("基层法律服务所", "Grassroots legal service office"),
        "4": ("司法鉴定机构", "Forensic appraisal institution"),
        "5": ("仲裁委员会", "Arbitration commission"),
        "9": _OTHER,
    },
    "4": {"1": ("外国在华文化中心", "Foreign cultural centre in China"), "9": _OTHER},
    "5": {
        "1": ("社会团体", "Social organisation"),
        "2": ("民办非企业单位", "Private non-enterprise unit"),
        "3": ("基金会", "Foundation"),
        "9": _OTHER,
    },
    "6": {
        "1": ("外国旅游部门常驻代表机构", "Resident office of a foreign tourism authority"),
        "2": (
            "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "Resident office of a Hong Kong, Macao or Taiwan tourism authority",
        ),
        "9": _OTHER,
    },
    "7": {
        "1": ("宗教活动场所", "Religious venue"),
        "2": ("宗教院校", "Religious college"),
        "9": _OTHER,
    },
    "8": {"1": ("基层工会", "Grassroots trade union"), "9": _OTHER},
    "9": {
        "1": ("企业", "Enterprise"),
        "2": ("个体工商户", "Individual business"),
        "3": ("农民专业合作社", "Farmers' specialised cooperative"),
    },
    "A": {"1": ("军队事业单位", "Military public institution"), "9": _OTHER},
    "N": {
        "1": ("组级集体经济组织", "Group-level collective economic organisation"),
        "2": ("村级集体经济组织", "Village-level collective economic organisation"),
        "3": ("乡镇级集体经济组织", "Township-level collective economic organisation"),
        "9": _OTHER,
    },
    "Y": {"1": _OTHER},
}

#: Province-level divisions (first two digits of a GB/T 2260 region code).
_PROVINCES: Final[dict[str, str]] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省",
    "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip

#: Real GB/T 2260 county-level codes used by :func:`generate_uscc` when none are given.
DEFAULT_REGION_CODES: Final[tuple[str, ...]] = (
    "110101",  # 北京市东城区
    "110105",  # 北京市朝阳区
    "110108",  # 北京市海淀区
    "120101",  # 天津市和平区
    "310104",  # 上海市徐汇区
    "310115",  # 上海市浦东新区
    "320106",  # 南京市鼓楼区
    "330106",  # 杭州市西湖区
    "350203",  # 厦门市思明区
    "370202",  # 青岛市市南区
    "410105",  # 郑州市金水区
    "420106",  # 武汉市武昌区
    "430104",  # 长沙市岳麓区
    "440106",  # 广州市天河区
    "440300",  # 深圳市
    "440305",  # 深圳市南山区
    "500103",  # 重庆市渝中区
    "510107",  # 成都市武侯区
    "610113",  # 西安市雁塔区
)

# ---------------------------------------------------------------------------------------------
# Lookup tables for the vectorised paths (indexed by a byte / clipped code point, 0-255)
# ---------------------------------------------------------------------------------------------

_INVALID: Final[int] = 255

_LUT_V31 = np.full(256, _INVALID, dtype=np.uint8)  # USCC value of a character, 255 if none
for _i, _c in enumerate(USCC_CHARSET):
    _LUT_V31[ord(_c)] = _i
_LUT_V36 = np.zeros(256, dtype=np.uint8)  # GB 11714 value: 0-9 -> 0-9, A-Z -> 10-35
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _LUT_V36[ord(_c)] = _i
# GB 11714 check character for c = 11 - (sum mod 11), c in 1..11 (index 0 unused).
_ORG_CHECK_BYTES = np.frombuffer(b"?123456789X0", dtype=np.uint8)
_CHARSET_CODEPOINTS = np.array([ord(c) for c in USCC_CHARSET], dtype=np.uint32)
_V31_TO_V36 = _LUT_V36[_CHARSET_CODEPOINTS]  # GB 11714 value of each USCC value
_ORG_CHECK_V31 = _LUT_V31[_ORG_CHECK_BYTES].astype(np.uint16)  # USCC value of each check
del _i, _c

_STAR: Final[int] = ord("*")

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


def _is_missing(value: Any) -> bool:
    """Return True for scalar missing values (None, NaN, pd.NA, NaT), False otherwise."""
    if value is None:
        return True
    if isinstance(value, str | bytes):
        return False
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return isinstance(result, bool | np.bool_) and bool(result)


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
    at most ``len // 4`` characters at each end.

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
        positions = np.arange(19)
        star = (positions >= head[:, None]) & (positions < (lengths - tail)[:, None])
        np.copyto(points, _STAR, where=star)
        out = np.where(is_fast, fixed.astype(object), out)
    for i in np.flatnonzero(~is_fast & ~missing):  # strings over 18 characters, non-strings
        out[i] = mask_uscc(obj[i])
    return out.reshape(shape)


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
