"""The audit log: every kind of tampering is caught and located; many writers keep it whole."""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp

import pytest

from taxcredit.errors import AuditError
from taxcredit.governance import GENESIS, AuditLog, verify_log


def _log(tmp_path, n=6) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append(actor="batch", purpose="credit_assessment", uscc=f"9111****{i:02d}",
                   strategy="sme_scorecard@1.0", output={"decision": "approve", "pd": 0.01 * i})
    return log


def _lines(log):
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_clean_log_verifies_and_chains(tmp_path):
    log = _log(tmp_path)
    recs = log.records()
    assert [r["seq"] for r in recs] == list(range(1, 7))
    assert recs[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(recs))
    v = verify_log(log.path)
    assert v.ok and v.records == 6 and "OK" in str(v)
    assert log.head() == {"seq": 6, "hash": recs[-1]["hash"]}
    with pytest.raises(AuditError, match="set by the log"):
        log.append(seq=3)


def _edit(lines):
    r = json.loads(lines[2])
    r["output"]["decision"] = "decline"
    lines[2] = json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
    return lines, 3, "edited"


def _rehash_edit(lines):  # edit and recompute its own hash: the next record's link breaks
    import hashlib

    r = json.loads(lines[2])
    r["actor"] = "someone-else"
    body = {k: v for k, v in r.items() if k != "hash"}
    r["hash"] = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True,
                                          separators=(",", ":")).encode()).hexdigest()
    lines[2] = json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
    return lines, 4, "deleted, inserted or moved"


def _delete(lines):
    del lines[3]
    return lines, 4, "deleted, inserted or moved"


def _reorder(lines):
    lines[1], lines[2] = lines[2], lines[1]
    return lines, 2, "deleted, inserted or moved"


def _insert_blank(lines):
    lines.insert(4, "\n")
    return lines, 5, "empty line"


def _garbage(lines):
    lines[5] = lines[5][:40] + "\n"
    return lines, 6, "not a JSON record"


def _duplicate_key(lines):  # a reader taking the first key would see another actor
    lines[1] = lines[1].replace("{", '{"actor": "mallory", ', 1)
    return lines, 2, "not a JSON record"


def _reformat(lines):  # same content, another layout
    lines[2] = json.dumps(json.loads(lines[2]), indent=1) .replace("\n", " ") + "\n"
    return lines, 3, "own form"


@pytest.mark.parametrize("tamper", [_edit, _rehash_edit, _delete, _reorder, _insert_blank,
                                    _garbage, _duplicate_key, _reformat])
def test_every_kind_of_tampering_is_caught_where_it_happened(tmp_path, tamper):
    log = _log(tmp_path)
    lines, line, words = tamper(_lines(log))
    log.path.write_text("".join(lines), encoding="utf-8")
    v = verify_log(log.path)
    assert not v.ok and v.line == line and words in v.problem, v


def test_truncation_needs_the_head_kept_elsewhere(tmp_path):
    log = _log(tmp_path)
    head = log.head()
    log.path.write_text("".join(_lines(log)[:-2]), encoding="utf-8")
    assert verify_log(log.path).ok  # a shorter chain is still a chain …
    v = verify_log(log.path, head=head)
    assert not v.ok and "removed from the end" in v.problem  # … the kept head says otherwise
    _log(tmp_path / "other", n=6).path.replace(log.path)  # a whole new log of the same length
    v = verify_log(log.path, head=head)
    assert not v.ok and "rewritten" in v.problem


def _writer(path: str, who: int, n: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append(actor=f"worker-{who}", i=i)


def test_concurrent_writers_in_several_processes_keep_the_chain(tmp_path):
    path = str(tmp_path / "shared.jsonl")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    v = verify_log(path)
    assert v.ok and v.records == 160, v
    recs = AuditLog(path).records()
    for w in range(4):
        assert [r["i"] for r in recs if r["actor"] == f"worker-{w}"] == list(range(40))


def test_verify_a_missing_log(tmp_path):
    with pytest.raises(AuditError, match="no such audit log"):
        verify_log(tmp_path / "none.jsonl")


def test_cli_audit_verify(tmp_path, capsys):
    from taxcredit.cli.main import main

    log = _log(tmp_path)
    head = tmp_path / "head.json"
    head.write_text(json.dumps(log.head()), encoding="utf-8")
    assert main(["audit", "verify", str(log.path), "--head", str(head)]) == 0
    assert "OK: 6 records" in capsys.readouterr().out
    lines, _, _ = _delete(_lines(log))
    log.path.write_text("".join(lines), encoding="utf-8")
    assert main(["audit", "verify", str(log.path)]) == 1
    assert "BROKEN at line 4" in capsys.readouterr().out
    assert main(["audit", "verify", str(tmp_path / "none.jsonl")]) == 1
