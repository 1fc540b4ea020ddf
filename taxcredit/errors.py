"""The one error hierarchy of taxcredit.

Every error says what is wrong, where (table, column, file, rule) and what to do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AccessRefused", "ArtifactError", "AuditError", "ConsentError", "PurposeError",
           "TaxCreditError", "TaxDataError", "UnknownNameError"]


class TaxCreditError(Exception):
    """Base class of every error raised on purpose by taxcredit."""


class TaxDataError(TaxCreditError, ValueError):
    """Input tax data broke the data contract.

    Parameters
    ----------
    message : str
        Human-readable summary, one line per problem.
    report : pandas.DataFrame, optional
        One row per problem with columns ``table``, ``column``, ``rule``, ``n_rows``,
        ``examples`` and ``message``; empty when the problem is not tied to rows.

    Attributes
    ----------
    report : pandas.DataFrame
        The structured report, for notebooks and for writing to a file.
    """

    def __init__(self, message: str, report: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        if report is None:
            import pandas as pd

            report = pd.DataFrame(
                columns=["table", "column", "rule", "n_rows", "examples", "message"]
            )
        self.report = report


class ArtifactError(TaxCreditError):
    """A saved strategy artifact is missing, tampered with, or not trusted to load."""


class ConsentError(TaxCreditError):
    """Data would be used without a live authorisation covering it (governance)."""


class PurposeError(ConsentError):
    """A call declared no purpose, or one that tax data may not be used for."""


class AccessRefused(TaxCreditError):
    """The access circuit breaker (异常访问熔断) is tripped for this actor: reset needed."""


class AuditError(TaxCreditError):
    """The audit log cannot be written, or does not verify."""


class UnknownNameError(TaxCreditError, KeyError):
    """A strategy, feature or other named thing that does not exist (a ``KeyError`` too).

    The message lists what does exist; it prints as written (a plain ``KeyError`` would
    show it in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
