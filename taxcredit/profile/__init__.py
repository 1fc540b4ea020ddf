"""Multi-dimensional enterprise profiles (多维度画像): dimension scores from peer percentiles.

>>> from taxcredit.profile import Profiler       # doctest: +SKIP
>>> prof = Profiler().fit(X_reference)           # doctest: +SKIP
>>> prof.profile(X_today, lang="en")             # doctest: +SKIP
"""

from .profiler import LEVELS, Profiler

__all__ = ["LEVELS", "Profiler"]
