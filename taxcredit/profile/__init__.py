"""Multi-dimensional enterprise profiles (多维度画像): dimension scores from peer percentiles.

>>> import taxcredit as tc                                              # doctest: +SKIP
>>> prof = tc.Profiler().fit(X_reference)                               # doctest: +SKIP
>>> prof.profile(X_today, lang="en")                                    # doctest: +SKIP
>>> tc.build_profiles(ds, as_of="2025-06-30", strategy=strategy)        # doctest: +SKIP
>>> tc.profile.chart.radar(profiles.iloc[0])                            # doctest: +SKIP
"""

from .build import (
    ATTACHMENT,
    DIMENSIONS_OUT,
    build_profiles,
    decide_with_profiles,
    fit_reference,
    join_profiles,
    needed_features,
    profiler_for,
    registered_pairs,
)
from .profiler import LEVELS, Profiler

__all__ = ["ATTACHMENT", "DIMENSIONS_OUT", "LEVELS", "Profiler", "build_profiles",
           "decide_with_profiles", "fit_reference", "join_profiles", "needed_features",
           "profiler_for", "registered_pairs"]
