"""The modeling layer: binning, WoE, scorecards, boosting, calibration, grades and metrics.

It works on any feature frame, not only tax features.

>>> from taxcredit.modeling import WoEBinner, metrics   # doctest: +SKIP
"""

from . import metrics
from .adapter import SklearnRiskModel
from .binning import fit_bins
from .bins import FeatureBins
from .calibration import PDCalibrator, prior_correction
from .gbm import GBMRiskModel
from .partition import optimal_partition
from .reasons import label_reasons, top_k
from .scale import MasterScale, ScoreScale
from .scorecard import WoEScorecard
from .woe import WoEBinner

__all__ = ["FeatureBins", "GBMRiskModel", "MasterScale", "PDCalibrator", "ScoreScale",
           "SklearnRiskModel", "WoEBinner", "WoEScorecard", "fit_bins", "label_reasons",
           "metrics", "optimal_partition", "prior_correction", "top_k"]
