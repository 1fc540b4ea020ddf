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
            # object dtype: pandas would make text a str column and None its NaN
            out[f"reason_{i + 1}"] = pd.Series(np.where(pos, labels[order[:, i]], None),
                                               dtype=object)
            out[f"{what}_{i + 1}"] = np.where(pos, vals[:, i], 0.0)
        else:
            out[f"reason_{i + 1}"] = pd.Series([None] * n, dtype=object)
            out[f"{what}_{i + 1}"] = np.zeros(n)
    return pd.DataFrame(out, index=pd.RangeIndex(n)).set_axis(index)




#: how a reason reads when the feature's value was missing for that row
NO_DATA = {"zh": "无数据：{}", "en": "no data: {}"}


def label_reasons(reasons: pd.DataFrame, labels: Mapping[str, tuple[str, str]], *,
                  lang: str = "zh", values: pd.DataFrame | None = None) -> pd.DataFrame:
    """Replace feature names in ``reason_*`` columns by readable labels.

    Parameters
    ----------
    reasons : pandas.DataFrame
        Output of a model's ``reasons``.
    labels : mapping of feature → (中文, English)
        E.g. from the feature catalog; features without a label keep their name.
    lang : {"zh", "en"}
    values : pandas.DataFrame, optional
        The feature values of the same rows, in the same order. Where a reason's feature is
        missing for its row, the label says so (``无数据：当前欠税金额`` / ``no data: Arrears
        at as-of``): the risk came from the absence of data, not from the value.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    if values is not None and len(values) != len(reasons):
        raise ValueError(f"values has {len(values)} rows but reasons has {len(reasons)}")
    pick = 0 if lang == "zh" else 1
    out = reasons.copy()
    for c in out.columns:
        if not c.startswith("reason_"):
            continue
        names = out[c].to_numpy(dtype=object)
        text = np.array([labels[v][pick] if v in labels else v for v in names], dtype=object)
        if values is not None:
            for name in pd.unique(names[pd.notna(names)]):
                if name in values.columns:
                    at = (names == name) & values[name].isna().to_numpy()
                    text[at] = [NO_DATA[lang].format(t) for t in text[at]]
        out[c] = pd.Series(text, index=out.index, dtype=object)  # None stays None
    return out
