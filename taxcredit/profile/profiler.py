"""`Profiler`: dimension scores 0–100 from peer percentiles, with strengths and weaknesses.

Each indicator is placed among the enterprise's peers — same industry section, size class
and province, or broader groups when that one is too small — as a percentile against a
fitted reference population, oriented by its risk direction (higher = better): a "safer"
indicator keeps its percentile, a "riskier" one is flipped, a two-tailed one scores by
closeness to the peer median. A dimension's score is the weighted mean of its indicators
present; the profile score is the weighted mean of the dimensions.

The reference is a grid of quantiles per (peer group, indicator), plus each peer group's
median dimension scores: plain numbers, saved as JSON (:meth:`Profiler.to_dict`), so a
profile taken today compares with the population the bank fitted on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..features import DIMENSIONS, FEATURES
from ._grid import group_quantiles, percentile_in_grid
from .text import LANGS, sentences

#: an indicator whose value this share of peers (or more) shares is left out of strengths and
#: weaknesses: "better than X % of peers" would describe the middle of a tie, not the firm
MAX_TIED = 0.5

__all__ = ["FORMAT", "LEVELS", "Profiler"]

#: Peer groups, finest first; the last (no key) is everyone.
LEVELS: tuple[tuple[str, ...], ...] = (("industry_section", "size_class", "province"),
                                       ("industry_section", "size_class"),
                                       ("industry_section",), ())
FORMAT = "taxcredit.profile/1"
_FEATURES = {f.id: f for f in FEATURES}
_PARAMS = ("min_group_size", "grid_points", "top", "weights", "dimension_weights", "members",
           "exclude")


def _keys(X: pd.DataFrame, level: tuple[str, ...]) -> np.ndarray:
    """One text key per row for a peer level (``"*"`` for everyone)."""
    if not level:
        return np.full(len(X), "*", dtype=object)
    key = X[level[0]].astype("str").fillna("∅")
    for c in level[1:]:
        key = key + "|" + X[c].astype("str").fillna("∅")
    return key.to_numpy(dtype=object)


def _orient(pct: np.ndarray, direction: str) -> np.ndarray:
    if direction == "safer":
        return pct
    if direction == "riskier":
        return 100.0 - pct
    return 100.0 - 2.0 * np.abs(pct - 50.0)  # both tails: closeness to the peer median


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted mean over the non-missing entries (NaN when none).

    Added column by column, left to right (not a matrix product, whose BLAS blocking
    depends on the number of rows, nor ``sum(axis=1)``, whose pairwise order depends on the
    array's layout): a row's score is the same bit for bit however the rows are batched.
    """
    ok = ~np.isnan(values)
    num = np.zeros(len(values))
    den = np.zeros(len(values))
    for j in range(values.shape[1]):
        num += np.where(ok[:, j], values[:, j], 0.0) * weights[j]
        den += ok[:, j] * weights[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


class Profiler:
    """Fit a reference population; profile enterprises against their peers.

    All parameters are plain data — the ``[profile]`` table of a bank's ``strategy.toml``.

    Parameters
    ----------
    min_group_size : int, default 50
        Fewest reference values of an indicator for a peer group to be used; smaller groups
        fall back to the next broader level (see :data:`LEVELS`), down to everyone (used
        whatever its size).
    grid_points : int, default 21
        Quantiles kept per peer group and indicator (21: every 5 %; percentiles in between
        are interpolated). More points, finer percentiles, a larger saved reference.
    top : int, default 2
        Strengths and weaknesses named per enterprise.
    weights : dict of indicator → float, optional
        Indicator weights inside their dimension (default 1; 0 keeps it out of the score
        but still shows its percentile).
    dimension_weights : dict of dimension → float, optional
        Weights of the dimensions in the overall profile score (default 1).
    members : dict of indicator → dimension, optional
        Move catalog indicators to another dimension than the catalog's.
    exclude : list of str, optional
        Indicators left out of the profile altogether.

    Attributes
    ----------
    indicators : dict of indicator → dimension
        The indicators profiled (numeric catalog features with a risk direction).
    reference_ : dict
        Fitted quantile grids and peer medians (after :meth:`fit`).
    """

    def __init__(self, min_group_size: int = 50, grid_points: int = 21, top: int = 2,
                 weights: dict | None = None, dimension_weights: dict | None = None,
                 members: dict | None = None, exclude: list | tuple = ()) -> None:
        self.min_group_size = min_group_size
        self.grid_points = grid_points
        self.top = top
        self.weights = dict(weights or {})
        self.dimension_weights = dict(dimension_weights or {})
        self.members = dict(members or {})
        self.exclude = list(exclude)
        self._check()
        self.indicators = {f.id: self.members.get(f.id, f.dimension) for f in FEATURES
                           if f.kind == "numeric" and f.direction in ("safer", "riskier", "both")
                           and f.id not in self.exclude}
        self.reference_: dict | None = None
        self._index_cache: dict = {}

    def __repr__(self) -> str:
        state = (f"fitted on {self.reference_['n_reference']:,} rows" if self.reference_
                 else "not fitted")
        return f"Profiler({len(self.indicators)} indicators, {state})"

    # ------------------------------------------------------------------ config
    def _check(self) -> None:
        where = "profile settings"
        if not isinstance(self.min_group_size, (int, np.integer)) or self.min_group_size < 1:
            raise ValueError(f"{where}: min_group_size must be a whole number >= 1, got "
                             f"{self.min_group_size!r}")
        if not isinstance(self.grid_points, (int, np.integer)) or not \
                3 <= self.grid_points <= 1001:
            raise ValueError(f"{where}: grid_points must be a whole number in 3..1001, got "
                             f"{self.grid_points!r}")
        if not isinstance(self.top, (int, np.integer)) or self.top < 0:
            raise ValueError(f"{where}: top must be a whole number >= 0, got {self.top!r}")
        profiled = {f.id for f in FEATURES if f.kind == "numeric"
                    and f.direction in ("safer", "riskier", "both")}
        for name, ids in (("weights", self.weights), ("members", self.members),
                          ("exclude", self.exclude)):
            unknown = sorted(set(ids) - profiled)
            if unknown:
                raise ValueError(f"{where}: {name} names {unknown}, which are not numeric "
                                 "catalog indicators with a risk direction")
        bad_dims = sorted((set(self.dimension_weights) | set(self.members.values()))
                          - set(DIMENSIONS))
        if bad_dims:
            raise ValueError(f"{where}: unknown dimension(s) {bad_dims}; the dimensions are "
                             f"{list(DIMENSIONS)}")
        for name, w in (*self.weights.items(), *self.dimension_weights.items()):
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not w >= 0 \
                    or not np.isfinite(w):
                raise ValueError(f"{where}: the weight of {name!r} must be a number >= 0, "
                                 f"got {w!r}")

    def get_params(self) -> dict:
        """Return the settings (the ``[profile]`` table of ``strategy.toml``)."""
        return {"min_group_size": int(self.min_group_size), "grid_points": int(self.grid_points),
                "top": int(self.top), "weights": dict(self.weights),
                "dimension_weights": dict(self.dimension_weights),
                "members": dict(self.members), "exclude": list(self.exclude)}

    @classmethod
    def from_params(cls, params: dict | None, where: str = "[profile]") -> Profiler:
        """Build from a ``[profile]`` table; unknown keys are an error naming ``where``."""
        params = dict(params or {})
        extra = sorted(set(params) - set(_PARAMS))
        if extra:
            raise ValueError(f"{where}: unknown setting(s) {extra}; expected some of "
                             f"{list(_PARAMS)}")
        try:
            return cls(**params)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc

    def dimensions(self) -> dict[str, list[str]]:
        """Map each dimension to its indicators (catalog order)."""
        out: dict[str, list[str]] = {d: [] for d in DIMENSIONS}
        for fid, dim in self.indicators.items():
            out[dim].append(fid)
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame) -> Profiler:
        """Fit the reference from a feature frame (``build_features`` output).

        Use one row per enterprise (each at its own as-of date); indicators the frame lacks
        are left out of the reference (and so of every later profile).
        """
        missing = sorted({c for lv in LEVELS for c in lv} - set(X.columns))
        if missing:
            raise ValueError(f"the feature frame lacks the peer-group keys {missing} (build it "
                             "with taxcredit.build_features, which adds them)")
        if not len(X):
            raise ValueError("cannot fit a profile reference on an empty feature frame")
        grids = {}
        for li, level in enumerate(LEVELS):
            codes, names = pd.factorize(_keys(X, level))
            for fid in self.indicators:
                if fid not in X.columns:
                    continue
                v = X[fid].to_numpy(dtype=float, na_value=np.nan)
                ok = np.isfinite(v)
                groups, grid = group_quantiles(codes[ok], v[ok], len(names),
                                               self._min_size(level), self.grid_points)
                if len(groups):
                    grids[(li, fid)] = ([str(names[g]) for g in groups], grid)
        self.reference_ = {"grids": grids, "medians": {}, "n_reference": len(X)}
        self._index_cache = {}
        self.reference_["medians"] = self._fit_medians(X)
        return self

    def _min_size(self, level: tuple[str, ...]) -> int:
        """Everyone is the last resort: that level takes any size."""
        return self.min_group_size if level else 1

    def _fit_medians(self, X: pd.DataFrame) -> dict:
        """Each peer group's median dimension scores, for charts ("vs the peer median")."""
        scores = self._dimension_scores(self.percentiles(X))
        out = {}
        for li, level in enumerate(LEVELS):
            codes, names = pd.factorize(_keys(X, level))
            cols = {}
            for dim in DIMENSIONS:
                s = scores[f"score_{dim}"].to_numpy()
                ok = ~np.isnan(s)
                groups, grid = group_quantiles(codes[ok], s[ok], len(names),
                                               self._min_size(level), 3)
                cols[dim] = dict(zip((str(names[g]) for g in groups), grid[:, 1].tolist(),
                                     strict=True))
            out[li] = cols
        return out

    # ------------------------------------------------------------------ transform
    def _check_fitted(self) -> None:
        if self.reference_ is None:
            raise ValueError("the profiler is not fitted: call fit(X) on a reference "
                             "population, or use the one a strategy saved "
                             "(taxcredit.profile.profiler_for(strategy))")

    def _group_rows(self, li: int, fid: str, distinct) -> np.ndarray:
        """Row of each distinct key in the (level, indicator) grid (-1: no grid)."""
        names = self.reference_["grids"][(li, fid)][0]
        index = self._index_cache.get((li, fid))
        if index is None:
            index = self._index_cache[(li, fid)] = pd.Index(names)
        return index.get_indexer(distinct)

    def percentiles(self, X: pd.DataFrame, *, oriented: bool = True) -> pd.DataFrame:
        """Peer percentile (0–100) of every indicator of every row.

        Parameters
        ----------
        X : DataFrame
            Feature frame with the peer-group keys.
        oriented : bool, default True
            Turn percentiles so that higher is better (see the module notes); ``False``
            gives the plain percentile of the value among peers.
        """
        return self._percentiles(X, oriented)[0]

    def _percentiles(self, X: pd.DataFrame, oriented: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Percentiles, and the share of peers tied with each value (0–1)."""
        self._check_fitted()
        missing = sorted({c for lv in LEVELS for c in lv} - set(X.columns))
        if missing:
            raise ValueError(f"the feature frame lacks the peer-group keys {missing}")
        keys = [pd.factorize(_keys(X, level)) for level in LEVELS]
        ids = [fid for fid in self.indicators if fid in X.columns]
        out = np.full((len(X), len(ids)), np.nan, order="F")  # columns contiguous
        tied = np.full((len(X), len(ids)), np.nan, order="F")
        for j, fid in enumerate(ids):
            v = X[fid].to_numpy(dtype=float, na_value=np.nan)
            pct = out[:, j]
            todo = np.isfinite(v)
            for li in range(len(LEVELS)):  # the finest peer group that has a reference
                if not todo.any():
                    break
                grid = self.reference_["grids"].get((li, fid))
                if grid is None:
                    continue
                codes, distinct = keys[li]
                g = self._group_rows(li, fid, distinct)[codes]
                use = todo & (g >= 0)
                if use.any():
                    pct[use], tied[use, j] = percentile_in_grid(v[use], grid[1], g[use],
                                                                ties=True)
                    todo &= ~use
            if oriented:
                pct[:] = _orient(pct, _FEATURES[fid].direction)
        return (pd.DataFrame(out, index=X.index, columns=ids, copy=False),
                pd.DataFrame(tied, index=X.index, columns=ids, copy=False))

    def _dimension_scores(self, P: pd.DataFrame) -> pd.DataFrame:
        out = {}
        used = []
        for dim, members in self.dimensions().items():
            cols = [c for c in members if c in P.columns]
            w = np.array([float(self.weights.get(c, 1.0)) for c in cols])
            if not cols or not w.sum():
                out[f"score_{dim}"] = np.full(len(P), np.nan)
                continue
            out[f"score_{dim}"] = _weighted_mean(P[cols].to_numpy(), w)
            used.append(dim)
        frame = pd.DataFrame(out, index=P.index)
        w = np.array([float(self.dimension_weights.get(d, 1.0)) for d in used])
        frame["profile_score"] = (_weighted_mean(frame[[f"score_{d}" for d in used]]
                                                 .to_numpy(), w)
                                  if used and w.sum() else np.nan)
        return frame

    def profile(self, X: pd.DataFrame, *, lang: str = "zh", text: bool = True,
                detail: bool = False) -> pd.DataFrame:
        """Dimension scores, the overall score, and the top strengths and weaknesses.

        Parameters
        ----------
        X : DataFrame
            Feature frame (``build_features`` output), any index.
        lang : {"zh", "en"}
            Language of the sentences.
        text : bool, default True
            Add ``strengths`` and ``weaknesses``.
        detail : bool, default False
            Add each indicator's oriented peer percentile as ``pct_<indicator>``.

        Returns
        -------
        DataFrame
            One row per row of ``X`` (same index): ``score_<dimension>`` (0–100, higher =
            better; NaN when none of its indicators is known), ``profile_score``,
            ``strengths`` / ``weaknesses`` (short sentences joined by "；" / "; ").
        """
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        P, tied = self._percentiles(X)
        out = self._dimension_scores(P)
        if text:  # a value most peers share is neither a strength nor a weakness
            out["strengths"], out["weaknesses"] = sentences(P.where(tied < MAX_TIED), X, lang,
                                                            self.top)
        if detail:
            out = pd.concat([out, P.add_prefix("pct_")], axis=1)
        return out

    def peer_medians(self, X: pd.DataFrame) -> pd.DataFrame:
        """Median dimension scores of each row's peer group (finest group big enough)."""
        self._check_fitted()
        out = {}
        keys = [_keys(X, level) for level in LEVELS]
        for dim in DIMENSIONS:
            col = np.full(len(X), np.nan)
            for li in range(len(LEVELS)):
                known = self.reference_["medians"].get(li, {}).get(dim, {})
                todo = np.isnan(col)
                if not known or not todo.any():
                    continue
                col[todo] = pd.Series(keys[li][todo]).map(known).to_numpy(dtype=float,
                                                                          na_value=np.nan)
            out[f"peer_{dim}"] = col
        return pd.DataFrame(out, index=X.index)

    def explain(self, X: pd.DataFrame, row=0, *, lang: str = "zh") -> pd.DataFrame:
        """One enterprise's indicators: value, peer percentile, peer median, peer group.

        Parameters
        ----------
        X : DataFrame
            Feature frame.
        row : int or index label
            Which row (position if an int and not a label of ``X``'s index).
        lang : {"zh", "en"}
        """
        self._check_fitted()
        if row in X.index:
            one = X.loc[[row]]
        elif isinstance(row, (int, np.integer)) and -len(X) <= row < len(X):
            one = X.iloc[[int(row)]]
        else:
            raise KeyError(f"row {row!r} is neither a label of the frame's index nor a "
                           f"position in its {len(X)} rows")
        if len(one) != 1:
            raise ValueError(f"row {row!r} selects {len(one)} rows of the frame, not one")
        plain = self.percentiles(one, oriented=False).iloc[0]
        oriented = self.percentiles(one).iloc[0]
        keys = [_keys(one, level)[0] for level in LEVELS]
        rows = []
        for fid, dim in self.indicators.items():
            if fid not in one.columns:
                continue
            group, median = "", np.nan
            for li, level in enumerate(LEVELS):
                grid = self.reference_["grids"].get((li, fid))
                if grid is not None and keys[li] in grid[0]:
                    q = grid[1][grid[0].index(keys[li])]
                    group = "×".join(level) or "all"
                    median = float((q[(len(q) - 1) // 2] + q[len(q) // 2]) / 2)
                    break
            f = _FEATURES[fid]
            rows.append({"dimension": dim, "indicator": fid,
                         "name": f.zh if lang == "zh" else f.en, "direction": f.direction,
                         "value": float(pd.to_numeric(one[fid].iloc[0], errors="coerce")),
                         "peer_median": median, "percentile": plain[fid],
                         "score": oriented[fid], "peer_group": group})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ save / load
    def to_dict(self) -> dict:
        """Return the settings and fitted reference as plain JSON-able data."""
        self._check_fitted()
        ref = self.reference_
        return {
            "format": FORMAT, "params": self.get_params(), "levels": [list(lv) for lv in LEVELS],
            "n_reference": int(ref["n_reference"]),
            "grids": [{"level": li, "indicator": fid, "groups": names,
                       "quantiles": grid.tolist()}
                      for (li, fid), (names, grid) in ref["grids"].items()],
            "medians": [{"level": li, "dimension": dim, "groups": list(m),
                         "median": list(m.values())}
                        for li, dims in ref["medians"].items() for dim, m in dims.items()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Profiler:
        """Rebuild a fitted profiler from :meth:`to_dict` output."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"not a profile reference (expected format {FORMAT!r}, got "
                             f"{d.get('format') if isinstance(d, dict) else type(d).__name__!r})")
        if [tuple(lv) for lv in d["levels"]] != list(LEVELS):
            raise ValueError(f"profile reference uses peer levels {d['levels']}, this version "
                             f"of taxcredit {[list(lv) for lv in LEVELS]}")
        prof = cls.from_params(d["params"], where="profile reference")
        grids = {}
        for g in d["grids"]:
            q = np.asarray(g["quantiles"], dtype=float)
            if q.ndim != 2 or q.shape != (len(g["groups"]), prof.grid_points) or \
                    (np.diff(q, axis=1) < 0).any():
                raise ValueError(f"profile reference: the grid of {g['indicator']!r} at level "
                                 f"{g['level']} is malformed")
            grids[(int(g["level"]), g["indicator"])] = (list(g["groups"]), q)
        medians: dict = {}
        for m in d["medians"]:
            medians.setdefault(int(m["level"]), {})[m["dimension"]] = dict(
                zip(m["groups"], m["median"], strict=True))
        prof.reference_ = {"grids": grids, "medians": medians,
                           "n_reference": int(d["n_reference"])}
        return prof

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` to a JSON file."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False,
                                   separators=(",", ":")), encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, path) -> Profiler:
        """Read a profiler written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
