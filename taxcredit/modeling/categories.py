"""One text key per category value, whatever dtype the column arrived in.

A code declared categorical is stored as text in a fitted model (bins, LightGBM categories,
JSON, SQL). The same code must give the same key at fitting and at scoring, although pandas
hands it over as ``int64`` in one batch, as ``float64`` in the next (one missing value is
enough), as ``Int64``, or as Python objects after a CSV round trip. Plain ``str()`` gives
``"1"`` for the first and ``"1.0"`` for the second — every row of that batch would be an
unknown category. So:

* a whole number is written without a fractional part (``1``, ``1.0``, ``np.int8(1)``,
  ``"1.0"`` → ``"1"``) — text of the form ``"<integer>.0…"`` included, which keeps models
  saved before this rule (whose float codes were stored as ``"1.0"``) working;
* any other number is its shortest round-trip repr (``1.5`` → ``"1.5"``);
* booleans are ``"True"`` / ``"False"``;
* other text is kept exactly (``"01"`` stays ``"01"``: leading zeros are part of a code).

Missing values are the caller's business (they have bins of their own).
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd

__all__ = ["category_key", "category_keys"]

_WHOLE_DECIMAL = re.compile(r"[+-]?\d+\.0+")


def category_key(value) -> str:
    """Return the text key of one non-missing category value (module notes)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    text = str(value)
    if _WHOLE_DECIMAL.fullmatch(text):
        return str(int(float(text)))
    return text


def category_keys(values) -> np.ndarray:
    """Return the keys of non-missing values, computed once per distinct value."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError("category_keys takes non-missing values only")
    keys = np.array([category_key(u) for u in uniques], dtype=object)
    return keys[codes] if len(keys) else np.array([], dtype=object)
