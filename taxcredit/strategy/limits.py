"""Credit limits (授信额度) from tax contribution, sales and the product cap.

``limit = min(k[grade] × average annual tax, sales_share × annual sales, cap)``, rounded down to
``unit``; below ``minimum`` (or declined) it is 0. Conservative on missing data: no known tax
(and no fixed amount for the grade), no known sales or no grade gives 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["LimitPolicy"]

#: Ordinal coding of the tax credit grade in the feature catalog.
GRADE_CODES = {"A": 1, "B": 2, "M": 3, "C": 4, "D": 5}


def _check_number(what: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")


@dataclass(frozen=True)
class LimitPolicy:
    """A limit policy.

    Parameters
    ----------
    tax_multiple : dict of grade → float
        Multiple of the 2-year average annual tax per tax credit grade (A, B, M, C, D); a grade
        not listed gets no tax-based limit (0).
    fixed_by_grade : dict of grade → float
        A fixed amount for grades with little tax history (e.g. M: new firms); used instead of
        the tax multiple when given for the grade.
    sales_share : float or None
        At most this share of 12-month sales (None: no sales cap).
    cap : float
        The product's maximum.
    minimum : float
        Limits below this become 0 (not worth a loan).
    unit : float
        Round down to a multiple of this.
    tax_feature, sales_feature, grade_feature : str
        Feature columns used.
    """

    tax_multiple: dict = field(default_factory=lambda: {"A": 8.0, "B": 6.0})
    fixed_by_grade: dict = field(default_factory=dict)
    sales_share: float | None = 0.15
    cap: float = 3_000_000.0
    minimum: float = 10_000.0
    unit: float = 10_000.0
    tax_feature: str = "avg_annual_tax_24m"
    sales_feature: str = "sales_12m"
    grade_feature: str = "credit_grade"

    def __post_init__(self) -> None:
        bad = sorted(set(self.tax_multiple) | set(self.fixed_by_grade) - set(GRADE_CODES))
        bad = [g for g in bad if g not in GRADE_CODES]
        if bad:
            raise ValueError(f"unknown grade(s) {bad}; grades are {list(GRADE_CODES)}")
        for name in ("cap", "minimum", "unit", *(["sales_share"] if self.sales_share
                                                   is not None else [])):
            _check_number(f"limits: {name}", getattr(self, name))
        for table in ("tax_multiple", "fixed_by_grade"):
            for g, v in getattr(self, table).items():
                _check_number(f"limits: {table} {g}", v)
                if v < 0:
                    raise ValueError(f"limits: {table} {g} must not be negative, got {v}")
        if self.cap <= 0 or self.unit <= 0 or self.minimum < 0:
            raise ValueError("cap and unit must be positive, minimum non-negative")
        if self.sales_share is not None and not 0 < self.sales_share <= 1:
            raise ValueError(f"sales_share must be in (0, 1], got {self.sales_share}")

    def limits(self, X: pd.DataFrame, approved=None) -> np.ndarray:
        """Limit of each row (0 where not approved).

        Parameters
        ----------
        X : pandas.DataFrame
            Features (the columns named by the policy).
        approved : array-like of bool, optional
            Rows that get a limit (default: all).
        """
        missing = [c for c in (self.tax_feature, self.grade_feature) if c not in X.columns]
        if self.sales_share is not None and self.sales_feature not in X.columns:
            missing.append(self.sales_feature)
        if missing:
            raise ValueError(f"the limit policy needs feature(s) {missing}")
        n = len(X)
        grade = X[self.grade_feature].to_numpy(dtype=float, na_value=np.nan)
        tax = X[self.tax_feature].to_numpy(dtype=float, na_value=np.nan)
        mult = np.zeros(n)
        fixed = np.full(n, np.nan)
        for g, code in GRADE_CODES.items():
            at = grade == code
            mult[at] = float(self.tax_multiple.get(g, 0.0))
            if g in self.fixed_by_grade:
                fixed[at] = float(self.fixed_by_grade[g])
        tax_term = np.where(np.isnan(fixed), mult * np.nan_to_num(np.clip(tax, 0, None)), fixed)
        limit = np.minimum(tax_term, self.cap)
        if self.sales_share is not None:
            sales = X[self.sales_feature].to_numpy(dtype=float, na_value=np.nan)
            limit = np.minimum(limit, self.sales_share * np.nan_to_num(np.clip(sales, 0, None)))
        limit = np.floor(limit / self.unit + 1e-9) * self.unit  # 0.35×1.4M is 489,999.99…
        limit = np.where(limit >= self.minimum, limit, 0.0)
        if approved is not None:
            limit = np.where(np.asarray(approved, dtype=bool), limit, 0.0)
        return limit

    def to_dict(self) -> dict:
        """Plain data."""
        return {"tax_multiple": dict(self.tax_multiple),
                "fixed_by_grade": dict(self.fixed_by_grade), "sales_share": self.sales_share,
                "cap": self.cap, "minimum": self.minimum, "unit": self.unit,
                "tax_feature": self.tax_feature, "sales_feature": self.sales_feature,
                "grade_feature": self.grade_feature}

    @classmethod
    def from_dict(cls, d: dict) -> LimitPolicy:
        """Rebuild from :meth:`to_dict` (or a TOML table)."""
        return cls(**d)
