"""`TaxDataset`: a bundle of tax tables for a set of enterprises."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import TaxDataError
from .io import list_table_files, read_table, write_table
from .schema import SCHEMAS, TABLE_ORDER
from .validation import Quarantine, validate_tables

__all__ = ["TaxDataset"]


class TaxDataset:
    """A bundle of tax tables (``enterprises``, ``vat_returns``, ``credit_grades`` …).

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Tables by name; see :mod:`taxcredit.data.schema` for the contract of each. Only
        ``enterprises`` is required. Building a dataset does not validate it: call
        :meth:`validate` (``from_folder`` does so by default).
    validated : bool
        The tables are known to meet the contract (set by :meth:`validate` and by the
        synthetic generator; kept by :meth:`select` and :meth:`iter_chunks`). Feature
        building warns on a dataset that is not: its rows are taken as they are, so a
        repeated extract would be counted twice.

    Examples
    --------
    >>> import taxcredit as tc
    >>> ds = tc.datasets.make_population(n_enterprises=50, months=24, seed=1)
    >>> ds.n_enterprises
    50
    >>> clean = ds.validate()
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], *, validated: bool = False) -> None:
        if not isinstance(tables, Mapping):
            raise TypeError(f"tables must be a mapping of name -> DataFrame, got {type(tables)}")
        for name, df in tables.items():
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(df)}")
        ordered = [t for t in TABLE_ORDER if t in tables] + [t for t in tables if t not in SCHEMAS]
        self._tables: dict[str, pd.DataFrame] = {t: tables[t] for t in ordered}
        self._validated = bool(validated)

    @property
    def validated(self) -> bool:
        """Whether the tables are known to meet the data contract."""
        return self._validated

    def __deepcopy__(self, memo: dict) -> TaxDataset:
        """Share the frames instead of copying them.

        Datasets are read-only, and cloning an estimator that holds one (scikit-learn
        deep-copies parameters) must not copy gigabytes of tax data.
        """
        return TaxDataset(self._tables, validated=self._validated)

    # ---------------------------------------------------------------- access
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name (a new dict; the frames themselves are shared)."""
        return dict(self._tables)

    def __getitem__(self, table: str) -> pd.DataFrame:
        try:
            return self._tables[table]
        except KeyError:
            raise KeyError(
                f"the dataset has no table {table!r}; it has {', '.join(self._tables) or 'none'}"
            ) from None

    def __contains__(self, table: object) -> bool:
        return table in self._tables

    def get(self, table: str, default: pd.DataFrame | None = None) -> pd.DataFrame | None:
        """Return ``table`` if present, else ``default``."""
        return self._tables.get(table, default)

    @property
    def enterprise_ids(self) -> pd.Index:
        """USCCs of the enterprises, in table order."""
        return pd.Index(self["enterprises"]["uscc"], name="uscc")

    @property
    def n_enterprises(self) -> int:
        """Number of enterprises."""
        return len(self["enterprises"]) if "enterprises" in self else 0

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, columns, enterprises covered and knowledge-date range."""
        rows = []
        for name, df in self._tables.items():
            schema = SCHEMAS.get(name)
            kd = schema.knowledge_date if schema else None
            dates = df[kd] if kd and kd in df.columns else None
            rows.append({
                "table": name,
                "rows": len(df),
                "columns": df.shape[1],
                "enterprises": df["uscc"].nunique() if "uscc" in df.columns else np.nan,
                "from": dates.min() if dates is not None and len(df) else pd.NaT,
                "to": dates.max() if dates is not None and len(df) else pd.NaT,
            })
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={len(df):,}" for t, df in self._tables.items())
        return f"TaxDataset({self.n_enterprises:,} enterprises; {parts})"

    # ---------------------------------------------------------------- validation
    def validate(
        self,
        on_error: Literal["raise", "quarantine"] = "raise",
        *,
        strict_uscc: bool = True,
        progress: bool = False,
        partial: bool = False,
    ) -> TaxDataset | tuple[TaxDataset, Quarantine]:
        """Check every table against the data contract.

        Parameters
        ----------
        on_error : {"raise", "quarantine"}
            ``"raise"`` (default): raise :class:`~taxcredit.TaxDataError` with a report of every
            problem. ``"quarantine"``: return the clean dataset and the rejected rows.
        strict_uscc : bool
            Verify USCC check characters (``False`` accepts early pilot codes).
        progress : bool
            Show a progress bar over the tables.
        partial : bool
            The tables hold a chosen subset of columns (absent columns are not errors).

        Returns
        -------
        TaxDataset or (TaxDataset, Quarantine)
            The validated dataset (contract dtypes, input row order); in quarantine mode
            also the rejected rows with their reasons. Input rows = clean rows + rejected rows,
            table by table.

        Raises
        ------
        TaxDataError
            On any problem in ``"raise"`` mode; on structural problems in both modes.
        """
        clean, rejected = validate_tables(self._tables, on_error=on_error,
                                          strict_uscc=strict_uscc, progress=progress,
                                          partial=partial)
        if on_error == "quarantine":
            return TaxDataset(clean, validated=True), rejected
        return TaxDataset(clean, validated=True)

    # ---------------------------------------------------------------- subsets
    def _chunk_codes(self, ids: pd.Index) -> dict[str, np.ndarray]:
        """Position in ``ids`` of every row of every per-enterprise table (-1: not in ids)."""
        codes: dict[str, np.ndarray] = {}
        keys = pa.array(ids, type=pa.large_string())
        for name, df in self._tables.items():
            if "uscc" in df.columns:
                pos = pc.index_in(pa.array(df["uscc"], type=pa.large_string()), value_set=keys)
                codes[name] = pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        if "truth" in self._tables and "applications" in codes:
            apps = self._tables["applications"]
            app_pos = pd.Index(apps["application_id"]).get_indexer(
                self._tables["truth"]["application_id"])
            codes["truth"] = np.where(app_pos >= 0, codes["applications"][app_pos], -1)
        return codes

    def select(self, uscc: Iterable[str]) -> TaxDataset:
        """Return the dataset restricted to the given enterprises (tables without ``uscc`` kept).

        Parameters
        ----------
        uscc : iterable of str
            Enterprise codes to keep; unknown codes are ignored.
        """
        codes = [uscc] if isinstance(uscc, str) else list(uscc)
        wanted = pd.Index(pd.unique(pd.Series(codes, dtype="str")))
        codes = self._chunk_codes(wanted)
        return TaxDataset({
            name: (df.iloc[np.flatnonzero(codes[name] >= 0)].reset_index(drop=True)
                   if name in codes else df)
            for name, df in self._tables.items()
        }, validated=self._validated)

    def iter_chunks(self, chunk_size: int = 10_000) -> Iterator[TaxDataset]:
        """Iterate over the dataset in chunks of enterprises.

        Every row of a per-enterprise table goes to the chunk of its enterprise; tables without
        ``uscc`` (a bank's reference tables) are shared by all chunks.

        Parameters
        ----------
        chunk_size : int
            Enterprises per chunk.

        Yields
        ------
        TaxDataset
            Consecutive chunks in the order of the ``enterprises`` table.

        Raises
        ------
        TaxDataError
            If a row refers to an enterprise that is not in ``enterprises`` (validate first).
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        ids = self.enterprise_ids
        if not ids.is_unique:
            raise TaxDataError("enterprises: duplicate uscc values; run validate() before "
                               "iterating in chunks")
        n_chunks = max(1, -(-len(ids) // chunk_size))
        if n_chunks == 1:  # everything fits in one chunk: no copies, no lookups
            yield self
            return
        codes = self._chunk_codes(ids)
        for name, c in codes.items():
            if (c < 0).any():
                raise TaxDataError(
                    f"table {name!r}: {(c < 0).sum()} row(s) refer to enterprises missing from "
                    "'enterprises'; run validate() before iterating in chunks")
        splits = {}
        for name, c in codes.items():
            chunk = c // chunk_size
            order = np.argsort(chunk, kind="stable")
            bounds = np.searchsorted(chunk[order], np.arange(n_chunks + 1))
            splits[name] = (order, bounds)
        for k in range(n_chunks):
            tables = {}
            for name, df in self._tables.items():
                if name in splits:
                    order, bounds = splits[name]
                    tables[name] = df.iloc[order[bounds[k]:bounds[k + 1]]].reset_index(drop=True)
                else:
                    tables[name] = df
            yield TaxDataset(tables, validated=self._validated)

    # ---------------------------------------------------------------- IO
    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        *,
        tables: Iterable[str] | None = None,
        validate: bool = True,
        strict_uscc: bool = True,
    ) -> TaxDataset:
        """Load a dataset from a folder holding one ``<table>.parquet`` (or ``.csv``) per table.

        Parameters
        ----------
        path : path-like
            The folder.
        tables : iterable of str, optional
            Load only these tables (``enterprises`` is always loaded).
        validate : bool
            Validate on load (default) and raise :class:`~taxcredit.TaxDataError` on problems.
        strict_uscc : bool
            Verify USCC check characters when validating.
        """
        folder = Path(path)
        files = list_table_files(folder)
        wanted = None if tables is None else {"enterprises", *tables}
        if wanted is not None:
            missing = sorted(wanted - set(files) - {"enterprises"})
            if missing:
                raise TaxDataError(f"{folder}: no file for table(s) {missing}; "
                                   f"found {sorted(files)}")
            files = {t: f for t, f in files.items() if t in wanted}
        if "enterprises" not in files:
            raise TaxDataError(
                f"{folder}: no enterprises.parquet or enterprises.csv "
                f"(found: {', '.join(sorted(files)) or 'no table files'})")
        ds = cls({name: read_table(f, SCHEMAS.get(name)) for name, f in files.items()})
        if validate:
            out = ds.validate(strict_uscc=strict_uscc)
            assert isinstance(out, TaxDataset)
            return out
        return ds

    def to_folder(
        self,
        path: str | os.PathLike,
        *,
        format: Literal["parquet", "csv"] = "parquet",
        overwrite: bool = False,
    ) -> Path:
        """Write one file per table into ``path`` (created if needed).

        Parameters
        ----------
        path : path-like
            Target folder.
        format : {"parquet", "csv"}
            File format (CSV is UTF-8, for Excel users and small data).
        overwrite : bool
            Replace the folder's table files: this dataset's tables are written anew and
            other tables' files (an earlier dataset's) removed, so the folder reads back as
            this dataset; files that are not tables stay. Otherwise refuse to overwrite.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        if format not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        existing = list_table_files(folder)
        clash = sorted(set(existing) & set(self._tables))
        if clash and not overwrite:
            raise FileExistsError(
                f"{folder} already holds table file(s) {clash}; pass overwrite=True to replace")
        for name, path_ in existing.items():
            # overwriting: an earlier dataset's tables go, or the folder would mix the two
            stale = name not in self._tables and overwrite
            if stale or (name in self._tables and path_.suffix != f".{format}"):
                path_.unlink()
        for name, df in self._tables.items():
            write_table(df, folder / f"{name}.{format}")
        return folder
