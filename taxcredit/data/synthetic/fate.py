"""What happens to each synthetic enterprise: distress, exit, loan application and default.

The true probability of default (PD) of an application depends only on what is true at the
application month — latent health, character, youth, size. The outcome is also moved by a shock
drawn afresh for each application that no data reveal and nothing else depends on; it is part of
the outcome's chance, not a trait of the enterprise, so the true PD averages over it (a
default drawn with ``sigmoid(state + shock)`` has exactly the distribution of one drawn with
that average). Only *after* the application does a defaulter's distress show in its tax data
(falling sales, arrears, late filings), so features taken at the application date carry no
trace of the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .world import World

__all__ = ["Fate", "calibrate_intercept", "simulate_fate"]

# weights of the default logit: −health (6-month mean), −character, young firm, shock
PD_WEIGHTS = (0.9, 0.85, 0.45, 0.4)
# effect of firm size (per tenfold sales) on the logit
SIZE_WEIGHT = 0.35
# months from application to default: defaults cluster in the middle of the year
DEFAULT_LAG_WEIGHTS = np.array([1, 2, 3, 4, 5, 5, 5, 5, 4, 4, 3, 3], dtype=float)


@dataclass
class Fate:
    """Per-enterprise outcomes of one block (month indices relative to the grid)."""

    first_filing_month: np.ndarray
    onset: np.ndarray  # first month of distress (months = never)
    stop: np.ndarray  # first month without filings (months = never)
    exit_kind: np.ndarray  # 0 none, 1 abnormal (走逃), 2 deregistered
    distress: np.ndarray  # (n, months) >= 0, log-decline of activity
    app_month: np.ndarray  # -1: no application
    true_pd: np.ndarray  # nan without application
    default: np.ndarray  # bool: defaulted within 12 months of the application
    default_month: np.ndarray  # -1: none

    def health(self, world: World) -> np.ndarray:
        """Effective health that drives behaviour: latent health minus distress."""
        return world.health - self.distress


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# 64-point Gauss–Hermite rule for the standard normal (probabilists' weights, normalised)
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


def _normal_mean_of_sigmoid(x: np.ndarray, sd: float) -> np.ndarray:
    """``E[sigmoid(x + sd·Z)]`` for ``Z ~ N(0, 1)``, elementwise (64-point Gauss–Hermite)."""
    z, w = _HERMITE_NODES, _HERMITE_WEIGHTS
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for start in range(0, len(x), 65_536):  # bounded memory: 64 nodes per row
        part = x[start:start + 65_536]
        out[start:start + len(part)] = _sigmoid(part[:, None] + sd * z[None, :]) @ w
    return out


def calibrate_intercept(rate: float, sd: float) -> float:
    """Intercept ``a`` with ``E[sigmoid(a + sd·Z)] = rate`` for ``Z ~ N(0, 1)``.

    Solved by bisection on a 64-point Gauss–Hermite quadrature, so it depends on nothing but
    its arguments (every block of a population uses the same intercept).
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"default rate must lie in (0, 1), got {rate}")
    lo, hi = -20.0, 20.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(_normal_mean_of_sigmoid(np.array([mid]), sd)[0]) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def simulate_fate(rng: np.random.Generator, world: World, first_filing_month: np.ndarray,
                  months: int, *, default_rate: float, application_rate: float) -> Fate:
    """Draw distress, exits, applications and defaults for one block."""
    n = world.n
    t = np.arange(months)
    c = world.character
    # distress onset by a monthly hazard on latent health and character
    alive = t[None, :] >= first_filing_month[:, None]
    hazard = _sigmoid(-7.4 - 1.3 * world.health - 0.45 * c[:, None])
    hit = alive & (rng.random((n, months)) < hazard)
    onset = np.where(hit.any(axis=1), hit.argmax(axis=1), months)
    stop = np.where(onset < months, onset + rng.integers(2, 6, n), months)

    # applications: after 12 months of window and 6 months of filing, before any distress
    lo = np.maximum(12, first_filing_month + 6)
    hi = np.minimum(months, onset)
    can_apply = (hi > lo) & (rng.random(n) < application_rate)
    app_month = np.where(can_apply, lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(int),
                         -1)
    has_app = app_month >= 0
    rows = np.flatnonzero(has_app)
    # default follows the health of the last six months, not a single month's blip
    window = app_month[rows, None] - np.arange(6)[None, :]
    h_app = world.health[rows[:, None], np.maximum(window, 0)].mean(axis=1)
    young = ((app_month[rows] - first_filing_month[rows]) < 24).astype(float)
    b_h, b_c, b_y, b_u = PD_WEIGHTS
    sd = float(np.sqrt(b_h**2 + b_c**2 + b_u**2))
    alpha = calibrate_intercept(default_rate, sd) - b_y * 0.15
    # larger firms are more resilient (log10 of the sales scale around ¥1m a year)
    size = np.log10(world.annual_sales[rows] / 1e6)
    state = alpha - b_h * h_app - b_c * c[rows] + b_y * young - SIZE_WEIGHT * size
    shock = b_u * rng.standard_normal(len(rows))
    true_pd = np.full(n, np.nan)
    true_pd[rows] = _normal_mean_of_sigmoid(state, b_u)
    default = np.zeros(n, dtype=bool)
    default[rows] = rng.random(len(rows)) < _sigmoid(state + shock)
    lag = rng.choice(np.arange(1, 13), size=n, p=DEFAULT_LAG_WEIGHTS / DEFAULT_LAG_WEIGHTS.sum())
    default_month = np.where(default, app_month + lag, -1)

    # defaulters: distress starts 2-5 months before default, never before the application
    lead = rng.integers(2, 6, n)
    d_onset = np.maximum(app_month + 1, default_month - lead)
    onset = np.where(default, d_onset, onset)
    quits = rng.random(n) < 0.75
    stop = np.where(default, np.where(quits, default_month + rng.integers(0, 5, n), months + 999),
                    stop)
    # applicants that do not default stay in business for the loan's 12 months
    survive = has_app & ~default & (onset <= app_month + 12)
    shift = app_month + 13 - onset
    onset = np.where(survive, onset + shift, onset)
    stop = np.where(survive, stop + shift, stop)
    stop = np.minimum(stop, months + 999)

    ramp = np.clip(t[None, :] - onset[:, None] + 1, 0, None).astype(float)
    distress = np.minimum(0.7 * ramp, 3.0)
    exit_kind = np.where(stop < months, np.where(rng.random(n) < 0.65, 1, 2), 0)
    return Fate(first_filing_month=first_filing_month, onset=onset, stop=stop,
                exit_kind=exit_kind, distress=distress, app_month=app_month, true_pd=true_pd,
                default=default, default_month=default_month)
