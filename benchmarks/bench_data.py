"""Speed and memory of the data layer: synthetic generation and validation.

Each measurement runs in a fresh Python process so that its peak memory (max RSS) is its own.

    python benchmarks/bench_data.py                       # 100k enterprises
    python benchmarks/bench_data.py --sizes 100000 1000000 --months 48

Optional peer: when ``pandera`` is installed, the same dtype/range/uniqueness checks of the
``vat_returns`` table are also run through a pandera schema, side by side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    task, folder, n, months = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.perf_counter()
    rows = 0
    if task == "generate":
        from taxcredit.data.synthetic import write_population
        write_population(folder, n_enterprises=n, months=months, seed=1, progress=False,
                         overwrite=True)
        import pyarrow.parquet as pq, pathlib
        rows = sum(pq.ParquetFile(f).metadata.num_rows
                   for f in pathlib.Path(folder).glob("*.parquet"))
    elif task == "generate_in_memory":
        import taxcredit as tc
        ds = tc.datasets.make_population(n_enterprises=n, months=months, seed=1)
        rows = sum(len(df) for df in ds.tables.values())
    elif task == "load":
        import taxcredit as tc
        ds = tc.TaxDataset.from_folder(folder, validate=False)
        rows = sum(len(df) for df in ds.tables.values())
    elif task == "load_validate":
        import taxcredit as tc
        ds = tc.TaxDataset.from_folder(folder, validate=True)
        rows = sum(len(df) for df in ds.tables.values())
    elif task == "pandera_vat":
        import pandas as pd
        import pandera.pandas as pa
        df = pd.read_parquet(f"{folder}/vat_returns.parquet")
        rows = len(df)
        t0 = time.perf_counter()
        money = [pa.Check.ge(0)]
        schema = pa.DataFrameSchema({
            "uscc": pa.Column(str, nullable=False),
            "period_end": pa.Column("datetime64[ns]"),
            "taxable_sales": pa.Column(float),
            "vat_payable": pa.Column(float, money),
            "input_tax": pa.Column(float, money),
            "filing_date": pa.Column("datetime64[ns]"),
            "due_date": pa.Column("datetime64[ns]"),
        }, unique=["uscc", "period_end"])
        schema.validate(df, lazy=True)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))
""")


def run(task: str, folder: str, n: int, months: int) -> dict:
    """Run one measurement in a child process."""
    done = subprocess.run([sys.executable, "-c", CHILD, task, folder, str(n), str(months)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "rows": 0,
                "error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Print a table of timings."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--months", type=int, default=48)
    p.add_argument("--in-memory", action="store_true",
                   help="also time make_population (holds everything in memory)")
    args = p.parse_args()
    try:
        import pandera  # noqa: F401

        has_pandera = True
    except ImportError:
        has_pandera = False
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            tasks = ["generate", "load", "load_validate"]
            if args.in_memory:
                tasks.insert(1, "generate_in_memory")
            if has_pandera:
                tasks.append("pandera_vat")
            for task in tasks:
                r = run(task, folder, n, args.months)
                rows.append((n, task, r))
                print(f"{n:>10,} {task:<20} {r['seconds']:8.1f} s {r['peak_mb']:9.0f} MB "
                      f"{r['rows']:>13,} rows {r.get('error', '')}", flush=True)
    print("\n| enterprises | task | seconds | peak MB | rows | rows/s |")
    print("|---:|---|---:|---:|---:|---:|")
    for n, task, r in rows:
        rate = r["rows"] / r["seconds"] if r["seconds"] == r["seconds"] and r["seconds"] else 0
        print(f"| {n:,} | {task} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['rows']:,} | "
              f"{rate:,.0f} |")
    notes = {
        "generate": "write_population: blocks of 20k enterprises streamed to Parquet",
        "load": "TaxDataset.from_folder(validate=False): read every table",
        "load_validate": "read + validate every table (times include the read)",
        "pandera_vat": "peer: pandera on vat_returns only (dtype, >= 0, unique key)",
    }
    print()
    for task, note in notes.items():
        print(f"- {task}: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
