"""Reading and writing tax tables as files (Parquet through pyarrow, or UTF-8 CSV)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import TaxDataError
from .schema import TableSchema

__all__ = ["ROW_GROUP_SIZE", "list_table_files", "read_table", "write_table"]

#: Rows per Parquet row group: small enough for bounded-memory streaming reads.
ROW_GROUP_SIZE = 1_000_000
SUFFIXES = (".parquet", ".csv")


def list_table_files(folder: Path) -> dict[str, Path]:
    """Map table name → file for every ``*.parquet`` / ``*.csv`` in ``folder``.

    Raises
    ------
    TaxDataError
        If ``folder`` is not a directory, or a table has both a Parquet and a CSV file.
    """
    if not folder.is_dir():
        raise TaxDataError(f"{folder} is not a folder of table files")
    found: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix in SUFFIXES and f.is_file():
            if f.stem in found:
                raise TaxDataError(
                    f"{folder}: table {f.stem!r} has both {found[f.stem].name} and {f.name}; "
                    "keep one")
            found[f.stem] = f
    return found


def read_table(path: Path, schema: TableSchema | None = None) -> pd.DataFrame:
    """Read one table file.

    CSV columns declared as text, categories or dates are read as text (validation converts
    them), so codes keep their leading zeros.
    """
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        dtype = {}
        if schema is not None:
            dtype = {c.name: "str" for c in schema.columns
                     if c.kind in ("string", "category", "date")}
        # only empty cells are missing: text such as "NA" or "None" stays text
        return pd.read_csv(path, dtype=dtype, encoding="utf-8-sig", keep_default_na=False,
                           na_values=[""])
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise TaxDataError(f"cannot read {path}: {exc}") from exc


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write one table to ``path`` (``.parquet`` or ``.csv``)."""
    if path.suffix == ".parquet":
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE)
    elif path.suffix == ".csv":
        out = df.copy()
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        out.to_csv(path, index=False, encoding="utf-8")
    else:
        raise ValueError(f"unsupported table file type {path.suffix!r}; use .parquet or .csv")
