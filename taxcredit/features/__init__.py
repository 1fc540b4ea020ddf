"""The feature layer: the bilingual feature catalog and the point-in-time engine.

>>> import taxcredit as tc
>>> tc.features.catalog().head()          # doctest: +SKIP
>>> X = tc.build_features(ds, as_of="2025-06-30")   # doctest: +SKIP
"""

from .catalog import (
                      DIMENSIONS,
                      FEATURES,
                      Feature,
                      catalog,
                      feature,
                      feature_ids,
                      labels,
                      monotone_constraints,
)
from .engine import build_features, feature_inputs
from .folder import build_features_folder
from .transformer import TaxFeatures

__all__ = ["DIMENSIONS", "FEATURES", "Feature", "TaxFeatures", "build_features",
           "build_features_folder", "catalog", "feature", "feature_ids", "feature_inputs",
           "labels", "monotone_constraints"]
