"""Batch scoring: equal to in-memory decisions, whatever the chunks or workers; resumable."""

from __future__ import annotations

import pandas as pd
import pytest

import taxcredit as tc
from taxcredit import batch
from taxcredit.cli.main import main
from tests.conftest import authorised


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    data = root / "data"
    tc.datasets.write_population(data, n_enterprises=2_000, months=36, seed=21, progress=False)
    ds = tc.TaxDataset.from_folder(data)
    strategy = tc.strategies.get("sme_scorecard").fit(ds)
    folder = strategy.save(root / "strategy")
    expected = strategy.decide(ds, as_of="2025-06-30").reset_index()
    return data, folder, expected


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got["uscc"]) == list(expected["uscc"].astype(str))
    for c in ("pd", "score", "limit", "eligible"):
        pd.testing.assert_series_equal(got[c], expected[c], check_names=False)
    for c in ("decision", "grade", "rule_hits", "reason_1"):
        assert list(got[c].astype(str)) == list(expected[c].astype(str)), c


@pytest.mark.parametrize(("chunk_size", "n_jobs"), [(300, 1), (700, 2), (5_000, 1)])
def test_batch_equals_in_memory_decisions(setup, tmp_path, chunk_size, n_jobs):
    data, folder, expected = setup
    out = tmp_path / "scores.parquet"
    res = batch.score_folder(folder, data, "2025-06-30", out, chunk_size=chunk_size,
                             n_jobs=n_jobs)
    assert res["rows"] == len(expected) and not (tmp_path / "scores.parquet.parts").exists()
    _same(pd.read_parquet(out), expected)


def test_an_interrupted_job_resumes_without_loss_or_duplicates(setup, tmp_path, monkeypatch):
    data, folder, expected = setup
    out = tmp_path / "scores.parquet"
    real = batch._score_range
    calls = []

    def dies_after_two_ranges(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_score_range", dies_after_two_ranges)
    with pytest.raises(KeyboardInterrupt):
        batch.score_folder(folder, data, "2025-06-30", out, chunk_size=250)
    assert not out.exists() and len(list((tmp_path / "scores.parquet.parts").glob("*.parquet")))
    monkeypatch.setattr(batch, "_score_range", real)
    res = batch.score_folder(folder, data, "2025-06-30", out, chunk_size=250)
    assert res["resumed"] >= 1
    _same(pd.read_parquet(out), expected)


def test_parts_of_another_job_are_not_reused(setup, tmp_path):
    data, folder, expected = setup
    out = tmp_path / "scores.parquet"
    parts = tmp_path / "scores.parquet.parts"
    parts.mkdir()
    (parts / "_job.json").write_text("{}", encoding="utf-8")
    pd.DataFrame({"x": [1]}).to_parquet(parts / "part-000000.parquet")
    res = batch.score_folder(folder, data, "2025-06-30", out, chunk_size=1_000)
    assert res["resumed"] == 0
    _same(pd.read_parquet(out), expected)


def test_cli_train_and_score_are_governed(setup, tmp_path, capsys):
    data, _, _ = setup
    ds = tc.TaxDataset.from_folder(data)
    consents = ds["consents"]
    log = ["--audit-log", str(tmp_path / "audit.jsonl")]
    assert main(["train", "--strategy", "sme_scorecard", "--data", str(data), "--out",
                 str(tmp_path / "s"), "--consent-at", "as-of", *log]) == 0
    # golden: trained on the applications authorised for model development at their date
    apps = ds["applications"]
    dev = authorised(consents, apps.rename(columns={"application_date": "as_of"}),
                     "model_development")
    assert 0 < dev.sum() < len(apps)
    kept = tc.TaxDataset({**ds.tables, "applications": apps[dev].reset_index(drop=True)},
                          validated=ds.validated)
    strategy = tc.strategies.get("sme_scorecard").fit(kept)
    assert tc.load_strategy(tmp_path / "s").card_["data_fingerprint"] == \
        strategy.card_["data_fingerprint"]
    # scores are Parquet: a .csv name would hold Parquet bytes (refused before any work)
    assert main(["score", "--strategy", str(tmp_path / "s"), "--data", str(data), "--as-of",
                 "2025-06-30", "--out", str(tmp_path / "x.csv"), "--quiet", *log]) == 2
    assert "must be a .parquet file" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    out = tmp_path / "x.parquet"
    assert main(["score", "--strategy", str(tmp_path / "s"), "--data", str(data), "--as-of",
                 "2025-06-30", "--out", str(out), "--quiet", "--consent-at", "as-of",
                 "--unmasked", *log]) == 0
    assert "not processed without a live authorisation" in capsys.readouterr().out
    got = pd.read_parquet(out)
    ent = ds["enterprises"][["uscc"]].assign(as_of=pd.Timestamp("2025-06-30"))
    ok = authorised(consents, ent, "credit_assessment")
    assert list(got["uscc"]) == list(ent["uscc"].astype(str))  # every enterprise, in order
    assert (got["consent"] == "ok").to_numpy().tolist() == ok.tolist()
    no = got[~ok]
    assert (no["decision"] == "not_processed").all() and no["pd"].isna().all()
    assert no["score"].isna().all() and no["limit"].isna().all()
    expected = strategy.decide(ds.select(ent["uscc"][ok]), as_of="2025-06-30").reset_index()
    expected["score"] = expected["score"].astype("Int64")  # missing where not processed
    _same(got[ok].reset_index(drop=True), expected)
    # masked by default, with a keyed pseudonym that is the same from run to run
    assert main(["score", "--strategy", str(tmp_path / "s"), "--data", str(data), "--as-of",
                 "2025-06-30", "--out", str(tmp_path / "m.parquet"), "--quiet",
                 "--consent-at", "as-of", *log]) == 0
    masked = pd.read_parquet(tmp_path / "m.parquet")
    assert masked["uscc"].str.contains("********", regex=False).all()
    assert not set(masked["uscc"]) & set(ent["uscc"].astype(str))
    again = tmp_path / "m2.parquet"
    assert main(["score", "--strategy", str(tmp_path / "s"), "--data", str(data), "--as-of",
                 "2025-06-30", "--out", str(again), "--quiet", "--consent-at", "as-of",
                 *log]) == 0
    assert list(pd.read_parquet(again)["uscc_key"]) == list(masked["uscc_key"])
    assert masked["uscc_key"].nunique() == len(masked)
    # audited: the training and the three scoring runs, the chain intact
    log = tc.governance.AuditLog(tmp_path / "audit.jsonl").records()
    assert [r["event"] for r in log] == ["train", *["decide_start", "decide"] * 3]
    assert [r["masked"] for r in log] == [True, False, False, True, True, True, True]
    assert log[2]["decisions"]["not_processed"] == int((~ok).sum())
    assert tc.governance.verify_log(tmp_path / "audit.jsonl").ok
    # an unfitted strategy folder is refused with a message
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "strategy.toml").write_text(
        (tmp_path / "s" / "strategy.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["score", "--strategy", str(tmp_path / "bare"), "--data", str(data),
                 "--as-of", "2025-06-30", "--out", str(out)]) == 1  # bad input
    assert "not a fitted strategy" in capsys.readouterr().err
    for cmd in ("train", "score"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert f"taxcredit {cmd} --strategy" in capsys.readouterr().out


def test_governed_batch_is_the_same_whatever_the_chunks_and_workers(setup, tmp_path):
    data, folder, _ = setup
    reg = tc.governance.ConsentRegistry(pd.read_parquet(data / "consents.parquet"))
    key = b"k" * 32

    def run(name, chunk_size, n_jobs):
        gov = tc.Governance(reg, actor="batch", key=key,
                            audit=tc.governance.AuditLog(tmp_path / "audit.jsonl"))
        res = batch.score_folder(folder, data, "2025-06-30", tmp_path / name,
                                 chunk_size=chunk_size, n_jobs=n_jobs, governance=gov,
                                 consent_at="as_of", profile=False)
        return res, pd.read_parquet(tmp_path / name)

    res, a = run("a.parquet", 5_000, 1)
    _, b = run("b.parquet", 300, 2)
    pd.testing.assert_frame_equal(a, b)
    assert res["not_processed"] == int((a["decision"] == "not_processed").sum()) > 0
    assert a["uscc"].str.contains("********", regex=False).all()
    assert tc.governance.verify_log(tmp_path / "audit.jsonl").ok


def test_governed_batch_fails_closed_on_codes_written_differently(setup, tmp_path):
    """An enterprise without consent stays unprocessed even if its code is full-width."""
    import shutil

    import pyarrow.parquet as pq

    data, folder, _ = setup
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    (copy / "_validated.json").unlink(missing_ok=True)
    consents = pd.read_parquet(copy / "consents.parquet")
    ent = pq.read_table(copy / "enterprises.parquet").to_pandas()
    code = ent.loc[~ent["uscc"].isin(consents["uscc"]), "uscc"].iloc[0]  # never authorised
    wide = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for f in copy.glob("*.parquet"):  # written so in every table (an Excel export)
        t = pq.read_table(f).to_pandas()
        if "uscc" in t and (t["uscc"] == code).any():
            t["uscc"] = t["uscc"].astype(object).where(t["uscc"] != code, wide)
            t.to_parquet(f, index=False)
    gov = tc.Governance(tc.governance.ConsentRegistry(consents), actor="batch", mask=False)
    batch.score_folder(folder, copy, "2025-06-30", tmp_path / "s.parquet", chunk_size=700,
                       governance=gov, consent_at="as_of")
    got = pd.read_parquet(tmp_path / "s.parquet")
    row = got[got["uscc"] == code]
    assert len(row) == 1 and row["decision"].iloc[0] == "not_processed"
    assert row["consent"].iloc[0] == "none" and pd.isna(row["pd"].iloc[0])


def test_governed_batch_with_profiles_and_chunks_where_nobody_is_authorised(setup, tmp_path):
    data, _, _ = setup
    ds = tc.TaxDataset.from_folder(data)
    strategy = tc.strategies.get("sme_scorecard").fit(ds)
    tc.profile.fit_reference(strategy, ds)
    folder = strategy.save(tmp_path / "strategy")
    first = ds["enterprises"]["uscc"].astype(str).head(100)
    consents = pd.DataFrame({"uscc": first, "purposes": "credit_assessment",
                             "granted_at": pd.Timestamp("2020-01-01"),
                             "expires_at": pd.Timestamp("2030-01-01")})
    gov = tc.Governance(tc.governance.ConsentRegistry(consents), actor="b", mask=False)
    batch.score_folder(folder, data, "2025-06-30", tmp_path / "s.parquet", chunk_size=300,
                       profile=True, governance=gov)  # chunks 2.. have no authorised firm
    got = pd.read_parquet(tmp_path / "s.parquet")
    assert len(got) == ds.n_enterprises and (got["consent"] == "ok").sum() == 100
    assert got.loc[:99, "profile_score"].notna().all()
    assert got.loc[100:, "profile_score"].isna().all() and got.loc[100:, "strengths"].isna().all()
