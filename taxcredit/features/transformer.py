"""A scikit-learn transformer: (enterprise, as-of) pairs in, catalog features out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data import TaxDataset
from ..errors import TaxDataError
from .catalog import feature, feature_ids
from .engine import build_features
from .entity import CATEGORIES

__all__ = ["TaxFeatures"]


class TaxFeatures(TransformerMixin, BaseEstimator):
    """Turn rows of (``uscc``, ``as_of``) into point-in-time tax features, inside a Pipeline.

    The tax data are a parameter (they are the world the rows refer to); ``X`` says which
    enterprise and which date each row is about, so a Pipeline can be fitted on application
    dates and applied to later ones.

    Parameters
    ----------
    dataset : TaxDataset
        Validated tax data. Cloning shares its frames (they are treated as read-only).
    features : list of str, optional
        Catalog feature ids (default: every numeric feature plus the categorical ones).
    categorical : {"codes", "keep", "drop"}
        Categorical features (industry, province, size class): ``"codes"`` maps them to the
        integer codes of their fixed categories (GB/T 4754 sections and divisions, GB/T 2260
        provinces, size classes; missing → NaN), which every estimator accepts; ``"keep"``
        returns pandas categoricals (LightGBM uses them natively); ``"drop"`` leaves them out.
    chunk_size : int
        Enterprises per chunk (memory bound; results do not depend on it).
    n_jobs : int
        Threads over chunks (results do not depend on it).

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
        ``["uscc", "as_of"]`` (plus any other input columns, ignored).
    n_features_in_ : int
    categories_ : dict of str to pandas.Index
        The categories behind the codes, per categorical feature.

    Examples
    --------
    >>> import taxcredit as tc
    >>> ds = tc.datasets.make_population(n_enterprises=300, months=36, seed=1)
    >>> apps = ds["applications"].rename(columns={"application_date": "as_of"})
    >>> tf = TaxFeatures(ds).fit(apps[["uscc", "as_of"]])
    >>> tf.transform(apps[["uscc", "as_of"]]).shape[0] == len(apps)
    True
    """

    def __init__(self, dataset: TaxDataset | None = None, features: list[str] | None = None,
                 categorical: str = "codes", chunk_size: int = 100_000, n_jobs: int = 1) -> None:
        self.dataset = dataset
        self.features = features
        self.categorical = categorical
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ helpers
    def _selected(self) -> list[str]:
        wanted = list(feature_ids()) if self.features is None else list(self.features)
        if self.categorical == "drop":
            wanted = [f for f in wanted if feature(f).kind != "category"]
        return wanted

    def _pairs(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame) or not {"uscc", "as_of"} <= set(X.columns):
            raise TaxDataError(
                "TaxFeatures expects a DataFrame with columns 'uscc' and 'as_of' "
                f"(got {type(X).__name__}"
                + (f" with columns {list(X.columns)}" if isinstance(X, pd.DataFrame) else "")
                + ")")
        return X[["uscc", "as_of"]]

    def _check_params(self) -> None:
        if not isinstance(self.dataset, TaxDataset):
            raise TypeError("TaxFeatures(dataset=...) must be a TaxDataset")
        if self.categorical not in ("codes", "keep", "drop"):
            raise ValueError(f"categorical must be 'codes', 'keep' or 'drop', "
                             f"got {self.categorical!r}")

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X, y=None) -> TaxFeatures:
        """Check and record the input columns (and the categories behind the codes)."""
        self._check_params()
        pairs = self._pairs(X)
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        del pairs  # checked; the categories are fixed by the standards, not learnt
        cats = [f for f in self._selected() if feature(f).kind == "category"]
        self.categories_ = ({c: pd.Index(CATEGORIES[c]) for c in cats}
                            if self.categorical == "codes" else {})
        return self

    def transform(self, X) -> pd.DataFrame | np.ndarray:
        """Compute the features of each row; the row order (and index) is kept."""
        check_is_fitted(self, "feature_names_in_")
        self._check_params()
        pairs = self._pairs(X)
        F = build_features(self.dataset, as_of=pairs, features=self._selected(),
                           chunk_size=self.chunk_size, n_jobs=self.n_jobs)
        F.index = X.index
        if self.categorical == "codes":
            for c, cats in self.categories_.items():
                codes = cats.get_indexer(F[c].astype(object))
                F[c] = np.where(codes >= 0, codes, np.nan)
        return F

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns (catalog ids)."""
        check_is_fitted(self, "feature_names_in_")
        return np.asarray(self._selected(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
