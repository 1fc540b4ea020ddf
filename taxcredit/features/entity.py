"""主体基础 — entity basics and the peer-group keys (industry, province, size class)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Context

__all__ = ["CATEGORIES", "SIZE_CLASSES", "compute", "size_class"]

SIZE_CLASSES = ("micro", "small", "medium", "large")

#: GB/T 4754-2017 sections and their divisions, the fixed categories of the industry keys.
_DIVISIONS = {"A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50),
              "F": (51, 52), "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69),
              "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82),
              "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97)}
SECTIONS = tuple(_DIVISIONS)
DIVISIONS = tuple(f"{sec}{d:02d}" for sec, (lo, hi) in _DIVISIONS.items()
                  for d in range(lo, hi + 1))
#: GB/T 2260 province-level codes (first two digits).
PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
             "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
             "63", "64", "65", "71", "81", "82")
CATEGORIES = {"industry_section": SECTIONS, "industry_division": DIVISIONS,
              "province": PROVINCES, "size_class": SIZE_CLASSES}

# 中小企业划型标准规定 (工信部联企业〔2011〕300号): per industry group, the criteria
# (Y revenue, X staff, Z assets; money in 10k yuan) and the thresholds a firm must reach on
# *every* criterion to be large / medium / small; below small it is micro.
_Limits = tuple[float, ...]
_RULES: dict[str, tuple[tuple[str, ...], _Limits, _Limits, _Limits]] = {
    "agriculture": (("Y",), (20000,), (500,), (50,)),
    "industry": (("X", "Y"), (1000, 40000), (300, 2000), (20, 300)),
    "construction": (("Y", "Z"), (80000, 80000), (6000, 5000), (300, 300)),
    "wholesale": (("X", "Y"), (200, 40000), (20, 5000), (5, 1000)),
    "retail": (("X", "Y"), (300, 20000), (50, 500), (10, 100)),
    "transport": (("X", "Y"), (1000, 30000), (300, 3000), (20, 200)),
    "warehousing": (("X", "Y"), (200, 30000), (100, 1000), (20, 100)),
    "postal": (("X", "Y"), (1000, 30000), (300, 2000), (20, 100)),
    "hospitality": (("X", "Y"), (300, 10000), (100, 2000), (10, 100)),
    "telecom": (("X", "Y"), (2000, 100000), (100, 1000), (10, 100)),
    "software": (("X", "Y"), (300, 10000), (100, 1000), (10, 50)),
    "real_estate": (("Y", "Z"), (200000, 10000), (1000, 5000), (100, 2000)),
    "leasing": (("X", "Z"), (300, 120000), (100, 8000), (10, 100)),
    "other": (("X",), (300,), (100,), (10,)),
}


def industry_group(code: pd.Series) -> np.ndarray:
    """Map GB/T 4754 codes (e.g. ``C3311``) to the groups of the SME standard."""
    section = code.str[0].to_numpy(dtype=object, na_value=None)
    division = pd.to_numeric(code.str[1:3], errors="coerce").to_numpy()
    group = np.full(len(code), "other", dtype=object)
    group[section == "A"] = "agriculture"
    group[np.isin(section, ["B", "C", "D"])] = "industry"
    group[section == "E"] = "construction"
    group[(section == "F") & (division == 51)] = "wholesale"
    group[(section == "F") & (division == 52)] = "retail"
    group[(section == "G") & (division >= 53) & (division <= 58)] = "transport"
    group[(section == "G") & (division == 59)] = "warehousing"
    group[(section == "G") & (division == 60)] = "postal"
    group[section == "H"] = "hospitality"
    group[(section == "I") & np.isin(division, [63, 64])] = "telecom"
    group[(section == "I") & (division == 65)] = "software"
    group[section == "K"] = "real_estate"
    group[section == "L"] = "leasing"
    return group


def size_class(group: np.ndarray, revenue: np.ndarray, staff: np.ndarray,
               assets: np.ndarray) -> pd.Categorical:
    """Size class by the SME standard; missing when a criterion the industry needs is unknown.

    Parameters
    ----------
    group : numpy.ndarray of str
        :func:`industry_group` of each enterprise.
    revenue, staff, assets : numpy.ndarray
        Revenue and assets in yuan, staff in people.
    """
    values = {"Y": np.asarray(revenue, float) / 1e4, "X": np.asarray(staff, float),
              "Z": np.asarray(assets, float) / 1e4}
    code = np.full(len(group), -1)
    for name, (criteria, large, medium, small) in _RULES.items():
        sel = group == name
        if not sel.any():
            continue
        known = np.all([~np.isnan(values[c][sel]) for c in criteria], axis=0)
        level = np.zeros(sel.sum(), dtype=int)  # 0 micro
        for rank, limits in ((1, small), (2, medium), (3, large)):
            meets = np.all([values[c][sel] >= lim for c, lim in zip(criteria, limits,
                                                                     strict=True)], axis=0)
            level = np.where(meets, rank, level)
        code[sel] = np.where(known, level, -1)
    return pd.Categorical.from_codes(code, categories=SIZE_CLASSES)


def compute(ctx: Context, out: dict[str, np.ndarray]) -> None:
    """Add entity features and peer keys to ``out``."""
    ent = ctx.tables["enterprises"]
    months = (ctx.as_of.astype("datetime64[M]").astype(np.int64) - ctx.first_filing_month
              - (ctx.as_of.astype("datetime64[D]") < _same_day(ctx)).astype(float))
    out["firm_age_months"] = np.where(months >= 0, months, np.nan)
    general = (ent["taxpayer_type"] == "general").to_numpy(dtype=float)
    general = ctx.per_pair(general, np.nan)
    if "general_since" in ent.columns:  # a general taxpayer only from its effective date
        since = ctx.per_pair(ent["general_since"].to_numpy(dtype="datetime64[ns]"),
                             np.datetime64("NaT", "ns"))
        general = np.where((general == 1) & (since > ctx.as_of), 0.0, general)
    out["general_taxpayer"] = general
    code = ent["industry_code"].astype("str")
    out["industry_section"] = ctx.per_pair(code.str[0].to_numpy(dtype=object, na_value=None),
                                           None)
    out["industry_division"] = ctx.per_pair(code.str[:3].to_numpy(dtype=object, na_value=None),
                                            None)
    province = ent["region_code"].astype("str").str[:2]
    out["province"] = ctx.per_pair(province.to_numpy(dtype=object, na_value=None), None)
    group = ctx.per_pair(industry_group(code), "other")
    out["size_class"] = size_class(group, out.get("sales_12m"), out.get("headcount"),
                                   out.get("total_assets", np.full(ctx.n, np.nan)))


def _same_day(ctx: Context) -> np.ndarray:
    """Carry the first filing's day of month to the as-of month (for whole months)."""
    ff = ctx.first_filing
    day = np.where(np.isnat(ff), 0, (ff - ff.astype("datetime64[M]").astype("datetime64[D]"))
                   .astype("timedelta64[D]").astype(np.int64))
    return ctx.as_of.astype("datetime64[M]").astype("datetime64[D]") + day.astype(
        "timedelta64[D]")
