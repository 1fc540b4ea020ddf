"""Batch scoring: equal to in-memory decisions, whatever the chunks or workers; resumable."""

from __future__ import annotations

import pandas as pd
import pytest

import taxcredit as tc
from taxcredit import batch
from taxcredit.cli.main import main


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


def test_cli_train_and_score(setup, tmp_path, capsys):
    data, _, expected = setup
    assert main(["train", "--strategy", "sme_scorecard", "--data", str(data), "--out",
                 str(tmp_path / "s")]) == 0
    out = tmp_path / "x.parquet"
    assert main(["score", "--strategy", str(tmp_path / "s"), "--data", str(data), "--as-of",
                 "2025-06-30", "--out", str(out), "--quiet"]) == 0
    _same(pd.read_parquet(out), expected)
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
