"""Finding strategies by name: the built-in specs, and any a bank's package registers.

A bank's private package adds strategies without touching taxcredit, through the entry-point
group ``taxcredit.strategies`` (name → a callable returning a :class:`StrategySpec`, a
:class:`Strategy`, or the path of a strategy folder)::

    [project.entry-points."taxcredit.strategies"]
    mybank_sme = "mybank.risk:sme_strategy"
"""

from __future__ import annotations

from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import UnknownNameError
from .artifact import load_strategy
from .spec import StrategySpec
from .strategy import Strategy

__all__ = ["GROUP", "available", "get"]

GROUP = "taxcredit.strategies"


def _builtin() -> dict[str, Path]:
    specs = resources.files("taxcredit.strategy") / "specs"
    return {Path(str(p)).stem: Path(str(p)) for p in specs.iterdir()
            if str(p).endswith(".toml")}


def available() -> list[str]:
    """Names of the built-in and registered strategies."""
    names = set(_builtin())
    names |= {ep.name for ep in entry_points(group=GROUP)}
    return sorted(names)


def get(name: str) -> Strategy:
    """Return a strategy by name: a registered plug-in first, else a built-in spec (unfitted)."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            obj = ep.load()
            obj = obj() if callable(obj) and not isinstance(obj, (StrategySpec, Strategy)) \
                else obj
            if isinstance(obj, Strategy):
                return obj
            if isinstance(obj, StrategySpec):
                return Strategy(obj)
            if isinstance(obj, (str, Path)):
                return load_strategy(obj)
            raise TypeError(f"entry point {name!r} gave {type(obj).__name__}; expected a "
                            "StrategySpec, a Strategy or a folder path")
    builtin = _builtin()
    if name in builtin:
        return Strategy(StrategySpec.from_toml(builtin[name]))
    raise UnknownNameError(f"no strategy {name!r}; available: {available()}")
