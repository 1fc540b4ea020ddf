"""Batch scoring of a Parquet folder: chunked, bounded in memory, resumable.

The folder is streamed in chunks of enterprises (:func:`taxcredit.data.stream.iter_folder`);
each chunk's decisions are written to its own part file (written to a temporary name, then
renamed, so a part is either whole or absent). Re-running the same job after an interruption
skips the parts already written, then joins all parts into the output in chunk order — no row
lost or duplicated, and the same file whatever the chunk timing or the number of workers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from joblib import Parallel, delayed

from .data.stream import iter_folder
from .errors import ArtifactError
from .features import feature_inputs
from .features.engine import as_of_date, build_features
from .governance import Governance, consent_reasons, merge_refusals, tables_read
from .governance.consent import normalise_uscc
from .governance.masking import conceal
from .profile import DIMENSIONS_OUT, join_profiles, needed_features, profiler_for
from .strategy import load_strategy

__all__ = ["score_folder"]

JOB = "_job.json"


def _parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def _job(strategy_dir: Path, data: Path, as_of: str, chunk_size: int, lang: str,
         profile: bool, governed: dict | None) -> dict:
    card = json.loads((strategy_dir / "model_card.json").read_text(encoding="utf-8"))
    files = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                   for p in Path(data).glob("*.parquet"))
    return {"strategy_files": card.get("files"), "data": str(Path(data).resolve()),
            "data_files": files, "as_of": str(pd.Timestamp(as_of).date()),
            "chunk_size": chunk_size, "lang": lang, "profile": profile, "governed": governed}


def _score_range(strategy_dir: str, data: str, as_of: str, chunk_size: int, start: int,
                 stop: int, parts: str, lang: str, validate: bool, profile: bool,
                 consent: tuple[frozenset, dict] | None = None,
                 key: bytes | None = None) -> int:
    """Score chunks ``start..stop-1`` whose part file is not there yet; return how many.

    ``consent`` (governed runs): the authorised enterprises and, for the others, why not;
    only the authorised are scored, the others (and any enterprise in neither: fail closed)
    are kept as ``not_processed`` rows, and every row gets ``consent``. With ``key``
    the output is masked and carries the keyed pseudonym ``uscc_key``.
    """
    strategy = load_strategy(strategy_dir)
    need = strategy.spec.needed_features()
    profiler = profiler_for(strategy) if profile else None
    if profiler is not None:
        need = list(dict.fromkeys([*need, *needed_features(profiler)]))
    done = 0
    # data minimisation by table: only the tables the needed features declare (each feature
    # is exact from its declared tables); every engine step of those tables runs, so all
    # their declared columns are read
    tables = set(tables_read(need))
    columns = {t: c for t, c in feature_inputs(None).items() if t in tables}
    chunks = iter_folder(data, chunk_size, columns=columns, validate=validate,
                         start_chunk=start, stop_chunk=stop)
    for k, chunk in zip(range(start, stop), chunks, strict=False):
        part = Path(parts) / f"part-{k:06d}.parquet"
        if part.exists():
            continue
        if consent is None:
            d = _decide_chunk(strategy, profiler, chunk, as_of, need, lang)
        else:
            d = _decide_governed(strategy, profiler, chunk, as_of, need, lang, *consent)
            d = conceal(d, key) if key is not None else d
        d = d.reset_index()
        for c in d.columns:
            if c in _TEXT or d[c].dtype == object:
                d[c] = d[c].astype("str")  # one schema for every part, even all-missing ones
        tmp = part.with_suffix(".tmp")
        d.to_parquet(tmp, index=False)
        os.replace(tmp, part)  # atomic: a part is whole or absent
        done += 1
    return done


_TEXT = ("decision", "grade", "rule_hits", "rule_messages", "reason_1", "reason_2", "reason_3",
         "uscc", "consent")


def _decide_chunk(strategy, profiler, chunk, as_of, need, lang) -> pd.DataFrame:
    X = build_features(chunk, as_of=as_of, features=need)
    return (join_profiles(strategy, X, profiler=profiler, lang=lang) if profiler is not None
            else strategy.decide_features(X, lang=lang))


def _decide_governed(strategy, profiler, chunk, as_of, need, lang, allowed: frozenset,
                     refused: dict) -> pd.DataFrame:
    """Decide the chunk's authorised enterprises; keep the others as ``not_processed``."""
    usccs = normalise_uscc(chunk["enterprises"]["uscc"])
    pairs = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(as_of)})
    reason = consent_reasons(usccs, allowed, refused)
    ok = reason == "ok"
    parts = []
    if ok.any():
        sub = chunk if ok.all() else chunk.select(usccs[ok].tolist())
        parts.append(_decide_chunk(strategy, profiler, sub, as_of, need, lang))
    out = merge_refusals(parts, pairs, ok, reason, lang)
    if profiler is not None:  # a chunk without any authorised enterprise: the same columns
        for c, kind in DIMENSIONS_OUT:
            if c not in out:
                out[c] = None if kind == "string" else np.nan
        out = out[[*(c for c in out.columns if c != "consent"), "consent"]]
    return out


def score_folder(strategy_dir, data, as_of, out, *, chunk_size: int = 25_000, n_jobs: int = 1,
                 lang: str = "zh", validate: bool = True, profile: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 governance: Governance | None = None, consent_at=None) -> dict:
    """Decide for every enterprise of a Parquet folder; write one Parquet file.

    Parameters
    ----------
    strategy_dir : path-like
        A fitted strategy folder (``taxcredit train`` or ``Strategy.save``).
    data : path-like
        The tax data folder (tables grouped by enterprise, as ``taxcredit generate`` writes).
    as_of : date-like
        Decision date.
    out : path-like
        Output Parquet file; parts are kept next to it (``<out>.parts/``) until the job ends.
    chunk_size : int
        Enterprises per chunk (bounds memory; the output does not depend on it).
    n_jobs : int
        Worker processes, each scoring its own contiguous range of chunks.
    lang : {"zh", "en"}
        Language of rule messages and reasons.
    validate : bool
        Validate each chunk (skipped for a folder ``taxcredit validate`` recorded as clean).
    profile : bool
        Join each enterprise's profile (dimension scores, strengths, weaknesses, peer
        medians) to its decision, against the reference the strategy carries.
    progress : callable, optional
        Called with (parts done, parts in all) as ranges finish.
    governance : Governance, optional
        Check each enterprise's authorisation for credit assessment first (at the moment of
        use, or as ``consent_at`` says: ``"as_of"`` or a date); enterprises without one are
        not scored but kept as ``not_processed`` rows with the reason in ``consent``. The
        run is audited and identifiers are masked unless the governance says otherwise.
    consent_at : None, "as_of" or date-like
        The moment checked against the authorisations (default: now).

    Returns
    -------
    dict
        ``rows``, ``chunks``, ``resumed`` (parts found from an earlier run), ``out``.
    """
    strategy_dir, data, out = Path(strategy_dir), Path(data), Path(out)
    if out.suffix != ".parquet":  # a scores.csv holding Parquet would fool the next reader
        raise ValueError(f"out must be a .parquet file (the scores are written as Parquet), "
                         f"got {out.name!r}")
    if not (strategy_dir / "model_card.json").is_file():
        raise ArtifactError(f"{strategy_dir} is not a fitted strategy (no model_card.json); "
                            "train it first: taxcredit train --strategy … --data … --out …")
    if n_jobs < 1 or chunk_size < 1:
        raise ValueError("n_jobs and chunk_size must be >= 1")
    n_ent = pq.ParquetFile(data / "enterprises.parquet").metadata.num_rows
    n_chunks = max(1, -(-n_ent // chunk_size))
    parts = _parts_dir(out)
    if profile:  # fail now, not in a worker: the strategy must carry a reference
        profiler_for(load_strategy(strategy_dir))
    as_of = str(as_of_date(as_of).date())  # the engine's date
    refused = pairs = None
    consent = governed = None
    if governance is not None:
        strategy = load_strategy(strategy_dir)
        need = strategy.spec.needed_features()
        if profile:
            need = [*need, *needed_features(profiler_for(strategy))]
        pairs, allowed, refused = governance.admit_batch(
            pq.read_table(data / "enterprises.parquet", columns=["uscc"]).column("uscc")
            .to_pylist(), as_of, strategy, need, at=consent_at, batch=str(out.name))
        consent = (allowed, refused)
        governed = {"refused_sha256": hashlib.sha256("\n".join(
            f"{u}:{r}" for u, r in sorted(refused.items())).encode()).hexdigest(),
            "mask": governance.mask, "key_sha256": hashlib.sha256(governance.key).hexdigest()}
    job = json.loads(json.dumps(_job(strategy_dir, data, as_of, chunk_size, lang, profile,
                                     governed)))
    if parts.exists():
        old = json.loads((parts / JOB).read_text(encoding="utf-8")) \
            if (parts / JOB).is_file() else None
        if old != job:  # a different job left these parts: start afresh
            shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    (parts / JOB).write_text(json.dumps(job), encoding="utf-8")
    resumed = len(list(parts.glob("part-*.parquet")))
    n_ranges = min(n_chunks, max(8, 2 * n_jobs))  # progress and restarts by range
    bounds = [round(i * n_chunks / n_ranges) for i in range(n_ranges + 1)]
    tasks = [delayed(_score_range)(str(strategy_dir), str(data), str(as_of), chunk_size, a, b,
                                   str(parts), lang, validate, profile, consent,
                                   governance.key if governance is not None and governance.mask
                                   else None)
             for a, b in itertools.pairwise(bounds)]
    if n_jobs == 1:
        for i, t in enumerate(tasks):
            fn, args, kwargs = t
            fn(*args, **kwargs)
            if progress:
                progress(i + 1, len(tasks))
    else:
        for i, _ in enumerate(Parallel(n_jobs=n_jobs, backend="loky",
                                       return_as="generator")(tasks)):
            if progress:
                progress(i + 1, len(tasks))
    files = sorted(parts.glob("part-*.parquet"))
    if len(files) != n_chunks:
        raise RuntimeError(f"{len(files)} of {n_chunks} parts written; run again to finish")
    rows = 0
    tmp = out.with_suffix(out.suffix + ".tmp")
    writer = None
    try:
        for f in files:
            t = pq.read_table(f)
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t.cast(writer.schema) if t.schema != writer.schema else t)
            rows += t.num_rows
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out)
    shutil.rmtree(parts)
    if rows != n_ent:
        raise RuntimeError(f"scored {rows} rows for {n_ent} enterprises")
    result = {"rows": rows, "chunks": n_chunks, "resumed": resumed, "out": str(out)}
    if governance is not None:
        result["not_processed"] = len(refused)
        decisions = pq.read_table(out, columns=["decision"]).column("decision").to_pandas()
        governance.audit_decisions(strategy, pairs, decisions, batch=str(out.name),
                                   chunks=n_chunks)
    return result

