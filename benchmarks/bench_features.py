"""Speed and memory of the feature engine, next to a straightforward pandas groupby version.

    python benchmarks/bench_features.py                        # 100k enterprises × 48 months
    python benchmarks/bench_features.py --sizes 100000 1000000

For each size a population is generated into a temporary folder (streamed, bounded memory);
then, each in a fresh process so that peak memory is its own:

* ``taxcredit``: ``build_features(ds, as_of)`` — all catalog features;
* ``pandas``: a plain pandas implementation (filter by knowledge date, groupby, merge) of a
  subset of the same features — the way one would write them by hand. Its values are checked
  against taxcredit's, so the comparison is like for like.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap

AS_OF = "2025-06-30"

CHILD = textwrap.dedent('''
    import json, resource, sys, time
    import numpy as np, pandas as pd
    import taxcredit as tc
    task, folder, as_of, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    chunk = int(sys.argv[5])
    ds = tc.TaxDataset.from_folder(folder)
    out = {}
    t0 = time.perf_counter()
    if task == "taxcredit":
        X = tc.build_features(ds, as_of=as_of, n_jobs=jobs, chunk_size=chunk)
        out["seconds"] = time.perf_counter() - t0
    else:
        from bench_features_pandas import pandas_features
        X = pandas_features(ds, as_of)
        out["seconds"] = time.perf_counter() - t0
        ref = tc.build_features(ds, as_of=as_of, features=list(X.columns))
        a = X.reindex(ref.index.get_level_values("uscc")).to_numpy(dtype=float)
        b = ref.to_numpy(dtype=float)
        same_nan = bool((np.isnan(a) == np.isnan(b)).all())
        out["max_abs_diff"] = float(np.nanmax(np.abs(a - b))) if same_nan else float("inf")
    out.update(rows=len(X), features=X.shape[1],
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))
''')


def run(task: str, folder: str, jobs: int, chunk: int) -> dict:
    """One measurement in a child process."""
    import os

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", CHILD, task, folder, AS_OF, str(jobs),
                           str(chunk)],
                          capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Print the comparison table."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--months", type=int, default=48)
    p.add_argument("--jobs", type=int, default=2, help="taxcredit threads (default 2)")
    p.add_argument("--chunk-size", type=int, default=20_000,
                   help="taxcredit enterprises per chunk (default 20000)")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    args = p.parse_args()
    from taxcredit.data.synthetic import write_population

    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            write_population(folder, n_enterprises=n, months=args.months, seed=1,
                             progress=False, overwrite=True)
            tasks = ["taxcredit"] + ([] if args.no_pandas else ["pandas"])
            for task in tasks:
                r = run(task, folder, args.jobs, args.chunk_size)
                rows.append((n, task, r))
                print(n, task, r, flush=True)
    print(f"\nfeatures as of {AS_OF}, {args.months} months of history; peak = max RSS of the "
          "process (includes loading the dataset)\n")
    print("| enterprises | implementation | features | seconds | pairs/s | peak MB | note |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for n, task, r in rows:
        sec = r["seconds"]
        rate = f"{r['rows'] / sec:,.0f}" if sec else ""
        note = (f"max |diff| vs taxcredit {r['max_abs_diff']:.2g}" if "max_abs_diff" in r
                else f"n_jobs={args.jobs}, chunk_size={args.chunk_size:,}")
        print(f"| {n:,} | {task} | {r['features']} | {sec:.1f} | {rate} | {r['peak_mb']:.0f} | "
              f"{note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
