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
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from queue import Empty, Full, Queue

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import TaxDataError
from .dataset import TaxDataset
from .ids import normalize_uscc
from .io import list_table_files
from .manifest import MANIFEST, manifest_matches
from .schema import SCHEMAS, get_schema

__all__ = ["iter_folder"]

BATCH_ROWS = 250_000
log = logging.getLogger(__name__)


class _TableStream:
    """Rows of one table, handed out chunk by chunk in enterprise order.

    ``uscc`` is read dictionary-encoded (Parquet stores it so): enterprise positions are
    looked up once per distinct code of a batch, not once per row, and rows stay in Arrow
    until a chunk is complete, so each chunk is converted to pandas once.
    """

    def __init__(self, name: str, path: Path, keys: pd.Index, chunk_size: int,
                 columns: list[str] | None, first_chunk: int = 0) -> None:
        self.name = name
        self.file = pq.ParquetFile(path, pre_buffer=False, read_dictionary=["uscc"])
        schema = pq.ParquetFile(path).schema_arrow  # the stored (not dictionary) types
        if "uscc" not in schema.names:
            raise TaxDataError(f"{path.name}: no uscc column, cannot stream it by enterprise")
        self.uscc_type = schema.field("uscc").type
        self.schema = schema
        cols = None if columns is None else [c for c in columns if c in schema.names]
        self.columns = cols
        self.keys = keys
        self.chunk_size = chunk_size
        self._dictionary: pa.Array | None = None
        self._where = np.empty(0, dtype=np.int64)
        groups = list(range(self._first_row_group(first_chunk), self.file.num_row_groups))
        self.batches = self.file.iter_batches(batch_size=BATCH_ROWS, row_groups=groups,
                                              columns=cols, use_threads=False)
        # batches not yet handed out (uscc decoded), with the chunk of each row
        self.pending: list[tuple[pa.RecordBatch, np.ndarray]] = []
        self.last_pos = -1
        self.done = False

    def _first_row_group(self, chunk: int) -> int:
        """First row group that may hold rows of ``chunk`` (rows are in enterprise order).

        A binary search on the enterprise of each row group's last row: the row groups
        before it are not read at all.
        """
        lo, hi = 0, self.file.num_row_groups
        while lo < hi and chunk > 0:
            mid = (lo + hi) // 2
            codes = self.file.read_row_group(mid, columns=["uscc"]).column("uscc")
            if len(codes) == 0:
                lo = mid + 1
                continue
            last = self._positions(codes.slice(len(codes) - 1).combine_chunks())[-1]
            if last // self.chunk_size < chunk:
                lo = mid + 1
            else:
                hi = mid
        return lo if chunk > 0 else 0

    def _positions(self, codes: pa.Array) -> np.ndarray:
        """Enterprise position of each row (raises for a code not in enterprises)."""
        if not pa.types.is_dictionary(codes.type):  # (a writer that did not dictionary-encode)
            codes = pc.dictionary_encode(codes)
        # batches of one row group share its dictionary: look it up once
        if self._dictionary is None or not codes.dictionary.equals(self._dictionary):
            self._dictionary = codes.dictionary
            self._where = self._look_up(codes.dictionary)
        indices = codes.indices.to_numpy(zero_copy_only=False)
        valid = codes.indices.is_valid().to_numpy(zero_copy_only=False)
        padded = np.append(self._where, -1)  # a missing uscc hits the padding
        pos = padded[np.where(valid, indices, len(self._where)).astype(np.int64)]
        if (pos < 0).any():
            bad = codes.to_pandas()[pos < 0].iloc[0]
            raise TaxDataError(f"{self.name}: uscc {str(bad)[:8]}… is not in enterprises "
                               "(validate the folder first)")
        return pos

    def _look_up(self, dictionary: pa.Array) -> np.ndarray:
        """Enterprise position of each code of a dictionary (-1: not an enterprise)."""
        values = dictionary.to_pandas().astype(object)
        where = np.array(self.keys.get_indexer(values), dtype=np.int64, copy=True)
        miss = np.flatnonzero(where < 0)
        if len(miss):  # blanks, case, full-width forms: normalise as validation does
            fixed = pd.Index([normalize_uscc(c) for c in values.iloc[miss]], dtype=object)
            where[miss] = self.keys.get_indexer(fixed)
        return where

    def _pull(self) -> bool:
        try:
            batch = next(self.batches)
        except StopIteration:
            self.done = True
            return False
        pos = self._positions(batch.column("uscc"))
        if len(pos) and (pos[0] < self.last_pos or (np.diff(pos) < 0).any()):
            raise TaxDataError(
                f"{self.name}: rows are not grouped by enterprise in the order of "
                "enterprises.parquet, so it cannot be streamed in chunks; load it with "
                "TaxDataset.from_folder instead, or write it sorted by enterprise")
        if len(pos):
            self.last_pos = int(pos[-1])
        # uscc is rebuilt per chunk from the positions (see take): drop the strings
        batch = batch.drop_columns(["uscc"])
        self.pending.append((batch, pos))
        return True

    def take(self, chunk: int, codes: pd.Index) -> pd.DataFrame:
        """All rows of ``chunk`` (earlier chunks must have been taken).

        ``uscc`` comes as a categorical over ``codes``, the chunk's enterprises in order:
        the same values as text, held as small integer codes.
        """
        first = chunk * self.chunk_size
        while not self.done and (not self.pending or not len(self.pending[-1][1])
                                 or self.pending[-1][1][-1] < first + self.chunk_size):
            if not self._pull():
                break
        mine, positions, keep = [], [], []
        for batch, pos in self.pending:  # rows are sorted by enterprise: a slice each
            # (rows of earlier chunks are there only when streaming starts mid-file)
            lo, cut = (int(i) for i in np.searchsorted(pos, [first, first + self.chunk_size]))
            if cut > lo:
                mine.append(batch.slice(lo, cut - lo))
                positions.append(pos[lo:cut])
            if cut < len(pos):
                keep.append((batch.slice(cut), pos[cut:]))
        self.pending = keep
        if not mine:
            return self._empty(codes)
        df = pa.Table.from_batches(mine).to_pandas()
        local = (np.concatenate(positions) - first).astype(np.int32)
        df.insert(0, "uscc", pd.Categorical.from_codes(local, dtype=_dtype(codes)))
        return df

    def _empty(self, codes: pd.Index) -> pd.DataFrame:
        schema = self.schema
        if self.columns is not None:
            schema = pa.schema([schema.field(c) for c in self.columns],
                               metadata=schema.metadata)
        df = schema.empty_table().to_pandas().drop(columns="uscc")
        df.insert(0, "uscc", pd.Categorical.from_codes(np.empty(0, dtype=np.int32),
                                                       dtype=_dtype(codes)))
        return df


def _dtype(codes: pd.Index) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(codes)


def iter_folder(
    path: str | os.PathLike,
    chunk_size: int = 100_000,
    *,
    columns: Mapping[str, list[str]] | None = None,
    validate: bool = True,
    strict_uscc: bool = True,
    trust_manifest: bool = True,
    read_ahead: int = 0,
    start_chunk: int = 0,
    stop_chunk: int | None = None,
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
    read_ahead : int
        Chunks read (and validated) ahead in a background thread while the caller works on
        the current one; Parquet decoding releases the GIL, so reading overlaps computing.
        Memory grows by this many chunks. 0 reads in the caller's thread.
    start_chunk, stop_chunk : int, optional
        Yield only chunks ``start_chunk`` to ``stop_chunk - 1`` (default: all), the way
        ``range`` counts; row groups before the first are skipped unread, so several
        processes can share a folder.

    Yields
    ------
    TaxDataset
        The chunks, in the order of ``enterprises.parquet``. Tables without ``uscc`` (such as
        ``truth``) are not streamed. In the streamed tables ``uscc`` is a categorical whose
        categories are the chunk's enterprises in order: the same codes, held as integers.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if read_ahead < 0:
        raise ValueError(f"read_ahead must be >= 0, got {read_ahead}")
    if start_chunk < 0 or (stop_chunk is not None and stop_chunk < start_chunk):
        raise ValueError(f"need 0 <= start_chunk <= stop_chunk, got {start_chunk}, "
                         f"{stop_chunk}")
    chunks = _chunks(Path(path), chunk_size, columns, validate, strict_uscc, trust_manifest,
                     start_chunk, stop_chunk)
    return _read_ahead(chunks, read_ahead) if read_ahead else chunks


def _read_ahead(items: Iterator[TaxDataset], depth: int) -> Iterator[TaxDataset]:
    """Yield ``items`` while a background thread produces up to ``depth`` ahead.

    An exception in the producer is raised in the consumer at the point it happened; closing
    the generator early stops the producer.
    """
    done = object()
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put((done, exc))

    worker = threading.Thread(target=produce, name="taxcredit-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = queue.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                worker.join(timeout=0.1)


def _unreadable(path: Path, exc: Exception) -> TaxDataError:
    return TaxDataError(f"cannot read {path}: {type(exc).__name__}: {exc} (not a Parquet "
                        "file, or damaged: write it again)")


def _file_schema(path: Path) -> pa.Schema:
    """Return the stored schema of a Parquet file (a damaged one is a data error)."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from exc


def _check_required_columns(files: Mapping[str, Path], wanted: Mapping) -> None:
    """Refuse a requested required column that a file does not have, as validation does."""
    rows = []
    for name, cols in wanted.items():
        if name not in files or name not in SCHEMAS:
            continue
        present = set(_file_schema(files[name]).names)
        required = {c.name for c in get_schema(name).columns if c.required}
        for col in sorted((set(cols) | {"uscc"}) & required - present):
            rows.append({"table": name, "column": col, "rule": "missing_column", "n_rows": 0,
                         "examples": "", "message": f"required column {col!r} is absent from "
                                                    f"{files[name].name}"})
    if rows:
        report = pd.DataFrame(rows)
        raise TaxDataError("\n".join(f"{r['table']}.{r['column']} [missing_column]: "
                                      f"{r['message']}" for r in rows), report)


def _chunks(folder: Path, chunk_size: int, columns, validate: bool, strict_uscc: bool,
            trust_manifest: bool, start: int, stop: int | None) -> Iterator[TaxDataset]:
    files = list_table_files(folder)
    if "enterprises" not in files:
        raise TaxDataError(f"{folder}: no enterprises.parquet")
    not_parquet = sorted(t for t, f in files.items() if f.suffix != ".parquet")
    if not_parquet:
        raise TaxDataError(f"{folder}: streaming needs Parquet files; {not_parquet} are not "
                           "(convert them, or load with TaxDataset.from_folder)")
    wanted = None if columns is None else dict(columns)
    ent_cols = None
    if wanted is not None:
        _check_required_columns(files, wanted)
        # an optional column may be absent from the file
        present = set(_file_schema(files["enterprises"]).names)
        ent_cols = sorted({"uscc", *wanted.get("enterprises", [])} & present | {"uscc"})
    try:
        enterprises = pd.read_parquet(files["enterprises"], columns=ent_cols)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(files["enterprises"], exc) from exc
    keys = pd.Index(enterprises["uscc"].astype("str").astype(object))
    if not keys.is_unique:
        raise TaxDataError("enterprises.parquet: duplicate uscc values; validate the folder")
    streams = {}
    for name, f in files.items():
        if name == "enterprises" or (wanted is not None and name not in wanted):
            continue
        if "uscc" not in _file_schema(f).names:
            continue
        cols = None if wanted is None else sorted({"uscc", *wanted[name]})
        streams[name] = _TableStream(name, f, keys, chunk_size, cols, first_chunk=start)
    trusted = False  # checked before and unchanged since
    if validate and trust_manifest and manifest_matches(folder, strict_uscc=strict_uscc):
        log.info("%s: validated before (%s) and unchanged: not validating again", folder,
                 MANIFEST)
        validate, trusted = False, True
    n_chunks = max(1, -(-len(enterprises) // chunk_size))
    for k in range(start, n_chunks if stop is None else min(stop, n_chunks)):
        tables = {"enterprises": enterprises.iloc[k * chunk_size:(k + 1) * chunk_size]
                  .reset_index(drop=True)}
        codes = pd.Index(tables["enterprises"]["uscc"].astype("str"))
        for name, stream in streams.items():
            tables[name] = stream.take(k, codes)
        ds = TaxDataset(tables, validated=trusted)
        if validate:
            out = ds.validate(strict_uscc=strict_uscc, partial=columns is not None)
            assert isinstance(out, TaxDataset)
            # validation gives text keys; chunks hand them out as categoricals either way,
            # over the validated codes (a full-width or lower-case code was normalised)
            clean = _dtype(pd.Index(out["enterprises"]["uscc"].astype("str")))
            ds = TaxDataset({name: (df.assign(uscc=pd.Categorical(df["uscc"], dtype=clean))
                                    if name in streams else df)
                             for name, df in out.tables.items()}, validated=True)
        yield ds
