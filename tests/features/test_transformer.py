"""TaxFeatures: the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import taxcredit as tc
from taxcredit.features import TaxFeatures


@pytest.fixture(scope="module")
def data():
    ds = tc.datasets.make_population(n_enterprises=3_000, months=48, seed=31)
    apps = ds["applications"].merge(ds["truth"], on="application_id")
    X = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    X.index = apps["application_id"].to_numpy()
    y = apps["default_12m_full"].to_numpy(dtype=int)
    return ds, X, y


def test_transform_matches_build_features_and_keeps_the_index(data):
    ds, X, _ = data
    tf = TaxFeatures(ds, categorical="keep").fit(X)
    out = tf.transform(X)
    assert list(out.index) == list(X.index)
    expected = tc.build_features(ds, as_of=X)
    np.testing.assert_array_equal(out["tax_12m"].to_numpy(), expected["tax_12m"].to_numpy())
    assert list(tf.get_feature_names_out()) == tc.features.feature_ids()
    assert list(tf.feature_names_in_) == ["uscc", "as_of"]


def test_categorical_codes_use_the_fitted_categories(data):
    ds, X, _ = data
    tf = TaxFeatures(ds).fit(X.iloc[:200])
    out = tf.transform(X)
    assert out["size_class"].dtype == float
    seen = tf.categories_["industry_section"]
    codes = out["industry_section"].dropna().astype(int)
    assert codes.between(0, len(seen) - 1).all()
    dropped = TaxFeatures(ds, categorical="drop").fit(X).transform(X)
    assert "province" not in dropped.columns


def test_clone_shares_the_data_and_keeps_params(data):
    ds, _, _ = data
    tf = TaxFeatures(ds, features=["tax_12m", "credit_grade"], chunk_size=100)
    twin = clone(tf)
    assert twin.get_params()["features"] == ["tax_12m", "credit_grade"]
    assert twin.dataset["vat_returns"] is ds["vat_returns"]  # not copied


def test_pipeline_and_grid_search(data):
    ds, X, y = data
    pipe = make_pipeline(TaxFeatures(ds, categorical="drop"), SimpleImputer(),
                         StandardScaler(), LogisticRegression(max_iter=500))
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=2, scoring="roc_auc")
    grid.fit(X, y)
    assert grid.best_score_ > 0.55  # a small sample (about 50 defaults): signal, not a benchmark


def test_set_output_pandas(data):
    ds, X, _ = data
    tf = TaxFeatures(ds, features=["tax_12m", "sales_12m"]).set_output(transform="pandas")
    out = tf.fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["tax_12m", "sales_12m"]


def test_unhappy_paths(data):
    ds, X, _ = data
    with pytest.raises(NotFittedError):
        TaxFeatures(ds).transform(X)
    with pytest.raises(tc.TaxDataError, match="uscc"):
        TaxFeatures(ds).fit(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="TaxDataset"):
        TaxFeatures(None).fit(X)
    with pytest.raises(ValueError, match="categorical"):
        TaxFeatures(ds, categorical="onehot").fit(X)
