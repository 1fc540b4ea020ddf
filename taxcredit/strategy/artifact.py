"""Saving and loading fitted strategies: plain files, a model card, SHA-256 of every file.

A folder holds ``strategy.toml`` (the spec), ``model.json`` (a scorecard's bins and points, or
LightGBM's text model inside JSON), ``calibration.json`` and ``model_card.json`` (what was
trained on what, with which library versions, and the hash of every other file), and one
``<name>.json`` per fitted add-on in ``Strategy.attachments_`` (such as the profile
reference population). Loading
re-hashes every file and refuses any that changed. Built-in models are plain JSON: nothing in
the folder can run code when loaded. A bank's own scikit-learn model is saved with skops
(``model.skops``; types it does not know are refused unless the caller trusts the file), or,
without skops, with joblib (``model.joblib``; loaded only with ``trusted=True``).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ArtifactError
from ..modeling import GBMRiskModel, PDCalibrator, WoEScorecard
from .spec import StrategySpec
from .strategy import Strategy

__all__ = ["load_strategy", "save_strategy"]

CARD = "model_card.json"
#: the card's own digest: its windows, fingerprint and list of files cannot change unnoticed
CARD_DIGEST = "card_sha256"
_MODELS = {"scorecard": WoEScorecard, "gbm": GBMRiskModel}
_RESERVED = {"model", "calibration", "model_card", "strategy"}


def _attachment_file(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name) or name in _RESERVED:
        raise ArtifactError(f"attachment name {name!r}: use lower-case letters, digits and _ "
                            f"(not one of {sorted(_RESERVED)})")
    return f"{name}.json"


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
    model_file = _save_model(strategy, folder)
    (folder / "calibration.json").write_text(
        json.dumps(strategy.calibrator_.to_dict(), indent=1), encoding="utf-8")
    _drop_stale_attachments(folder, keep=set(strategy.attachments_))
    attached = []
    for name, payload in sorted(strategy.attachments_.items()):
        file = _attachment_file(name)
        (folder / file).write_text(json.dumps(payload, ensure_ascii=False, allow_nan=False,
                                              separators=(",", ":")), encoding="utf-8")
        attached.append(file)
    card = {
        "strategy": strategy.spec.name, "version": strategy.spec.version,
        "title": {"zh": strategy.spec.zh, "en": strategy.spec.en},
        "model_type": strategy.spec.model_type,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": _versions(), **strategy.card_,
        "model_file": model_file,
        "attachments": sorted(strategy.attachments_),
        "files": {name: _sha256(folder / name)
                  for name in (*_files(model_file), *attached)},
    }
    card[CARD_DIGEST] = _card_digest(card)
    (folder / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    return folder


def _card_digest(card: dict) -> str:
    """SHA-256 of the card's content (canonical JSON, the digest itself left out)."""
    body = {k: v for k, v in card.items() if k != CARD_DIGEST}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _drop_stale_attachments(folder: Path, keep: set[str]) -> None:
    """Remove add-on files an earlier save listed and this one does not have."""
    try:
        old = json.loads((folder / CARD).read_text(encoding="utf-8")).get("attachments", [])
    except (OSError, json.JSONDecodeError):
        return
    for name in old if isinstance(old, list) else []:
        if name not in keep:
            (folder / _attachment_file(name)).unlink(missing_ok=True)


def _files(model_file: str) -> tuple[str, ...]:
    return ("strategy.toml", model_file, "calibration.json")


def _save_model(strategy: Strategy, folder: Path) -> str:
    """Write the model; return its file name (JSON, or skops / joblib for a custom model)."""
    for stale in ("model.json", "model.skops", "model.joblib"):
        (folder / stale).unlink(missing_ok=True)
    if strategy.spec.model_type != "custom":
        strategy.model_.to_json(folder / "model.json")
        return "model.json"
    try:
        import skops.io as sio
    except ImportError:  # joblib: loading it later needs trusted=True
        import joblib

        joblib.dump(strategy.model_, folder / "model.joblib")
        return "model.joblib"
    sio.dump(strategy.model_, folder / "model.skops")
    return "model.skops"


def _load_model(spec: StrategySpec, path: Path, trusted: bool):
    if spec.model_type != "custom":
        return _MODELS[spec.model_type].from_json(path)
    if path.suffix == ".skops":
        import skops.io as sio

        unknown = sio.get_untrusted_types(file=path)
        if unknown and not trusted:
            raise ArtifactError(
                f"{path}: the model needs types skops does not trust by default: {unknown}; "
                "load_strategy(folder, trusted=True) if you made this file")
        return sio.load(path, trusted=unknown)
    if not trusted:
        raise ArtifactError(
            f"{path}: a joblib/pickle file runs whatever code it carries when loaded; "
            "load_strategy(folder, trusted=True) only for a file you made (or install skops "
            "and save again)")
    import joblib

    return joblib.load(path)


def load_strategy(folder, *, trusted: bool = False) -> Strategy:
    """Load a strategy folder: fitted (with a model card) or a bare ``strategy.toml``.

    Parameters
    ----------
    folder : path-like
    trusted : bool
        Allow a custom model saved with joblib, or with types skops does not trust by
        default. Scorecards and LightGBM models are plain JSON and never need it.

    Raises
    ------
    ArtifactError
        A file the card lists is missing or its SHA-256 differs (tampered with or corrupted),
        the card does not match the spec, or a custom model is not trusted.
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
    if not isinstance(card, dict) or card.get(CARD_DIGEST) != _card_digest(card):
        raise ArtifactError(
            f"{card_file}: the model card's content does not match its {CARD_DIGEST} (it "
            "was edited after training, or written by a taxcredit before cards carried "
            "one) — retrain and save again, or restore the original")
    model_file = card.get("model_file", "model.json")
    if model_file not in ("model.json", "model.skops", "model.joblib"):
        raise ArtifactError(f"{card_file}: unexpected model file {model_file!r}")
    attachments = card.get("attachments", [])
    if not isinstance(attachments, list):
        raise ArtifactError(f"{card_file}: 'attachments' must be a list of names")
    for name in (*_files(model_file), *map(_attachment_file, attachments)):
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
    strategy.model_ = _load_model(spec, folder / model_file, trusted)
    strategy.calibrator_ = PDCalibrator.from_dict(
        json.loads((folder / "calibration.json").read_text(encoding="utf-8")))
    for name in attachments:
        try:
            strategy.attachments_[name] = json.loads(
                (folder / _attachment_file(name)).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:  # pragma: no cover - the hash matched
            raise ArtifactError(f"{folder / _attachment_file(name)}: not JSON ({exc})") from exc
    strategy.card_ = {k: v for k, v in card.items()
                      if k not in ("files", "libraries", "created", "strategy", "version",
                                   "title", "model_type", "model_file", "attachments",
                                   CARD_DIGEST)}
    return strategy
