"""Reason codes: the features that pushed a row's risk up, ranked, with readable labels.

Each model measures "pushed up" its own way — a scorecard by the points a feature lost against
its best bin, trees by TreeSHAP contributions, any other classifier by how much the PD falls when
the feature is set to a typical value — and :func:`top_k` ranks them the same way for all.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["label_reasons", "top_k"]


def top_k(lost: np.ndarray, names: list[str], k: int, index, what: str) -> pd.DataFrame:
    """Rank the ``k`` largest positive entries of each row.

    Parameters
    ----------
    lost : numpy.ndarray, shape (n_rows, n_features)
        How much each feature pushed each row's risk up (≤ 0: not a reason).
    names : list of str
        Feature names (columns of ``lost``).
    k : int
        Reasons per row.
    index : pandas.Index
        Index of the result.
    what : str
        Name of the amount columns.

    Returns
    -------
    pandas.DataFrame
        ``reason_1..k`` (feature name, None when fewer features pushed risk up) and
        ``{what}_1..k`` (the amounts, 0 for no reason); ties keep the feature order.
    """
    n, m = lost.shape
    k_eff = min(k, m)
    order = np.argsort(-lost, axis=1, kind="stable")[:, :k_eff] if m else np.zeros((n, 0), int)
    vals = np.take_along_axis(lost, order, axis=1) if m else np.zeros((n, 0))
    labels = np.asarray(names, dtype=object)
    out = {}
    for i in range(k):
        if i < k_eff:
            pos = vals[:, i] > 0
            out[f"reason_{i + 1}"] = np.where(pos, labels[order[:, i]], None)
            out[f"{what}_{i + 1}"] = np.where(pos, vals[:, i], 0.0)
        else:
            out[f"reason_{i + 1}"] = np.full(n, None, dtype=object)
            out[f"{what}_{i + 1}"] = np.zeros(n)
    return pd.DataFrame(out, index=index)




def label_reasons(reasons: pd.DataFrame, labels: Mapping[str, tuple[str, str]], *,
                  lang: str = "zh") -> pd.DataFrame:
    """Replace feature names in ``reason_*`` columns by readable labels.

    Parameters
    ----------
    reasons : pandas.DataFrame
        Output of a model's ``reasons``.
    labels : mapping of feature → (中文, English)
        E.g. from the feature catalog; features without a label keep their name.
    lang : {"zh", "en"}
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    pick = 0 if lang == "zh" else 1
    out = reasons.copy()
    for c in out.columns:
        if c.startswith("reason_"):
            out[c] = [labels[v][pick] if v in labels else v for v in out[c]]
    return out
