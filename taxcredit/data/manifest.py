"""A record that a Parquet folder passed validation, so later runs need not validate it again.

``taxcredit validate`` writes ``_validated.json`` into a clean Parquet folder whose columns
already have the contract's dtypes. It lists every table file with its size, modification time
and row count, the taxcredit version and a fingerprint of the contract. Any change to a file,
to the contract or to the library makes the record stale, and the data are validated again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pyarrow.parquet as pq

from .io import list_table_files
from .schema import describe_contract

__all__ = ["MANIFEST", "manifest_matches", "write_manifest"]

MANIFEST = "_validated.json"
log = logging.getLogger(__name__)


def _contract_fingerprint() -> str:
    text = describe_contract().to_json(orient="records", force_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(folder: Path) -> dict | None:
    from .. import __version__

    files = list_table_files(folder)
    if not files or any(f.suffix != ".parquet" for f in files.values()):
        return None
    tables = {}
    for name, f in sorted(files.items()):
        st = f.stat()
        tables[name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                        "rows": pq.ParquetFile(f).metadata.num_rows}
    return {"taxcredit": __version__, "contract": _contract_fingerprint(), "tables": tables}


def write_manifest(folder: str | Path, *, strict_uscc: bool) -> Path | None:
    """Record that ``folder`` validated cleanly (Parquet folders only; never raises on IO)."""
    folder = Path(folder)
    record = _describe(folder)
    if record is None:
        return None
    record["strict_uscc"] = strict_uscc
    path = folder / MANIFEST
    try:
        path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    except OSError as exc:  # a read-only data folder: validation simply runs next time too
        log.warning("could not write %s: %s", path, exc)
        return None
    return path


def manifest_matches(folder: str | Path, *, strict_uscc: bool = True) -> bool:
    """Whether ``folder`` still holds exactly the files a clean validation recorded."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return False
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    current = _describe(folder)
    if current is None:
        return False
    if strict_uscc and not saved.get("strict_uscc", False):
        return False  # validated leniently; a strict run must check again
    saved.pop("strict_uscc", None)
    return saved == current
