"""Consent, purpose, the circuit breaker and masking."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from taxcredit.errors import AccessRefused, ConsentError, PurposeError
from taxcredit.governance import (
    AuditLog,
    CircuitBreaker,
    ConsentRegistry,
    check_purpose,
    mask_frame,
    pseudonym,
    verify_log,
)

A, B, C, D, E = (f"9111010855138508{i}Q" for i in range(5))
t = pd.Timestamp


@pytest.fixture
def registry():
    return ConsentRegistry(pd.DataFrame({
        "uscc": [A, B, C, D, E],
        "bank": ["bank1"] * 4 + ["bank2"],
        "purposes": ["credit_assessment;post_loan_monitoring", "credit_assessment",
                     "credit_assessment", "post_loan_monitoring", "credit_assessment"],
        "scope": ["*", "vat_returns;payments", "*", "*", "*"],
        "granted_at": [t("2025-01-01"), t("2025-01-01"), t("2024-01-01"), t("2025-01-01"),
                       t("2025-01-01")],
        "expires_at": [t("2026-01-01"), t("2026-01-01"), t("2025-01-01"), t("2026-01-01"),
                       t("2026-01-01")],
        "revoked_at": [pd.NaT, pd.NaT, pd.NaT, t("2025-06-15 10:30"), pd.NaT],
        "verification": ["real_name+double"] * 5,
    }), bank="bank1")


def test_each_reason_for_refusal(registry):
    at = t("2025-06-30")
    got = registry.check([A, B, C, D, E, "91110108551385089Q"], "credit_assessment", at,
                         tables=["vat_returns", "invoices"])
    assert got["reason"].tolist() == ["ok", "scope", "expired", "revoked", "none", "none"]
    assert registry.check([D], "credit_assessment", t("2025-06-01"))["reason"].tolist() == \
        ["purpose"]
    assert got["allowed"].tolist() == [True, False, False, False, False, False]
    mon = registry.check([D], "post_loan_monitoring", t("2025-06-15 10:29"))
    assert mon["reason"].tolist() == ["ok"]  # revocation counts from its timestamp …
    assert registry.check([D], "post_loan_monitoring", t("2025-06-15 10:30"))[
        "reason"].tolist() == ["revoked"]   # … exactly
    assert registry.check([A], "credit_assessment", t("2024-12-31"))["reason"].tolist() == \
        ["not_yet"]
    assert registry.check([B], "credit_assessment", at, tables=["payments"])["allowed"].all()


def test_require_raises_with_masked_ids(registry):
    with pytest.raises(ConsentError) as exc:
        registry.require([A, C], "credit_assessment", "2025-06-30")
    assert "expired" in str(exc.value) and C not in str(exc.value) and "****" in str(exc.value)


@pytest.mark.parametrize("purpose", [None, "", "marketing", "resale"])
def test_other_purposes_are_refused(purpose, registry):
    with pytest.raises(PurposeError):
        check_purpose(purpose)
    with pytest.raises(PurposeError):
        registry.check([A], purpose, "2025-06-30")


def test_bad_consent_tables(tmp_path):
    with pytest.raises(ConsentError, match="missing column"):
        ConsentRegistry(pd.DataFrame({"uscc": [A]}))
    with pytest.raises(ConsentError, match="unknown purpose"):
        ConsentRegistry(pd.DataFrame({"uscc": [A], "purposes": ["marketing"],
                                      "granted_at": ["2025-01-01"], "expires_at": ["2026-01-01"]}))
    with pytest.raises(ConsentError, match="without a granted_at"):
        ConsentRegistry(pd.DataFrame({"uscc": [A], "purposes": ["credit_assessment"],
                                      "granted_at": [None], "expires_at": ["2026-01-01"]}))
    path = tmp_path / "c.csv"
    pd.DataFrame({"uscc": [A], "purposes": ["credit_assessment"], "granted_at": ["2025-01-01"],
                  "expires_at": ["2026-01-01"]}).to_csv(path, index=False)
    assert ConsentRegistry.from_file(path).check([A], "credit_assessment", "2025-03-01")[
        "allowed"].all()
    with pytest.raises(ConsentError, match="no such consent file"):
        ConsentRegistry.from_file(tmp_path / "none.csv")


def test_breaker_trips_at_each_limit_and_stays_open_until_reset(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    br = CircuitBreaker({"requests_per_minute": 3, "enterprises_per_hour": 10,
                         "no_consent_per_hour": 2, "off_hours_bulk": 5}, audit=log)
    noon = t("2025-06-30 12:00")
    for k in range(3):
        br.check("alice", [A], at=noon + pd.Timedelta(seconds=k))
    with pytest.raises(AccessRefused, match="requests in a minute"):
        br.check("alice", [A], at=noon + pd.Timedelta(seconds=3))
    with pytest.raises(AccessRefused, match="suspended since"):  # still open a day later
        br.check("alice", [A], at=noon + pd.Timedelta(days=1))
    br.check("bob", [A], at=noon)  # per actor
    br.reset("alice", by="supervisor-1", note="checked with the branch")
    br.check("alice", [A], at=noon + pd.Timedelta(days=1))
    with pytest.raises(AccessRefused, match="enterprises in an hour"):
        br.check("carol", [f"E{i}" for i in range(11)], at=noon)
    with pytest.raises(AccessRefused, match="without consent"):
        br.check("dave", [A, B, C], at=noon, without_consent=3)
    with pytest.raises(AccessRefused, match="bulk pull"):
        br.check("erin", [f"E{i}" for i in range(6)], at=t("2025-06-30 23:30"))
    br.check("frank", [f"E{i}" for i in range(6)], at=t("2025-06-30 14:00"))
    events = [r["event"] for r in log.records()]
    assert events.count("breaker_tripped") == 4 and events.count("breaker_reset") == 1
    assert verify_log(log.path).ok
    with pytest.raises(ValueError, match="who resets"):
        br.reset("erin", by="")
    with pytest.raises(ValueError, match="unknown setting"):
        CircuitBreaker({"per_second": 1})


def test_breaker_state_is_shared_through_its_file(tmp_path):
    state = tmp_path / "breaker.json"
    one = CircuitBreaker({"requests_per_minute": 2}, state=state)
    two = CircuitBreaker({"requests_per_minute": 2}, state=state)
    noon = t("2025-06-30 12:00")
    one.check("svc", [A], at=noon)
    two.check("svc", [A], at=noon)
    with pytest.raises(AccessRefused):
        one.check("svc", [A], at=noon)
    assert two.tripped("svc") is not None
    assert json.loads(state.read_text())["svc"]["tripped"]


def test_masking_frames_and_pseudonyms():
    df = pd.DataFrame({"uscc": [A, B], "name": ["张三", "李四"], "phone": ["13812341234", None],
                       "pd": [0.01, 0.02]}).set_index("uscc", drop=False)
    out = mask_frame(df)
    assert out["uscc"].tolist() == ["91110108********0Q", "91110108********1Q"]
    assert list(out.index) == out["uscc"].tolist()
    assert out["name"].tolist() == ["张*", "李*"] and out["phone"].iloc[0] == "138****1234"
    assert pd.isna(out["phone"].iloc[1]) and out["pd"].tolist() == [0.01, 0.02]
    p1, p2 = pseudonym([A, A, B], key=b"k"), pseudonym([A], key=b"other")
    assert p1[0] == p1[1] != p1[2] and p1[0] != p2[0] and len(p1[0]) == 16


def test_a_night_window_that_does_not_wrap_midnight():
    br = CircuitBreaker({"off_hours_bulk": 5, "night_start": 0, "night_end": 6})
    br.check("a", [f"E{i}" for i in range(6)], at=t("2025-06-30 14:00"))  # daytime: fine
    with pytest.raises(AccessRefused, match="bulk pull"):
        br.check("b", [f"E{i}" for i in range(6)], at=t("2025-06-30 03:00"))
