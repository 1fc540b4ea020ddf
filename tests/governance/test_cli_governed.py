"""Governance is on by default in every command that reads tax data."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.cli.main import main
from taxcredit.errors import ConsentError
from taxcredit.governance import AuditLog, CircuitBreaker, GovernanceConfig, verify_log
from taxcredit.governance.config import home
from tests.conftest import authorised, raw_identifiers

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    data = tmp_path_factory.mktemp("governed") / "data"
    tc.datasets.write_population(data, n_enterprises=1_500, months=36, seed=29, progress=False)
    return data


# the fixture strategy was fitted on every matured application: report warns so
@pytest.mark.filterwarnings("ignore:validate. no matured application after:UserWarning")
def test_every_command_audits_and_masks_by_default(folder, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    apps = pd.read_parquet(folder / "applications.parquet")
    apps[["uscc"]].head(200).to_csv(out / "book.csv", index=False)
    strategy = out / "strategy"
    replay = ["--consent-at", "as-of", "--actor", "risk-7", "--audit-log",
              str(tmp_path / "logs" / "audit.jsonl")]
    runs = [
        ["train", "--strategy", "sme_scorecard", "--data", str(folder), "--out", str(strategy)],
        ["score", "--strategy", str(strategy), "--data", str(folder), "--as-of", AS_OF,
         "--out", str(out / "scores.parquet"), "--profile", "--quiet"],
        ["profile", "--data", str(folder), "--as-of", AS_OF, "--strategy", str(strategy),
         "--out", str(out / "profiles.csv"), "--detail"],
        ["monitor", "--data", str(folder), "--as-of", AS_OF, "--book", str(out / "book.csv"),
         "--out", str(out / "alerts.csv")],
        ["features", str(folder), "--as-of", AS_OF, "--out", str(out / "features.csv"),
         "--quiet"],
        ["report", "--strategy", str(strategy), "--data", str(folder), "--out",
         str(out / "report.html"), "--excel", str(out / "report.xlsx"), "--n-boot", "10"],
        ["portfolio", "--strategy", str(strategy), "--data", str(folder), "--until", AS_OF,
         "--months", "2", "--out", str(out / "book.html")],
    ]
    for argv in runs:
        assert main([*argv, *replay]) == 0, argv
    printed = capsys.readouterr()
    (out / "screen.txt").write_text(printed.out + printed.err, encoding="utf-8")
    (out / "book.csv").unlink()  # the input, not an output
    ids = set(pd.read_parquet(folder / "enterprises.parquet")["uscc"].astype(str))
    found, scanned = raw_identifiers(out, ids)
    assert scanned >= 10 and not found, found[:5]
    log = AuditLog(tmp_path / "logs" / "audit.jsonl").records()
    assert [r["event"] for r in log] == ["train", "decide_start", "decide", "profile",
                                         "monitor", "features", "validate", "portfolio"]
    assert {r["actor"] for r in log} == {"risk-7"} and all(r["masked"] for r in log)
    assert {r["purpose"] for r in log} == {"model_development", "credit_assessment",
                                           "post_loan_monitoring"}
    assert verify_log(tmp_path / "logs" / "audit.jsonl").ok
    assert not list(out.glob("*.key")) and not list(out.glob("*.jsonl"))  # nothing beside
    # the outputs keep every enterprise, saying which were not processed and why
    for name in ("scores.parquet", "profiles.csv", "features.csv"):
        frame = (pd.read_parquet if name.endswith("parquet") else pd.read_csv)(out / name)
        assert len(frame) == len(ids) and {"consent", "uscc_key"} <= set(frame.columns), name
        assert set(frame["consent"]) >= {"ok", "none"}, name


def test_unmasked_output_is_explicit_and_recorded(folder, tmp_path):
    log = tmp_path / "logs" / "audit.jsonl"
    assert main(["features", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "f.csv"),
                 "--features", "tax_12m", "--unmasked", "--audit-log", str(log),
                 "--quiet"]) == 0
    got = pd.read_csv(tmp_path / "f.csv", dtype={"uscc": str})
    assert "uscc_key" not in got
    assert list(got["uscc"]) == list(pd.read_parquet(folder / "enterprises.parquet")["uscc"])
    rec = AuditLog(log).records()[-1]
    assert rec["masked"] is False and rec["event"] == "features"
    key = GovernanceConfig.from_dict({}).governance(actor="a", consents=_consent_file(
        tmp_path), audit_log=log).key
    assert (home() / "audit.key").read_bytes().strip() == key  # the user's own key
    assert stat.S_IMODE((home() / "audit.key").stat().st_mode) == 0o600
    assert not (log.parent / "audit.key").exists()


def test_consent_at_now_counts_what_lapsed_since(folder, tmp_path):
    """Using old data today: authorisations that expired or were revoked since are refused."""
    run = ["features", str(folder), "--as-of", AS_OF, "--features", "tax_12m", "--quiet"]
    assert main([*run, "--out", str(tmp_path / "now.csv")]) == 0
    assert main([*run, "--out", str(tmp_path / "then.csv"), "--consent-at", "as-of"]) == 0
    assert main([*run, "--out", str(tmp_path / "day.csv"), "--consent-at", AS_OF]) == 0
    now, then, day = (pd.read_csv(tmp_path / f"{n}.csv")["consent"]
                      for n in ("now", "then", "day"))
    consents = pd.read_parquet(folder / "consents.parquet")
    ent = pd.read_parquet(folder / "enterprises.parquet")[["uscc"]]
    today = authorised(consents, ent.assign(as_of=pd.Timestamp.now()), "credit_assessment")
    back = authorised(consents, ent.assign(as_of=pd.Timestamp(AS_OF)), "credit_assessment")
    assert (now == "ok").tolist() == today.tolist()
    assert (then == "ok").tolist() == back.tolist() == (day == "ok").tolist()
    assert back.sum() > today.sum()  # most authorisations of 2025 have lapsed by now
    assert main([*run, "--out", str(tmp_path / "x.csv"), "--consent-at", "soon"]) == 2
    assert main([*run, "--out", str(tmp_path / "x.csv"), "--consent-at", "2999-01-01"]) == 2


def test_bad_names_and_settings_are_clear_errors_before_any_work(folder, tmp_path, capsys):
    def err(args) -> tuple[int, str]:
        code = main(args)
        return code, capsys.readouterr().err

    code, msg = err(["train", "--strategy", "nosuch", "--data", str(folder), "--out",
                     str(tmp_path / "s")])
    assert code == 1 and "no strategy 'nosuch'; available:" in msg and "Traceback" not in msg
    code, msg = err(["features", str(folder), "--as-of", AS_OF, "--features", "nosuch",
                     "--out", str(tmp_path / "f.csv"), "--quiet"])
    assert code == 1 and "unknown feature id(s) ['nosuch']" in msg
    # a misspelt [monitoring] key would be sealed into the artifact: refused before fitting
    spec = tmp_path / "mon"
    spec.mkdir()
    shipped = Path(tc.__file__).parent / "strategy" / "specs" / "sme_scorecard.toml"
    toml = shipped.read_text(encoding="utf-8")
    assert "lookback_days = 31" in toml
    (spec / "strategy.toml").write_text(toml.replace("lookback_days = 31", "lookback_dayz = 31"),
                                        encoding="utf-8")
    code, msg = err(["train", "--strategy", str(spec), "--data", str(folder), "--out",
                     str(tmp_path / "trained")])
    assert code != 0 and "lookback_dayz" in msg and not (tmp_path / "trained").exists()
    pd.DataFrame({"id": [1]}).to_csv(tmp_path / "book.csv", index=False)
    code, msg = err(["portfolio", "--strategy", "sme_scorecard", "--data", str(folder),
                     "--book", str(tmp_path / "book.csv"), "--out", str(tmp_path / "p.html")])
    assert code == 1 and "needs column(s) ['uscc']" in msg


def test_without_a_consent_table_nothing_is_processed(folder, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(folder, bare)
    (bare / "consents.parquet").unlink()
    (bare / "_validated.json").unlink(missing_ok=True)
    assert main(["features", str(bare), "--as-of", AS_OF, "--out", str(tmp_path / "f.csv"),
                 "--quiet"]) == 1
    assert "no consent table" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()
    # the bank's own consent file, named on the command line
    pd.read_parquet(folder / "consents.parquet").to_csv(tmp_path / "c.csv", index=False)
    assert main(["features", str(bare), "--as-of", AS_OF, "--out", str(tmp_path / "f.csv"),
                 "--quiet", "--consents", str(tmp_path / "c.csv"), "--consent-at",
                 "as-of"]) == 0
    assert (pd.read_csv(tmp_path / "f.csv")["consent"] == "ok").any()
    with pytest.raises(SystemExit) as exc:  # not a purpose tax data may serve
        main(["features", str(bare), "--as-of", AS_OF, "--out", str(tmp_path / "f.csv"),
              "--purpose", "marketing"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_governance_file_bank_breaker_and_actor_limits(folder, tmp_path, capsys):
    cfg = tmp_path / "gov" / "governance.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        'bank = "synthetic-bank"\naudit_log = "logs/audit.jsonl"\n'
        '[breaker]\nstate = "breaker.json"\n'
        "limits = { enterprises_per_hour = 100, off_hours_bulk = 100000 }\n"
        "[breaker.actors.nightly]\nenterprises_per_hour = 100000\n"
        "no_consent_per_hour = 100000\n", encoding="utf-8")
    run = ["features", str(folder), "--as-of", AS_OF, "--features", "tax_12m", "--quiet",
           "--governance", str(cfg), "--consent-at", "as-of", "--out", str(tmp_path / "f.csv")]
    assert main([*run, "--actor", "analyst"]) == 1  # 1,500 enterprises > 100 an hour
    assert "suspended" in capsys.readouterr().err
    assert main([*run, "--actor", "analyst"]) == 1  # stays open until reset
    assert "supervisor must reset" in capsys.readouterr().err
    assert main([*run, "--actor", "nightly"]) == 0  # a service account's own limits
    log = cfg.parent / "logs" / "audit.jsonl"
    events = [(r["event"], r["actor"]) for r in AuditLog(log).records()]
    assert ("breaker_tripped", "analyst") in events and ("features", "nightly") in events
    assert ("features", "analyst") not in events
    assert events.count(("refused", "analyst")) == 1  # the second run, the breaker open
    CircuitBreaker(audit=AuditLog(log), state=cfg.parent / "breaker.json").reset(
        "analyst", by="supervisor-1", note="ticket 42")
    assert AuditLog(log).records()[-1]["event"] == "breaker_reset"
    # another bank's authorisations do not count
    cfg.write_text('bank = "another-bank"\naudit_log = "logs/audit.jsonl"\n', encoding="utf-8")
    assert main([*run, "--actor", "analyst"]) == 0
    assert set(pd.read_csv(tmp_path / "f.csv")["consent"]) == {"none"}
    assert verify_log(log).ok


def test_governance_config_round_trip_and_errors(tmp_path):
    d = {"bank": "B", "consents": "c.csv", "audit_log": "a.jsonl", "key_file": "k",
         "breaker": {"state": "s.json", "limits": {"requests_per_minute": 10},
                     "actors": {"batch": {"enterprises_per_hour": 10**6}}}}
    cfg = GovernanceConfig.from_dict(d, base=tmp_path)
    assert cfg.to_dict() == d
    assert GovernanceConfig.from_dict(cfg.to_dict(), base=tmp_path) == cfg
    assert cfg.limits_for("batch").enterprises_per_hour == 10**6
    assert cfg.limits_for("batch").requests_per_minute == 10
    assert cfg.limits_for("someone").enterprises_per_hour == 5_000
    with pytest.raises(ValueError, match="unknown setting"):
        GovernanceConfig.from_dict({"bank": "B", "consent": "c.csv"})
    with pytest.raises(ValueError, match="give state"):
        GovernanceConfig.from_dict({"breaker": {"limits": {}}})
    with pytest.raises(ValueError, match=r"breaker.actors.x"):
        GovernanceConfig.from_dict({"breaker": {"state": "s", "actors": {"x": {"nope": 1}}}})
    with pytest.raises(ValueError, match="non-empty text"):
        GovernanceConfig.from_dict({"bank": 3})
    with pytest.raises(ConsentError, match="no such key file"):
        cfg.governance(actor="a", consents=_consent_file(tmp_path))
    (tmp_path / "k").write_text("short", encoding="utf-8")
    with pytest.raises(ConsentError, match="at least 16 bytes"):
        cfg.governance(actor="a", consents=_consent_file(tmp_path))
    (tmp_path / "k").write_text("x" * 32, encoding="utf-8")
    gov = cfg.governance(actor="a", consents=_consent_file(tmp_path))
    assert gov.key == b"x" * 32 and gov.audit.path == tmp_path / "a.jsonl"
    assert gov.breaker.state_path == tmp_path / "s.json"
    assert len(gov.consents) == 0  # only bank B's authorisations
    (tmp_path / "bad.toml").write_text("bank = ", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        GovernanceConfig.from_toml(tmp_path / "bad.toml")
    with pytest.raises(ConsentError, match="no audit log"):
        GovernanceConfig().governance(actor="a", consents=_consent_file(tmp_path))


def _consent_file(folder):
    path = folder / "consents.csv"
    pd.DataFrame({"uscc": ["91110108551385082Q"], "bank": ["A"],
                  "purposes": ["credit_assessment"], "granted_at": ["2025-01-01"],
                  "expires_at": ["2026-01-01"]}).to_csv(path, index=False)
    return path


def test_streamed_governed_features_equal_the_in_memory_ones(folder, tmp_path):
    run = ["features", str(folder), "--as-of", AS_OF, "--quiet", "--consent-at", "as-of",
           "--chunk-size", "400"]
    assert main([*run, "--out", str(tmp_path / "s.parquet"), "--jobs", "2"]) == 0  # streamed
    assert main([*run, "--out", str(tmp_path / "m.csv")]) == 0  # in memory
    got = pd.read_parquet(tmp_path / "s.parquet")
    want = pd.read_csv(tmp_path / "m.csv", dtype={"uscc": str})
    assert list(got.columns) == list(want.columns)
    assert list(got["uscc_key"]) == list(want["uscc_key"])  # every enterprise, in order
    assert list(got["consent"]) == list(want["consent"])
    ok = (got["consent"] == "ok").to_numpy()
    assert 0 < ok.sum() < len(ok)
    for c in ("tax_12m", "sales_yoy", "arrears_now"):
        np.testing.assert_allclose(got[c].to_numpy(dtype=float), want[c].to_numpy(dtype=float),
                                   rtol=1e-12, equal_nan=True)
        assert got.loc[~ok, c].isna().all()
    assert list(got["industry_section"].fillna("")) == list(want["industry_section"].fillna(""))
    assert not list(tmp_path.glob(".*authorised*"))  # the scratch file is gone


def test_a_streamed_features_run_that_fails_leaves_the_last_output_and_is_audited(
        folder, tmp_path, monkeypatch):
    from taxcredit.governance import ConsentRegistry, Governance

    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(ConsentRegistry(pd.read_parquet(folder / "consents.parquet")),
                     actor="t", audit=log, key=b"k" * 32)
    out = tmp_path / "features.parquet"
    gov.features_folder(folder, AS_OF, features=["tax_12m"], at="as_of", out=out)
    before = pd.read_parquet(out)
    # the same job again in 400-row blocks, interrupted while writing its second block
    monkeypatch.setattr(Governance._features_streamed, "__defaults__", (400,))
    finish, calls = Governance._finish, []

    def failing(self, df):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("interrupted")
        return finish(self, df)

    monkeypatch.setattr(Governance, "_finish", failing)
    with pytest.raises(KeyboardInterrupt):
        gov.features_folder(folder, AS_OF, features=["tax_12m"], at="as_of", out=out)
    pd.testing.assert_frame_equal(pd.read_parquet(out), before)  # not half of a new one
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    records = log.records()
    assert [r["event"] for r in records] == ["features", "features"]
    assert "completed" not in records[0] and records[1]["completed"] is False
    assert verify_log(log.path).ok
