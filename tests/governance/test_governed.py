"""Governed decisions and monitoring; no unmasked identifier in a full demo run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.errors import AccessRefused, ConsentError, PurposeError
from taxcredit.governance import (
    NOT_PROCESSED,
    AuditLog,
    CircuitBreaker,
    ConsentRegistry,
    Governance,
    verify_log,
)
from tests.conftest import raw_identifiers

AS_OF = pd.Timestamp("2025-06-30")
NOW = pd.Timestamp("2025-06-30 15:00")  # the moment of use, inside office hours


@pytest.fixture(scope="module")
def world():
    ds = tc.datasets.make_population(n_enterprises=2_500, months=48, seed=17)
    strategy = tc.strategies.get("sme_scorecard").fit(ds, until="2025-01-01")
    usccs = ds["enterprises"]["uscc"].astype(str).head(40).tolist()
    t = pd.Timestamp
    consents = pd.DataFrame({
        "uscc": usccs,
        "purposes": ["credit_assessment;post_loan_monitoring"] * 36 + ["post_loan_monitoring"] * 4,
        "granted_at": [t("2025-01-01")] * 40,
        "expires_at": [t("2026-01-01")] * 30 + [t("2025-06-01")] * 10,  # 10 expired
        "revoked_at": [pd.NaT] * 25 + [t("2025-06-10")] * 5 + [pd.NaT] * 10,  # 5 revoked
    })
    return ds, strategy, usccs, ConsentRegistry(consents)


def test_only_consented_enterprises_are_scored_and_every_call_is_audited(world, tmp_path):
    ds, strategy, usccs, reg = world
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(reg, actor="analyst-7", audit=log, mask=False)
    pairs = pd.DataFrame({"uscc": [*usccs, "91110108551385082Q"], "as_of": AS_OF})
    out = gov.decide(strategy, ds, pairs, lang="en", now=NOW)
    assert len(out) == 41 and list(out.index.get_level_values(0)) == pairs["uscc"].tolist()
    ok = out["consent"] == "ok"
    assert ok.sum() == 25  # 5 revoked, 10 expired, 1 unknown
    assert out.loc[~ok.to_numpy(), "decision"].eq(NOT_PROCESSED).all()
    assert out.loc[~ok.to_numpy(), "pd"].isna().all()
    assert set(out.loc[~ok.to_numpy(), "consent"]) == {"revoked", "expired", "none"}
    # the consented rows are exactly what the strategy decides for them
    want = strategy.decide(ds.select(usccs[:25]), pairs.head(25), lang="en")
    np.testing.assert_allclose(out["pd"].to_numpy()[:25], want["pd"].to_numpy())
    assert list(out["decision"].astype(str)[:25]) == list(want["decision"].astype(str))
    rec = log.records()[-1]
    assert rec["event"] == "decide" and rec["actor"] == "analyst-7"
    assert rec["decisions"][NOT_PROCESSED] == 16 and rec["n_enterprises"] == 41
    assert all("*" in e for e in rec["enterprises"])  # masked in the log
    assert verify_log(log.path).ok


def test_masked_by_default(world):
    ds, strategy, usccs, reg = world
    out = Governance(reg, actor="a").decide(strategy, ds, pd.DataFrame(
        {"uscc": usccs[:5], "as_of": AS_OF}), now=NOW)
    assert all("********" in u for u in out.index.get_level_values(0))


def test_wrong_purpose_and_tripped_breaker_are_refused_and_audited(world, tmp_path):
    ds, strategy, usccs, reg = world
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(reg, actor="intruder", audit=log,
                     breaker=CircuitBreaker({"no_consent_per_hour": 3}, audit=log))
    with pytest.raises(PurposeError):
        gov.decide(strategy, ds, AS_OF, purpose="marketing", now=NOW)
    with pytest.raises(AccessRefused):  # everyone of the dataset, most never authorised
        gov.decide(strategy, ds, AS_OF, now=NOW)
    with pytest.raises(AccessRefused, match="suspended since"):
        gov.decide(strategy, ds, pd.DataFrame({"uscc": usccs[:2], "as_of": AS_OF}), now=NOW)
    events = [r["event"] for r in log.records()]
    assert events == ["refused", "breaker_tripped", "refused"]  # purpose, trip, still open
    assert verify_log(log.path).ok


def test_monitoring_needs_monitoring_consent(world):
    ds, _, usccs, reg = world
    alerts = Governance(reg, actor="pl-team", mask=False).monitor(ds, AS_OF, book=usccs,
                                                                  now=NOW)
    stop = alerts[(alerts["rule"] == "EW16")]
    assert set(stop["uscc"]) >= set(usccs[25:40])  # expired or revoked by 2025-06-30
    others = alerts[alerts["rule"] != "EW16"]
    assert set(others["uscc"]) <= set(usccs[:25])  # the only live monitoring consents


def test_no_unmasked_identifier_in_any_output_or_log_of_the_demo(tmp_path):
    from taxcredit.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--enterprises", "5000", "--quiet"]) == 0
    ds = tc.datasets.make_population(n_enterprises=5_000, months=48, seed=7)
    found, scanned = raw_identifiers(out, set(ds["enterprises"]["uscc"].astype(str)))
    assert scanned >= 6 and not found, found[:5]
    v = verify_log(out / "audit.jsonl")
    assert v.ok and v.records == 2  # training and deciding
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["not_processed_without_consent"] > 0
    # the pseudonyms are under the user's key (as with every command), so they join
    import os

    from taxcredit.governance import pseudonym

    key = (Path(os.environ["TAXCREDIT_HOME"]) / "audit.key").read_bytes().strip()
    mine = set(pseudonym(ds["enterprises"]["uscc"].astype(str), key))
    got = pd.read_parquet(out / "decisions.parquet")["uscc_key"]
    assert len(got) and set(got) <= mine


def test_consent_is_checked_when_the_data_are_used(world):
    ds, strategy, usccs, reg = world
    gov = Governance(reg, actor="a", mask=False)
    pairs = pd.DataFrame({"uscc": usccs[:2], "as_of": pd.Timestamp("2025-03-31")})
    later = pd.Timestamp("2025-07-15 10:00")  # used after the expiry / revocation dates
    assert gov.decide(strategy, ds, pairs, now=NOW)["consent"].tolist() == ["ok", "ok"]
    moved = gov.decide(strategy, ds, pd.DataFrame({"uscc": usccs[26:28], "as_of": pairs["as_of"]}),
                       now=later)
    assert moved["consent"].tolist() == ["revoked", "revoked"]  # revoked 2025-06-10
    replay = gov.decide(strategy, ds, pd.DataFrame({"uscc": usccs[26:28],
                                                    "as_of": pairs["as_of"]}),
                        at="as_of", now=later)
    assert replay["consent"].tolist() == ["ok", "ok"]  # a backtest of 2025-03-31
    lower = gov.decide(strategy, ds, pd.DataFrame({"uscc": [usccs[0].lower()],
                                                   "as_of": pairs["as_of"][:1]}), now=NOW)
    assert lower["consent"].tolist() == ["ok"] and lower["pd"].notna().all()


def test_consent_is_never_checked_at_a_moment_still_to_come(world, tmp_path):
    ds, strategy, usccs, _ = world
    t = pd.Timestamp
    reg = ConsentRegistry(pd.DataFrame({  # the second authorises only from 2025-09-01
        "uscc": usccs[:2], "purposes": ["credit_assessment"] * 2,
        "granted_at": [t("2025-01-01"), t("2025-09-01")], "expires_at": [t("2027-01-01")] * 2,
        "revoked_at": [pd.NaT] * 2}))
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(reg, actor="a", audit=log, mask=False)
    pairs = pd.DataFrame({"uscc": usccs[:2], "as_of": AS_OF})
    assert gov.decide(strategy, ds, pairs, now=NOW)["consent"].tolist() == ["ok", "not_yet"]
    assert log.records()[-1]["consent_at"] == "now"
    with pytest.raises(ValueError, match="after now"):
        gov.decide(strategy, ds, pairs, at="2025-12-01", now=NOW)
    # replaying history with an as-of still to come: checked now, not at that date
    ahead = pairs.assign(as_of=t("2025-10-31"))
    got = gov.decide(strategy, ds, ahead, at="as_of", now=NOW)
    assert got["consent"].tolist() == ["ok", "not_yet"]
    assert log.records()[-1]["consent_at"] == "as_of"
    assert gov.decide(strategy, ds, ahead, at="as_of", now="2025-11-01")[
        "consent"].tolist() == ["ok", "ok"]
    gov.decide(strategy, ds, pairs, at="2025-06-01", now=NOW)
    assert log.records()[-1]["consent_at"] == "2025-06-01 00:00:00"
    assert verify_log(log.path).ok


def test_monitoring_respects_scope_and_survives_lapsed_consents(world):
    ds, _, usccs, _ = world
    t = pd.Timestamp
    narrow = ConsentRegistry(pd.DataFrame({
        "uscc": usccs[:30], "purposes": "post_loan_monitoring",
        "scope": ["enterprises"] * 5 + ["*"] * 25, "granted_at": t("2025-01-01"),
        "expires_at": [t("2026-01-01")] * 5 + [t("2025-03-01")] * 25}))
    gov = Governance(narrow, actor="svc", mask=False, breaker=CircuitBreaker())
    alerts = gov.monitor(ds, AS_OF, book=usccs[:30], now=NOW)  # 25 lapsed: no trip
    ew16 = alerts[alerts["rule"] == "EW16"]
    assert set(ew16["uscc"]) == set(usccs[:30])
    assert set(alerts["uscc"]) == set(usccs[:30])  # nothing else read for any of them


def test_the_log_fingerprints_are_keyed(world, tmp_path):
    ds, strategy, usccs, reg = world
    log = AuditLog(tmp_path / "a.jsonl")
    one = pd.DataFrame({"uscc": usccs[:1], "as_of": AS_OF})
    Governance(reg, actor="a", audit=log, key=b"k1").decide(strategy, ds, one, now=NOW)
    Governance(reg, actor="a", audit=log, key=b"k2").decide(strategy, ds, one, now=NOW)
    a, b = log.records()
    assert a["enterprises_hmac"] != b["enterprises_hmac"]
    import hashlib

    assert hashlib.sha256(usccs[0].encode()).hexdigest() not in log.path.read_text()


def test_features_and_profiles_only_for_authorised_pairs(world, tmp_path):
    ds, _, usccs, reg = world
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(reg, actor="a", audit=log, mask=False)
    pairs = pd.DataFrame({"uscc": usccs, "as_of": AS_OF})
    X = gov.features(ds, pairs, features=["tax_12m", "credit_grade"], now=NOW)
    ok = (X["consent"] == "ok").to_numpy()
    assert ok.sum() == 25 and list(X.index.get_level_values(0)) == usccs
    want = tc.build_features(ds.select(usccs[:25]), pairs.head(25),
                             features=["tax_12m", "credit_grade"])
    np.testing.assert_allclose(X["tax_12m"].to_numpy()[ok], want["tax_12m"].to_numpy())
    assert X.loc[~ok, ["tax_12m", "credit_grade"]].isna().all().all()
    prof = gov.profile(ds, pairs, lang="en", now=NOW)
    assert (prof["consent"] == X["consent"]).all()
    # the reference: the authorised enterprises only (the others' data are not read)
    ref = tc.build_profiles(ds.select(usccs[:25]), pairs.head(25), lang="en")
    np.testing.assert_allclose(prof["profile_score"].to_numpy()[ok],
                               ref["profile_score"].to_numpy())
    assert prof.loc[~ok, "profile_score"].isna().all()
    recs = log.records()
    assert [r["event"] for r in recs] == ["features", "profile"]
    assert recs[0]["processed"] == 25 and recs[0]["not_processed"] == 15
    # a few enterprises against every authorised one of the data at a date
    three = gov.profile(ds, pairs.head(3), lang="en", now=NOW, reference_as_of=AS_OF)
    rec = log.records()[-1]
    assert rec["reference"].startswith("the ") and "authorised enterprises of the data" in \
        rec["reference"]
    every = gov.profile(ds, AS_OF, lang="en", now=NOW)
    np.testing.assert_allclose(three["profile_score"].to_numpy(),
                               every.loc[three.index, "profile_score"].to_numpy())
    with pytest.raises(ValueError, match="reference_as_of fits a reference"):
        gov.profile(ds, pairs.head(3), profiler=tc.profile.Profiler(), reference_as_of=AS_OF)
    masked = Governance(reg, actor="a").features(ds, pairs, features=["tax_12m"], now=NOW)
    assert masked.index.get_level_values(0).str.contains("*", regex=False).all()
    assert masked["uscc_key"].nunique() == 40
    nobody = Governance(ConsentRegistry(reg.table.iloc[:0]), actor="a", mask=False)
    none = nobody.features(ds, pairs, features=["tax_12m"], now=NOW)
    assert len(none) == 40 and none["tax_12m"].isna().all() and set(none["consent"]) == {"none"}


def test_training_validation_and_portfolio_use_authorised_data_only(tmp_path):
    from taxcredit.errors import ConsentError
    from tests.conftest import authorised

    ds = tc.datasets.make_population(n_enterprises=3_000, months=48, seed=5)
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(ConsentRegistry(ds["consents"]), actor="modeller", audit=log, mask=False)
    s = gov.fit(tc.strategies.get("sme_scorecard"), ds, at="as_of", until="2025-01-01")
    apps = ds["applications"]
    apps = apps[apps["application_date"] < pd.Timestamp("2025-01-01")]  # only those are used
    dev = authorised(ds["consents"], apps.rename(columns={"application_date": "as_of"}),
                     "model_development")
    kept = tc.TaxDataset({**ds.tables, "applications": apps[dev].reset_index(drop=True)},
                          validated=ds.validated)
    golden = tc.strategies.get("sme_scorecard").fit(kept, until="2025-01-01")
    assert s.card_["data_fingerprint"] == golden.card_["data_fingerprint"]
    assert "profile_reference" in s.attachments_
    rec = log.records()[-1]
    assert rec["event"] == "train" and rec["applications_authorised"] == int(dev.sum())
    assert sum(rec["not_processed"].values()) == int((~dev).sum()) > 0
    # today the authorisations of 2023-2025 have mostly lapsed: a clear error, with the way out
    with pytest.raises(tc.TaxCreditError, match="--consent-at as-of"):
        gov.fit(tc.strategies.get("sme_scorecard"), ds, now="2030-01-01")
    with pytest.warns(UserWarning, match="no out-of-time sample"):  # fitted until the end
        report = gov.validate(s, ds, at="as_of", n_boot=10)
    every = ds["applications"].rename(columns={"application_date": "as_of"})
    assert report.summary["n"].sum() <= int(authorised(ds["consents"], every,
                                                       "model_development").sum())
    assert log.records()[-1]["event"] == "validate"
    dates = ["2025-05-31", "2025-06-30"]
    gov.portfolio(s, ds, dates, at="as_of")
    rec = log.records()[-1]
    ent = ds["enterprises"][["uscc"]].assign(as_of=pd.Timestamp("2025-06-30"))
    assert rec["processed"] == int(authorised(ds["consents"], ent, "post_loan_monitoring").sum())
    # a table of loans is a book, as for monitor(): its uscc column, not its column names
    loans = ds["enterprises"][["uscc"]].head(400).assign(limit=100_000.0)
    by_table = gov.portfolio(s, ds, dates, at="as_of", book=loans)
    by_codes = gov.portfolio(s, ds, [f"{d} 18:00" for d in dates], at="as_of",
                             book=loans["uscc"])
    pd.testing.assert_frame_equal(by_table.grades, by_codes.grades)
    assert log.records()[-1]["processed"] > 0
    assert log.records()[-1]["dates"] == dates  # the days monitored, as audited
    with pytest.raises(ValueError, match="needs a 'uscc' column"):
        gov.portfolio(s, ds, dates, at="as_of", book=loans.rename(columns={"uscc": "id"}))
    with pytest.raises(ConsentError, match="none of the"):
        gov.portfolio(s, ds, dates, at="2040-01-01", now="2040-06-01")
    assert verify_log(tmp_path / "audit.jsonl").ok


def test_as_of_with_a_time_or_zone_and_duplicated_pairs(world):
    ds, strategy, usccs, reg = world
    gov = Governance(reg, actor="a", mask=False)
    want = gov.decide(strategy, ds, pd.DataFrame({"uscc": usccs, "as_of": AS_OF}), now=NOW)
    for as_of in ("2025-06-30 10:00", pd.Timestamp("2025-06-30 02:00", tz="UTC")):
        got = gov.decide(strategy, ds, pd.DataFrame({"uscc": usccs, "as_of": as_of}), now=NOW)
        assert list(got.index) == list(want.index)  # the engine's date: midnight, Beijing
        np.testing.assert_array_equal(got["pd"].to_numpy(), want["pd"].to_numpy())
        assert got.loc[got["consent"] == "ok", "decision"].notna().all()
    # the same pair twice, with refused pairs around it: one row each, in input order
    twice = pd.DataFrame({"uscc": [usccs[0], usccs[30], usccs[0], usccs[1]], "as_of": AS_OF})
    got = gov.decide(strategy, ds, twice, now=NOW)
    assert list(got["consent"]) == ["ok", "expired", "ok", "ok"]
    assert got["pd"].iloc[0] == got["pd"].iloc[2] == want["pd"].iloc[0]
    X = gov.features(ds, twice, features=["tax_12m"], now=NOW)
    assert len(X) == 4 and X["tax_12m"].iloc[0] == X["tax_12m"].iloc[2]
    assert len(gov.profile(ds, twice, now=NOW)) == 4
    empty = gov.decide(strategy, ds, twice.iloc[:0], now=NOW)
    assert empty.empty and "consent" in empty


def test_unhappy_inputs_get_clear_errors(world):
    from taxcredit.errors import ConsentError, TaxDataError

    ds, strategy, usccs, reg = world
    gov = Governance(reg, actor="a", mask=False)
    with pytest.raises(ConsentError, match="without a USCC"):
        gov.decide(strategy, ds, pd.DataFrame({"uscc": [usccs[0], None], "as_of": AS_OF}))
    with pytest.raises(TaxDataError, match="lack column"):
        gov.features(ds, pd.DataFrame({"uscc": usccs}))
    with pytest.raises(TaxDataError, match="needs a uscc column"):
        gov.monitor(ds, AS_OF, book=pd.DataFrame({"loan": [1]}), now=NOW)


def test_full_width_codes_and_zoned_consent_times(world):
    ds, strategy, usccs, reg = world
    full = usccs[0].translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # Excel export
    gov = Governance(reg, actor="a", mask=False)
    got = gov.decide(strategy, ds, pd.DataFrame({"uscc": [full], "as_of": AS_OF}), now=NOW)
    assert got.index[0][0] == usccs[0] and got["consent"].iloc[0] == "ok"
    zoned = pd.DataFrame({"uscc": [usccs[0]], "purposes": ["credit_assessment"],
                          "granted_at": ["2025-01-01T00:00:00+08:00"],
                          "expires_at": ["2026-01-01T00:00:00+08:00"],
                          "revoked_at": ["2025-06-30T07:00:00+00:00"]})  # 15:00 in Beijing
    zreg = ConsentRegistry(zoned)
    assert zreg.table["revoked_at"].iloc[0] == pd.Timestamp("2025-06-30 15:00")
    before = zreg.check([usccs[0]], "credit_assessment", at="2025-06-30 14:59")
    after = zreg.check([usccs[0]], "credit_assessment", at="2025-06-30 15:00")
    assert before["allowed"].iloc[0] and after["reason"].iloc[0] == "revoked"
    # one column may mix dates, date-times, zoned and unzoned (unzoned: Beijing time)
    mixed = ConsentRegistry(pd.DataFrame({
        "uscc": usccs[:4], "purposes": ["credit_assessment"] * 4,
        "granted_at": ["2025-01-01", "2025-01-01 09:30:00", "2025-01-01T01:30:00Z",
                       "2025-01-01T09:30+08:00"],
        "expires_at": ["2026-01-01"] * 4,
        "revoked_at": ["2025-06-30", None, "2025-06-30 14:05:00", None]}))
    assert mixed.table["granted_at"].tolist() == [
        pd.Timestamp("2025-01-01"), *[pd.Timestamp("2025-01-01 09:30")] * 3]
    assert mixed.table["revoked_at"].iloc[[0, 2]].tolist() == [
        pd.Timestamp("2025-06-30"), pd.Timestamp("2025-06-30 14:05")]
    with pytest.raises(ConsentError, match="granted_at holds values that are not dates"):
        ConsentRegistry(pd.DataFrame({"uscc": usccs[:1], "purposes": ["credit_assessment"],
                                      "granted_at": ["soon"], "expires_at": ["2026-01-01"]}))


def test_consent_scope_counts_for_training_and_breaker_state_holds_no_code(world, tmp_path):
    from taxcredit.errors import ConsentError

    ds, _, usccs, _ = world
    apps = ds["applications"]
    scoped = pd.DataFrame({"uscc": apps["uscc"].unique(), "purposes": "model_development",
                           "scope": "enterprises", "granted_at": pd.Timestamp("2020-01-01"),
                           "expires_at": pd.Timestamp("2030-01-01")})
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(ConsentRegistry(scoped), actor="m", audit=log, mask=False)
    with pytest.raises(ConsentError, match="none of the"):
        gov.fit(tc.strategies.get("sme_scorecard"), ds, at="as_of")
    rec = log.records()[-1]
    assert rec["event"] == "train" and set(rec["not_processed"]) == {"scope"}
    state = tmp_path / "breaker.json"
    breaker = CircuitBreaker(state=state, key=b"s" * 32)
    breaker.check("analyst", usccs[:5], at=NOW)
    text = state.read_text(encoding="utf-8")
    assert not any(u in text for u in usccs[:5]) and len(json.loads(text)["analyst"][
        "enterprises"]) == 5


def test_consent_reasons_fail_closed_and_place_checks_the_order():
    from taxcredit.governance import consent_reasons
    from taxcredit.governance.governed import place

    usccs = pd.Series(["A", "B", "C"])
    got = consent_reasons(usccs, frozenset({"A"}), {"B": "expired"})
    assert got.tolist() == ["ok", "expired", "none"]  # C: known to neither → not processed
    assert consent_reasons(usccs, frozenset(), {}).tolist() == ["none"] * 3
    pairs = pd.DataFrame({"uscc": ["A", "B"], "as_of": pd.Timestamp("2025-06-30")})
    computed = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.MultiIndex.from_frame(pairs[::-1]))
    with pytest.raises(RuntimeError, match="order"):
        place([computed], pairs, np.array([True, True]))
    later = pd.DataFrame({"x": [1.0]}, index=pd.MultiIndex.from_frame(
        pairs.head(1).assign(as_of=pd.Timestamp("2025-07-31"))))
    with pytest.raises(RuntimeError, match="order"):
        place([later], pairs, np.array([True, False]))


def test_the_home_key_is_made_once_when_processes_race(tmp_path):
    import multiprocessing as mp
    from functools import partial

    from taxcredit.governance.config import _read_key

    for trial in range(5):
        path = tmp_path / f"k{trial}" / "audit.key"
        with mp.get_context("fork").Pool(4) as pool:
            keys = pool.map(partial(_read_key, create=True), [path] * 8)
        assert len(set(keys)) == 1 and len(keys[0]) == 64
        assert not list(path.parent.glob(".audit-key-*"))  # no temporary left behind


def test_pseudonym_is_the_documented_hmac():
    """A bank's loan system can compute the same uscc_key with the key: HMAC-SHA-256, 16 hex."""
    import hashlib
    import hmac

    from taxcredit.governance import pseudonym

    key = b"bank-secret-key-0123456789"
    codes = ["91110108551385082Q", "91310110666007217T"]
    want = [hmac.new(key, c.encode(), hashlib.sha256).hexdigest()[:16] for c in codes]
    assert pseudonym(codes, key).tolist() == want
