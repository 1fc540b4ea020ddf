"""Profiles with a strategy: settings in strategy.toml, reference saved with it, joined output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit import batch
from taxcredit.cli.main import main
from taxcredit.errors import ArtifactError
from taxcredit.profile import ATTACHMENT, decide_with_profiles, fit_reference, profiler_for
from taxcredit.strategy import StrategySpec
from tests.conftest import authorised

AS_OF = "2025-06-30"
SETTINGS = {"min_group_size": 40, "weights": {"arrears_now": 2.0},
            "dimension_weights": {"credit_history": 2.0},
            "members": {"headcount": "entity"}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("prof")
    data = root / "data"
    tc.datasets.write_population(data, n_enterprises=2_000, months=36, seed=61, progress=False)
    ds = tc.TaxDataset.from_folder(data)
    d = tc.strategies.get("sme_scorecard").spec.to_dict()
    d["profile"] = SETTINGS
    strategy = tc.Strategy(StrategySpec.from_dict(d)).fit(ds)
    fit_reference(strategy, ds)
    folder = strategy.save(root / "strategy")
    return data, ds, strategy, folder


def test_profile_settings_round_trip_through_strategy_toml(tmp_path):
    d = tc.strategies.get("sme_scorecard").spec.to_dict()
    d["profile"] = SETTINGS
    spec = StrategySpec.from_dict(d)
    (tmp_path / "strategy.toml").write_text(spec.to_toml(), encoding="utf-8")
    back = StrategySpec.from_toml(tmp_path / "strategy.toml")
    assert back.profile == SETTINGS
    d["profile"] = "weights"
    with pytest.raises(ValueError, match=r"\[profile\] must be a table"):
        StrategySpec.from_dict(d)


def test_the_reference_is_saved_with_the_strategy_and_guarded(setup, tmp_path):
    _, _, strategy, folder = setup
    loaded = tc.load_strategy(folder)
    assert loaded.attachments_[ATTACHMENT] == json.loads(json.dumps(
        strategy.attachments_[ATTACHMENT]))
    prof = profiler_for(loaded)
    assert prof.get_params()["weights"] == {"arrears_now": 2.0}
    assert prof.indicators["headcount"] == "entity"
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    assert "profile_reference.json" in card["files"]
    # tampering with the reference is caught like any other artifact file
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    ref = json.loads((copy / "profile_reference.json").read_text(encoding="utf-8"))
    ref["n_reference"] += 1
    (copy / "profile_reference.json").write_text(json.dumps(ref), encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"profile_reference\.json"):
        tc.load_strategy(copy)
    # saving again without the reference removes the stale file
    bare = tc.load_strategy(folder)
    bare.attachments_.clear()
    bare.save(copy)
    assert not (copy / "profile_reference.json").exists()
    with pytest.raises(ArtifactError, match="no profile reference"):
        profiler_for(tc.load_strategy(copy))


def test_decisions_and_profiles_join_row_for_row(setup):
    _, ds, strategy, _ = setup
    out = decide_with_profiles(strategy, ds, AS_OF, lang="en")
    dec = strategy.decide(ds, AS_OF, lang="en")
    prof = tc.build_profiles(ds, AS_OF, strategy=strategy, lang="en")
    assert out.index.equals(dec.index) and out.index.equals(prof.index)
    pd.testing.assert_frame_equal(out[dec.columns], dec)
    pd.testing.assert_frame_equal(out[prof.columns], prof)
    assert {"score_credit_history", "profile_score", "strengths", "peer_entity"} <= \
        set(out.columns)


def test_a_profile_does_not_move_when_other_enterprises_are_added(setup):
    _, ds, strategy, _ = setup
    usccs = ds["enterprises"]["uscc"].astype(str)
    few = pd.DataFrame({"uscc": usccs.head(15), "as_of": pd.Timestamp(AS_OF)})
    many = pd.DataFrame({"uscc": usccs.head(600), "as_of": pd.Timestamp(AS_OF)})
    a = tc.build_profiles(ds, few, strategy=strategy)
    b = tc.build_profiles(ds, many, strategy=strategy)
    pd.testing.assert_frame_equal(b.head(15), a)


def test_batch_scoring_with_profiles_equals_in_memory(setup, tmp_path):
    data, ds, _, folder = setup
    out = tmp_path / "scores.parquet"
    batch.score_folder(folder, data, AS_OF, out, chunk_size=700, n_jobs=1, profile=True)
    got = pd.read_parquet(out)
    want = decide_with_profiles(tc.load_strategy(folder), ds, AS_OF).reset_index()
    assert list(got["uscc"]) == list(want["uscc"].astype(str))
    for c in ("pd", "profile_score", "score_operations", "peer_credit_history"):
        pd.testing.assert_series_equal(got[c], want[c], check_names=False)
    assert list(got["strengths"]) == list(want["strengths"])


def test_cli_profile_table_chart_and_errors(setup, tmp_path, capsys):
    data, ds, _, folder = setup
    u = ds["enterprises"]["uscc"].astype(str)
    ok = authorised(ds["consents"], pd.DataFrame({"uscc": u, "as_of": pd.Timestamp(AS_OF)}),
                    "credit_assessment")
    allowed, refused = u[ok].tolist(), u[~ok].tolist()
    png = tmp_path / "one.png"
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--strategy", str(folder),
                 "--uscc", allowed[0], "--out", str(png), "--consent-at", "as-of"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "画像得分" in printed and allowed[0] not in printed  # masked on screen
    # no chart of an enterprise that did not authorise the bank
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--strategy", str(folder),
                 "--uscc", refused[0], "--out", str(png), "--consent-at", "as-of"]) == 1
    err = capsys.readouterr().err
    assert "may not be profiled" in err and refused[0] not in err
    csv = tmp_path / "all.csv"
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--out", str(csv),
                 "--lang", "en", "--detail", "--consent-at", "as-of", "--unmasked"]) == 0
    table = pd.read_csv(csv, dtype={"uscc": str})
    assert len(table) == len(u) and {"pct_tax_12m", "value_tax_12m"} <= set(table.columns)
    assert list(table["uscc"]) == u.tolist()
    assert (table["consent"] == "ok").tolist() == ok.tolist()
    assert table.loc[~ok, ["profile_score", "value_tax_12m"]].isna().all().all()
    assert table.loc[ok, "profile_score"].notna().all()
    # the reference is fitted on the authorised enterprises only: the same as profiling them
    want = tc.build_profiles(ds.select(allowed), AS_OF, lang="en")
    assert table.loc[ok, "profile_score"].to_numpy() == pytest.approx(
        want["profile_score"].to_numpy())
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--out",
                 str(tmp_path / "x.png")]) == 2
    assert "--uscc" in capsys.readouterr().err
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--uscc",
                 "91110108551385082Q", "--out", str(tmp_path / "y.csv")]) == 1
    assert "not in" in capsys.readouterr().err
    assert main(["profile", "--data", str(data), "--as-of", AS_OF, "--strategy",
                 "sme_scorecard", "--out", str(tmp_path / "z.csv")]) == 1
    assert "no profile reference" in capsys.readouterr().err


def test_an_enterprise_not_yet_registered_is_no_ones_peer(setup):
    _, ds, _, _ = setup
    ent = ds["enterprises"]
    later = ent["registration_date"] > pd.Timestamp(AS_OF)
    assert later.any()
    every = tc.build_profiles(ds, AS_OF, lang="en")
    existing = tc.build_profiles(ds.select(ent.loc[~later, "uscc"]), AS_OF, lang="en")
    got = every.loc[existing.index, "profile_score"]
    np.testing.assert_array_equal(got.to_numpy(), existing["profile_score"].to_numpy())


def test_cli_profile_of_named_enterprises_compares_them_with_the_folder(setup, tmp_path):
    data, _, _, _ = setup
    whole, few = tmp_path / "whole.csv", tmp_path / "few.csv"
    common = ["--data", str(data), "--as-of", AS_OF, "--consent-at", "as-of", "--unmasked",
              "--lang", "en"]
    assert main(["profile", *common, "--out", str(whole)]) == 0
    table = pd.read_csv(whole, dtype={"uscc": str})
    named = table.loc[table["consent"] == "ok", "uscc"].head(2).tolist()
    assert main(["profile", *common, "--uscc", *named, "--out", str(few)]) == 0
    two = pd.read_csv(few, dtype={"uscc": str}).set_index("uscc")
    want = table.set_index("uscc").loc[named]
    np.testing.assert_allclose(two["profile_score"].to_numpy(),
                               want["profile_score"].to_numpy())
    assert (two["strengths"] == want["strengths"]).all()
