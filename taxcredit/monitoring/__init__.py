"""Validation and monitoring (贷后): validation reports and early warnings.

>>> from taxcredit.monitoring import early_warnings, validate         # doctest: +SKIP
>>> alerts = early_warnings(ds, as_of="2025-06-30", book=loans)       # doctest: +SKIP
>>> validate(strategy, ds).to_html("report.html")                     # doctest: +SKIP
>>> monitor_portfolio(strategy, ds, dates).to_html("book.html")       # doctest: +SKIP
"""

from .early_warning import LEVELS, RULES, WarningConfig, WarningRule, early_warnings
from .portfolio import PortfolioMonitor, monitor_portfolio
from .validation import ValidationReport, card_samples, grade_table, validate

__all__ = ["LEVELS", "RULES", "PortfolioMonitor", "ValidationReport", "WarningConfig",
           "WarningRule", "card_samples", "early_warnings", "grade_table", "monitor_portfolio",
           "validate"]
