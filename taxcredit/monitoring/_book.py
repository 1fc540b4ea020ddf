"""The loan book as a bank hands it over: a list of USCCs or a table with a ``uscc`` column."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data import TaxDataset
from ..data.coerce import _normalise_text
from ..data.ids import mask_uscc_array
from ..data.schema import ENTERPRISES

__all__ = ["book_codes"]

_USCC = next(c for c in ENTERPRISES.columns if c.name == "uscc")


def book_codes(book, ds: TaxDataset | None = None) -> pd.Series:
    """Return the book's USCCs as validation stores them (trimmed, full-width forms, upper case).

    Duplicates are dropped. With ``ds``, codes the data do not hold are reported in a
    warning (masked) rather than dropped unnoticed.
    """
    if isinstance(book, pd.DataFrame):
        if "uscc" not in book.columns:
            raise ValueError("book: a table of loans needs a 'uscc' column")
        raw = book["uscc"]
    else:
        raw = list(book)
    s = pd.Series(np.asarray(raw, dtype=object), dtype="str")
    if s.isna().any():
        rows = np.flatnonzero(s.isna().to_numpy())[:5].tolist()
        raise ValueError(f"book: {int(s.isna().sum())} loan(s) without a USCC, e.g. rows {rows}")
    codes = _normalise_text(s, _USCC).drop_duplicates().reset_index(drop=True)
    if ds is not None:
        absent = ~codes.isin(ds["enterprises"]["uscc"].astype(str))
        if absent.any():
            warnings.warn(f"book: {int(absent.sum())} of {len(codes)} enterprise(s) are not in "
                          f"the data, e.g. {list(mask_uscc_array(codes[absent].head(3)))}",
                          UserWarning, stacklevel=3)
    return codes
