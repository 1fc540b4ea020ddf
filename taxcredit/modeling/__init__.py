"""The modeling layer: binning, WoE, scorecards, boosting, calibration, grades and metrics.

It works on any feature frame, not only tax features.

>>> from taxcredit.modeling import WoEBinner, metrics   # doctest: +SKIP
"""

from . import metrics
from .binning import fit_bins
from .bins import FeatureBins
from .partition import optimal_partition
from .scale import MasterScale, ScoreScale
from .scorecard import WoEScorecard
from .woe import WoEBinner

__all__ = ["FeatureBins", "MasterScale", "ScoreScale", "WoEBinner", "WoEScorecard", "fit_bins",
           "metrics", "optimal_partition"]
