"""Scoring and features on Spark, for data that outgrow one machine (``taxcredit[spark]``).

The same pandas code path as in process, inside Spark: every table's rows are grouped by
enterprise (``collect_list`` of row structs), the groups of all tables are joined into one
row per enterprise, and ``mapInArrow`` hands each executor whole enterprises as Arrow
batches. There the lists are flattened back into tables (no Python loop over rows), the
contract's dtypes restored by validation, and :func:`taxcredit.build_features` and the
strategy run exactly as they do in process — so the results are the same.

The fitted strategy is broadcast once (its files, hashes checked on the executors by
:func:`taxcredit.load_strategy`). Each task uses ``threads`` threads (LightGBM, BLAS): one by
default, since Spark runs one task per core.

pyspark is not pinned (it must match the bank's cluster: Spark 3.5 and 4.x); install it with
the cluster's version. Timestamps are read as the session's time zone wall time, converted
to Asia/Shanghai wall time like any time-zone-aware input; prefer DATE columns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .data import TaxDataset
from .data.schema import SCHEMAS
from .features import build_features as _build_features
from .features import feature_ids
from .features.engine import as_of_date
from .governance import Governance, consent_reasons, merge_refusals
from .governance.consent import normalise_uscc
from .governance.masking import conceal
from .strategy import Strategy, load_strategy

__all__ = ["DECISION_SCHEMA", "build_features", "local_session", "read_tables",
           "require_spark", "score", "to_spark"]

#: Spark schema of the decision output (DDL).
DECISION_SCHEMA = ("uscc string, as_of date, eligible boolean, rule_hits string, "
                   "rule_messages string, pd double, score long, grade string, "
                   "reason_1 string, reason_2 string, reason_3 string, decision string, "
                   "limit double")
_STRATEGIES: dict[str, Strategy] = {}  # per executor process, by content hash


def require_spark():
    """Import pyspark with a clear message when it or Java is missing."""
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions
    except ImportError as exc:
        raise ImportError("taxcredit.spark needs pyspark matching your cluster: pip install "
                          "'pyspark==<your Spark version>' (or 'taxcredit[spark]')") from exc
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise RuntimeError("Spark needs Java (17 recommended): install a JDK and set JAVA_HOME")
    return functions


def _wide(tables: Mapping[str, object]):
    """One row per enterprise: for each table, the list of its rows as structs."""
    F = require_spark()
    if "enterprises" not in tables:
        raise ValueError("the Spark tables need 'enterprises'")
    ent = tables["enterprises"]
    wide = ent.select("uscc", F.array(F.struct(*ent.columns)).alias("enterprises"))
    names = ["enterprises"]
    for name, df in tables.items():
        if name == "enterprises" or name not in SCHEMAS or "uscc" not in df.columns:
            continue
        grouped = df.groupBy("uscc").agg(F.collect_list(F.struct(*df.columns)).alias(name))
        wide = wide.join(grouped, on="uscc", how="left")
        names.append(name)
    return wide, names


def _tables(batch: pa.RecordBatch, names: list[str]) -> dict[str, pd.DataFrame]:
    """Flatten each table's lists back into a pandas table (vectorised)."""
    out = {}
    for name in names:
        flat = pc.list_flatten(batch.column(name))
        t = pa.Table.from_struct_array(flat) if len(flat) else None
        if t is not None:
            for col in SCHEMAS[name].columns:  # nanosecond timestamps read as longs
                if col.kind == "date" and col.name in t.column_names and \
                        pa.types.is_integer(t.schema.field(col.name).type):
                    i = t.column_names.index(col.name)
                    t = t.set_column(i, col.name, pc.cast(t.column(i), pa.timestamp("ns")))
            out[name] = t.to_pandas(date_as_object=False)
    return out


def _strategy(files: dict[str, bytes]) -> Strategy:
    key = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(files.items()))).hexdigest()
    if key not in _STRATEGIES:
        folder = Path(tempfile.mkdtemp(prefix="taxcredit-strategy-"))
        for name, data in files.items():
            (folder / name).write_bytes(data)
        _STRATEGIES[key] = load_strategy(folder)
    return _STRATEGIES[key]


def _threads(strategy: Strategy, threads: int) -> None:
    model = strategy.model_
    if hasattr(model, "n_jobs"):
        model.n_jobs = threads


def _dataset(batch: pa.RecordBatch, names: list[str], validate: bool) -> TaxDataset:
    ds = TaxDataset(_tables(batch, names))
    return ds.validate(partial=True) if validate else ds


def _text_columns(out: pd.DataFrame, columns) -> None:
    for c in columns:
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype(object)


def score(tables: Mapping[str, object], strategy, as_of, *, lang: str = "zh",
          reasons: str = "not_approved", profile: bool = False, features: bool = False,
          threads: int = 1, validate: bool = True, governance: Governance | None = None,
          consent_at=None):
    """Decide for every enterprise of Spark tables; return a Spark DataFrame.

    Parameters
    ----------
    tables : mapping of table name → pyspark DataFrame
        The tax tables (columns of the data contract); ``enterprises`` is required
        (:func:`read_tables` reads them from Parquet or Hive).
    strategy : Strategy or path-like
        A fitted strategy (or its folder).
    as_of : date-like
        The decision date.
    lang, reasons
        As :meth:`taxcredit.Strategy.decide`.
    profile : bool
        Add the profile (dimension scores, profile score, strengths, weaknesses, peer
        medians) against the reference the strategy carries.
    features : bool
        Add the features the strategy reads (``f_<id>``).
    threads : int
        Threads per task for the model (one task per core: keep 1).
    validate : bool
        Check the contract on the executors (and restore its dtypes).
    governance : Governance, optional
        Check each enterprise's authorisation for credit assessment on the driver first (at
        the moment of use, or as ``consent_at`` says: ``"as_of"`` or a date); the others are
        not scored on the executors but kept as ``not_processed`` rows, with the reason in
        ``consent``. The call is audited (what will be processed: the result is lazy) and
        identifiers are masked, with the keyed pseudonym ``uscc_key``, unless the governance
        says otherwise.
    consent_at : None, "as_of" or date-like
        The moment checked against the authorisations (default: now).

    Returns
    -------
    pyspark.sql.DataFrame
        One row per enterprise: :data:`DECISION_SCHEMA`, then the profile and feature
        columns asked for (then ``consent`` and ``uscc_key`` when governed).
    """
    require_spark()
    if not isinstance(strategy, Strategy):
        strategy = load_strategy(strategy)
    strategy._check_fitted()
    from .features import FEATURES
    from .profile import DIMENSIONS_OUT, join_profiles, needed_features, profiler_for

    profiler = profiler_for(strategy) if profile else None  # fails here, not on executors
    folder = Path(tempfile.mkdtemp(prefix="taxcredit-bcast-"))
    strategy.save(folder)
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    shutil.rmtree(folder, ignore_errors=True)
    wide, names = _wide(tables)
    spark = wide.sparkSession
    shared = spark.sparkContext.broadcast(files)
    as_of = str(as_of_date(as_of).date())  # as the engine reads it
    need = strategy.spec.needed_features()
    if profiler is not None:
        need = list(dict.fromkeys([*need, *needed_features(profiler)]))
    kinds = {f.id: f.kind for f in FEATURES}
    schema = DECISION_SCHEMA
    if profile:
        schema += ", " + ", ".join(f"{c} {t}" for c, t in DIMENSIONS_OUT)
    feature_cols = list(strategy.spec.needed_features()) if features else []
    if feature_cols:
        schema += ", " + ", ".join(
            f"f_{f} {'string' if kinds[f] == 'category' else 'double'}" for f in feature_cols)

    consent = key = None
    if governance is not None:
        consent, key = _admit(governance, tables["enterprises"], strategy, as_of, need,
                              consent_at)
        schema += ", consent string" + (", uscc_key string" if key is not None else "")
    consent = spark.sparkContext.broadcast(consent) if consent is not None else None

    def decide(s, prof, ds):
        X = _build_features(ds, as_of=as_of, features=need)
        out = (join_profiles(s, X, profiler=prof, lang=lang, reasons=reasons)
               if prof is not None else s.decide_features(X, lang=lang, reasons=reasons))
        for f in feature_cols:
            out[f"f_{f}"] = (X[f].astype(object).where(X[f].notna(), None)
                             if kinds[f] == "category" else X[f].astype(float))
        return out

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        s = _strategy(shared.value)
        _threads(s, threads)
        prof = profiler_for(s) if profile else None
        for batch in batches:
            if not batch.num_rows:
                continue
            ds = _dataset(batch, names, validate)
            if consent is None:
                out = decide(s, prof, ds)
            else:  # governed: only the authorised enterprises are computed
                usccs = normalise_uscc(ds["enterprises"]["uscc"])
                why = consent_reasons(usccs, *consent.value)
                ok = why == "ok"
                parts = [decide(s, prof, ds if ok.all() else ds.select(usccs[ok].tolist()))
                         ] if ok.any() else []
                pairs = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(as_of)})
                out = merge_refusals(parts, pairs, ok, why, lang)
                out = conceal(out, key) if key is not None else out
            out = out.reset_index()
            out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
            typed = [c.split() for c in schema.split(", ")]
            # a batch whose enterprises were all refused has no computed column: add them
            out = out.reindex(columns=[c for c, _ in typed])
            _text_columns(out, [c for c, t in typed if t == "string" and c != "uscc"])
            for c, t in typed:
                if t == "double":
                    out[c] = out[c].astype(float)
            out["uscc"] = out["uscc"].astype(str)
            yield pa.RecordBatch.from_pandas(out, preserve_index=False)

    return wide.mapInArrow(run, schema)


def read_tables(spark, source) -> dict:
    """Read the tax tables for :func:`score` from Parquet or Hive.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    source : str or mapping
        A folder (local, HDFS, OSS, S3 …) holding ``<table>.parquet`` files or folders, as
        ``taxcredit generate`` writes; or a mapping of table name → Hive table
        (``"db.vat_returns"``) or Parquet path.

    Sets ``spark.sql.legacy.parquet.nanosAsLong`` on the session: pandas-written Parquet
    holds nanosecond timestamps, which Spark reads only as longs.
    """
    require_spark()
    if isinstance(source, Mapping):
        out = {}
        for name, where in source.items():
            where = str(where)
            is_path = "/" in where or where.endswith(".parquet")
            out[name] = spark.read.parquet(where) if is_path else spark.table(where)
        return out
    # pandas writes nanosecond timestamps, which Spark reads only as longs (converted back
    # on the executors)
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    base = str(source).rstrip("/")
    out = {}
    for name in SCHEMAS:
        if name == "truth":
            continue
        path = f"{base}/{name}.parquet"
        try:
            out[name] = spark.read.parquet(path)
        except Exception as exc:  # pyspark raises AnalysisException for a missing path
            if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                continue
            raise
    if "enterprises" not in out:
        raise FileNotFoundError(f"{base}: no enterprises.parquet")
    return out


def local_session(cores: int = 1, memory: str = "4g", app: str = "taxcredit"):
    """Start a local-mode SparkSession for notebooks and tests (UI off, this Python)."""
    require_spark()
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (SparkSession.builder.master(f"local[{cores}]").appName(app)
             .config("spark.ui.enabled", "false")
             .config("spark.driver.memory", memory)
             .config("spark.sql.shuffle.partitions", str(cores))
             .config("spark.sql.session.timeZone", "Asia/Shanghai")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def to_spark(spark, ds: TaxDataset) -> dict:
    """Turn the tables of an in-memory dataset into Spark DataFrames (tests, demos)."""
    out = {}
    for name in ds.tables:
        if name == "truth":
            continue
        df = ds[name].copy()
        for c in df.columns:
            if isinstance(df[c].dtype, pd.CategoricalDtype) or str(df[c].dtype) in ("str",
                                                                                     "string"):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
            elif str(df[c].dtype) == "Int64":
                df[c] = df[c].astype("float64")
        out[name] = spark.createDataFrame(df)
    return out


def _admit(governance: Governance, enterprises, strategy: Strategy, as_of: str, need,
           consent_at) -> tuple[tuple[frozenset, dict[str, str]], bytes | None]:
    """Check consent on the driver; audit; return (allowed, refused) and the mask key."""
    ids = [r[0] for r in enterprises.select("uscc").collect()]
    _, allowed, refused = governance.admit_batch(ids, as_of, strategy, need, at=consent_at,
                                                 engine="spark")
    return (allowed, refused), governance.key if governance.mask else None


def build_features(tables: Mapping[str, object], as_of, *, features=None,
                   validate: bool = True):
    """:func:`taxcredit.build_features` for Spark tables: one row per enterprise.

    Numeric features come back as doubles, the peer-group keys as strings.
    """
    require_spark()
    ids = feature_ids() if features is None else list(features)
    from .features import FEATURES

    kinds = {f.id: f.kind for f in FEATURES}
    schema = "uscc string, as_of date, " + ", ".join(
        f"{f} {'string' if kinds[f] == 'category' else 'double'}" for f in ids)
    wide, names = _wide(tables)
    as_of = str(as_of_date(as_of).date())  # as the engine reads it

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch.num_rows:
                continue
            ds = _dataset(batch, names, validate)
            X = _build_features(ds, as_of=as_of, features=ids).reset_index()
            X["as_of"] = pd.to_datetime(X["as_of"]).dt.date
            for f in ids:
                X[f] = X[f].astype(object).where(X[f].notna(), None) \
                    if kinds[f] == "category" else X[f].astype(float)
            X["uscc"] = X["uscc"].astype(str)
            yield pa.RecordBatch.from_pandas(X[["uscc", "as_of", *ids]], preserve_index=False)

    return wide.mapInArrow(run, schema)
