"""The end-to-end demonstration behind ``taxcredit demo``.

Generate a synthetic population, train the default strategy on the earlier applications,
decide the later ones (out of time), and compare with the plain rule-only policy banks start
from (grade A/B, ≥ 2 years, ≥ ¥30,000 tax a year, no arrears) at the same approval rate.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import datasets
from .features import build_features
from .governance import (
    AuditLog,
    CircuitBreaker,
    ConsentRegistry,
    Governance,
    merge_refusals,
    tables_read,
)
from .governance.config import user_key
from .governance.consent import normalise_uscc
from .governance.masking import conceal
from .modeling import metrics
from .profile import join_profiles, needed_features, profiler_for
from .strategy import Rule, evaluate_rules
from .strategy.registry import get
from .strategy.strategy import matured

__all__ = ["RULE_ONLY", "run_demo"]

#: The rule-only policy the model is compared with.
RULE_ONLY = (
    Rule("GRADE_AB", "credit_grade in [1, 2]", zh="纳税信用A/B级", en="grade A or B"),
    Rule("AGE_24M", "firm_age_months >= 24", zh="成立满2年", en="at least 2 years"),
    Rule("TAX_30K", "tax_12m >= 30000", zh="年纳税≥3万元", en="≥ ¥30,000 tax a year"),
    Rule("NO_ARREARS", "isna(arrears_now) or arrears_now <= 0", zh="无欠税", en="no arrears"),
)


def run_demo(out, *, n_enterprises: int = 60_000, seed: int = 7, strategy: str = "sme_scorecard",
             test_share: float = 0.3, log=print) -> dict:
    """Run the demonstration; write its outputs to ``out``; return the summary.

    Governed like production: only applications with a live authorisation (the synthetic
    ``consents`` table) are processed, every step is written to a hash-chained audit log, and
    identifiers are masked in every output.

    Outputs: ``strategy/`` (the fitted strategy artifact with its profile reference),
    ``decisions.parquet`` (one row per out-of-time application: the decision and the
    enterprise profile, or ``not_processed`` and why; USCCs masked, with the keyed
    pseudonym ``uscc_key``), ``audit.jsonl`` and ``summary.json``.
    """
    out = Path(out)
    chosen = get(strategy)  # an unknown name fails now, not after generating the data
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log(f"1/4 generating {n_enterprises:,} enterprises × 48 months (seed {seed}) …")
    ds = datasets.make_population(n_enterprises=n_enterprises, months=48, seed=seed)
    apps = ds["applications"]
    apps = matured(apps[apps["default_12m"].notna()]).sort_values(
        ["application_date", "application_id"], kind="mergesort")  # full outcome windows
    cut = apps["application_date"].iloc[int(len(apps) * (1 - test_share))]
    later = apps[apps["application_date"] >= cut]
    audit = AuditLog(out / "audit.jsonl")
    gov = Governance(ConsentRegistry(ds["consents"]), actor="taxcredit-demo", audit=audit,
                     breaker=CircuitBreaker({"no_consent_per_hour": 10**6,
                                             "enterprises_per_hour": 10**7,
                                             "off_hours_bulk": 10**7}, audit=audit),
                     # the user's key (as every command): uscc_key joins across runs
                     key=user_key())
    log(f"2/4 training strategy {strategy!r} on the applications before {cut.date()} "
        "authorised for model development …")
    s = gov.fit(chosen, ds, until=cut, at="as_of")  # history: consent as of then
    profiler = profiler_for(s)
    s.save(out / "strategy")
    n_dev_refused = sum(gov.last_record["not_processed"].values())
    log(f"    {s.card_['n_train'] + s.card_['n_calibration']:,} applications with outcomes "
        f"used; {n_dev_refused:,} before {cut.date()} not authorised, left out")
    need = sorted(set(s.spec.needed_features()) | set(needed_features(profiler))
                  | set().union(*(r.features for r in RULE_ONLY)))
    asked = pd.DataFrame({"uscc": normalise_uscc(later["uscc"]).to_numpy(),
                          "as_of": later["application_date"].to_numpy()})
    ok, reason = gov.admit_pairs(asked, "credit_assessment", tables=tables_read(need),
                                 at="as_of")  # each application as of its date
    n_refused = int((~ok).sum())
    log(f"3/4 deciding {int(ok.sum()):,} later applications (out of time; {n_refused} without "
        "a live authorisation not processed) …")
    X = build_features(ds, as_of=asked[ok].reset_index(drop=True), features=need)
    decisions = join_profiles(s, X, profiler=profiler)
    every = merge_refusals([decisions], asked, ok, reason, "zh")  # the refused stay, with why
    conceal(every, gov.key).reset_index().assign(
        application_id=later["application_id"].to_numpy(),
        default_12m=later["default_12m"].astype(int).to_numpy()).to_parquet(
        out / "decisions.parquet", index=False)
    gov.audit_decisions(s, asked, every["decision"])
    later = later[ok]
    y = later["default_12m"].astype(int).to_numpy()
    log("4/4 comparing with the rule-only policy …")
    p = decisions["pd"].to_numpy()
    approved = (decisions["decision"] == "approve").to_numpy()
    rules_ok = ~evaluate_rules(list(RULE_ONLY), X)["knocked_out"].to_numpy()
    rate_rules = float(rules_ok.mean())
    # the model at the rule policy's approval rate: the same number of lowest PDs
    k = int(rules_ok.sum())
    model_same = np.zeros(len(p), dtype=bool)
    model_same[np.argsort(p, kind="stable")[:k]] = True
    summary = {
        "enterprises": n_enterprises, "seed": seed, "strategy": strategy,
        "train_until": str(cut.date()), "test_applications": len(y),
        "not_processed_without_consent": n_refused + n_dev_refused,
        "test_default_rate": float(y.mean()),
        "auc_out_of_time": metrics.auc(y, p), "ks_out_of_time": metrics.ks(y, p),
        "strategy_approval_rate": float(approved.mean()),
        "strategy_bad_rate_approved": float(y[approved].mean()) if approved.any() else None,
        "rule_only_approval_rate": rate_rules,
        "rule_only_bad_rate_approved": float(y[rules_ok].mean()) if k else None,
        "model_bad_rate_at_rule_approval_rate": float(y[model_same].mean()) if k else None,
        "model_approval_rate_at_rule_bad_rate": _approval_at(p, y, float(y[rules_ok].mean()))
        if k else None,
        **_by_profile(decisions["profile_score"].to_numpy(), y),
        "seconds": time.perf_counter() - t0,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _by_profile(score: np.ndarray, y: np.ndarray) -> dict:
    """Default rates of the lowest and highest fifth by profile score."""
    ok = ~np.isnan(score)
    lo, hi = np.quantile(score[ok], [0.2, 0.8])
    return {"default_rate_lowest_profile_fifth": float(y[ok & (score <= lo)].mean()),
            "default_rate_highest_profile_fifth": float(y[ok & (score >= hi)].mean())}


def _approval_at(p: np.ndarray, y: np.ndarray, bad_rate: float) -> float:
    """Return the largest share approvable (lowest PDs first) at ``bad_rate`` or less."""
    order = np.argsort(p, kind="stable")
    cum_bad = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    ok = np.flatnonzero(cum_bad <= bad_rate + 1e-12)
    return float((ok.max() + 1) / len(y)) if len(ok) else 0.0


def format_summary(s: dict) -> str:
    """Format the summary as a few readable lines."""
    def pct(v):
        return "—" if v is None else f"{v:.2%}"

    lines = [
        f"out of time ({s['test_applications']:,} applications from {s['train_until']}, "
        f"default rate {pct(s['test_default_rate'])}):",
        f"  AUC {s['auc_out_of_time']:.3f}   KS {s['ks_out_of_time']:.3f}",
        f"  strategy {s['strategy']}: approves {pct(s['strategy_approval_rate'])}, "
        f"bad rate of approved {pct(s['strategy_bad_rate_approved'])}",
        f"  rule-only policy (grade A/B, ≥2 years, ≥¥30k tax, no arrears): approves "
        f"{pct(s['rule_only_approval_rate'])}, bad rate {pct(s['rule_only_bad_rate_approved'])}",
        f"  the model at that approval rate: bad rate "
        f"{pct(s['model_bad_rate_at_rule_approval_rate'])}; at that bad rate it approves "
        f"{pct(s['model_approval_rate_at_rule_bad_rate'])}",
        f"  profiles: default rate {pct(s['default_rate_lowest_profile_fifth'])} in the lowest "
        f"fifth by profile score, {pct(s['default_rate_highest_profile_fifth'])} in the highest",
        f"done in {s['seconds']:.0f} s",
    ]
    return "\n".join(lines)

