"""Do the early warnings matter? Default rates by alert level, and how early they come.

    python benchmarks/bench_warnings.py                         # 20,000 enterprises
    python benchmarks/bench_warnings.py --enterprises 60000 --strategy sme_scorecard

The book: every application of the synthetic population with a known 12-month outcome, a
loan from its application date for 12 months (or until default). Each month-end the
early-warning rules run on the tax data as known that day, for the loans then on the book
(``early_warnings(ds, as_of, book=…)``; nothing recorded later is read). For each loan: the
most severe level reached before it defaulted (or before its 12 months ended), and the date
of its first red alert. Printed: default rate by level reached, the share of defaults warned
in advance, and the lead time from the first red alert to default.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import taxcredit as tc
from taxcredit.monitoring import LEVELS, WarningConfig, early_warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--strategy", help="thresholds from this strategy's [monitoring] table")
    args = ap.parse_args()
    t0 = time.perf_counter()
    ds = tc.datasets.make_population(n_enterprises=args.enterprises, months=48, seed=args.seed)
    cfg = WarningConfig.from_params(tc.strategies.get(args.strategy).spec.monitoring
                                    if args.strategy else None)
    apps = ds["applications"]
    loans = apps[apps["default_12m"].notna()].copy()
    loans["uscc"] = loans["uscc"].astype(str)
    loans["start"] = loans["application_date"]
    loans["end"] = loans["default_date"].fillna(loans["start"] + pd.DateOffset(months=12))
    loans["defaulted"] = loans["default_12m"].astype(int)
    dates = pd.date_range(loans["start"].min() + pd.offsets.MonthEnd(0),
                          loans["end"].max(), freq="ME")
    worst = pd.Series(len(LEVELS), index=loans.index, dtype=float)  # len = no alert
    first_red = pd.Series(pd.NaT, index=loans.index, dtype="datetime64[ns]")
    by_rule: dict[str, set] = {}
    n_eval = 0
    for as_of in dates:
        live = loans[(loans["start"] <= as_of) & (as_of < loans["end"])]
        if live.empty:
            continue
        alerts = early_warnings(ds, as_of, book=live["uscc"].unique(), config=cfg)
        n_eval += 1
        if alerts.empty:
            continue
        hits = live.reset_index().merge(alerts[["uscc", "rule", "level"]], on="uscc")
        for (rule, level), ids in hits.groupby(["rule", "level"])["index"]:
            by_rule.setdefault(f"{rule} {level}", set()).update(ids)
        rank = alerts.assign(rank=alerts["level"].map({lv: i for i, lv in enumerate(LEVELS)}))
        best = rank.groupby("uscc")["rank"].min()
        r = live["uscc"].map(best)
        hit = r.notna()
        idx = live.index[hit.to_numpy()]
        worst.loc[idx] = np.minimum(worst.loc[idx], r[hit].to_numpy())
        red = idx[(r[hit] == 0).to_numpy()]
        first_red.loc[red] = first_red.loc[red].fillna(as_of)
    loans["worst"] = worst.map(lambda k: LEVELS[int(k)] if k < len(LEVELS) else "none")
    loans["first_red"] = first_red
    seconds = time.perf_counter() - t0
    print(f"{len(loans):,} loans, {loans['defaulted'].sum():,} defaults "
          f"({loans['defaulted'].mean():.2%}); {n_eval} monthly refreshes; {seconds:.0f} s\n")
    print(f"{'most severe alert before default/maturity':<44} {'loans':>8} {'share':>7} "
          f"{'default rate':>13}")
    for lv in (*LEVELS, "none"):
        g = loans[loans["worst"] == lv]
        if len(g):
            print(f"{lv:<44} {len(g):>8,} {len(g) / len(loans):>7.1%} "
                  f"{g['defaulted'].mean():>13.2%}")
    bad = loans[loans["defaulted"] == 1]
    warned = bad["worst"] != "none"
    lead = ((bad["end"] - bad["first_red"]).dt.days / 30.44).dropna()
    print(f"\ndefaults with any alert before default: {warned.mean():.1%}; with a red alert: "
          f"{bad['first_red'].notna().mean():.1%}")
    if len(lead):
        q = np.percentile(lead, [25, 50, 75])
        print(f"months from the first red alert to default: median {q[1]:.1f} "
              f"(quartiles {q[0]:.1f}–{q[2]:.1f})")
    print(f"\n{'rule and level (ever, before default/maturity)':<44} {'loans':>8} "
          f"{'default rate':>13} {'defaults caught':>16}")
    for key in sorted(by_rule):
        ids = sorted(by_rule[key])
        d = loans.loc[ids, "defaulted"]
        print(f"{key:<44} {len(ids):>8,} {d.mean():>13.2%} "
              f"{d.sum() / max(loans['defaulted'].sum(), 1):>16.1%}")
    red = loans["worst"] == "red"
    if red.any() and (~red).any():
        print(f"default rate with a red alert {loans.loc[red, 'defaulted'].mean():.2%} vs "
              f"without {loans.loc[~red, 'defaulted'].mean():.2%} "
              f"(×{loans.loc[red, 'defaulted'].mean() / loans.loc[~red, 'defaulted'].mean():.1f})")


if __name__ == "__main__":
    main()
