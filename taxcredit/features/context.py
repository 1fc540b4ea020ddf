"""Point-in-time views of a chunk of enterprises: who is asked about when, and what was known.

A :class:`Context` holds the (enterprise, as-of) pairs of one chunk and turns table rows into
per-pair arrays without Python loops: rows are joined to the pairs of their enterprise by
sorted positions, filtered by their knowledge date, and scattered into dense month panels of
shape ``(n_pairs, HORIZON)`` where column ``k`` is the month ``k`` months before the pair's
window end. A panel cell is NaN when nothing was known for that month, so "no history" and
"zero" stay different.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data.calendar import last_due_month, month_index
from ..data.schema import SCHEMAS, get_schema

__all__ = ["HORIZON", "Context", "longest_run", "safe_div"]

#: Months of history held in a panel: 24 for the longest window plus 12 for year-on-year.
HORIZON = 36
_DAY = np.timedelta64(1, "D")


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where the denominator is zero or missing."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den != 0)
    np.divide(num, den, out=out, where=ok)
    return out


def longest_run(flags: np.ndarray) -> np.ndarray:
    """Longest run of True along axis 1 (loops over the few columns, not the rows)."""
    run = np.zeros(flags.shape[0], dtype=np.int64)
    best = np.zeros(flags.shape[0], dtype=np.int64)
    for k in range(flags.shape[1]):
        run = np.where(flags[:, k], run + 1, 0)
        np.maximum(best, run, out=best)
    return best


def _revises(table: str) -> tuple[str, ...]:
    """Return the columns naming a report of ``table`` that may be amended (else empty)."""
    return SCHEMAS[table].revises if table in SCHEMAS else ()


def _dates(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype="datetime64[ns]")  # no copy for a validated column


@dataclass
class Context:
    """The pairs of one chunk and their enterprise facts.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The chunk's (validated) tables.
    uscc : numpy.ndarray of str
        Enterprise of each pair.
    as_of : numpy.ndarray of datetime64
        As-of date of each pair.
    """

    tables: dict[str, pd.DataFrame]
    uscc: np.ndarray
    as_of: np.ndarray
    n: int = 0
    ent: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    due_month: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    end: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    quarterly: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    first_filing_month: np.ndarray = field(default_factory=lambda: np.empty(0))
    cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.as_of = np.asarray(self.as_of).astype("datetime64[ns]")
        self.n = len(self.uscc)
        self._one_date = bool(self.n and (self.as_of == self.as_of[0]).all())
        ent = self.tables["enterprises"]
        self._ent_keys = pa.array(ent["uscc"], type=pa.large_string())
        self.ent = self._position(pd.Series(self.uscc, dtype="str"))
        order = np.argsort(self.ent, kind="stable")
        self._pair_order = order
        self._pair_ent_sorted = self.ent[order]
        known = self._pair_ent_sorted[self._pair_ent_sorted >= 0]
        self._one_pair_each = bool(np.all(known[1:] != known[:-1]))
        self.due_month = last_due_month(self.as_of)
        ff = self.per_pair(_dates(ent["first_filing_date"]), np.datetime64("NaT", "ns"))
        ff = np.where(ff <= self.as_of, ff, np.datetime64("NaT", "ns"))  # not known yet
        ffm = month_index(ff).astype(float)
        ffm[np.isnat(ff)] = np.nan
        self.first_filing_month = ffm
        self.first_filing = ff
        self.quarterly = self._latest_frequency_is_quarterly()
        # quarterly filers' windows end at the last due quarter
        moy0 = self.due_month % 12  # 0 = January
        back = np.where(self.quarterly, (moy0 - 2) % 3, 0)
        self.end = self.due_month - back

    def as_of_of(self, pairs: np.ndarray) -> np.ndarray:
        """As-of date of each of ``pairs`` (a scalar when every pair has the same date)."""
        if self._one_date:
            return self.as_of[0]
        return self.as_of[pairs]

    def per_pair(self, values: np.ndarray, missing) -> np.ndarray:
        """Per-enterprise ``values`` looked up for each pair (``missing`` for unknown ones)."""
        values = np.asarray(values)
        padded = np.append(values, np.asarray([missing], dtype=values.dtype))
        return padded[np.where(self.ent >= 0, self.ent, len(values))]

    # ------------------------------------------------------------------ joins
    def _position(self, values: pd.Series) -> np.ndarray:
        if isinstance(values.dtype, pd.CategoricalDtype):  # look up the categories only
            where = self._position(pd.Series(values.cat.categories, dtype="str"))
            return np.append(where, -1)[values.cat.codes.to_numpy()]  # code -1: missing
        pos = pc.index_in(pa.array(values, type=pa.large_string()), value_set=self._ent_keys)
        return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def ent_of(self, table: str) -> np.ndarray:
        """Enterprise position of every row of ``table`` (-1: unknown), cached."""
        key = ("ent", table)
        if key not in self.cache:
            self.cache[key] = self._position(self.tables[table]["uscc"])
        return self.cache[key]

    def has(self, table: str) -> bool:
        """Whether the chunk has ``table``."""
        return table in self.tables

    def join(self, table: str) -> tuple[np.ndarray, np.ndarray]:
        """Pair every row of ``table`` with every pair of its enterprise.

        Returns
        -------
        rows, pairs : numpy.ndarray of int
            Row positions in the table and pair positions, one entry per (row, pair).
        """
        key = ("join", table)
        if key in self.cache:
            return self.cache[key]
        df = self.tables[table]
        ent = self.ent_of(table)
        if self._one_pair_each:  # the common case (one as-of date): a direct lookup
            pair_of = np.full(len(self._ent_keys) + 1, -1)
            known = self.ent >= 0
            pair_of[self.ent[known]] = np.flatnonzero(known)
            pairs = pair_of[ent]  # ent -1 hits the padding
            rows = np.flatnonzero(pairs >= 0)
            self.cache[key] = (rows, pairs[rows])
            return self.cache[key]
        lo = np.searchsorted(self._pair_ent_sorted, ent, side="left")
        hi = np.searchsorted(self._pair_ent_sorted, ent, side="right")
        counts = np.where(ent >= 0, hi - lo, 0)
        rows = np.repeat(np.arange(len(df)), counts)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        pairs = self._pair_order[np.repeat(lo, counts) + offset]
        self.cache[key] = (rows, pairs)
        return rows, pairs

    def known(self, table: str, date_column: str, *,
              version: str = "latest") -> tuple[np.ndarray, np.ndarray]:
        """:meth:`join`, keeping the rows whose ``date_column`` is on or before the as-of.

        In a table whose rows can be amended (the schema's ``revises``: VAT and CIT returns,
        annual statements), one version of each report is kept per pair: the ``"latest"``
        known at the as-of — the one in force, for amounts — or the ``"first"``, the original
        filing (for timeliness: filing a correction after the deadline is not filing late).
        """
        key = ("known", table, date_column, version)
        if key in self.cache:
            return self.cache[key]
        rows, pairs = self.join(table)
        d = self.column(table, date_column, rows, "date")
        keep = d <= self.as_of_of(pairs)
        rows, pairs = rows[keep], pairs[keep]
        revises = _revises(table)
        if revises and date_column == get_schema(table).knowledge_date:
            rows, pairs = self._one_version(table, revises, rows, pairs, d[keep], version)
        self.cache[key] = (rows, pairs)
        return self.cache[key]

    def _one_version(self, table: str, revises: tuple[str, ...], rows: np.ndarray,
                     pairs: np.ndarray, filed: np.ndarray,
                     version: str) -> tuple[np.ndarray, np.ndarray]:
        if version not in ("latest", "first"):
            raise ValueError(f"version must be 'latest' or 'first', got {version!r}")
        key = ("report", table)
        if key not in self.cache:  # one code per report (enterprise, period, …) of the table
            t = self.tables[table]
            parts = {"uscc": self.ent_of(table)}
            for c in revises:
                if c != "uscc":
                    col = t[c]
                    parts[c] = (col.cat.codes.to_numpy()
                                if isinstance(col.dtype, pd.CategoricalDtype)
                                else pd.factorize(col)[0])
            code = pd.DataFrame(parts).groupby(list(parts), sort=False).ngroup().to_numpy()
            amended = bool(len(code)) and bool((np.bincount(code) > 1).any())
            self.cache[key] = code if amended else None
        if self.cache[key] is None or not len(rows):
            return rows, pairs  # no report has two versions (or no row): nothing to choose
        report = self.cache[key][rows]
        later = [np.nan_to_num(self.column(table, c, rows))  # same-day versions: their
                 for c in get_schema(table).version_order[1:]   # number (missing: 0)
                 if c in self.tables[table].columns]
        order = np.lexsort((*later[::-1], filed.astype(np.int64), report, pairs))
        p, r = pairs[order], report[order]
        if version == "latest":
            pick = np.r_[(p[1:] != p[:-1]) | (r[1:] != r[:-1]), True]
        else:
            pick = np.r_[True, (p[1:] != p[:-1]) | (r[1:] != r[:-1])]
        chosen = np.sort(order[pick])  # back in table order
        return rows[chosen], pairs[chosen]

    def is_in(self, table: str, column: str, rows: np.ndarray, values) -> np.ndarray:
        """Boolean: ``table.column`` at ``rows`` is one of ``values`` (by category codes)."""
        s = self.tables[table][column]
        if isinstance(s.dtype, pd.CategoricalDtype):
            key = ("codes", table, column)
            if key not in self.cache:
                self.cache[key] = s.cat.codes.to_numpy()
            hit = np.append(pd.Index(s.cat.categories).isin(list(values)), False)
            return hit[self.cache[key][rows]]  # code -1 (missing) hits the padding
        return np.isin(self.column(table, column, rows, str), list(values))

    def months(self, table: str, column: str, rows: np.ndarray) -> np.ndarray:
        """Month index of the dates in ``table.column`` at ``rows`` (cached per column)."""
        key = ("months", table, column)
        if key not in self.cache:  # from the cached date column: one conversion per column
            self.cache[key] = month_index(self.column(table, column, slice(None), "date"))
        return self.cache[key][rows]

    def column(self, table: str, column: str, rows: np.ndarray, dtype=float) -> np.ndarray:
        """Values of ``table.column`` at ``rows`` (whole columns converted once, then cached)."""
        key = ("column", table, column, str(dtype))
        if key not in self.cache:
            s = self.tables[table][column]
            if dtype == "date":
                full = _dates(s)
            elif dtype is str:
                if isinstance(s.dtype, pd.CategoricalDtype):  # via the codes: no string copies
                    labels = np.append(np.asarray(s.cat.categories, dtype=object), None)
                    full = labels[s.cat.codes.to_numpy()]
                else:
                    full = s.astype("str").to_numpy()
            elif s.dtype == np.dtype(dtype):  # a numpy column already: no copy
                full = s.to_numpy()
            else:
                full = s.to_numpy(dtype=dtype, na_value=np.nan)
            self.cache[key] = full
        return self.cache[key][rows]

    # ------------------------------------------------------------------ panels
    def panels(self, pairs: np.ndarray, months: np.ndarray, values: dict[str, np.ndarray],
               *, add: bool = True, fill: float = np.nan) -> dict[str, np.ndarray]:
        """Scatter several value arrays into ``(n, HORIZON)`` month panels.

        Column ``k`` is ``k`` months before the pair's window end; the cell positions are
        computed once for all the arrays. Cells without a value are ``fill`` (NaN: unknown);
        several values in one cell are summed (``add``) or the last one wins.
        """
        k = self.end[pairs] - months
        keep = (k >= 0) & (k < HORIZON)
        flat = pairs[keep] * HORIZON + k[keep]
        size = self.n * HORIZON
        empty = (np.bincount(flat, minlength=size) == 0) if fill != 0 else None
        out = {}
        for name, v in values.items():
            if add:  # (bincount of nothing is int64 even with weights: cast)
                panel = np.bincount(flat, weights=v[keep], minlength=size).astype(float)
            else:
                panel = np.zeros(size)
                panel[flat] = v[keep]
            if empty is not None:
                panel[empty] = fill
            out[name] = panel.reshape(self.n, HORIZON)
        return out

    def panel(self, pairs: np.ndarray, months: np.ndarray, values: np.ndarray,
              *, add: bool = True) -> np.ndarray:
        """One panel (see :meth:`panels`)."""
        return self.panels(pairs, months, {"v": values}, add=add)["v"]

    def months_after_first_filing(self) -> np.ndarray:
        """Boolean ``(n, HORIZON)``: the panel month is on or after the first filing month."""
        month = self.end[:, None] - np.arange(HORIZON)[None, :]
        return month >= self.first_filing_month[:, None]

    def vat_panel(self) -> dict[str, np.ndarray]:
        """Monthly panels of VAT sales and payable known at as-of.

        A quarterly return is spread evenly over the months it covers: three, or fewer for a
        first quarter that starts at registration (no sales before the enterprise existed).
        """
        if "vat" in self.cache:
            return self.cache["vat"]
        rows, pairs = self.known("vat_returns", "filing_date")
        v = self.tables["vat_returns"]
        month = self.months("vat_returns", "period_end", rows)
        q = (v["filing_frequency"] == "quarterly").to_numpy()[rows]
        covered = np.where(q, month - self.months("vat_returns", "period_start", rows) + 1, 1)
        covered = np.clip(covered, 1, 3)
        sales = self.column("vat_returns", "taxable_sales", rows) / covered
        payable = self.column("vat_returns", "vat_payable", rows) / covered
        parts = [(pairs, month, sales, payable)]
        for back in (1, 2):  # the earlier months of a quarter
            b = covered > back
            parts.append((pairs[b], month[b] - back, sales[b], payable[b]))
        p, m, s, pay = (np.concatenate(x) for x in zip(*parts, strict=True))
        out = self.panels(p, m, {"sales": s, "vat_payable": pay})
        # where a quarterly return ends (its period-end month), for spreading payments
        out["quarter_end"] = self.panels(pairs[q], month[q], {"q": np.ones(int(q.sum()))},
                                         fill=0.0)["q"]
        self.cache["vat"] = out
        return out

    def _latest_frequency_is_quarterly(self) -> np.ndarray:
        if "vat_returns" not in self.tables:
            return np.zeros(self.n, dtype=bool)
        rows, pairs = self.known("vat_returns", "filing_date")
        v = self.tables["vat_returns"]
        pe = self.column("vat_returns", "period_end", rows, "date").astype(np.int64)
        q = (v["filing_frequency"] == "quarterly").to_numpy()[rows]
        order = np.lexsort((pe, pairs))  # last row per pair = latest period
        last = np.ones(len(order), dtype=bool)
        last[:-1] = pairs[order][1:] != pairs[order][:-1]
        out = np.zeros(self.n, dtype=bool)
        out[pairs[order][last]] = q[order][last]
        return out
