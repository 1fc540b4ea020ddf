"""The committed strategies in models/: intact, in step with the built-in specs, usable."""

from __future__ import annotations

from pathlib import Path

import pytest

import taxcredit as tc

MODELS = Path(__file__).resolve().parents[2] / "models"
NAMES = ["sme_scorecard", "digital_gbm", "scitech_sme"]


@pytest.fixture(scope="module")
def ds():
    return tc.datasets.make_population(n_enterprises=800, months=36, seed=2)


@pytest.mark.parametrize("name", NAMES)
def test_committed_strategy_loads_matches_its_spec_and_decides(name, ds):
    s = tc.load_strategy(MODELS / name)  # verifies every file's SHA-256
    assert s.spec.to_dict() == tc.strategies.get(name).spec.to_dict(), (
        f"models/{name}/strategy.toml and taxcredit/strategy/specs/{name}.toml differ: "
        "run bash models/build.sh")
    d = s.decide(ds, as_of="2025-06-30")
    assert len(d) == ds.n_enterprises
    assert set(d["decision"].astype(str)) <= {"approve", "refer", "decline"}
    assert (d["pd"].between(0, 1)).all()
