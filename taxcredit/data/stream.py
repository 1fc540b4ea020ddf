"""Stream a dataset folder in chunks of enterprises, with bounded memory.

Each table's Parquet file is read batch by batch (``pre_buffer=False``, only the columns asked
for) and cut into chunks of enterprises in the order of ``enterprises.parquet``; the rows of
the last enterprise of a batch are carried into the next. This needs every table to be
*grouped by enterprise in the enterprises' order* — which ``taxcredit generate`` writes and a
sort by enterprise position gives — and it is checked on the fly: a table out of order raises a
:class:`~taxcredit.TaxDataError` saying so, rather than giving wrong answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..errors import TaxDataError
from .dataset import TaxDataset
from .ids import normalize_uscc
from .io import list_table_files
from .manifest import MANIFEST, manifest_matches

__all__ = ["iter_folder"]

BATCH_ROWS = 250_000
log = logging.getLogger(__name__)


def _fixed_codes(column, rows: np.ndarray, fixed: pd.Series):
    """Return the ``uscc`` column with ``rows`` replaced by their normalised codes."""
    import pyarrow as pa

    values = np.array(column.to_pandas().astype(object).to_numpy(), copy=True)
    values[rows] = fixed.to_numpy()
    return pa.array(values, type=column.type)


class _TableStream:
    """Rows of one table, handed out chunk by chunk in enterprise order."""

    def __init__(self, name: str, path: Path, keys: pd.Index, chunk_size: int,
                 columns: list[str] | None) -> None:
        self.name = name
        self.file = pq.ParquetFile(path, pre_buffer=False)
        available = self.file.schema_arrow.names
        if "uscc" not in available:
            raise TaxDataError(f"{path.name}: no uscc column, cannot stream it by enterprise")
        cols = None if columns is None else [c for c in columns if c in available]
        self.batches = self.file.iter_batches(batch_size=BATCH_ROWS, columns=cols,
                                              use_threads=False)
        self.keys = keys
        self.chunk_size = chunk_size
        self.pending: list[pd.DataFrame] = []  # rows of chunks not yet handed out
        self.pending_chunk: list[np.ndarray] = []
        self.last_pos = -1
        self.done = False

    def _pull(self) -> bool:
        try:
            batch = next(self.batches)
        except StopIteration:
            self.done = True
            return False
        # an object Index keeps its hash table between calls; pyarrow's index_in would
        # rebuild it for every batch (0.2 s a batch against a million enterprises)
        codes = batch.column("uscc").to_pandas().astype(object)
        pos = np.array(self.keys.get_indexer(codes), dtype=np.int64, copy=True)
        if (pos < 0).any():  # blanks, case, full-width forms: normalise as validation does
            miss = np.flatnonzero(pos < 0)
            fixed = pd.Series([normalize_uscc(c) for c in codes.iloc[miss]], dtype=object)
            pos[miss] = self.keys.get_indexer(fixed)
            if (pos[miss] >= 0).any():
                table = batch.set_column(batch.schema.get_field_index("uscc"), "uscc",
                                         _fixed_codes(batch.column("uscc"), miss, fixed))
                batch = table
        if (pos < 0).any():
            bad = batch.column("uscc").to_pandas()[pos < 0].iloc[0]
            raise TaxDataError(f"{self.name}: uscc {str(bad)[:8]}… is not in enterprises "
                               "(validate the folder first)")
        if len(pos) and (pos[0] < self.last_pos or (np.diff(pos) < 0).any()):
            raise TaxDataError(
                f"{self.name}: rows are not grouped by enterprise in the order of "
                "enterprises.parquet, so it cannot be streamed in chunks; load it with "
                "TaxDataset.from_folder instead, or write it sorted by enterprise")
        if len(pos):
            self.last_pos = int(pos[-1])
        self.pending.append(batch.to_pandas())
        self.pending_chunk.append(pos // self.chunk_size)
        return True

    def take(self, chunk: int) -> pd.DataFrame:
        """All rows of ``chunk`` (earlier chunks must have been taken)."""
        while not self.done and (not self.pending_chunk
                                 or self.pending_chunk[-1].size == 0
                                 or self.pending_chunk[-1][-1] <= chunk):
            if not self._pull():
                break
        frames, keep_frames, keep_chunks = [], [], []
        for df, ch in zip(self.pending, self.pending_chunk, strict=True):
            mine = ch == chunk
            if mine.all():
                frames.append(df)
            else:
                frames.append(df[mine])
                keep_frames.append(df[~mine])
                keep_chunks.append(ch[~mine])
        self.pending, self.pending_chunk = keep_frames, keep_chunks
        if not frames:
            return self._empty()
        return pd.concat(frames, ignore_index=True)

    def _empty(self) -> pd.DataFrame:
        return self.file.schema_arrow.empty_table().to_pandas()


def iter_folder(
    path: str | os.PathLike,
    chunk_size: int = 100_000,
    *,
    columns: Mapping[str, list[str]] | None = None,
    validate: bool = True,
    strict_uscc: bool = True,
    trust_manifest: bool = True,
) -> Iterator[TaxDataset]:
    """Yield a Parquet dataset folder as datasets of ``chunk_size`` enterprises each.

    Parameters
    ----------
    path : path-like
        Folder of ``<table>.parquet`` files, every table grouped by enterprise in the order of
        ``enterprises.parquet`` (as ``taxcredit generate`` writes them).
    chunk_size : int
        Enterprises per chunk.
    columns : mapping of table → list of columns, optional
        Read only these tables and columns (data minimisation); ``enterprises`` is always read.
    validate : bool
        Validate each chunk (raises :class:`~taxcredit.TaxDataError` on problems). Checks that
        span chunks — uniqueness of ``event_id`` and ``application_id`` across the whole
        folder — are not made.
    strict_uscc : bool
        Verify USCC check characters.
    trust_manifest : bool
        Skip validation when ``taxcredit validate`` recorded this very folder as clean
        (``_validated.json``: same files, sizes, times, row counts, contract and version).

    Yields
    ------
    TaxDataset
        The chunks, in the order of ``enterprises.parquet``. Tables without ``uscc`` (such as
        ``truth``) are not streamed.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    folder = Path(path)
    files = list_table_files(folder)
    if "enterprises" not in files:
        raise TaxDataError(f"{folder}: no enterprises.parquet")
    not_parquet = sorted(t for t, f in files.items() if f.suffix != ".parquet")
    if not_parquet:
        raise TaxDataError(f"{folder}: streaming needs Parquet files; {not_parquet} are not "
                           "(convert them, or load with TaxDataset.from_folder)")
    wanted = None if columns is None else dict(columns)
    ent_cols = None if wanted is None else sorted({"uscc", *wanted.get("enterprises", [])})
    enterprises = pd.read_parquet(files["enterprises"], columns=ent_cols)
    keys = pd.Index(enterprises["uscc"].astype("str").astype(object))
    if not keys.is_unique:
        raise TaxDataError("enterprises.parquet: duplicate uscc values; validate the folder")
    streams = {}
    for name, f in files.items():
        if name == "enterprises" or (wanted is not None and name not in wanted):
            continue
        if "uscc" not in pq.ParquetFile(f).schema_arrow.names:
            continue
        cols = None if wanted is None else sorted({"uscc", *wanted[name]})
        streams[name] = _TableStream(name, f, keys, chunk_size, cols)
    if validate and trust_manifest and manifest_matches(folder, strict_uscc=strict_uscc):
        log.info("%s: validated before (%s) and unchanged: not validating again", folder,
                 MANIFEST)
        validate = False
    n_chunks = max(1, -(-len(enterprises) // chunk_size))
    for k in range(n_chunks):
        tables = {"enterprises": enterprises.iloc[k * chunk_size:(k + 1) * chunk_size]
                  .reset_index(drop=True)}
        for name, stream in streams.items():
            tables[name] = stream.take(k)
        ds = TaxDataset(tables)
        if validate:
            out = ds.validate(strict_uscc=strict_uscc, partial=columns is not None)
            assert isinstance(out, TaxDataset)
            ds = out
        yield ds
