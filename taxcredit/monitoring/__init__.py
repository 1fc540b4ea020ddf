"""Monitoring during the loan (贷后): early warnings on each refresh of the tax data.

>>> from taxcredit.monitoring import early_warnings                  # doctest: +SKIP
>>> alerts = early_warnings(ds, as_of="2025-06-30", book=loans)       # doctest: +SKIP
"""

from .early_warning import LEVELS, RULES, WarningConfig, WarningRule, early_warnings

__all__ = ["LEVELS", "RULES", "WarningConfig", "WarningRule", "early_warnings"]
