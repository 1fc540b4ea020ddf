"""Saving and loading fitted strategies: plain files, a model card, SHA-256 of every file.

A folder holds ``strategy.toml`` (the spec), ``model.json`` (a scorecard's bins and points, or
LightGBM's text model inside JSON), ``calibration.json`` and ``model_card.json`` (what was
trained on what, with which library versions, and the hash of every other file). Loading
re-hashes every file and refuses any that changed. No pickle: nothing in the folder can run
code when loaded.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ArtifactError
from ..modeling import GBMRiskModel, PDCalibrator, WoEScorecard
from .spec import StrategySpec
from .strategy import Strategy

__all__ = ["load_strategy", "save_strategy"]

FILES = ("strategy.toml", "model.json", "calibration.json")
CARD = "model_card.json"
_MODELS = {"scorecard": WoEScorecard, "gbm": GBMRiskModel}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("taxcredit", "numpy", "pandas", "scikit-learn", "lightgbm", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def save_strategy(strategy: Strategy, folder) -> Path:
    """Write a fitted strategy to ``folder`` (created; existing artifact files replaced)."""
    strategy._check_fitted()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.toml").write_text(strategy.spec.to_toml(), encoding="utf-8")
    strategy.model_.to_json(folder / "model.json")
    (folder / "calibration.json").write_text(
        json.dumps(strategy.calibrator_.to_dict(), indent=1), encoding="utf-8")
    card = {
        "strategy": strategy.spec.name, "version": strategy.spec.version,
        "title": {"zh": strategy.spec.zh, "en": strategy.spec.en},
        "model_type": strategy.spec.model_type,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": _versions(), **strategy.card_,
        "files": {name: _sha256(folder / name) for name in FILES},
    }
    (folder / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    return folder


def load_strategy(folder) -> Strategy:
    """Load a strategy folder: fitted (with a model card) or a bare ``strategy.toml``.

    Raises
    ------
    ArtifactError
        A file the card lists is missing or its SHA-256 differs (tampered with or corrupted),
        or the card does not match the spec.
    """
    folder = Path(folder)
    spec_file = folder / "strategy.toml"
    if not spec_file.is_file():
        raise ArtifactError(f"{folder}: no strategy.toml")
    card_file = folder / CARD
    if not card_file.is_file():  # a spec not yet trained
        return Strategy(StrategySpec.from_toml(spec_file))
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{card_file}: not valid JSON ({exc})") from exc
    for name in FILES:
        path = folder / name
        want = card.get("files", {}).get(name)
        if want is None:
            raise ArtifactError(f"{card_file}: lists no hash for {name}")
        if not path.is_file():
            raise ArtifactError(f"{folder}: {name} is missing")
        got = _sha256(path)
        if got != want:
            raise ArtifactError(
                f"{path}: SHA-256 {got[:12]}… differs from the model card's {want[:12]}…; the "
                "file was changed after training — retrain, or restore the original")
    spec = StrategySpec.from_toml(spec_file)
    if card.get("strategy") != spec.name or card.get("model_type") != spec.model_type:
        raise ArtifactError(f"{folder}: the model card is for {card.get('strategy')!r} "
                            f"({card.get('model_type')}), the spec for {spec.name!r} "
                            f"({spec.model_type})")
    strategy = Strategy(spec)
    strategy.model_ = _MODELS[spec.model_type].from_json(folder / "model.json")
    strategy.calibrator_ = PDCalibrator.from_dict(
        json.loads((folder / "calibration.json").read_text(encoding="utf-8")))
    strategy.card_ = {k: v for k, v in card.items()
                      if k not in ("files", "libraries", "created", "strategy", "version",
                                   "title", "model_type")}
    return strategy
