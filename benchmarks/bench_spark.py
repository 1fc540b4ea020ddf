"""Spark local mode against the in-process batch path, on the same Parquet folder.

    python benchmarks/bench_spark.py                         # 100,000 enterprises
    python benchmarks/bench_spark.py --enterprises 1000000 --memory 16g
    python benchmarks/bench_spark.py --data /path/to/folder  # an existing Parquet folder

Both decide for every enterprise with the built-in ``models/sme_scorecard`` strategy, from
raw tables to decisions, and write Parquet: ``taxcredit score --jobs N`` (worker processes)
and ``taxcredit.spark.score`` in ``local[N]`` (JVM + Python workers). Each runs in a fresh
process; wall time and the peak memory of the whole process tree are printed side by side,
and the two outputs are compared row for row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _governed import governed_args
from _memory import run_measured

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2025-06-30"
SPARK = r'''
import sys
from taxcredit import spark as tcs
data, out, cores, memory, strategy = sys.argv[1:6]
spark = tcs.local_session(cores=int(cores), memory=memory, app="bench")
tables = tcs.read_tables(spark, data)
tcs.score(tables, strategy, "2025-06-30").write.mode("overwrite").parquet(out)
spark.stop()
'''


def timed(cmd: list[str]) -> dict:
    return run_measured(cmd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--data", type=Path, help="an existing (validated) Parquet folder")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--memory", default="8g", help="Spark driver memory (local mode)")
    args = ap.parse_args()
    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp()) / "data"
        subprocess.run([sys.executable, "-m", "taxcredit", "generate", "--enterprises",
                        str(args.enterprises), "--months", "48", "--seed", "7", "--out",
                        str(data), "--quiet"], check=True)
        subprocess.run([sys.executable, "-m", "taxcredit", "validate", str(data), "--quiet"],
                       check=True)
    strategy = ROOT / "models" / "sme_scorecard"
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    rows = {}
    rows["in process (taxcredit score)"] = timed(
        [sys.executable, "-m", "taxcredit", "score", "--strategy", str(strategy), "--data",
         str(data), "--as-of", AS_OF, "--out", str(tmp / "batch.parquet"), "--jobs",
         str(args.cores), "--quiet", *governed_args(data, tmp)])
    rows[f"Spark local[{args.cores}] (taxcredit.spark.score)"] = timed(
        [sys.executable, "-c", SPARK, str(data), str(tmp / "spark"), str(args.cores),
         args.memory, str(strategy)])
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(tmp / "batch.parquet").set_index("uscc").sort_index()
    b = pd.read_parquet(tmp / "spark").set_index("uscc").sort_index()
    same = len(a) == len(b) and np.array_equal(a["pd"].to_numpy(), b.loc[a.index, "pd"]
                                               .to_numpy())
    n = len(a)
    print(f"\n{n:,} enterprises × 48 months, raw tables → decisions, {args.cores} cores")
    print(f"{'path':<44} {'seconds':>8} {'rows/s':>10} {'peak GB':>8}")
    for name, r in rows.items():
        print(f"{name:<44} {r['seconds']:>8.1f} {n / r['seconds']:>10,.0f} "
              f"{r['peak_gb']:>8.2f}")
    print(f"identical PDs: {same}")


if __name__ == "__main__":
    main()
