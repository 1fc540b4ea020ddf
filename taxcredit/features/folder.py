"""`build_features_folder`: features straight from a Parquet folder, in bounded memory.

The folder is streamed in chunks of enterprises (:func:`taxcredit.data.stream.iter_folder`).
With ``n_jobs > 1`` the chunks are split into contiguous ranges and each range is streamed and
computed by its own worker *process*: each worker reads only its own row groups, so nothing
large crosses between processes but the results. (Threads were measured slower than one
thread here: the feature code holds the GIL often enough that two threads contend.)
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ..data import TaxDataset
from ..errors import UnknownNameError
from .engine import _assemble, _pairs, _positions, build_features, feature_ids, feature_inputs

__all__ = ["build_features_folder"]

#: Ranges per worker process: more than one evens out uneven ranges.
RANGES_PER_JOB = 2


def _chunk_results(path, pairs: pd.DataFrame | None, as_of, wanted: list[str],
                   chunk_size: int, start: int, stop: int | None, validate: bool,
                   strict_uscc: bool, read_ahead: int, only: frozenset | None = None,
                   ) -> Iterator[tuple[pd.DataFrame, np.ndarray | None]]:
    """Features of chunks ``start..stop-1``: ``(X, rows)``, ``rows`` the pair positions.

    With ``only`` (one as-of date), each chunk is cut to those enterprises first.
    """
    from ..data.stream import iter_folder

    norm_uscc = (pairs["uscc"].astype("str").str.strip().str.upper()
                 if pairs is not None else None)
    # one hash table for the whole range (a set given to isin is re-hashed on every call)
    wanted_ids = pd.Index(sorted(only), dtype=object) if only is not None else None
    chunks = iter_folder(path, chunk_size, columns=feature_inputs(None), validate=validate,
                         strict_uscc=strict_uscc, read_ahead=read_ahead,
                         start_chunk=start, stop_chunk=stop)
    for chunk in chunks:
        if pairs is None:
            if wanted_ids is not None:
                ids = chunk.enterprise_ids
                keep = ids[wanted_ids.get_indexer(ids.astype(object)) >= 0]
                if not len(keep):
                    continue
                if len(keep) < len(ids):
                    chunk = chunk.select(keep)
            yield build_features(chunk, as_of, features=wanted, chunk_size=chunk_size), None
            continue
        pos = _positions(norm_uscc, chunk.enterprise_ids)
        rows = np.flatnonzero(pos >= 0)
        if len(rows):
            yield build_features(chunk, pairs.iloc[rows], features=wanted,
                                 chunk_size=chunk_size), rows


def _range_part(path, pairs, as_of, wanted, chunk_size, start, stop, validate, strict_uscc,
                part_file: str | None, only: frozenset | None = None):
    """One worker's range: its results, or (``part_file``) the path it wrote them to."""
    results = _chunk_results(path, pairs, as_of, wanted, chunk_size, start, stop, validate,
                             strict_uscc, read_ahead=0, only=only)
    if part_file is None:
        return list(results)
    writer = None
    try:
        for X, _ in results:
            writer = _write(writer, part_file, X)
    finally:
        if writer is not None:
            writer.close()
    return part_file if writer is not None else None  # (a range may have no enterprise)


def _write(writer: pq.ParquetWriter | None, path, X: pd.DataFrame) -> pq.ParquetWriter:
    """Append ``X`` (index as columns) to a Parquet file, opening it on first use."""
    table = pa.Table.from_pandas(X.reset_index(), preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table.cast(writer.schema))
    return writer


def build_features_folder(
    path,
    as_of,
    *,
    features: Iterable[str] | None = None,
    chunk_size: int = 25_000,
    n_jobs: int = 1,
    out=None,
    progress: bool = False,
    validate: bool = True,
    strict_uscc: bool = True,
    only: Iterable[str] | None = None,
) -> pd.DataFrame | None:
    """:func:`build_features` straight from a Parquet folder, in bounded memory.

    The folder is streamed in chunks of enterprises (:func:`taxcredit.data.stream.iter_folder`:
    tables grouped by enterprise, as ``taxcredit generate`` writes them), reading only the
    columns the features declare. Results are the same as loading the folder and calling
    :func:`build_features`, whatever ``chunk_size`` and ``n_jobs``.

    Parameters
    ----------
    path : path-like
        The dataset folder.
    as_of : date-like or pandas.DataFrame
        As in :func:`build_features`.
    features : iterable of str, optional
        Feature ids (default: all).
    chunk_size : int
        Enterprises per chunk (bounds memory).
    n_jobs : int
        Worker processes, each streaming its own contiguous range of chunks (memory grows with
        it: about one chunk's worth per worker). With 1, the next chunk is read in a
        background thread while the current one is computed.
    out : path-like, optional
        Write the features to this Parquet file chunk by chunk (the index as columns) and
        return ``None`` — memory then stays bounded by one chunk per worker. Rows follow the
        enterprises' order for a single as-of date, the given order for pairs.
    progress : bool
        Show a progress bar (over chunks; over ranges with several workers).
    validate, strict_uscc : bool
        Validate each chunk (see ``iter_folder``); a folder that ``taxcredit validate`` found
        clean and that has not changed since is not validated again.
    only : iterable of str, optional
        With one as-of date: compute only these enterprises (validated codes); the others
        get no row. (Governed runs use it to leave unauthorised enterprises alone.)

    Examples
    --------
    >>> import tempfile, taxcredit as tc
    >>> folder = tempfile.mkdtemp()
    >>> _ = tc.datasets.write_population(folder, n_enterprises=300, months=24, seed=3)
    >>> X = tc.build_features_folder(folder, "2024-12-31", chunk_size=100)
    >>> X.shape[0]
    300
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    wanted = feature_ids() if features is None else list(features)
    unknown = sorted(set(wanted) - set(feature_ids()))
    if unknown:
        raise UnknownNameError(f"unknown feature id(s) {unknown}; see "
                               "taxcredit.features.catalog()")
    pairs = as_of if isinstance(as_of, pd.DataFrame) else None
    if only is not None:
        if pairs is not None:
            raise ValueError("only= selects enterprises for one as-of date; with pairs, "
                             "give only the pairs wanted")
        only = frozenset(str(u) for u in only)
    n_chunks = _n_chunks(path, chunk_size)
    write_here = out is not None and pairs is None
    scratch = None
    if n_jobs == 1 or n_chunks is None or n_chunks < 2:
        events = _single(_chunk_results(path, pairs, as_of, wanted, chunk_size, 0, None,
                                        validate, strict_uscc, read_ahead=0, only=only))
        total = n_chunks
    else:
        n_ranges = min(n_chunks, n_jobs * RANGES_PER_JOB)
        bounds = np.linspace(0, n_chunks, n_ranges + 1).round().astype(int)
        if write_here:
            scratch = Path(tempfile.mkdtemp(prefix=".taxcredit-parts-",
                                            dir=Path(out).resolve().parent))
        tasks = (delayed(_range_part)(
            path, pairs, as_of, wanted, chunk_size, int(a), int(b), validate, strict_uscc,
            None if scratch is None else str(scratch / f"part-{i:05d}.parquet"), only)
            for i, (a, b) in enumerate(pairwise(bounds)))
        parts = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(tasks)
        events = _flatten(parts, scratch is not None)
        total = n_ranges
    try:
        return _collect(events, pairs, wanted, out, write_here, total,
                        "chunk" if scratch is None and n_jobs == 1 else "range", progress)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _single(results):
    """Events of a single-process run: every chunk ticks the progress bar."""
    for X, rows in results:
        yield X, rows, None, True


def _flatten(parts, written: bool):
    """Events of worker ranges: their chunks, or their part file; a tick per range."""
    for part in parts:
        if written:
            yield None, None, part, True
            continue
        for X, rows in part:
            yield X, rows, None, False
        yield None, None, None, True


def _collect(events, pairs, wanted, out, write_here: bool, total, unit: str, progress: bool):
    """Gather (or write) the results of ``events``: ``(X, rows, part_file, tick)``."""
    parts: list[pd.DataFrame] = []
    positions: list[np.ndarray] = []
    writer = None
    bar = tqdm(total=total, desc="features", unit=unit, disable=not progress)
    try:
        for X, rows, part_file, tick in events:
            if part_file is not None:  # a worker's part: copy it over, batch by batch
                for batch in pq.ParquetFile(part_file).iter_batches():
                    writer = _write_table(writer, out, pa.Table.from_batches([batch]))
            if X is not None:
                if rows is not None:
                    positions.append(rows)
                if write_here:
                    writer = _write(writer, out, X)
                else:
                    parts.append(X)
            if tick:
                bar.update()
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if write_here:
        if writer is None:  # no enterprise at all: still write the (empty) result
            _empty(wanted).reset_index().to_parquet(out, index=False)
        return None
    if pairs is not None:
        order = np.concatenate(positions) if positions else np.empty(0, dtype=np.int64)
        missing = np.setdiff1d(np.arange(len(pairs)), order)
        if len(missing):
            warnings.warn(f"{len(missing)} pair(s) name enterprises absent from the dataset; "
                          "their features are NaN", UserWarning, stacklevel=3)
            # the same normalisation and all-NaN rows as the in-memory path
            norm = _pairs(TaxDataset({}), pairs.iloc[missing])
            parts.append(_assemble(norm, [], [], wanted))
            order = np.concatenate([order, missing])
        result = pd.concat(parts)
        result = result.iloc[np.argsort(order, kind="stable")]
        if out is not None:
            result.reset_index().to_parquet(out, index=False)
            return None
        return result
    return pd.concat(parts) if parts else _empty(wanted)


def _write_table(writer, path, table: pa.Table) -> pq.ParquetWriter:
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table.cast(writer.schema))
    return writer


def _empty(wanted: list[str]) -> pd.DataFrame:
    return _assemble(pd.DataFrame({"uscc": pd.Series([], dtype="str"),
                                   "as_of": pd.Series([], dtype="datetime64[ns]")}),
                     [], [], wanted)


def _n_chunks(path, chunk_size: int) -> int | None:
    try:
        n_ent = pq.ParquetFile(Path(path) / "enterprises.parquet").metadata.num_rows
    except (OSError, ValueError):
        return None  # iter_folder says what is wrong
    return max(1, -(-n_ent // chunk_size))
