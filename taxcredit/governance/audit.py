"""Tamper-evident audit log: append-only, hash-chained JSON lines, safe for many processes.

Each record carries ``seq`` (1, 2, …), a UTC timestamp, the caller's fields, ``prev`` (the
previous record's hash; 64 zeros for the first) and ``hash`` (SHA-256 of the record's
canonical JSON without ``hash``). Editing a record breaks its hash; deleting or reordering
records breaks ``seq`` and the chain. Removing records at the end leaves a valid shorter
chain: keep :meth:`AuditLog.head` (the last hash and count) somewhere else — a database, a
ticket, the next day's report — and give it to :func:`verify_log` to catch that too.

Writers take an exclusive ``flock`` on the file for the read-last-record-and-append step, so
several processes (batch workers, a scoring service) can share one log.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AuditError

__all__ = ["GENESIS", "AuditLog", "Verification", "verify_log"]

GENESIS = "0" * 64


def _line(record: dict) -> str:
    """Write a record in its one form (verification compares each line with it)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n"


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys")
    return dict(pairs)


def _digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _last_line(fd: int) -> bytes:
    """Read the last non-empty line of the file (backwards, in blocks)."""
    end = os.lseek(fd, 0, os.SEEK_END)
    block, pos, tail = 4096, end, b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or pos == 0:
            return lines[-1]
    return b""


class AuditLog:
    """An append-only, hash-chained JSON-lines audit log.

    Parameters
    ----------
    path : path-like
        The log file (created on first write).
    """

    def __init__(self, path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def append(self, **fields) -> dict:
        """Append one record; return it with its ``seq``, ``ts``, ``prev`` and ``hash``.

        Field values must be JSON-serialisable (dates become text). Identifiers should
        arrive masked or hashed: the log is for accountability, not a copy of the data.
        """
        reserved = sorted({"seq", "ts", "prev", "hash"} & set(fields))
        if reserved:
            raise AuditError(f"audit fields {reserved} are set by the log itself")
        with _locked(self.path) as fd:
            last = _last_line(fd)
            if last:
                try:
                    prev = json.loads(last)
                except json.JSONDecodeError as exc:
                    raise AuditError(f"{self.path}: the last record is not JSON ({exc}); run "
                                     "taxcredit audit verify") from exc
                seq, prev_hash = int(prev["seq"]) + 1, prev["hash"]
            else:
                seq, prev_hash = 1, GENESIS
            record = {"seq": seq, "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
                      **fields, "prev": prev_hash}
            record["hash"] = _digest(record)
            os.write(fd, _line(json.loads(json.dumps(record, default=str))).encode("utf-8"))
            os.fsync(fd)
        return record

    def head(self) -> dict:
        """Return the last ``seq`` and ``hash``; keep them elsewhere to catch truncation."""
        if not self.path.is_file():
            return {"seq": 0, "hash": GENESIS}
        with _locked(self.path) as fd:
            last = _last_line(fd)
        if not last:
            return {"seq": 0, "hash": GENESIS}
        r = json.loads(last)
        return {"seq": int(r["seq"]), "hash": r["hash"]}

    def records(self) -> list[dict]:
        """Every record, in file order."""
        if not self.path.is_file():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify_log`.

    Attributes
    ----------
    ok : bool
    records : int
        Records read.
    line : int or None
        First line (1-based) found wrong.
    problem : str
        What is wrong there ("" when ok).
    """

    ok: bool
    records: int
    line: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit log OK: {self.records:,} records, chain intact"
        return f"audit log BROKEN at line {self.line}: {self.problem}"


def verify_log(path, *, head: dict | None = None) -> Verification:
    """Check every record's hash, the chain and the sequence; optionally the head.

    Parameters
    ----------
    path : path-like
    head : dict, optional
        A head kept elsewhere (:meth:`AuditLog.head`): the log must still reach it.
    """
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"{path}: no such audit log")
    prev_hash, n = GENESIS, 0
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                return Verification(False, n, i, "an empty line was inserted")
            try:
                r = json.loads(line, object_pairs_hook=_no_duplicates)
            except (json.JSONDecodeError, ValueError):
                return Verification(False, n, i, "not a JSON record (edited or corrupted)")
            if line.rstrip("\n") != _line(r).rstrip("\n"):
                n += 1
                return Verification(False, n, i, "not in the log's own form: the record was "
                                                  "edited")
            n += 1
            if r.get("seq") != n:
                return Verification(False, n, i, f"sequence {r.get('seq')} where {n} was due: "
                                                  "a record was deleted, inserted or moved")
            if r.get("prev") != prev_hash:
                return Verification(False, n, i, "does not chain to the record before it: a "
                                                  "record was deleted, inserted or moved")
            if r.get("hash") != _digest(r):
                return Verification(False, n, i, "its content does not match its hash: the "
                                                  "record was edited")
            if head is not None and n == int(head["seq"]) and r["hash"] != head["hash"]:
                return Verification(False, n, i, "differs from the head kept elsewhere: the "
                                                  "log was rewritten")
            prev_hash = r["hash"]
    if head is not None and n < int(head["seq"]):
        return Verification(False, n, n or None,
                            f"the log ends at record {n}, before the head kept elsewhere "
                            f"(record {head['seq']}): records were removed from the end")
    return Verification(True, n)
