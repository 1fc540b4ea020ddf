"""A bank strategy as data: the ``strategy.toml`` a risk manager reviews and diffs."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..modeling import MasterScale, ScoreScale
from .limits import LimitPolicy
from .rules import Rule, RuleError

__all__ = ["MODEL_TYPES", "StrategySpec", "to_toml"]

MODEL_TYPES = ("scorecard", "gbm", "custom")
CALIBRATIONS = ("platt", "beta", "isotonic")
#: the keys each fixed table of strategy.toml may hold (a misspelt key is an error, not ignored)
_KEYS = {"strategy": {"name", "version", "zh", "en"},
         "model": {"type", "features", "calibration", "central_tendency", "params"},
         "decision": {"approve_max_pd", "refer_max_pd"},
         "grades": {"names", "bounds"}}


@dataclass(frozen=True)
class StrategySpec:
    """Everything a strategy decides by, before any fitting.

    Parameters
    ----------
    name, version : str
    zh, en : str
        Titles in Chinese and English.
    model_type : {"scorecard", "gbm", "custom"}
        ``custom``: the bank's own scikit-learn classifier, given to :class:`Strategy` in
        Python (``Strategy(spec, model=…)``); saved with skops (or joblib, loaded only when
        trusted).
    model_params : dict
        Hyper-parameters of the model (``WoEScorecard`` / ``GBMRiskModel``).
    calibration : {"platt", "beta", "isotonic"}
        How raw PDs are calibrated on the latest applications (``[model] calibration``; see
        :class:`~taxcredit.modeling.PDCalibrator`).
    central_tendency : float, optional
        The default rate the calibrated PDs should average over the calibration
        applications (``[model] central_tendency``): the bank's expectation for the period
        ahead when it differs from the calibration window's (a downturn, a benign window).
        None: the window's own rate.
    features : "catalog" or tuple of str
        Model inputs: every numeric catalog feature, or these.
    scale : ScoreScale
    grades : MasterScale
    approve_max_pd, refer_max_pd : float
        Decision bands on the calibrated PD: approve below ``approve_max_pd``, refer below
        ``refer_max_pd``, decline from there (half-open, like the grades, so a bound shared
        with a grade boundary never splits a grade).
    limits : LimitPolicy
    rules : tuple of Rule
    profile : dict
        The ``[profile]`` table: how the bank's enterprise profile is built (peer-group
        size, indicator weights and dimension membership). Kept here as plain data and
        checked by :mod:`taxcredit.profile`, which reads it.
    monitoring : dict
        The ``[monitoring]`` table: the bank's post-loan early-warning rules (which run,
        thresholds, levels), checked by :mod:`taxcredit.monitoring`.
    """

    name: str
    version: str = "1.0"
    zh: str = ""
    en: str = ""
    model_type: str = "scorecard"
    model_params: dict = field(default_factory=dict)
    calibration: str = "platt"
    central_tendency: float | None = None
    features: str | tuple[str, ...] = "catalog"
    scale: ScoreScale = field(default_factory=ScoreScale)
    grades: MasterScale = field(default_factory=lambda: MasterScale.geometric(8))
    approve_max_pd: float = 0.03
    refer_max_pd: float = 0.06
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    rules: tuple[Rule, ...] = ()
    profile: dict = field(default_factory=dict)
    monitoring: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"strategy {self.name!r}: model type must be one of "
                             f"{MODEL_TYPES}, got {self.model_type!r}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"strategy {self.name!r}: [model] calibration must be one of "
                             f"{CALIBRATIONS}, got {self.calibration!r}")
        ct = self.central_tendency
        if ct is not None and (isinstance(ct, bool) or not isinstance(ct, int | float)
                               or not 0 < ct < 1):
            raise ValueError(f"strategy {self.name!r}: [model] central_tendency must be a "
                             f"default rate in (0, 1), got {ct!r}")
        for key in ("approve_max_pd", "refer_max_pd"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"strategy {self.name!r}: [decision] {key} must be a number, "
                                 f"got {v!r}")
        if not 0 < self.approve_max_pd <= self.refer_max_pd < 1:
            raise ValueError(f"strategy {self.name!r}: need 0 < approve_max_pd <= "
                             f"refer_max_pd < 1, got {self.approve_max_pd}, "
                             f"{self.refer_max_pd}")
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise RuleError(f"strategy {self.name!r}: rule codes must be unique: {codes}")
        _check_model_params(self.name, self.model_type, self.model_params)

    def feature_list(self) -> list[str]:
        """Return the model's input features."""
        if self.features == "catalog":
            from ..features import feature_ids

            return feature_ids(kind="numeric")
        return list(self.features)

    def needed_features(self) -> list[str]:
        """Model inputs plus what the rules and the limit policy read, in catalog order."""
        from ..features import feature_ids

        need = set(self.feature_list())
        for r in self.rules:
            need |= r.features
        lp = self.limits
        need |= {lp.tax_feature, lp.grade_feature}
        if lp.sales_share is not None:
            need.add(lp.sales_feature)
        known = feature_ids()
        unknown = sorted(need - set(known))
        if unknown:
            raise RuleError(f"strategy {self.name!r} names feature(s) {unknown} that the "
                            "catalog does not have")
        return [f for f in known if f in need]

    # ------------------------------------------------------------------ data
    def to_dict(self) -> dict:
        """Return the spec as the nested tables of ``strategy.toml``."""
        return {
            "strategy": {"name": self.name, "version": self.version, "zh": self.zh,
                         "en": self.en},
            "model": {"type": self.model_type,
                      "features": (self.features if isinstance(self.features, str)
                                   else list(self.features)),
                      **({"calibration": self.calibration}
                         if self.calibration != "platt" else {}),
                      **({"central_tendency": self.central_tendency}
                         if self.central_tendency is not None else {}),
                      "params": dict(self.model_params)},
            "scale": self.scale.to_dict(),
            "grades": {"names": list(self.grades.grades), "bounds": list(self.grades.bounds)},
            "decision": {"approve_max_pd": self.approve_max_pd,
                         "refer_max_pd": self.refer_max_pd},
            "limits": {k: (False if v is None else v)  # TOML has no null: false = no cap
                       for k, v in self.limits.to_dict().items()},
            "rules": [r.to_dict() for r in self.rules],
            **({"profile": dict(self.profile)} if self.profile else {}),
            **({"monitoring": dict(self.monitoring)} if self.monitoring else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> StrategySpec:
        """Build from the tables of ``strategy.toml`` (unknown keys are an error)."""
        allowed = {"strategy", "model", "scale", "grades", "decision", "limits", "rules",
                   "profile", "monitoring"}
        extra = sorted(set(d) - allowed)
        if extra:
            raise ValueError(f"strategy.toml: unknown table(s) {extra}; expected {sorted(allowed)}")
        for table, keys in _KEYS.items():
            if not isinstance(d.get(table, {}), dict):
                raise ValueError(f"strategy.toml: [{table}] must be a table of keys, got "
                                 f"{type(d[table]).__name__}")
            _unknown(f"[{table}]", d.get(table, {}), keys)
        s = d.get("strategy", {})
        if "name" not in s:
            raise ValueError("strategy.toml: [strategy] needs a name")
        for key in ("name", "version", "zh", "en"):
            if key in s and not isinstance(s[key], str):
                raise ValueError(f"strategy.toml: [strategy] {key} must be text in quotes "
                                 f"(e.g. {key} = \"{s[key]}\"), got {s[key]!r}")
        m = d.get("model", {})
        feats = m.get("features", "catalog")
        if not (feats == "catalog" or (isinstance(feats, list)
                                       and all(isinstance(f, str) for f in feats))):
            raise ValueError(f"strategy.toml: [model] features must be \"catalog\" or a list of "
                             f"feature names, got {feats!r}")
        g = d.get("grades")
        grades = (MasterScale(grades=tuple(g["names"]), bounds=tuple(float(b) for b in
                                                                     g["bounds"]))
                  if g else MasterScale.geometric(8))
        dec = d.get("decision", {})
        lim = dict(d.get("limits", {}))
        _unknown("[limits]", lim, {f.name for f in fields(LimitPolicy)})
        if "scale" in d:
            _unknown("[scale]", d["scale"], {f.name for f in fields(ScoreScale)})
        for k, r in enumerate(d.get("rules", [])):
            if not isinstance(r, dict):
                raise ValueError(f"strategy.toml: [[rules]] entry {k + 1} must be a table")
            _unknown(f"[[rules]] entry {k + 1} ({r.get('code', 'no code')})", r,
                     {f.name for f in fields(Rule)})
        if "limits" in d:  # a bank's limit table says whether sales cap the limit
            if "sales_share" not in lim:
                raise ValueError("strategy.toml: [limits] needs sales_share — a share of "
                                 "12-month sales (e.g. sales_share = 0.15), or "
                                 "sales_share = false for no sales cap")
            if lim["sales_share"] is False:
                lim["sales_share"] = None
        return cls(
            name=s["name"], version=str(s.get("version", "1.0")), zh=s.get("zh", ""),
            en=s.get("en", ""), model_type=m.get("type", "scorecard"),
            model_params=dict(m.get("params", {})),
            calibration=str(m.get("calibration", "platt")),
            central_tendency=m.get("central_tendency"),
            features=feats if isinstance(feats, str) else tuple(feats),
            scale=ScoreScale.from_dict(d["scale"]) if "scale" in d else ScoreScale(),
            grades=grades,
            approve_max_pd=dec.get("approve_max_pd", 0.03),
            refer_max_pd=dec.get("refer_max_pd", 0.06),
            limits=LimitPolicy.from_dict(lim) if lim else LimitPolicy(),
            rules=tuple(Rule(**r) for r in d.get("rules", [])),
            profile=_table(d.get("profile", {}), "profile"),
            monitoring=_table(d.get("monitoring", {}), "monitoring"),
        )

    @classmethod
    def from_toml(cls, path) -> StrategySpec:
        """Read a ``strategy.toml`` file."""
        path = Path(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from exc
        return cls.from_dict(data)

    def to_toml(self) -> str:
        """Return the spec as TOML text (what :meth:`from_toml` reads back)."""
        return to_toml(self.to_dict())


def _unknown(where: str, given, allowed) -> None:
    wrong = sorted(set(given) - set(allowed))
    if wrong:
        raise ValueError(f"strategy.toml: unknown key(s) {wrong} in {where}; expected some of "
                         f"{sorted(allowed)}")


def _check_model_params(name: str, model_type: str, params: dict) -> None:
    """``[model.params]`` must name parameters the model has (a misspelt one is an error)."""
    from ..modeling import GBMRiskModel, WoEBinner, WoEScorecard

    if model_type == "scorecard":
        _unknown(f"strategy {name!r} [model.params]", params,
                 set(WoEScorecard().get_params(deep=False)) - {"scale"})  # scale: [scale]
        binner = params.get("binner", {})
        if not isinstance(binner, dict):
            raise ValueError(f"strategy {name!r}: [model.params] binner must be a table of "
                             f"WoEBinner settings, got {binner!r}")
        _unknown(f"strategy {name!r} [model.params.binner]", binner,
                 WoEBinner().get_params(deep=False))
    elif model_type == "gbm":
        _unknown(f"strategy {name!r} [model.params]", params,
                 GBMRiskModel().get_params(deep=False))


def _table(v, name: str) -> dict:
    if not isinstance(v, dict):
        raise ValueError(f"strategy.toml: [{name}] must be a table, got {type(v).__name__}")
    return dict(v)


#: a TOML basic string escapes these; other control characters become \uXXXX
_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + "".join(_TOML_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20
                                                   or ord(c) == 0x7F else c)
                             for c in v) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else \
        _toml_value(k)


def to_toml(d: dict) -> str:
    """Write nested tables (dicts), arrays of tables (lists of dicts) and values as TOML."""
    lines: list[str] = []

    def table(prefix: str, t: dict) -> None:
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict)
                   and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        for k, v in scalars.items():
            if v is not None:
                lines.append(f"{_key(k)} = {_toml_value(v)}")
        for k, v in t.items():
            if isinstance(v, dict):
                lines.append(f"\n[{prefix}{_key(k)}]")
                table(f"{prefix}{_key(k)}.", v)
        for k, v in t.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    lines.append(f"\n[[{prefix}{_key(k)}]]")
                    table(f"{prefix}{_key(k)}.", item)

    table("", d)
    return "\n".join(lines).lstrip() + "\n"
