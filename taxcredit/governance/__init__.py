"""Data governance: consent, purpose limitation, tamper-evident audit, circuit breaker, masking.

>>> from taxcredit.governance import AuditLog, ConsentRegistry, verify_log    # doctest: +SKIP
>>> consents = ConsentRegistry.from_file("consents.csv", bank="ICBC-SZ")     # doctest: +SKIP
>>> consents.check(usccs, "credit_assessment", at="2025-06-30")              # doctest: +SKIP
>>> log = AuditLog("audit.jsonl"); log.append(actor="risk-batch", ...)      # doctest: +SKIP
>>> print(verify_log("audit.jsonl"))                                         # doctest: +SKIP
"""

from .audit import GENESIS, AuditLog, Verification, verify_log
from .breaker import BreakerLimits, CircuitBreaker
from .config import GovernanceConfig
from .consent import COLUMNS, PURPOSES, ConsentRegistry, check_purpose
from .governed import NOT_PROCESSED, Governance, consent_reasons, merge_refusals, tables_read
from .masking import IDENTIFIER_COLUMNS, mask_frame, pseudonym

__all__ = ["COLUMNS", "GENESIS", "IDENTIFIER_COLUMNS", "NOT_PROCESSED", "PURPOSES", "AuditLog",
           "BreakerLimits", "CircuitBreaker", "ConsentRegistry", "Governance", "GovernanceConfig",
           "Verification", "check_purpose", "consent_reasons", "mask_frame", "merge_refusals",
           "pseudonym", "tables_read", "verify_log"]
