"""Strategies by name: ``tc.strategies.get("sme_scorecard")``.

See :mod:`taxcredit.strategy.registry`.
"""

from .strategy.registry import GROUP, available, get

__all__ = ["GROUP", "available", "get"]
