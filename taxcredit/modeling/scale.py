"""Score scaling (points to double the odds) and the master scale that maps PD to grades.

Both are plain frozen data with ``to_dict`` / ``from_dict``, so a bank's scale is a few
reviewable lines of JSON or TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MasterScale", "ScoreScale"]


@dataclass(frozen=True)
class ScoreScale:
    """Points from PD: ``score = offset + factor · ln(good:bad odds)``.

    ``factor = pdo / ln 2`` and ``offset = base_score − factor · ln(base_odds)``, so a PD whose
    good:bad odds are ``base_odds`` scores ``base_score``, and every ``pdo`` points double the
    odds. Higher scores are safer.

    Parameters
    ----------
    base_score : float, default 600
    base_odds : float, default 50
        Good:bad odds at ``base_score`` (50:1 ≈ PD 1.96 %).
    pdo : float, default 20
        Points to double the odds.
    """

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if not (self.base_odds > 0 and self.pdo > 0):
            raise ValueError(f"base_odds and pdo must be positive, got {self.base_odds}, "
                             f"{self.pdo}")

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        """Score at even odds (1:1)."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, pd_) -> np.ndarray:
        """Score of each PD (PD 0 or 1 give ±inf)."""
        p = np.asarray(pd_, dtype=float)
        with np.errstate(divide="ignore"):
            return self.offset + self.factor * (np.log1p(-p) - np.log(p))

    def pd(self, score) -> np.ndarray:
        """PD of each score (the inverse of :meth:`score`)."""
        s = np.asarray(score, dtype=float)
        return 1.0 / (1.0 + np.exp((s - self.offset) / self.factor))

    def to_dict(self) -> dict:
        """Plain data."""
        return {"base_score": self.base_score, "base_odds": self.base_odds, "pdo": self.pdo}

    @classmethod
    def from_dict(cls, d: dict) -> ScoreScale:
        """Rebuild from :meth:`to_dict`."""
        return cls(**{k: float(v) for k, v in d.items()})


@dataclass(frozen=True)
class MasterScale:
    """PD bands → grades: grade ``k`` holds PDs in ``[bounds[k-1], bounds[k])``.

    Parameters
    ----------
    grades : tuple of str
        Grade names, best (lowest PD) first.
    bounds : tuple of float
        The ``len(grades) - 1`` increasing PD boundaries between consecutive grades; the first
        grade starts at 0 and the last ends at 1.

    Examples
    --------
    >>> ms = MasterScale.geometric(5, lowest=0.005, highest=0.2)
    >>> ms.grade([0.001, 0.03, 0.5]).tolist()
    ['G01', 'G03', 'G05']
    """

    grades: tuple[str, ...]
    bounds: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.grades) < 2 or len(self.bounds) != len(self.grades) - 1:
            raise ValueError(f"{len(self.grades)} grades need {len(self.grades) - 1} bounds, "
                             f"got {len(self.bounds)}")
        b = np.asarray(self.bounds, dtype=float)
        if not ((b > 0) & (b < 1)).all() or not (np.diff(b) > 0).all():
            raise ValueError(f"bounds must increase strictly inside (0, 1), got {list(b)}")
        if len(set(self.grades)) != len(self.grades):
            raise ValueError("grade names must be unique")

    @classmethod
    def geometric(cls, n_grades: int = 10, *, lowest: float = 0.0005, highest: float = 0.25,
                  prefix: str = "G") -> MasterScale:
        """Grades whose bounds grow geometrically from ``lowest`` to ``highest``.

        ``n_grades - 1`` bounds, the first at ``lowest`` and the last at ``highest``, so each
        grade's PD range is a constant multiple of the previous one (the usual bank design).
        At least 3 grades (two bounds); for two, give the bound to :class:`MasterScale`.
        """
        if n_grades < 3:
            raise ValueError(f"a geometric master scale needs at least 3 grades (bounds at "
                             f"lowest and highest), got {n_grades}; for two grades give "
                             "MasterScale(grades=..., bounds=(b,)) directly")
        if not 0 < lowest < highest < 1:
            raise ValueError("need 0 < lowest < highest < 1")
        bounds = np.geomspace(lowest, highest, n_grades - 1)
        width = len(str(n_grades))
        return cls(grades=tuple(f"{prefix}{k + 1:0{max(2, width)}d}" for k in range(n_grades)),
                   bounds=tuple(float(b) for b in bounds))

    def index(self, pd_) -> np.ndarray:
        """Grade position (0 = best) of each PD; a missing PD raises."""
        p = np.asarray(pd_, dtype=float)
        if np.isnan(p).any():
            raise ValueError(f"{int(np.isnan(p).sum())} missing PD(s): cannot grade them")
        if ((p < 0) | (p > 1)).any():
            raise ValueError("PDs must be in [0, 1]")
        return np.searchsorted(np.asarray(self.bounds), p, side="right")

    def grade(self, pd_) -> pd.Categorical:
        """Grade of each PD, an ordered categorical (best first)."""
        return pd.Categorical.from_codes(self.index(pd_),
                                         dtype=pd.CategoricalDtype(self.grades, ordered=True))

    def table(self) -> pd.DataFrame:
        """Each grade's PD range and its representative PD, ``pd_mid``.

        ``pd_mid`` is the geometric midpoint of the grade's bounds. The open-ended grades
        have none (no geometric midpoint reaches down to 0), so the first grade,
        ``[0, b)``, takes that of ``[b/2, b)`` and the last, ``[b, 1)``, that of
        ``[b, min(2b, 1))``.
        """
        lo = np.r_[0.0, self.bounds]
        hi = np.r_[self.bounds, 1.0]
        mid = np.sqrt(np.where(lo > 0, lo, hi / 2) * np.where(hi < 1, hi, np.minimum(
            2 * lo, 1)))
        return pd.DataFrame({"grade": list(self.grades), "pd_from": lo, "pd_to": hi,
                             "pd_mid": mid})

    def to_dict(self) -> dict:
        """Plain data."""
        return {"grades": list(self.grades), "bounds": list(self.bounds)}

    @classmethod
    def from_dict(cls, d: dict) -> MasterScale:
        """Rebuild from :meth:`to_dict`."""
        return cls(grades=tuple(d["grades"]), bounds=tuple(float(b) for b in d["bounds"]))
