"""Render a :class:`~taxcredit.monitoring.validation.ValidationReport`: HTML and Excel.

The HTML file is self-contained — CSS inline, plots as embedded PNG (matplotlib), no
scripts, no CDN — so it opens offline on a bank's network and can be archived as evidence.
The Excel workbook has one sheet per table (openpyxl: ``pip install 'taxcredit[report]'``).
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_excel", "write_html", "write_portfolio_html"]

_CSS = """
body{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.finding{color:#a33}.ok{color:#275}.figs img{max-width:49%;vertical-align:top}
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    alt = html.escape(fig.get_label() or "plot")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def _figures(r) -> list[str]:
    import matplotlib.pyplot as plt

    figs = []
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("ROC curves")
    for name, c in r.curves.items():
        auc = r.summary.set_index("sample").loc[name, "auc"]
        ax.plot(c["roc"]["fpr"], c["roc"]["tpr"], label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(fontsize=8)
    figs.append(_png(fig))
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("KS curves")
    for name, c in r.curves.items():
        k = c["ks"]
        x = np.arange(1, len(k) + 1) / len(k)
        ax.plot(x, k["cum_bad"] - k["cum_good"], label=name)
    ax.set(xlabel="share of distinct PDs, riskiest first", ylabel="cum. bad − cum. good",
           title="KS")
    ax.legend(fontsize=8)
    figs.append(_png(fig))
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("Calibration by grade")
    for name, t in r.grades.items():
        t = t[t["n"] > 0]
        line = ax.plot(t["grade"].astype(str), t["observed_rate"], marker="o", label=name)[0]
        ax.vlines(t["grade"].astype(str), t["lower"], t["upper"], color=line.get_color(),
                  alpha=0.4)
    first = next(iter(r.grades.values()))
    first = first[first["n"] > 0]
    ax.plot(first["grade"].astype(str), first["mean_pd"], color="k", linestyle="--",
            label="mean PD")
    ax.set(yscale="log", xlabel="grade", ylabel="default rate",
           title="Observed vs predicted (Jeffreys 95%)")
    ax.legend(fontsize=8)
    figs.append(_png(fig))
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("PD distribution")
    for name, s in r.scores.items():
        ax.hist(np.log10(np.clip(s["pd"], 1e-6, 1)), bins=40, histtype="step", density=True,
                label=name)
    ax.set(xlabel="log10 PD", ylabel="density", title="PD distribution by sample")
    ax.legend(fontsize=8)
    figs.append(_png(fig))
    return figs


def _table(df: pd.DataFrame, digits: int = 4) -> str:
    fmt = {c: (lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}g}")
           for c in df.columns if df[c].dtype.kind == "f"}
    return df.to_html(index=False, border=0, formatters=fmt, na_rep="", escape=True)


def write_html(r, path) -> str:
    """Write the report as one self-contained HTML file; return its path."""
    path = Path(path)
    card = r.card
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Validation report — {html.escape(r.strategy)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Validation report — strategy {html.escape(r.strategy)}</h1>",
             f"<p>Samples: {', '.join(html.escape(s) for s in r.summary['sample'])}; stability "
             f"against <b>{html.escape(r.reference)}</b>. Training window "
             f"{html.escape(' – '.join(card.get('training_window', ['?', '?'])))}, calibration "
             f"window {html.escape(' – '.join(card.get('calibration_window', ['?', '?'])))}."
             "</p>", "<h2>Findings</h2><ul>"]
    parts += ([f"<li class='finding'>{html.escape(f)}</li>" for f in r.findings]
              or ["<li class='ok'>No test failed and no distribution shifted past its limit."
                  "</li>"])
    parts += ["</ul>", "<h2>Discrimination and calibration</h2>", _table(r.summary),
              "<div class='figs'>", *_figures(r), "</div>"]
    for name, t in r.grades.items():
        parts += [f"<h2>Grades — {html.escape(name)}</h2>", _table(t)]
    for name, t in r.gains.items():
        parts += [f"<h2>Gains — {html.escape(name)}</h2>", _table(t)]
    parts += ["<h2>Stability (PSI of the PD, CSI of each feature)</h2>",
              _table(r.stability.sort_values("psi", ascending=False))]
    if r.binning:
        parts.append("<h2>Binning tables</h2>")
        for feat, t in r.binning.items():
            parts += [f"<h3>{html.escape(feat)}</h3>", _table(t.astype(
                {c: str for c in t.columns if t[c].dtype == object}))]
    card_rows = pd.DataFrame({"item": list(card), "value": [str(v) for v in card.values()]})
    parts += ["<h2>Model card</h2>", _table(card_rows), "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return str(path)


def write_excel(r, path) -> str:
    """Write every table of a report (anything with ``tables()``) to an Excel workbook."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:  # pragma: no cover - in the dev and report extras
        raise ImportError("Excel output needs openpyxl: pip install 'taxcredit[report]'") \
            from exc
    path = Path(path)
    tables = r.tables()
    names = _sheet_names(list(tables))
    part = path.with_name(f".{path.name}.part")  # a failed write leaves no half workbook
    try:
        with pd.ExcelWriter(part, engine="openpyxl") as xl:
            for t, sheet in zip(tables.values(), names, strict=True):
                t = t.copy()
                for c in t.columns:
                    if t[c].dtype == object or str(t[c].dtype) in ("str", "string", "category"):
                        t[c] = t[c].astype(str)
                t.to_excel(xl, sheet_name=sheet, index=False)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return str(path)


def _sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names: no [ ] : * ? / or backslash, at most 31 characters, unique."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        clean = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "sheet"
        sheet, k = clean[:31], 1
        while sheet.lower() in seen:  # a truncated twin: number it
            k += 1
            tag = f"~{k}"
            sheet = clean[:31 - len(tag)] + tag
        seen.add(sheet.lower())
        out.append(sheet)
    return out



def write_portfolio_html(m, path, *, title: str = "Portfolio monitoring") -> str:
    """Write a :class:`~taxcredit.monitoring.portfolio.PortfolioMonitor` as one HTML file."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figs = []
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("PSI over time")
    pdv = m.stability[m.stability["variable"] == "pd"]
    ax.plot(pdv["as_of"], pdv["psi"], marker="o", label="PD")
    top = (m.stability[m.stability["variable"] != "pd"].groupby("variable")["psi"].max()
           .sort_values(ascending=False).head(3).index)
    for v in top:
        t = m.stability[m.stability["variable"] == v]
        ax.plot(t["as_of"], t["psi"], marker=".", linewidth=1, label=v)
    for y, c in ((0.10, "#e6a700"), (0.25, "#c0392b")):
        ax.axhline(y, color=c, linestyle=":")
    ax.set(ylabel="PSI vs development", title="Stability")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    figs.append(_png(fig))
    fig, ax = plt.subplots(figsize=(5, 4))
    fig.set_label("Grade distribution")
    g = m.grades.set_axis([str(pd.Timestamp(d).date()) for d in m.grades.index])
    g.plot.bar(stacked=True, ax=ax, width=0.8, legend=False, rot=45)
    ax.set(xlabel="", ylabel="share of the book", title="Grades")
    ax.legend(fontsize=7, ncol=2)
    figs.append(_png(fig))
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
             f"{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<h2>Findings</h2><ul>"]
    parts += ([f"<li class='finding'>{html.escape(f)}</li>" for f in m.findings]
              or ["<li class='ok'>Stable: no finding.</li>"])
    parts += ["</ul><div class='figs'>", *figs, "</div>", "<h2>Grade distribution</h2>",
              _table(m.grades.reset_index().assign(as_of=lambda t: t["as_of"].astype(str))),
              "<h2>Migration</h2>"]
    for (a, b), mig in m.migration.items():
        flat = mig.rename_axis(index="from", columns=None).reset_index()
        parts += [f"<h3>{a.date()} → {b.date()} (rows: from, columns: to)</h3>",
                  _table(flat.assign(**{"from": flat["from"].astype(str)}))]
    if len(m.vintages):
        parts += ["<h2>Vintages</h2>", _table(m.vintages)]
    parts += ["<h2>Stability</h2>", _table(m.stability.assign(
        as_of=m.stability["as_of"].astype(str)).sort_values("psi", ascending=False).head(60)),
        "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return str(path)
