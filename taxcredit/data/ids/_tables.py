"""Reference and lookup tables of the identifier checks (GB 32100, GB 11714, GB 11643)."""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
import pandas as pd

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
