"""Speed and memory of the feature engine, next to a straightforward pandas groupby version.

    python benchmarks/bench_features.py                        # 100k enterprises × 48 months
    python benchmarks/bench_features.py --sizes 100000 1000000

For each size a population is generated into a temporary folder (streamed, bounded memory)
and validated once with ``taxcredit validate`` (which records it as clean); then, each in a
fresh process so that its peak memory is its own:

* ``taxcredit``: ``build_features(ds, as_of)`` on the loaded dataset — all catalog features
  (seconds exclude loading; peak includes it);
* ``taxcredit folder``: ``build_features_folder(folder, as_of, n_jobs=...)`` — all features
  straight from the Parquet folder, reading included, in worker processes (peak = the sum of
  the process tree's memory, sampled);
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
    import json, os, resource, sys, threading, time
    import numpy as np, pandas as pd
    import taxcredit as tc
    task, folder, as_of, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    chunk = int(sys.argv[5])
    peak = [0]

    from _memory import tree_rss

    def sample():
        while True:
            peak[0] = max(peak[0], tree_rss(os.getpid()))
            time.sleep(0.2)

    if os.path.isdir("/proc"):
        threading.Thread(target=sample, daemon=True).start()
    out = {}
    if task == "folder":
        t0 = time.perf_counter()
        X = tc.build_features_folder(folder, as_of, n_jobs=jobs, chunk_size=chunk)
        out["seconds"] = time.perf_counter() - t0
    else:
        ds = tc.TaxDataset.from_folder(folder)
        t0 = time.perf_counter()
        if task == "taxcredit":
            X = tc.build_features(ds, as_of=as_of)
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
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.update(rows=len(X), features=X.shape[1], peak_mb=max(peak[0], self_peak) / 2**20)
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
    p.add_argument("--jobs", type=int, default=2,
                   help="worker processes of the folder run (default 2)")
    p.add_argument("--chunk-size", type=int, default=25_000,
                   help="enterprises per chunk of the folder run (default 25000)")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the in-memory runs (for sizes that do not fit)")
    args = p.parse_args()
    import time

    from taxcredit.cli.main import main as taxcredit_cli
    from taxcredit.data.synthetic import write_population

    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            write_population(folder, n_enterprises=n, months=args.months, seed=1,
                             progress=False, overwrite=True)
            t0 = time.perf_counter()
            code = taxcredit_cli(["validate", folder, "--quiet", "--chunk-size", "100000"])
            print(n, "validated once", f"{time.perf_counter() - t0:.1f} s", flush=True)
            if code != 0:
                raise RuntimeError("the synthetic population did not validate")
            tasks = (([] if args.no_memory else ["taxcredit"]) + ["folder"]
                     + ([] if args.no_pandas or args.no_memory else ["pandas"]))
            for task in tasks:
                r = run(task, folder, args.jobs, args.chunk_size)
                rows.append((n, task, r))
                print(n, task, r, flush=True)
    print(f"\nfeatures as of {AS_OF}, {args.months} months of history\n")
    print("| enterprises | implementation | features | seconds | pairs/s | peak MB | note |")
    print("|---:|---|---:|---:|---:|---:|---|")
    notes = {"taxcredit": "in memory, defaults (one process); peak includes the loaded data",
             "folder": (f"from Parquet, reading included; n_jobs={args.jobs}, "
                        f"chunk_size={args.chunk_size:,}; peak = all processes"),
             "pandas": "in memory; peak includes the loaded data"}
    names = {"taxcredit": "taxcredit", "folder": "taxcredit folder", "pandas": "pandas"}
    for n, task, r in rows:
        sec = r["seconds"]
        rate = f"{r['rows'] / sec:,.0f}" if sec else ""
        note = notes[task]
        if "max_abs_diff" in r:
            note += f"; max |diff| vs taxcredit {r['max_abs_diff']:.2g}"
        print(f"| {n:,} | {names[task]} | {r['features']} | {sec:.1f} | {rate} | "
              f"{r['peak_mb']:.0f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
