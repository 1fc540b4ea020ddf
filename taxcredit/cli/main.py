"""The ``taxcredit`` command.

Exit codes: 0 success, 1 bad input (a report says what and where), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import TaxCreditError

__all__ = ["main"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


def _fmt_report(report) -> str:
    lines = []
    for r in report.itertuples(index=False):
        lines.append(f"  ✗ {r.table}.{r.column} [{r.rule}] {r.n_rows:,} row(s): {r.message}")
        if r.examples:
            lines.append(f"      e.g. {r.examples}")
    return "\n".join(lines)


def _cmd_generate(args: argparse.Namespace) -> int:
    from ..data.synthetic import write_population

    t0 = time.perf_counter()
    knobs = dict(end=args.end, default_rate=args.default_rate, macro_shock=args.macro_shock,
                 new_firm_share=args.new_firm_share, application_rate=args.application_rate)
    folder = write_population(args.out, n_enterprises=args.enterprises, months=args.months,
                              seed=args.seed, format=args.format, progress=not args.quiet,
                              overwrite=args.overwrite, **knobs)
    elapsed = time.perf_counter() - t0
    import pyarrow.parquet as pq

    print(f"wrote {args.enterprises:,} enterprises × {args.months} months to {folder} "
          f"in {elapsed:.1f} s")
    for f in sorted(folder.glob(f"*.{args.format}")):
        rows = (pq.ParquetFile(f).metadata.num_rows if f.suffix == ".parquet"
                else sum(1 for _ in f.open(encoding="utf-8")) - 1)
        print(f"  {f.name:<24} {rows:>12,} rows")
    return EXIT_OK


def _write_report(report, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    report.to_csv(path, index=False, encoding="utf-8")


def _cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import TaxDataset

    t0 = time.perf_counter()
    if args.chunk_size:
        if args.quarantine:
            raise ValueError("--quarantine loads the folder: it cannot be combined with "
                             "--chunk-size")
        return _validate_streamed(args, t0)
    raw = TaxDataset.from_folder(args.data, validate=False)
    try:
        clean, rejected = raw.validate(on_error="quarantine", strict_uscc=not args.lenient_uscc,
                                       progress=not args.quiet)
    except TaxCreditError as exc:  # structural: still write the report when asked
        if args.report and getattr(exc, "report", None) is not None:
            _write_report(exc.report, args.report)
        raise
    report = rejected.report
    elapsed = time.perf_counter() - t0
    if args.report:
        _write_report(report, args.report)
    if args.quarantine:
        out = Path(args.quarantine)
        clean.to_folder(out / "clean", overwrite=True)
        (out / "rejected").mkdir(parents=True, exist_ok=True)
        for stale in (out / "rejected").glob("*.csv"):  # from an earlier run
            stale.unlink()
        for name, df in rejected.items():
            if len(df):
                df.to_csv(out / "rejected" / f"{name}.csv", index=False, encoding="utf-8")
    summary = pd.DataFrame({
        "table": list(raw.tables),
        "rows": [len(df) for df in raw.tables.values()],
        "clean": [len(clean.tables.get(t, [])) for t in raw.tables],
        "rejected": [len(rejected.get(t, [])) for t in raw.tables],
    })
    headline = f"validated {args.data} in {elapsed:.1f} s"
    return _conclude(args, headline, summary, report, _stored_as_contract(raw, clean))


def _conclude(args: argparse.Namespace, headline: str, summary, report, conform: bool) -> int:
    """Print the outcome of a validation; record a clean, already-typed folder; exit code."""
    print(headline)
    print(summary.to_string(index=False))
    if len(report):
        print(f"\n{len(report)} problem(s):")
        print(_fmt_report(report))
        return EXIT_BAD_INPUT
    print("\nall tables conform to the data contract ✓")
    if conform:  # later streamed runs need not validate again
        from ..data.manifest import write_manifest

        path = write_manifest(args.data, strict_uscc=not args.lenient_uscc)
        if path is not None:
            print(f"recorded in {path}")
    return EXIT_OK


def _validate_streamed(args: argparse.Namespace, t0: float) -> int:
    """Validate a Parquet folder chunk by chunk of enterprises (bounded memory)."""
    import re

    import pandas as pd
    from tqdm.auto import tqdm

    from ..data.stream import iter_folder

    offsets: dict[str, int] = {}
    totals: dict[str, list[int]] = {}
    reports = []
    conform = True
    chunks = iter_folder(args.data, args.chunk_size, validate=False, trust_manifest=False,
                         read_ahead=1)
    for chunk in tqdm(chunks, desc="validating", unit="chunk", disable=args.quiet):
        try:
            clean, rejected = chunk.validate(on_error="quarantine",
                                             strict_uscc=not args.lenient_uscc)
        except TaxCreditError as exc:
            if args.report and getattr(exc, "report", None) is not None:
                _write_report(exc.report, args.report)
            raise
        report = rejected.report.copy()
        for i, r in report.iterrows():  # row numbers of the whole file, not of the chunk
            shift = offsets.get(r.table, 0)
            report.at[i, "examples"] = re.sub(
                r"row (\d+)", lambda m, s=shift: f"row {int(m.group(1)) + s}", r.examples)
        reports.append(report)
        conform = conform and _stored_as_contract(chunk, clean)
        for name, df in chunk.tables.items():
            t = totals.setdefault(name, [0, 0, 0])
            t[0] += len(df)
            t[1] += len(clean.tables.get(name, []))
            t[2] += len(rejected.get(name, []))
            offsets[name] = offsets.get(name, 0) + len(df)
    report = pd.concat(reports, ignore_index=True)
    if len(report):
        report = (report.groupby(["table", "column", "rule", "message"], sort=False)
                  .agg(n_rows=("n_rows", "sum"), examples=("examples", "first")).reset_index()
                  [["table", "column", "rule", "n_rows", "examples", "message"]])
    elapsed = time.perf_counter() - t0
    if args.report:
        _write_report(report, args.report)
    summary = pd.DataFrame([(t, *v) for t, v in totals.items()],
                           columns=["table", "rows", "clean", "rejected"])
    headline = (f"validated {args.data} in {elapsed:.1f} s, in chunks of {args.chunk_size:,} "
                "enterprises (tables without uscc and uniqueness of ids across chunks not "
                "checked)")
    return _conclude(args, headline, summary, report, conform)


def _stored_as_contract(raw, clean) -> bool:
    """Whether every stored column already has its contract dtype (nothing was coerced)."""
    for name, df in clean.tables.items():
        stored = raw.get(name)
        if stored is None:
            continue
        for col in df.columns:
            if col not in stored.columns or stored[col].dtype == df[col].dtype:
                continue
            if col == "uscc" and _text_categories(stored[col]):
                continue  # streamed chunks hold the stored text codes as a categorical
            return False
    return True


def _text_categories(s) -> bool:
    import pandas as pd

    return (isinstance(s.dtype, pd.CategoricalDtype)
            and pd.api.types.is_string_dtype(s.cat.categories.dtype))


def _cmd_features(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import TaxDataset
    from ..errors import TaxDataError
    from ..features import feature_ids

    if (args.as_of is None) == (args.pairs is None):
        raise ValueError("give exactly one of --as-of DATE or --pairs FILE")
    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"--out must end in .parquet or .csv, got {out.name!r}")
    t0 = time.perf_counter()
    from ..data.io import list_table_files

    files = list_table_files(Path(args.data))
    stream = bool(files) and all(f.suffix == ".parquet" for f in files.values())
    if args.pairs:
        path = Path(args.pairs)
        if not path.is_file():
            raise TaxDataError(f"--pairs: no such file {path}")
        pairs = (pd.read_parquet(path) if path.suffix == ".parquet"
                 else pd.read_csv(path, dtype={"uscc": "str"}))
        as_of = pairs
    else:
        as_of = args.as_of
    features = args.features.split(",") if args.features else None
    gov = _governance(args)
    governed = dict(features=features, purpose=args.purpose,
                    at=_consent_at(args.consent_at), progress=not args.quiet)
    if stream and not args.pairs and out.suffix == ".parquet":  # bounded memory, to the file
        out.parent.mkdir(parents=True, exist_ok=True)
        res = gov.features_folder(args.data, as_of, chunk_size=args.chunk_size or 25_000,
                                  n_jobs=args.jobs, strict_uscc=not args.lenient_uscc,
                                  out=out, **governed)
        print(f"{res['rows']:,} rows × {len(features or feature_ids())} features → {out} in "
              f"{time.perf_counter() - t0:.1f} s" + _refusal_note(res["reasons"]))
        return EXIT_OK
    if stream:  # Parquet folder: chunks of enterprises, bounded memory
        X = gov.features_folder(args.data, as_of, chunk_size=args.chunk_size or 25_000,
                                n_jobs=args.jobs, strict_uscc=not args.lenient_uscc,
                                **governed)
    else:
        ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
        X = gov.features(ds, as_of, chunk_size=args.chunk_size or 100_000, n_jobs=args.jobs,
                         **governed)
    out.parent.mkdir(parents=True, exist_ok=True)
    flat = X.reset_index()
    if out.suffix == ".parquet":
        flat.to_parquet(out, index=False)
    else:
        flat.to_csv(out, index=False, encoding="utf-8")
    feats = [c for c in X.columns if c not in ("consent", "uscc_key")]
    elapsed = time.perf_counter() - t0
    print(f"{len(X):,} rows × {len(feats)} features → {out} in {elapsed:.1f} s"
          + _refusals(X))
    done = X.loc[X["consent"] == "ok", feats]
    if len(done):
        missing = done.isna().mean().sort_values(ascending=False).head(5)
        print("most missing: " + ", ".join(f"{k} {v:.0%}" for k, v in missing.items()))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import format_summary, run_demo

    log = (lambda *_: None) if args.quiet else print
    summary = run_demo(args.out, n_enterprises=args.enterprises, seed=args.seed,
                       strategy=args.strategy, log=log)
    print(format_summary(summary))
    print(f"outputs in {args.out}/: strategy/ (fitted strategy, model card, profile "
          "reference), decisions.parquet (decisions and profiles, or not_processed and why; "
          "USCCs masked), audit.jsonl "
          "(verify: taxcredit audit verify), summary.json")
    return EXIT_OK


def _strategy(name_or_dir: str):
    from ..strategy import load_strategy
    from ..strategy.registry import get

    path = Path(name_or_dir)
    return load_strategy(path) if path.is_dir() else get(name_or_dir)


def _cmd_train(args: argparse.Namespace) -> int:
    from ..data import TaxDataset
    from ..monitoring import WarningConfig
    from ..profile import Profiler, profiler_for

    t0 = time.perf_counter()
    strategy = _strategy(args.strategy)
    Profiler.from_params(strategy.spec.profile,  # bad settings fail before the long fit
                         where=f"strategy {strategy.spec.name!r} [profile]")
    WarningConfig.from_params(strategy.spec.monitoring)  # sealed into the artifact: check now
    gov = _governance(args)
    ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
    gov.fit(strategy, ds, target=args.target, until=args.until,
            at=_consent_at(args.consent_at))
    folder = strategy.save(args.out)
    m = strategy.card_["metrics_calibration"]
    print(f"trained {strategy.spec.name!r} on {strategy.card_['n_train']:,} applications "
          f"({strategy.card_['training_window'][0]} – {strategy.card_['training_window'][1]}), "
          f"calibrated on {strategy.card_['n_calibration']:,}: AUC {m['auc']:.3f}, "
          f"KS {m['ks']:.3f}")
    refused = (gov.last_record or {}).get("not_processed", {})
    if refused:
        n_apps = gov.last_record["applications_authorised"] + sum(refused.values())
        print(f"left out {sum(refused.values()):,} of {n_apps:,} applications not authorised "
              f"for model development ({_by_reason(refused)})")
    ref = profiler_for(strategy).reference_
    print(f"profile reference: {ref['n_reference']:,} enterprises at their latest application")
    print(f"saved to {folder}/ in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_score(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..batch import score_folder

    t0 = time.perf_counter()
    bar = tqdm(desc="scoring", unit="range", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    gov = _governance(args)
    try:
        res = score_folder(args.strategy, args.data, args.as_of, args.out,
                           chunk_size=args.chunk_size, n_jobs=args.jobs, lang=args.lang,
                           profile=args.profile, progress=progress, governance=gov,
                           consent_at=_consent_at(args.consent_at))
    finally:
        bar.close()
    note = f" ({res['resumed']} chunk(s) from an earlier run)" if res["resumed"] else ""
    refused = (f"; {res['not_processed']:,} not processed without a live authorisation"
               if res["not_processed"] else "")
    print(f"{res['rows']:,} enterprises → {res['out']} in "
          f"{time.perf_counter() - t0:.1f} s{note}{refused}")
    return EXIT_OK


_CHARTS = (".png", ".svg", ".pdf")
_TABLES = (".csv", ".parquet", ".json")


def _cmd_profile(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import TaxDataset
    from ..data.ids import mask_uscc_array
    from ..errors import ConsentError, TaxDataError
    from ..governance.consent import normalise_uscc

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in _CHARTS + _TABLES:
        raise ValueError(f"--out must end in one of {', '.join(_CHARTS + _TABLES)}; got "
                         f"{out.name!r}")
    usccs = list(dict.fromkeys(normalise_uscc(args.uscc or [])))
    if suffix in _CHARTS and not 1 <= len(usccs) <= 8:
        raise ValueError("a chart shows 1 to 8 enterprises: name them with --uscc")
    t0 = time.perf_counter()
    gov = _governance(args)
    ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
    known = set(ds["enterprises"]["uscc"].astype(str))
    unknown = [u for u in usccs if u not in known]
    if unknown:
        raise TaxDataError(f"--uscc: {len(unknown)} enterprise(s) not in {args.data}/"
                           f"enterprises: {mask_uscc_array(pd.Series(unknown[:5])).tolist()}")
    strategy = _strategy(args.strategy) if args.strategy else None
    source = (f"reference of strategy {args.strategy}" if strategy is not None else
              f"reference: the authorised enterprises of {args.data} at {args.as_of}")
    as_of = args.as_of
    if usccs:
        as_of = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(args.as_of)})
    prof = gov.profile(ds, as_of, strategy=strategy, purpose=args.purpose, lang=args.lang,
                       detail=args.detail, at=_consent_at(args.consent_at),
                       # named enterprises are compared with the folder's, not each other
                       reference_as_of=args.as_of if usccs and strategy is None else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix in _CHARTS:
        from ..profile import chart

        refused = prof[prof["consent"] != "ok"]
        if len(refused):
            raise ConsentError(
                f"{len(refused)} enterprise(s) may not be profiled for {args.purpose}: "
                + ", ".join(f"{mask_uscc_array(pd.Series([k[0]]))[0]} ({r})"
                            for k, r in refused["consent"].items()))
        ax = (chart.radar(prof.iloc[0], lang=args.lang) if len(prof) == 1
              else chart.compare(prof, lang=args.lang))
        chart.save(ax, out)
    elif suffix == ".parquet":
        prof.reset_index().to_parquet(out, index=False)
    elif suffix == ".csv":
        prof.reset_index().to_csv(out, index=False, encoding="utf-8")
    else:
        prof.reset_index().to_json(out, orient="records", force_ascii=False, indent=1,
                                   date_format="iso")
    if len(prof) <= 8:
        for key, row in prof.iterrows():
            _print_profile(key, row)
    print(f"{len(prof):,} profile(s) → {out} in {time.perf_counter() - t0:.1f} s ({source})"
          + _refusals(prof))
    return EXIT_OK


def _print_profile(key, row) -> None:
    import pandas as pd

    from ..data.ids import mask_uscc
    from ..features import DIMENSIONS

    uscc = key[0] if isinstance(key, tuple) else key
    if row.get("consent", "ok") != "ok":
        print(f"{mask_uscc(uscc)}  not processed: {row['consent']}")
        return
    dims = "  ".join(f"{zh} {row[f'score_{d}']:.0f}" for d, (zh, _) in DIMENSIONS.items()
                     if pd.notna(row[f"score_{d}"]))
    print(f"{mask_uscc(uscc)}  画像得分 {row['profile_score']:.0f} | {dims}")
    for name in ("strengths", "weaknesses"):
        if row[name]:
            print(f"    {'+' if name == 'strengths' else '−'} {row[name]}")


def _read_table(path: Path, what: str, columns: tuple[str, ...] = ()):
    import pandas as pd

    from ..errors import TaxDataError

    if not path.is_file():
        raise TaxDataError(f"{what}: no such file {path}")
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix == ".csv":
        df = pd.read_csv(path, dtype={"uscc": "str"})
    else:
        raise ValueError(f"{what}: read .parquet or .csv files, got {path.name!r}")
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise TaxDataError(f"{what} {path}: needs column(s) {absent}; it has "
                           f"{[str(c) for c in df.columns][:20]}")
    return df


def _cmd_monitor(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import TaxDataset
    from ..data.ids import mask_uscc_array
    from ..monitoring import LEVELS, WarningConfig

    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"--out must end in .parquet or .csv, got {out.name!r}")
    t0 = time.perf_counter()
    config = WarningConfig.from_params(_strategy(args.strategy).spec.monitoring
                                       if args.strategy else None)
    book = _read_table(Path(args.book), "--book") if args.book else None
    previous = _read_table(Path(args.previous), "--previous") if args.previous else None
    if previous is not None and previous.empty:
        previous = None
    gov = _governance(args)
    ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
    alerts = gov.monitor(ds, args.as_of, book=book, config=config, previous=previous,
                         lang=args.lang, at=_consent_at(args.consent_at))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        alerts.to_parquet(out, index=False)
    else:
        alerts.to_csv(out, index=False, encoding="utf-8")
    n_book = gov.last_record["n_enterprises"]  # the book monitoring used (as audited)
    counts = alerts.groupby("level").size().reindex(list(LEVELS), fill_value=0)
    who = "uscc_key" if "uscc_key" in alerts else "uscc"  # masks of two codes can coincide
    firms = alerts.groupby("level")[who].nunique().reindex(list(LEVELS), fill_value=0)
    print(f"{n_book:,} enterprises on the book at {pd.Timestamp(args.as_of).date()}: "
          + ", ".join(f"{lv} {counts[lv]:,} ({firms[lv]:,} enterprises)" for lv in LEVELS))
    red = alerts[alerts["level"] == "red"].head(5)
    for uscc, rule, msg in zip(mask_uscc_array(red["uscc"]), red["rule"], red["message"],
                               strict=True):
        print(f"  red  {uscc}  {rule}  {msg}")
    rescore = int(alerts["rescore"].sum())
    if rescore:
        print(f"  {rescore:,} enterprise(s) to re-score (credit repair or upgrade)")
    print(f"alerts → {out} in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from ..data import TaxDataset

    out = Path(args.out)
    if out.suffix not in (".html", ".htm"):
        raise ValueError(f"--out must end in .html, got {out.name!r}")
    t0 = time.perf_counter()
    strategy = _strategy(args.strategy)
    gov = _governance(args)
    ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
    report = gov.validate(strategy, ds, n_boot=args.n_boot, at=_consent_at(args.consent_at))
    out.parent.mkdir(parents=True, exist_ok=True)
    report.to_html(out)
    if args.excel:
        report.to_excel(args.excel)
    for row in report.summary.itertuples():
        print(f"  {row.sample:<14} n {row.n:>7,}  default rate {row.default_rate:6.2%}  "
              f"AUC {row.auc:.3f} [{row.auc_lo:.3f}, {row.auc_hi:.3f}]  KS {row.ks:.3f}")
    print(f"  {len(report.findings)} finding(s)" + (": " + report.findings[0] + (" …" if len(
        report.findings) > 1 else "") if report.findings else ""))
    print(f"report → {out}" + (f" and {args.excel}" if args.excel else "")
          + f" in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_portfolio(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import TaxDataset

    out = Path(args.out)
    if out.suffix not in (".html", ".xlsx"):
        raise ValueError(f"--out must end in .html or .xlsx, got {out.name!r}")
    if args.dates:
        dates = [pd.Timestamp(d) for d in args.dates.split(",")]
    else:
        dates = list(pd.date_range(end=pd.Timestamp(args.until), periods=args.months,
                                   freq="ME"))
    t0 = time.perf_counter()
    strategy = _strategy(args.strategy)
    gov = _governance(args)
    ds = TaxDataset.from_folder(args.data, strict_uscc=not args.lenient_uscc)
    book = (_read_table(Path(args.book), "--book", ("uscc",))["uscc"].astype(str)
            if args.book else None)
    mon = gov.portfolio(strategy, ds, dates, book=book, at=_consent_at(args.consent_at))
    out.parent.mkdir(parents=True, exist_ok=True)
    (mon.to_html if out.suffix == ".html" else mon.to_excel)(out)
    psi = mon.stability[mon.stability["variable"] == "pd"]
    for row in psi.itertuples():
        print(f"  {row.as_of.date()}  PD PSI {row.psi:.3f} ({row.status})")
    for f in mon.findings[:5]:
        print(f"  finding: {f}")
    print(f"portfolio monitoring → {out} in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    import json

    from ..governance import verify_log

    head = None
    if args.head:
        head = json.loads(Path(args.head).read_text(encoding="utf-8"))
    v = verify_log(args.log, head=head)
    print(v)
    return EXIT_OK if v.ok else EXIT_BAD_INPUT


def _governed(parser: argparse.ArgumentParser, purposes: tuple[str, ...] = ()) -> None:
    """Add the governance options (consent, actor, audit log, masking) to a command."""
    g = parser.add_argument_group(
        "governance (always on: only authorised enterprises are processed, every run is "
        "audited, identifiers are masked)")
    g.add_argument("--governance", metavar="FILE",
                   help="the bank's governance TOML: consents, audit log, key, breaker "
                        "(default: $TAXCREDIT_GOVERNANCE)")
    g.add_argument("--consents", metavar="FILE",
                   help="consent table (default: the governance file's, else the data "
                        "folder's consents table)")
    g.add_argument("--actor", metavar="NAME",
                   help="who uses the data, for the audit log and the breaker (default: "
                        "$TAXCREDIT_ACTOR, else the login name)")
    g.add_argument("--audit-log", metavar="FILE",
                   help="audit log (default: the governance file's, else "
                        "$TAXCREDIT_AUDIT_LOG, else audit.jsonl in $TAXCREDIT_HOME or "
                        "~/.taxcredit)")
    g.add_argument("--consent-at", default="now", metavar="now|as-of|DATE",
                   help="moment checked against the authorisations: now (default: the "
                        "data are used now), as-of (replay history: each row at its own "
                        "date) or a date")
    g.add_argument("--unmasked", action="store_true",
                   help="write identifiers unmasked (authorised internal use only; "
                        "recorded in the audit log)")
    if purposes:
        g.add_argument("--purpose", choices=purposes, default=purposes[0],
                       help=f"declared purpose (default {purposes[0]})")


def _positive_int(text: str) -> int:
    """Read a whole number of at least 1 (0 is not 'the default')."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _consent_at(value: str):
    if value == "now":
        return None
    if value.replace("_", "-") == "as-of":
        return "as_of"
    import pandas as pd

    try:
        return pd.Timestamp(value)
    except ValueError as exc:
        raise ValueError(f"--consent-at: now, as-of or a date, got {value!r}") from exc


def _actor(args: argparse.Namespace) -> str:
    import getpass
    import os

    if args.actor:
        return args.actor
    if os.environ.get("TAXCREDIT_ACTOR"):
        return os.environ["TAXCREDIT_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return f"uid-{os.getuid()}"


def _governance(args: argparse.Namespace):
    """Build the command's :class:`Governance` from the options, environment and config."""
    import os

    from ..governance import GovernanceConfig
    from ..governance.config import default_audit_log

    path = args.governance or os.environ.get("TAXCREDIT_GOVERNANCE")
    cfg = GovernanceConfig.from_toml(path) if path else GovernanceConfig()
    log = args.audit_log
    if log is None and cfg.audit_log is None:
        log = default_audit_log()
    return cfg.governance(actor=_actor(args), data=args.data, consents=args.consents,
                          audit_log=log, mask=not args.unmasked)


def _refusals(frame, column: str = "consent") -> str:
    """``; N not processed … (reason n, …)`` for the rows without consent, or ``""``."""
    if column not in frame:
        return ""
    return _refusal_note(frame.loc[frame[column] != "ok", column].value_counts().to_dict())


def _refusal_note(counts: dict) -> str:
    """``; N not processed … (reason n, …)`` from counts by reason, or ``""``."""
    if not counts:
        return ""
    return (f"; {sum(counts.values()):,} not processed without a live authorisation "
            f"({_by_reason(counts)})")


def _by_reason(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def _lenient_uscc(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lenient-uscc", action="store_true",
                        help="accept USCCs failing the check character")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``taxcredit`` command."""
    parser = argparse.ArgumentParser(
        prog="taxcredit",
        description="Credit scoring of small and micro enterprises from tax data (银税互动).",
        epilog="Run `taxcredit COMMAND --help` for the options and an example of each command.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"taxcredit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser(
        "demo", help="the whole job on synthetic data: generate, train, decide, compare",
        description="Generate a synthetic population, train the default strategy on the earlier "
                    "applications, decide the later ones out of time, and compare with the "
                    "rule-only policy at the same approval rate.",
        epilog="example:\n  taxcredit demo --out taxcredit-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="taxcredit-demo", metavar="DIR",
                   help="output folder (default taxcredit-demo)")
    d.add_argument("--enterprises", type=int, default=60_000, metavar="N",
                   help="enterprises to simulate (default 60000)")
    d.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
    d.add_argument("--strategy", default="sme_scorecard", metavar="NAME",
                   help="strategy to train (default sme_scorecard; see tc.strategies.available())")
    d.add_argument("--quiet", action="store_true", help="only the summary")
    d.set_defaults(func=_cmd_demo)

    t = sub.add_parser(
        "train", help="fit a strategy on a data folder's applications and save it",
        description="Fit a strategy (a built-in name or a folder with strategy.toml) on the "
                    "applications with known outcomes authorised for model development, each "
                    "at its application date; save the fitted strategy with its model card.",
        epilog="example (history: consent as of each application):\n"
               "  taxcredit train --strategy sme_scorecard --data data/synthetic "
               "--out models/sme_scorecard --consent-at as-of",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--strategy", required=True, metavar="NAME|DIR")
    t.add_argument("--data", required=True, metavar="DIR")
    t.add_argument("--out", required=True, metavar="DIR", help="folder for the fitted strategy")
    t.add_argument("--target", default="default_12m", help="outcome column of applications")
    t.add_argument("--until", metavar="DATE", help="only applications dated before this")
    _lenient_uscc(t)
    _governed(t)
    t.set_defaults(func=_cmd_train)

    s = sub.add_parser(
        "score", help="decide for every enterprise of a Parquet folder (batch, resumable)",
        description="Score every enterprise of a Parquet folder with a fitted strategy, in "
                    "chunks of enterprises (bounded memory). Interrupted? Run the same command "
                    "again: finished chunks are kept, nothing is lost or duplicated.",
        epilog="example:\n  taxcredit score --strategy models/sme_scorecard --data "
               "data/synthetic --as-of 2025-06-30 --out scores.parquet --jobs 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--strategy", required=True, metavar="DIR", help="a fitted strategy folder")
    s.add_argument("--data", required=True, metavar="DIR")
    s.add_argument("--as-of", required=True, metavar="DATE")
    s.add_argument("--out", required=True, metavar="FILE", help="output .parquet")
    s.add_argument("--chunk-size", type=_positive_int, default=25_000, metavar="N",
                   help="enterprises per chunk (default 25000)")
    s.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    s.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of messages and reasons")
    s.add_argument("--profile", action="store_true",
                   help="join each enterprise's profile (the strategy's reference) to its "
                        "decision")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _governed(s)
    s.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "profile", help="enterprise profiles (多维度画像): a table, or a radar chart",
        description="Profile enterprises of a data folder at an as-of date: six dimension "
                    "scores 0-100 against their peers (industry x size x province), an overall "
                    "score, strengths and weaknesses. Against a strategy's saved reference "
                    "(--strategy), else against the folder's own enterprises. Out as a table "
                    "(.csv/.parquet/.json) or a radar chart (.png/.svg/.pdf, 1 to 8 --uscc).",
        epilog="examples:\n  taxcredit profile --data data/synthetic --as-of 2025-06-30 "
               "--strategy models/sme_scorecard --uscc 91310000MA1K0000X1 --out radar.png\n"
               "  taxcredit profile --data data/synthetic --as-of 2025-06-30 "
               "--out profiles.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, metavar="DIR")
    p.add_argument("--as-of", required=True, metavar="DATE")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="table (.csv, .parquet, .json) or chart (.png, .svg, .pdf)")
    p.add_argument("--strategy", metavar="NAME|DIR",
                   help="a fitted strategy whose profile reference to use")
    p.add_argument("--uscc", nargs="+", metavar="USCC", help="only these enterprises")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the text")
    p.add_argument("--detail", action="store_true",
                   help="add each indicator's value and peer percentile (tables)")
    _lenient_uscc(p)
    _governed(p, ("credit_assessment", "post_loan_monitoring"))
    p.set_defaults(func=_cmd_profile)

    m = sub.add_parser(
        "monitor", help="post-loan early warnings (贷后预警) for the enterprises on the book",
        description="Evaluate the early-warning rules (EW01-EW18: status, grade, arrears, "
                    "filing stops, sales falls, invoices, key changes, headcount, penalties, "
                    "stale data, credit repair) on a data refresh, as known at the as-of "
                    "date. Thresholds come from the strategy's [monitoring] table; --previous "
                    "marks each alert new, ongoing or escalated.",
        epilog="example:\n  taxcredit monitor --data data/refresh --as-of 2025-06-30 "
               "--book loans.csv --strategy models/sme_scorecard --previous alerts-05.parquet "
               "--out alerts-06.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("--data", required=True, metavar="DIR")
    m.add_argument("--as-of", required=True, metavar="DATE")
    m.add_argument("--out", required=True, metavar="FILE", help="alerts .parquet or .csv")
    m.add_argument("--book", metavar="FILE",
                   help="loans on the book (.csv/.parquet with a uscc column); default: every "
                        "enterprise of the data")
    m.add_argument("--strategy", metavar="NAME|DIR", help="thresholds from its [monitoring]")
    m.add_argument("--previous", metavar="FILE", help="the previous run's alerts")
    m.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of messages")
    _lenient_uscc(m)
    _governed(m)
    m.set_defaults(func=_cmd_monitor)

    r = sub.add_parser(
        "report", help="validation report of a fitted strategy (HTML, optionally Excel)",
        description="Validate a fitted strategy on the labelled applications of a data folder, "
                    "split by its model card's windows (train, calibration, out of time): AUC, "
                    "KS, Gini with bootstrap intervals, ROC and KS curves, gains, calibration "
                    "by grade with binomial and Jeffreys tests, PSI/CSI, binning tables, the "
                    "model card. One self-contained HTML file (opens offline).",
        epilog="example:\n  taxcredit report --strategy models/sme_scorecard --data "
               "data/synthetic --out report.html --excel report.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--strategy", required=True, metavar="NAME|DIR", help="a fitted strategy")
    r.add_argument("--data", required=True, metavar="DIR")
    r.add_argument("--out", required=True, metavar="FILE", help="report .html")
    r.add_argument("--excel", metavar="FILE", help="also an Excel workbook (.xlsx)")
    r.add_argument("--n-boot", type=int, default=200, metavar="N",
                   help="bootstrap resamples for the intervals (default 200)")
    _lenient_uscc(r)
    _governed(r)
    r.set_defaults(func=_cmd_report)

    q = sub.add_parser(
        "portfolio", help="portfolio monitoring over monthly as-of dates (PSI, grades, "
                          "migration, vintages)",
        description="Score the book at each as-of date and compare with the development "
                    "sample: PSI of the PD and CSI of each feature (0.10 watch, 0.25 act), "
                    "grade distribution, grade migration between dates, approval and bad "
                    "rates by application month.",
        epilog="example:\n  taxcredit portfolio --strategy models/sme_scorecard --data "
               "data/synthetic --until 2025-06-30 --months 6 --out book.html",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("--strategy", required=True, metavar="NAME|DIR", help="a fitted strategy")
    q.add_argument("--data", required=True, metavar="DIR")
    q.add_argument("--out", required=True, metavar="FILE", help=".html or .xlsx")
    q.add_argument("--dates", metavar="D1,D2,…", help="as-of dates (else --until/--months)")
    q.add_argument("--until", default="2025-12-31", metavar="DATE",
                   help="last month-end (default 2025-12-31)")
    q.add_argument("--months", type=int, default=6, metavar="N",
                   help="month-ends up to --until (default 6)")
    q.add_argument("--book", metavar="FILE", help="enterprises on the book (uscc column)")
    _lenient_uscc(q)
    _governed(q)
    q.set_defaults(func=_cmd_portfolio)

    a = sub.add_parser("audit", help="the tamper-evident audit log",
                       description="Work with taxcredit's hash-chained audit log.")
    asub = a.add_subparsers(dest="audit_command", metavar="ACTION")
    av = asub.add_parser(
        "verify", help="check every record, the chain and the order; exit 1 if broken",
        description="Verify an audit log: each record's SHA-256, the chain to the record "
                    "before, and the sequence. Says which line is wrong and how (edited; "
                    "deleted, inserted or moved). With --head (the {seq, hash} kept elsewhere) "
                    "also catches records removed from the end.",
        epilog="example:\n  taxcredit audit verify logs/audit.jsonl --head head.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    av.add_argument("log", metavar="LOG")
    av.add_argument("--head", metavar="FILE", help="JSON {seq, hash} kept elsewhere")
    av.set_defaults(func=_cmd_audit_verify)

    g = sub.add_parser(
        "generate", help="generate a synthetic population of enterprises and their tax data",
        description="Generate a synthetic population into a folder of table files.",
        epilog="example:\n  taxcredit generate --enterprises 100000 --months 48 --seed 7 "
               "--out data/synthetic",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--enterprises", type=int, default=10_000, metavar="N",
                   help="number of enterprises (default 10000)")
    g.add_argument("--months", type=int, default=48, metavar="M",
                   help="months of history (default 48)")
    g.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    g.add_argument("--end", default="2025-12", metavar="YYYY-MM",
                   help="last month of data (default 2025-12)")
    g.add_argument("--default-rate", type=float, default=0.03,
                   help="baseline 12-month default rate of applicants (default 0.03)")
    g.add_argument("--macro-shock", type=float, default=0.8,
                   help="depth of a macro downturn, in sd of health (default 0.8; 0 = none)")
    g.add_argument("--new-firm-share", type=float, default=0.15,
                   help="share of firms founded inside the window (default 0.15)")
    g.add_argument("--application-rate", type=float, default=0.5,
                   help="share of eligible firms applying for a loan (default 0.5)")
    g.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    g.add_argument("--out", required=True, metavar="DIR", help="output folder")
    g.add_argument("--overwrite", action="store_true", help="replace existing table files")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser(
        "validate", help="check a folder of tax tables against the data contract",
        description="Validate every table; print a report; exit 1 if any row breaks a rule.",
        epilog="examples:\n  taxcredit validate data/synthetic\n"
               "  taxcredit validate data/bank --report problems.csv --quarantine data/checked",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("data", metavar="DIR", help="folder with <table>.parquet or <table>.csv files")
    v.add_argument("--lenient-uscc", action="store_true",
                   help="accept USCCs with a valid format but a failing check character "
                        "(early pilot codes)")
    v.add_argument("--report", metavar="FILE", help="also write the problem report as CSV")
    v.add_argument("--quarantine", metavar="DIR",
                   help="write the clean tables to DIR/clean and rejected rows to DIR/rejected")
    v.add_argument("--chunk-size", type=_positive_int, default=None, metavar="N",
                   help="validate a Parquet folder grouped by enterprise in chunks of N "
                        "enterprises (bounded memory, for large folders)")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=_cmd_validate)

    f = sub.add_parser(
        "features", help="compute point-in-time features for every enterprise or for pairs",
        description="Compute the catalog features as known at an as-of date (or per row of a "
                    "pairs file with columns uscc, as_of).",
        epilog="examples:\n  taxcredit features data/synthetic --as-of 2025-06-30 "
               "--out features.parquet\n"
               "  taxcredit features data/synthetic --pairs applications.csv --out train.csv "
               "--purpose model_development --consent-at as-of",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("data", metavar="DIR", help="folder with <table>.parquet or <table>.csv files")
    f.add_argument("--as-of", metavar="DATE", help="one as-of date for every enterprise")
    f.add_argument("--pairs", metavar="FILE",
                   help="CSV or Parquet with columns uscc and as_of (one row per output row)")
    f.add_argument("--out", required=True, metavar="FILE", help="output .parquet or .csv")
    f.add_argument("--features", metavar="ID,ID", help="only these catalog features")
    f.add_argument("--chunk-size", type=_positive_int, default=None, metavar="N",
                   help="enterprises per chunk (default 25000 streamed from Parquet, 100000 "
                        "in memory)")
    f.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes for a Parquet folder (2 on a 2-core machine)")
    _lenient_uscc(f)
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    _governed(f, ("credit_assessment", "model_development", "post_loan_monitoring"))
    f.set_defaults(func=_cmd_features)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``taxcredit`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except (TaxCreditError, OSError, ImportError) as exc:  # bad data, files, missing extra
        print(f"taxcredit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:  # bad option values that argparse cannot check
        print(f"taxcredit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
