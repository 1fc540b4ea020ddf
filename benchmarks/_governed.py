"""Governance options for benchmark runs of ``taxcredit score``.

The commands are governed by default; a benchmark measures the production path with every
enterprise authorised (so all of them are scored), its own audit log, and unmasked output
(so the results can be compared row by row with another path).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


def governed_args(data: Path, tmp: Path) -> list[str]:
    """Write a consent file authorising every enterprise of ``data``; return CLI options."""
    usccs = pq.read_table(Path(data) / "enterprises.parquet", columns=["uscc"]).column("uscc")
    consents = pd.DataFrame({
        "uscc": usccs.to_pandas().astype(str), "bank": "benchmark",
        "purposes": "credit_assessment;post_loan_monitoring;model_development", "scope": "*",
        "granted_at": pd.Timestamp("2000-01-01"), "expires_at": pd.Timestamp("2100-01-01")})
    path = Path(tmp) / "consents.parquet"
    consents.to_parquet(path, index=False)
    return ["--consents", str(path), "--audit-log", str(Path(tmp) / "audit.jsonl"),
            "--actor", "benchmark", "--unmasked"]
