"""Bank strategies: eligibility rules, model, scales, decision bands and limits, as data.

>>> import taxcredit as tc
>>> tc.strategies.available()            # doctest: +SKIP
>>> s = tc.strategies.get("sme_scorecard").fit(ds)          # doctest: +SKIP
>>> s.decide(ds, as_of="2025-06-30")    # doctest: +SKIP
"""

from .artifact import load_strategy, save_strategy
from .limits import LimitPolicy
from .rules import Rule, RuleError, evaluate_rules
from .spec import StrategySpec
from .strategy import DECISIONS, Strategy, matured

__all__ = ["DECISIONS", "LimitPolicy", "Rule", "RuleError", "Strategy", "StrategySpec",
           "evaluate_rules", "load_strategy", "matured", "save_strategy"]

