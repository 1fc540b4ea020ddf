"""Shared fixtures: tiny hand-made enterprises and a small synthetic population."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
for _var in ("TAXCREDIT_GOVERNANCE", "TAXCREDIT_AUDIT_LOG", "TAXCREDIT_ACTOR"):
    os.environ.pop(_var, None)  # a user's governance settings must not change the tests
# the default audit log and key of the commands go to a throwaway home, not the user's
os.environ["TAXCREDIT_HOME"] = tempfile.mkdtemp(prefix="taxcredit-home-")

# two real, publicly listed USCCs (both pass the GB 32100 and GB 11714 checks)
U1 = "91110108551385082Q"
U2 = "91310110666007217T"


def _d(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A small, fully valid set of raw tables for two enterprises."""
    enterprises = pd.DataFrame({
        "uscc": [U1, U2],
        "name": ["北京某科技有限公司", "上海某贸易有限公司"],
        "industry_code": ["I6510", "F5191"],
        "region_code": ["110108", "310110"],
        "taxpayer_type": ["general", "small_scale"],
        "collection_method": ["audit", "audit"],
        "registration_date": [_d("2015-03-02"), _d("2021-06-10")],
        "first_filing_date": [_d("2015-04-15"), _d("2021-07-15")],
        "status": ["normal", "normal"],
        "registered_capital": [1_000_000.0, 100_000.0],
    })
    vat = pd.DataFrame({
        "uscc": [U1, U1, U2],
        "period_start": [_d("2024-01-01"), _d("2024-02-01"), _d("2024-01-01")],
        "period_end": [_d("2024-01-31"), _d("2024-02-29"), _d("2024-03-31")],
        "filing_frequency": ["monthly", "monthly", "quarterly"],
        "taxable_sales": [100_000.0, 80_000.0, 250_000.0],
        "exempt_sales": [0.0, 0.0, 250_000.0],
        "output_tax": [6_000.0, 4_800.0, 0.0],
        "input_tax": [2_000.0, 1_000.0, 0.0],
        "vat_payable": [4_000.0, 3_800.0, 0.0],
        "credit_carried_forward": [0.0, 0.0, 0.0],
        "due_date": [_d("2024-02-18"), _d("2024-03-15"), _d("2024-04-15")],
        "filing_date": [_d("2024-02-10"), _d("2024-03-20"), _d("2024-04-12")],
    })
    grades = pd.DataFrame({
        "uscc": [U1, U1, U2],
        "year": [2023, 2023, 2023],
        "grade": ["A", "B", "M"],
        "score": [92.0, 85.0, None],
        "effective_date": [_d("2024-04-20"), _d("2024-09-01"), _d("2024-04-20")],
        "source": ["annual", "adjustment", "annual"],
    })
    apps = pd.DataFrame({
        "application_id": ["AP1", "AP2"],
        "uscc": [U1, U2],
        "application_date": [_d("2024-05-10"), _d("2024-06-01")],
        "product": ["tax_credit_loan", "tax_credit_loan"],
        "amount_requested": [500_000.0, 200_000.0],
        "default_12m": pd.array([0, 1], dtype="Int64"),
        "default_date": [pd.NaT, _d("2024-12-01")],
        "observed_through": [_d("2025-05-10"), _d("2024-12-31")],
    })
    truth = pd.DataFrame({"application_id": ["AP1", "AP2"], "true_pd": [0.01, 0.2]})
    return {"enterprises": enterprises, "vat_returns": vat, "credit_grades": grades,
            "applications": apps, "truth": truth}


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return tiny_tables()


@pytest.fixture(scope="session")
def population():
    """A small synthetic population shared by the tests (generated once)."""
    import taxcredit as tc

    return tc.datasets.make_population(n_enterprises=3_000, months=48, seed=11)


def authorised(consents: pd.DataFrame, pairs: pd.DataFrame, purpose: str) -> np.ndarray:
    """Which (uscc, as_of) pairs an authorisation covers for ``purpose`` at their own date.

    Written independently of ``taxcredit.governance``: a plain merge and the rule "granted on
    or before, expiring after, not revoked by, purpose listed, scope everything".
    """
    p = pairs[["uscc", "as_of"]].reset_index(drop=True).reset_index()
    m = p.merge(consents, on="uscc")
    live = ((m["granted_at"] <= m["as_of"]) & (m["expires_at"] > m["as_of"])
            & ~(m["revoked_at"] <= m["as_of"])
            & m["purposes"].astype(str).str.split(";").map(lambda ps: purpose in ps)
            & (m["scope"].astype(str) == "*"))
    ok = np.zeros(len(p), dtype=bool)
    ok[m.loc[live.to_numpy(), "index"].to_numpy()] = True
    return ok


def raw_identifiers(folder, ids: set[str]) -> tuple[list[tuple[str, str]], int]:
    """Find any of ``ids`` (unmasked USCCs) in the files under ``folder``; (found, scanned).

    Parquet is read as a table (its pages are compressed), Excel workbooks are unzipped,
    everything else is scanned as text.
    """
    import re
    import zipfile
    from pathlib import Path

    pattern = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
    found, scanned = [], 0
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            text = " ".join(df[c].astype(str).str.cat(sep=" ") for c in df.columns
                            if df[c].dtype.kind in "OUS" or str(df[c].dtype) in ("str",
                                                                                 "string"))
            text += " " + " ".join(map(str, df.index))
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        scanned += 1
        found += [(path.name, m) for m in pattern.findall(text) if m in ids]
    return found, scanned
