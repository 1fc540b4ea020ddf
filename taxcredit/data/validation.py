"""Validation of tax tables against the data contract, with a report and a quarantine.

All problems are collected before anything is raised, so one run tells a data engineer everything
that is wrong. In ``"quarantine"`` mode the rows that break a rule are set aside with their reasons
and the rest is returned clean: every input row ends up in exactly one of the two.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from ..errors import TaxDataError
from .coerce import ColumnTypeError, coerce_column, empty_column
from .ids import mask_uscc_array, uscc_valid_mask
from .schema import MAX_DATE, MIN_DATE, SCHEMAS, TABLE_ORDER, TableSchema

__all__ = ["REPORT_COLUMNS", "Quarantine", "validate_tables"]

REPORT_COLUMNS = ["table", "column", "rule", "n_rows", "examples", "message"]
#: Columns the quarantine adds; dropped from inputs so rejected rows can be re-validated.
RESERVED = ("_row", "_reasons")
N_EXAMPLES = 5


@dataclass
class _Failure:
    column: str
    rule: str
    mask: np.ndarray
    message: str


@dataclass
class _TableResult:
    name: str
    raw: pd.DataFrame
    coerced: pd.DataFrame | None = None
    failures: list[_Failure] = field(default_factory=list)
    structural: list[dict] = field(default_factory=list)
    parent_pos: np.ndarray | None = None  # row of the parent table (-1: none)

    def bad_rows(self) -> np.ndarray:
        bad = np.zeros(len(self.raw), dtype=bool)
        for f in self.failures:
            bad |= f.mask
        return bad


class Quarantine(dict):
    """Rows rejected by validation, per table.

    A ``dict`` mapping every validated table name to a DataFrame of its rejected rows *as they
    were given* (before any coercion), plus ``_row`` (position in the input table) and
    ``_reasons`` (``column:rule`` codes joined by ``"; "``).

    Attributes
    ----------
    report : pandas.DataFrame
        The problem report (same layout as :attr:`taxcredit.TaxDataError.report`).
    """

    report: pd.DataFrame

    @property
    def n_rows(self) -> int:
        """Total number of rejected rows over all tables."""
        return int(sum(len(df) for df in self.values()))

    def summary(self) -> pd.DataFrame:
        """Rejected rows per table."""
        return pd.DataFrame({"table": list(self), "rejected": [len(v) for v in self.values()]})


def _example_text(res: _TableResult, schema: TableSchema | None, mask: np.ndarray,
                  column: str) -> str:
    rows = np.flatnonzero(mask)[:N_EXAMPLES]
    df = res.raw
    key = [k for k in (schema.key if schema else ()) if k in df.columns]
    parts = []
    for r in rows:
        fields = []
        for k in [*key, *([column] if column in df.columns and column not in key else [])]:
            v = df[k].iloc[r]
            if k == "uscc" and isinstance(v, str):
                v = mask_uscc_array([v])[0]
            elif isinstance(v, pd.Timestamp):
                v = v.date().isoformat()
            fields.append(f"{k}={v}")
        parts.append(f"row {r} ({', '.join(fields)})")
    return "; ".join(parts)


def _check_columns(res: _TableResult, schema: TableSchema, strict_uscc: bool,
                   partial: bool = False) -> None:
    raw = res.raw
    dup = raw.columns[raw.columns.duplicated()].unique().tolist()
    if dup:
        res.structural.append(dict(column=str(dup[0]), rule="duplicate_column",
                                   message=f"column name(s) {dup} appear more than once"))
        return
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in raw.columns:
            if partial:  # a column subset was read on purpose
                continue
            if col.required:
                close = difflib.get_close_matches(col.name, [str(c) for c in raw.columns], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                res.structural.append(dict(
                    column=col.name, rule="missing_column",
                    message=f"required column {col.name!r} is absent{hint}"))
            else:
                out[col.name] = empty_column(col, raw.index)
            continue
        # a child's enterprise codes are normalised lazily, only where they miss the parent
        lazy = col.name == "uscc" and schema.parent is not None
        try:
            values, bad = coerce_column(raw[col.name], col, normalise=not lazy)
        except ColumnTypeError as exc:
            res.structural.append(dict(column=col.name, rule="dtype",
                                       message=f"column {col.name!r} {exc}"))
            continue
        if bad.any():
            rule = "not_allowed" if col.kind == "category" else f"not_{col.kind}"
            what = (f"must be one of {list(col.allowed)}" if col.kind == "category"
                    else f"must be a valid {col.kind}")
            res.failures.append(_Failure(col.name, rule, bad, f"{col.name} {what}"))
        missing = values.isna().to_numpy() & ~bad
        if not col.nullable and missing.any():
            res.failures.append(_Failure(col.name, "missing_value", missing,
                                         f"{col.name} must not be missing"))
        _check_values(res, col, values)
        out[col.name] = values
    if res.structural:
        return
    extra = [c for c in raw.columns if c not in out]
    for c in extra:  # a bank's own columns pass through untouched
        out[c] = raw[c]
    coerced = pd.DataFrame(out, index=raw.index, copy=False)  # no block consolidation
    res.coerced = coerced
    if schema.name == "enterprises":  # children are checked through the foreign key
        codes = coerced["uscc"]
        present = codes.notna().to_numpy()
        fmt_ok = uscc_valid_mask(codes, strict=False)
        bad_fmt = present & ~fmt_ok
        if bad_fmt.any():
            res.failures.append(_Failure(
                "uscc", "uscc_format", bad_fmt,
                "uscc must be 18 characters of the GB 32100 character set"))
        if strict_uscc:
            bad_check = present & fmt_ok & ~uscc_valid_mask(codes, strict=True)
            if bad_check.any():
                res.failures.append(_Failure(
                    "uscc", "uscc_check_digit", bad_check,
                    "uscc fails the GB 32100 / GB 11714 check characters "
                    "(early pilot codes: validate with strict_uscc=False)"))


def _check_values(res: _TableResult, col, values: pd.Series) -> None:
    if col.kind in ("float", "int"):
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if col.min is not None and (low := v < col.min).any():
                res.failures.append(_Failure(col.name, "below_min", low,
                                             f"{col.name} must be >= {col.min:g}"))
            if col.max is not None and (high := v > col.max).any():
                res.failures.append(_Failure(col.name, "above_max", high,
                                             f"{col.name} must be <= {col.max:g}"))
    elif col.kind == "date":
        out = ((values < MIN_DATE) | (values > MAX_DATE)).to_numpy(dtype=bool)
        if out.any():
            res.failures.append(_Failure(
                col.name, "date_out_of_range", out,
                f"{col.name} must lie between {MIN_DATE.date()} and {MAX_DATE.date()}"))
    elif col.kind == "string" and col.pattern:
        ok = values.str.fullmatch(col.pattern).to_numpy(dtype=bool, na_value=True)
        ok = ok | values.isna().to_numpy()
        if (~ok).any():
            res.failures.append(_Failure(col.name, "pattern_mismatch", ~ok,
                                         f"{col.name} must match {col.pattern}"))


def _check_rules(res: _TableResult, schema: TableSchema) -> None:
    df = res.coerced
    assert df is not None
    for rule in schema.rules:
        if not all(c in df.columns for c in rule.columns):
            continue
        failed = rule.failed(df)
        if failed.any():
            column = rule.left if hasattr(rule, "left") else rule.column
            res.failures.append(_Failure(column, rule.rule, failed, rule.message))


def _check_keys(res: _TableResult, schema: TableSchema) -> None:
    df = res.coerced
    assert df is not None
    # an optional key column the input lacks (a revision number) is simply not part of it
    key = [k for k in schema.key if k in df.columns or schema.column(k).required]
    if not set(key) <= set(df.columns):  # partial read without the key: nothing to check
        return
    # a missing value in an optional key column (a revision number) is a value of its own
    required = [k for k in key if schema.column(k).required]
    complete = df[required].notna().all(axis=1).to_numpy()
    where = required[-1]  # the column the report names
    known = {}
    if res.parent_pos is not None and schema.parent is not None:
        pos = res.parent_pos
        if (pos >= 0).all():  # positions in the parent are codes of the parent key
            known[schema.parent[1]] = (pos, int(pos.max(initial=0)) + 1)
    # combine the key columns in the table's usual sort order, so that sorted input is
    # recognised as unique in one pass
    sort_by = [k for k in schema.sort_by if k in key]
    order = sort_by if set(sort_by) == set(key) else key
    dup_any = _duplicated(df, order, known) & complete
    if not dup_any.any():
        return
    sub = df.loc[dup_any]
    declared = [c for c in schema.column_names if c in df.columns]
    exact_later = np.zeros(len(df), dtype=bool)
    exact_later[np.flatnonzero(dup_any)] = sub.duplicated(subset=declared, keep="first").to_numpy()
    if exact_later.any():
        res.failures.append(_Failure(
            where, "duplicate_row", exact_later,
            "exact copy of an earlier row (the first copy is kept)"))
    # conflicting duplicates: same key, different values; none can be trusted
    remaining = dup_any & ~exact_later
    conflict = np.zeros(len(df), dtype=bool)
    idx = np.flatnonzero(remaining)
    if len(idx):
        conflict[idx] = df.iloc[idx].duplicated(subset=key, keep=False).to_numpy()
    if conflict.any():
        res.failures.append(_Failure(
            where, "duplicate_key", conflict,
            f"several different rows share the key ({', '.join(key)}); all are rejected"))


def _key_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a key column and their number of distinct values (missing: -1).

    Dates and integers get order-preserving offsets, so input sorted by the key stays sorted.
    """
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), len(s.cat.categories)
    if s.dtype.kind in "iuM":
        if s.dtype.kind == "M":
            v = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").view(np.int64)
        else:
            v = s.to_numpy(dtype="float64", na_value=0).astype(np.int64)
        if missing.all():
            return np.full(len(v), -1, dtype=np.int64), 0
        lo, hi = int(v[~missing].min()), int(v[~missing].max())
        if hi - lo < 2**31:
            return np.where(missing, -1, v - lo), hi - lo + 1
        codes, uniq = pd.factorize(np.where(missing, lo, v))
        return np.where(missing, -1, codes).astype(np.int64), len(uniq)
    codes, uniq = pd.factorize(s)
    return codes.astype(np.int64), len(uniq)


def _duplicated(df: pd.DataFrame, key: list[str],
                known: dict[str, tuple[np.ndarray, int]] | None = None) -> np.ndarray:
    """Rows whose key occurs more than once (all copies marked), via one int64 per row.

    ``known`` may hold precomputed codes of some key columns (e.g. positions in the parent).
    """
    combined = np.zeros(len(df), dtype=np.int64)
    radix = 1
    for col in key:
        codes, n = (known or {}).get(col) or _key_codes(df[col])
        if radix * (n + 1) >= 2**62:  # too many combinations for one integer: let pandas do it
            return df.duplicated(subset=key, keep=False).to_numpy()
        combined = combined * (n + 1) + (codes + 1)
        radix *= n + 1
    if len(combined) < 2 or bool(np.all(combined[1:] > combined[:-1])):
        return np.zeros(len(df), dtype=bool)  # sorted by key: unique, checked in one pass
    if radix <= 8 * len(df) + 1_000_000:  # dense enough to count directly
        return np.bincount(combined, minlength=radix)[combined] > 1
    return pd.Index(combined).duplicated(keep=False)


def _check_parent(res: _TableResult, schema: TableSchema, parents: Mapping[str, _TableResult],
                  cascade: bool) -> None:
    if schema.parent is None or res.coerced is None:
        return
    parent_name, column = schema.parent
    parent = parents.get(parent_name)
    values = res.coerced[column]
    present = values.notna().to_numpy()
    if parent is None or parent.coerced is None:
        if parent is None:
            res.failures.append(_Failure(
                column, "foreign_key", present,
                f"{column} refers to table {parent_name!r}, which is absent"))
        return
    parent_keys = parent.coerced[column]
    known = res.parent_pos >= 0 if res.parent_pos is not None else _isin(values, parent_keys)
    orphan = present & ~known
    if orphan.any():
        res.failures.append(_Failure(column, "foreign_key", orphan,
                                     f"{column} not found in {parent_name}"))
    if cascade:
        rejected = parent_keys[parent.bad_rows()]
        if len(rejected):
            hit = present & known & _isin(values, rejected)
            hit &= ~_isin(values, parent_keys[~parent.bad_rows()])
            if hit.any():
                res.failures.append(_Failure(
                    column, "parent_rejected", hit,
                    f"its {parent_name} row was rejected, so this row is set aside too"))


def _locate_parent(res: _TableResult, schema: TableSchema,
                   parents: Mapping[str, _TableResult]) -> None:
    """Find each row's parent row; normalise (case, blanks, full width) only rows not found."""
    if schema.parent is None or res.coerced is None:
        return
    parent_name, column = schema.parent
    parent = parents.get(parent_name)
    if parent is None or parent.coerced is None:
        return
    keys = parent.coerced[column]
    values = res.coerced[column]
    pos = pc.index_in(pa.array(values, type=pa.large_string()),
                      value_set=pa.array(keys, type=pa.large_string()))
    pos = pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    missing = np.flatnonzero((pos < 0) & values.notna().to_numpy())
    if len(missing) and column == "uscc":
        fixed, _ = coerce_column(values.iloc[missing], schema.column(column), normalise=True)
        if not fixed.equals(values.iloc[missing]):
            values = values.copy()
            values.iloc[missing] = fixed.to_numpy()
            res.coerced[column] = values
            retry = pc.index_in(pa.array(fixed, type=pa.large_string()),
                                value_set=pa.array(keys, type=pa.large_string()))
            pos[missing] = retry.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    res.parent_pos = pos
    blank = values.isna().to_numpy() & res.raw[column].notna().to_numpy()
    if blank.any():  # present in the input but blank once normalised
        res.failures.append(_Failure(column, "missing_value", blank,
                                     f"{column} must not be missing"))


def _isin(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Vectorised membership of text keys (pyarrow's hash join; missing values are False)."""
    found = pc.is_in(pa.array(values, type=pa.large_string()),
                     value_set=pa.array(keys.dropna(), type=pa.large_string()))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False) & values.notna().to_numpy()


def _report(results: Mapping[str, _TableResult]) -> pd.DataFrame:
    rows = []
    for name, res in results.items():
        schema = SCHEMAS.get(name)
        for s in res.structural:
            rows.append(dict(table=name, column=s["column"], rule=s["rule"],
                             n_rows=len(res.raw), examples="", message=s["message"]))
        for f in res.failures:
            rows.append(dict(table=name, column=f.column, rule=f.rule,
                             n_rows=int(f.mask.sum()),
                             examples=_example_text(res, schema, f.mask, f.column),
                             message=f.message))
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _format(report: pd.DataFrame) -> str:
    lines = [f"tax data failed validation: {len(report)} problem(s)"]
    for r in report.itertuples(index=False):
        head = f"  {r.table}.{r.column} [{r.rule}]: {r.n_rows} row(s) — {r.message}"
        lines.append(head + (f"; e.g. {r.examples}" if r.examples else ""))
    return "\n".join(lines)


def _finalise(res: _TableResult, schema: TableSchema, keep: np.ndarray) -> pd.DataFrame:
    assert res.coerced is not None
    df = res.coerced if keep.all() else res.coerced.loc[keep]
    for col in schema.columns:
        if (col.kind == "int" and not col.nullable and col.name in df.columns
                and df[col.name].notna().all()):
            df[col.name] = df[col.name].astype("int64")
    return df.reset_index(drop=True)


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    on_error: Literal["raise", "quarantine"] = "raise",
    strict_uscc: bool = True,
    progress: bool = False,
    partial: bool = False,
) -> tuple[dict[str, pd.DataFrame], Quarantine]:
    """Validate raw tables against the contract.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Raw tables by name. Tables without a contract (a bank's own) pass through untouched,
        with a warning naming the closest known table in case of a typo.
    on_error : {"raise", "quarantine"}
        ``"raise"``: raise :class:`~taxcredit.TaxDataError` listing every problem.
        ``"quarantine"``: set the offending rows aside (with the rows of children whose parent
        was rejected) and return the rest.
    strict_uscc : bool
        Whether USCC check characters are verified (``False`` accepts early pilot codes that
        only have a valid format).
    progress : bool
        Show a progress bar over the tables.
    partial : bool
        The tables hold a chosen subset of columns: absent columns are not errors, and rules
        or key checks that need them are skipped.

    Returns
    -------
    clean : dict of str to pandas.DataFrame
        Tables with contract dtypes, rows in input order and a fresh index.
    rejected : Quarantine
        Rejected rows per table (empty frames when none) and the problem report.

    Raises
    ------
    TaxDataError
        In ``"raise"`` mode on any problem; in both modes on structural problems (a missing
        table or column, a column of the wrong type) that cannot be confined to rows.
    """
    if on_error not in ("raise", "quarantine"):
        raise ValueError(f"on_error must be 'raise' or 'quarantine', got {on_error!r}")
    if "enterprises" not in tables:
        report = pd.DataFrame([dict(table="enterprises", column="", rule="missing_table",
                                    n_rows=0, examples="",
                                    message="the enterprises table is required")],
                              columns=REPORT_COLUMNS)
        raise TaxDataError(_format(report), report)
    unknown = [t for t in tables if t not in SCHEMAS]
    for t in unknown:
        close = difflib.get_close_matches(t, list(SCHEMAS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        warnings.warn(f"table {t!r} has no contract and is passed through unvalidated{hint}",
                      UserWarning, stacklevel=3)
    cascade = on_error == "quarantine"
    results: dict[str, _TableResult] = {}
    todo = [name for name in TABLE_ORDER if name in tables]
    for name in tqdm(todo, desc="validating", unit="table", disable=not progress):
        schema = SCHEMAS[name]
        raw = tables[name]
        if not isinstance(raw, pd.DataFrame):
            raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(raw).__name__}")
        # _row and _reasons are the quarantine's own columns: re-checking rejects drops them
        raw = raw.drop(columns=[c for c in RESERVED if c in raw.columns]).reset_index(drop=True)
        res = _TableResult(name, raw)
        try:
            _check_columns(res, schema, strict_uscc, partial)
            if res.coerced is not None:
                _locate_parent(res, schema, results)
                _check_rules(res, schema)
                _check_keys(res, schema)
                _check_parent(res, schema, results, cascade)
        except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
            # a value no rule anticipated: still name the table, never a bare pandas error
            report = pd.DataFrame([dict(table=name, column="", rule="unreadable", n_rows=len(raw),
                                        examples="", message=f"{type(exc).__name__}: {exc}")],
                                  columns=REPORT_COLUMNS)
            raise TaxDataError(f"table {name!r} could not be validated: "
                               f"{type(exc).__name__}: {exc}", report) from exc
        results[name] = res
    report = _report(results)
    structural = report["rule"].isin(["missing_column", "dtype", "duplicate_column"]).any()
    if len(report) and (on_error == "raise" or structural):
        raise TaxDataError(_format(report), report)
    clean: dict[str, pd.DataFrame] = {}
    rejected = Quarantine()
    rejected.report = report
    for name, res in results.items():
        bad = res.bad_rows()
        clean[name] = _finalise(res, SCHEMAS[name], ~bad)
        reasons = _reasons(res, bad)
        rej = res.raw.loc[bad].copy()
        rej.insert(0, "_row", np.flatnonzero(bad))
        rej["_reasons"] = pd.array(reasons, dtype="str")
        rejected[name] = rej.reset_index(drop=True)
    for t in unknown:
        clean[t] = tables[t]
    return clean, rejected


def _reasons(res: _TableResult, bad: np.ndarray) -> list[str]:
    rows = np.flatnonzero(bad)
    if not len(rows):
        return []
    pos = np.full(len(res.raw), -1)
    pos[rows] = np.arange(len(rows))
    texts: list[list[str]] = [[] for _ in rows]
    for f in res.failures:
        for r in np.flatnonzero(f.mask):
            texts[pos[r]].append(f"{f.column}:{f.rule}")
    return ["; ".join(t) for t in texts]
