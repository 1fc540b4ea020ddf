"""taxcredit: credit scoring of small and micro enterprises from tax data (银税互动).

Tax tables → validated :class:`TaxDataset` → point-in-time features → a bank's strategy
(PD, score, grade, reasons, decision, limit) and enterprise profiles.
"""

from importlib.metadata import PackageNotFoundError, version

from . import datasets, features, governance, modeling, profile, strategies, strategy
from .data import TaxDataset
from .errors import ArtifactError, TaxCreditError, TaxDataError, UnknownNameError
from .features import build_features, build_features_folder
from .governance import Governance, GovernanceConfig
from .profile import Profiler, build_profiles
from .strategy import Strategy, StrategySpec, load_strategy

try:
    __version__ = version("taxcredit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ArtifactError",
    "Governance",
    "GovernanceConfig",
    "Profiler",
    "Strategy",
    "StrategySpec",
    "TaxCreditError",
    "TaxDataError",
    "TaxDataset",
    "UnknownNameError",
    "__version__",
    "build_features",
    "build_features_folder",
    "build_profiles",
    "datasets",
    "features",
    "governance",
    "load_strategy",
    "modeling",
    "profile",
    "strategies",
    "strategy",
]
