"""Monthly business activity of a block: sales, purchases, VAT, filing and payment behaviour.

All arrays have shape ``(n, months)``; nothing loops over enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import MonthGrid, due_dates
from .fate import Fate, _sigmoid
from .world import INDUSTRIES, World

__all__ = ["Activity", "simulate_activity"]

SMALL_SCALE_RATE = 0.01
EXEMPT_MONTHLY = 100_000.0
EXEMPT_QUARTERLY = 300_000.0


@dataclass
class Activity:
    """Simulated monthly quantities of one block."""

    alive: np.ndarray  # bool: the enterprise files in this month
    health: np.ndarray  # effective health (latent minus distress)
    sales: np.ndarray  # taxable sales, yuan
    purchases: np.ndarray  # purchases, yuan
    # VAT returns per period-end month (quarter-end months for quarterly filers)
    period_due: np.ndarray  # bool: a return is due for a period ending this month
    filed: np.ndarray  # bool: that return was filed (a row exists)
    period_sales: np.ndarray
    exempt_sales: np.ndarray
    output_tax: np.ndarray
    input_tax: np.ndarray
    vat_payable: np.ndarray
    credit: np.ndarray
    due: np.ndarray  # datetime64[D] (months,): due date of a period ending this month
    filing_offset: np.ndarray  # int days relative to due date (> 0 late)
    late_payment_days: np.ndarray  # int days after due a liability of this month is paid
    headcount: np.ndarray  # int

    @property
    def payment_delay(self) -> np.ndarray:
        """Days after the due date a liability of this month is paid (0: on time)."""
        return np.maximum(self.filing_offset, 0) + self.late_payment_days


def _period_sums(x: np.ndarray, quarter_end: np.ndarray) -> np.ndarray:
    """Sum of the quarter ending in each quarter-end month (NaN elsewhere or if incomplete)."""
    out = np.full_like(x, np.nan, dtype=float)
    for t in np.flatnonzero(quarter_end):
        if t >= 2:
            out[:, t] = x[:, t - 2:t + 1].sum(axis=1)
    return out


def simulate_activity(rng: np.random.Generator, world: World, fate: Fate,
                      grid: MonthGrid) -> Activity:
    """Simulate sales, VAT returns and filing/payment behaviour of one block."""
    n, months = world.n, grid.months
    t = np.arange(months)
    ind = world.industry
    c = world.character[:, None]
    alive = (t[None, :] >= fate.first_filing_month[:, None]) & (t[None, :] < fate.stop[:, None])
    health = fate.health(world)
    # ---- sales
    sf = np.array([i.sf_dip for i in INDUSTRIES])
    qp = np.array([i.q_peak for i in INDUSTRIES])
    dp = np.array([i.dec_peak for i in INDUSTRIES])
    season = grid.seasonality(sf, qp, dp)[ind]
    since_first = t[None, :] - fate.first_filing_month[:, None]
    ramp = np.clip((since_first + 1) / 4.0, 0.0, 1.0)
    log_sales = (np.log(world.annual_sales / 12.0)[:, None]
                 + world.growth[:, None] * (t[None, :] / 12.0)
                 + 0.7 * world.health - fate.distress + season
                 + world.volatility[:, None] * rng.standard_normal((n, months)))
    sales = np.exp(log_sales) * ramp
    micro = (world.size == 0)[:, None]
    p_zero = _sigmoid(-4.4 - 1.0 * health - 0.3 * c + 0.8 * micro)
    zero = (rng.random((n, months)) < p_zero) | (fate.distress >= 2.1) | (since_first == 0) & (
        rng.random((n, months)) < 0.4)
    sales = np.where(alive & ~zero, np.round(sales, 2), 0.0)
    cost = np.array([i.cost_ratio for i in INDUSTRIES])[ind][:, None]
    lumpy = (rng.random((n, months)) < 0.03) * (world.annual_sales[:, None]
                                                * rng.uniform(0.05, 0.4, (n, months)))
    purchases = np.where(alive, sales * cost * np.exp(-0.08 * health
                                                      + 0.15 * rng.standard_normal((n, months)))
                         + lumpy * (sales > 0), 0.0)
    purchases = np.round(purchases, 2)

    # ---- return periods
    moy = grid.month_of_year
    quarter_end = np.isin(moy, (3, 6, 9, 12))
    quarterly = world.quarterly[:, None]
    period_end_month = np.where(quarterly, quarter_end[None, :], True)
    period_due = period_end_month & alive & (~quarterly | (t[None, :] >= 2))
    q_sales = _period_sums(sales, quarter_end)
    period_sales = np.where(quarterly, q_sales, sales)
    period_sales = np.where(period_due, period_sales, 0.0)

    # ---- VAT: general taxpayers with input credit carried forward; small-scale at 1 %
    rate = np.array([i.vat_rate for i in INDUSTRIES])[ind][:, None]
    gen = world.general[:, None]
    out_gen = np.round(sales * rate, 2)
    in_gen = np.round(purchases * rate * (rng.random((n, months)) < 0.97), 2)
    payable = np.zeros((n, months))
    credit = np.zeros((n, months))
    carried = np.zeros(n)
    for m in range(months):
        net = out_gen[:, m] - in_gen[:, m] - carried
        payable[:, m] = np.maximum(net, 0.0)
        carried = np.where(alive[:, m], np.maximum(-net, 0.0), carried)
        credit[:, m] = carried
    threshold = np.where(quarterly, EXEMPT_QUARTERLY, EXEMPT_MONTHLY)
    exempt = ~gen & (period_sales <= threshold)
    small_tax = np.round(period_sales * SMALL_SCALE_RATE, 2)
    vat_payable = np.where(gen, payable, np.where(exempt, 0.0, small_tax))
    output_tax = np.where(gen, out_gen, np.where(exempt, 0.0, small_tax))
    input_tax = np.where(gen, in_gen, 0.0)
    exempt_sales = np.where(exempt, period_sales, 0.0)

    # ---- filing behaviour: late filings and skipped returns
    p_late = _sigmoid(-3.2 - 1.4 * c - 0.6 * health)
    late = rng.random((n, months)) < p_late
    late_days = 1 + rng.geometric(1 / 20, (n, months))
    # prompt filers file days before the deadline; the habit reflects character
    early_days = np.clip(np.round(6 + 2.5 * c + 2.0 * rng.standard_normal((n, months))), 0, 14)
    filing_offset = np.where(late, np.minimum(late_days, 150), -early_days).astype(np.int64)
    p_skip = np.where(period_sales == 0, 0.25, 0.0) + np.where(fate.distress > 0, 0.4, 0.0)
    filed = period_due & (rng.random((n, months)) >= p_skip)
    # ---- payment behaviour: arrears episodes
    p_arrears = _sigmoid(-3.7 - 1.3 * c - 1.2 * health)
    arrears = rng.random((n, months)) < p_arrears
    arrears_days = 15 + rng.geometric(1 / 60, (n, months))
    late_payment_days = np.where(arrears, arrears_days, 0)
    late_payment_days = np.where(fate.distress > 0, 10_000, late_payment_days)  # never paid

    # ---- headcount follows smoothed health
    smooth = np.copy(health)
    for m in range(1, months):
        smooth[:, m] = 0.7 * smooth[:, m - 1] + 0.3 * health[:, m]
    hc = world.headcount0[:, None] * np.exp(0.4 * smooth) * ramp
    headcount = np.where(alive, np.round(hc * np.exp(0.05 * rng.standard_normal((n, months)))),
                         0).astype(np.int64)
    headcount = np.where(world.headcount0[:, None] > 0, np.maximum(headcount, alive * 1), 0)
    return Activity(alive=alive, health=health, sales=sales, purchases=purchases,
                    period_due=period_due, filed=filed, period_sales=period_sales,
                    exempt_sales=exempt_sales, output_tax=output_tax, input_tax=input_tax,
                    vat_payable=vat_payable, credit=credit, due=due_dates(grid.month_end),
                    filing_offset=filing_offset, late_payment_days=late_payment_days,
                    headcount=headcount)
