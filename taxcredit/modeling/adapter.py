"""`SklearnRiskModel`: any scikit-learn classifier with ``predict_proba``, as a risk model.

A bank's own model (or a challenger) then goes through the same scaling, grades and reason
codes as the built-in ones. Reasons come from a model-agnostic attribution: for each feature,
how much the PD falls when that feature alone is set to a typical value (its training median,
or most frequent category).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import ClassifierTags, get_tags
from sklearn.utils.validation import check_is_fitted

from .reasons import top_k
from .woe import _binary_y, _frame

__all__ = ["SklearnRiskModel"]


def _plain(v):
    """Return a NumPy/pandas scalar as a plain Python value (None for missing)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


class SklearnRiskModel(ClassifierMixin, BaseEstimator):
    """Wrap a scikit-learn classifier as a PD model with reason codes.

    Parameters
    ----------
    estimator : classifier
        Anything with ``fit`` and ``predict_proba`` (a Pipeline too); cloned at fit.

    Attributes
    ----------
    estimator_ : the fitted clone
    reference_ : dict
        The typical value of each feature, used for reasons.
    classes_ : numpy.ndarray
    """

    def __init__(self, estimator=None) -> None:
        self.estimator = estimator

    def fit(self, X, y=None):
        """Fit a clone of the estimator and record each feature's typical value."""
        if self.estimator is None or not hasattr(self.estimator, "predict_proba"):
            raise TypeError("SklearnRiskModel needs an estimator with predict_proba, got "
                            f"{type(self.estimator).__name__}")
        df = _frame(X)
        yy = _binary_y(y, len(df))
        labels = np.unique(np.asarray(y).ravel())
        self.classes_ = labels if len(labels) == 2 else np.array([0, 1])
        self.estimator_ = clone(self.estimator).fit(df if isinstance(X, pd.DataFrame)
                                                    else df.to_numpy(), yy)
        # plain Python values (no pandas objects), so skops can save the fitted model
        self.reference_ = {str(c): _plain(df[c].median() if pd.api.types.is_numeric_dtype(df[c])
                                          else df[c].mode(dropna=True).iloc[0]
                                          if df[c].notna().any() else None)
                           for c in df.columns}
        self.feature_names_in_ = np.asarray([str(c) for c in df.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self._as_frame = isinstance(X, pd.DataFrame)
        return self

    def _input(self, X):
        check_is_fitted(self, "estimator_")
        df = _frame(X, self.feature_names_in_)
        if df.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {df.shape[1]} features, but SklearnRiskModel is expecting "
                             f"{self.n_features_in_} features as input")
        return df

    def _pd(self, df: pd.DataFrame) -> np.ndarray:
        data = df if self._as_frame else df.to_numpy()
        proba = self.estimator_.predict_proba(data)
        return proba[:, list(self.estimator_.classes_).index(1.0)]

    def predict_proba(self, X) -> np.ndarray:
        """``[P(non-event), P(event)]`` per row."""
        p = self._pd(self._input(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Predict the more likely label."""
        check_is_fitted(self, "estimator_")
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def reasons(self, X, k: int = 3) -> pd.DataFrame:
        """Top-``k`` features whose typical value would lower the row's PD the most.

        One extra prediction of the batch per feature: compute reasons for the rows that need
        them.
        """
        df = self._input(X)
        base = self._pd(df)
        drop = np.zeros((len(df), self.n_features_in_))
        for j, name in enumerate(self.feature_names_in_):
            alt = df.copy()
            ref = self.reference_[str(name)]
            alt[name] = ref if ref is not None and pd.notna(ref) else np.nan
            if isinstance(df[name].dtype, pd.CategoricalDtype):
                alt[name] = pd.Categorical(alt[name], dtype=df[name].dtype)
            else:
                alt[name] = alt[name].astype(df[name].dtype, errors="ignore")
            drop[:, j] = base - self._pd(alt)
        return top_k(drop, list(self.feature_names_in_), k, df.index, "pd_drop")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            inner = get_tags(self.estimator).input_tags
            tags.input_tags.allow_nan = inner.allow_nan
            tags.input_tags.categorical = inner.categorical
            tags.input_tags.string = inner.string
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags
