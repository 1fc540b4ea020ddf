"""Decisions at scale and one at a time.

    python benchmarks/bench_strategy.py                          # 100k enterprises
    python benchmarks/bench_strategy.py --enterprises 1000000
    python benchmarks/bench_strategy.py --data /path/to/folder   # an existing Parquet folder

* batch: ``taxcredit score`` on a Parquet folder (raw tables → features → rules, PD, score,
  grade, reasons, decision, limit; governed, with every enterprise authorised), worker
  processes, in a fresh process; wall time and peak memory of the whole process tree
  (sampled from /proc);
* single: one enterprise from its raw records to a decision (``Strategy.decide`` on a dataset
  holding only that enterprise), median and 95th percentile over 200 enterprises.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _governed import governed_args
from _memory import run_measured

ROOT = Path(__file__).resolve().parents[1]


def batch(strategy: Path, data: Path, jobs: int, chunk: int) -> dict:
    """Run ``taxcredit score`` in a child process; wall seconds and peak tree memory."""
    tmp = Path(tempfile.mkdtemp())
    out = tmp / "scores.parquet"
    cmd = [sys.executable, "-m", "taxcredit", "score", "--strategy", str(strategy), "--data",
           str(data), "--as-of", "2025-06-30", "--out", str(out), "--jobs", str(jobs),
           "--chunk-size", str(chunk), "--quiet", *governed_args(data, tmp)]
    r = run_measured(cmd)
    import pyarrow.parquet as pq

    return {"seconds": r["seconds"], "rows": pq.ParquetFile(out).metadata.num_rows,
            "peak_gb": r["peak_gb"], "message": r["stdout"].strip()}


def single(strategy: Path, n: int = 200) -> dict:
    """One enterprise at a time: raw records → decision."""
    import taxcredit as tc

    ds = tc.datasets.make_population(n_enterprises=max(n, 1000), months=48, seed=5)
    s = tc.load_strategy(strategy)
    ids = list(ds.enterprise_ids[:n])
    s.decide(ds.select(ids[:1]), as_of="2025-06-30")  # warm up
    times = []
    for u in ids:
        one = ds.select([u])
        t0 = time.perf_counter()
        s.decide(one, as_of="2025-06-30")
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--enterprises", type=int, default=100_000)
    p.add_argument("--data", type=Path, help="use this Parquet folder instead of generating")
    p.add_argument("--strategy", type=Path, default=ROOT / "models" / "sme_scorecard")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--chunk-size", type=int, default=25_000)
    args = p.parse_args()
    from taxcredit.cli.main import main as cli

    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp()) / "population"
        cli(["generate", "--enterprises", str(args.enterprises), "--out", str(data), "--seed",
             "3", "--quiet"])
    if not (data / "_validated.json").exists():
        cli(["validate", str(data), "--quiet", "--chunk-size", "100000"])
    b = batch(args.strategy, data, args.jobs, args.chunk_size)
    s = single(args.strategy)
    print(f"\nstrategy {args.strategy.name}, as of 2025-06-30\n")
    print("| task | size | time | memory |")
    print("|---|---|---|---|")
    print(f"| batch `taxcredit score --jobs {args.jobs}` (raw tables → decisions) | "
          f"{b['rows']:,} enterprises | {b['seconds']:.1f} s | {b['peak_gb']:.2f} GB peak |")
    print(f"| one enterprise, raw records → decision | 200 enterprises | median "
          f"{s['median_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
