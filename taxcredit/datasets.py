"""Built-in data: the synthetic population of small and micro enterprises.

>>> import taxcredit as tc
>>> ds = tc.datasets.make_population(n_enterprises=100, months=24, seed=0)
"""

from .data.synthetic import PopulationConfig, make_population, write_population

__all__ = ["PopulationConfig", "make_population", "write_population"]
