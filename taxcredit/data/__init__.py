"""The data layer: table contract, `TaxDataset`, validation, enterprise IDs, synthetic data."""

from .dataset import TaxDataset
from .schema import SCHEMAS, describe_contract, get_schema
from .validation import Quarantine

__all__ = ["SCHEMAS", "Quarantine", "TaxDataset", "describe_contract", "get_schema"]
