"""The synthetic population generator (see :func:`make_population`)."""

from .population import (
           BLOCK_SIZE,
           PopulationConfig,
           iter_population,
           make_population,
           write_population,
)

__all__ = ["BLOCK_SIZE", "PopulationConfig", "iter_population", "make_population",
           "write_population"]
