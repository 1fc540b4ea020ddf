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

from ._tables import DEFAULT_REGION_CODES, USCC_CHARSET
from .checks import (
                     classify_taxpayer_id,
                     describe_uscc,
                     is_valid_org_code,
                     is_valid_resident_id,
                     is_valid_uscc,
                     normalize_uscc,
                     uscc_check_char,
                     validate_uscc,
)
from .generate import build_uscc, generate_uscc
from .masking import mask_name, mask_phone, mask_resident_id, mask_uscc
from .vectorised import mask_uscc_array, uscc_valid_mask

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

