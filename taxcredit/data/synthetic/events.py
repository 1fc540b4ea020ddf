"""Dated events of a block: violations, audits, penalties, status and key changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import MonthGrid
from .fate import Fate, _sigmoid
from .world import World

__all__ = ["MonthlyEvents", "simulate_events"]


@dataclass
class MonthlyEvents:
    """Boolean ``(n, months)`` event flags (and amounts) of one block."""

    violation: np.ndarray
    violation_amount: np.ndarray
    major_violation: np.ndarray
    audit: np.ndarray
    audit_amount: np.ndarray  # tax adjusted; 0 for a clean audit
    legal_rep_change: np.ndarray
    address_change: np.ndarray
    tax_office_change: np.ndarray
    abnormal: np.ndarray
    restored: np.ndarray
    deregistered: np.ndarray


def simulate_events(rng: np.random.Generator, world: World, fate: Fate, alive: np.ndarray,
                    health: np.ndarray, grid: MonthGrid) -> MonthlyEvents:
    """Draw monthly events. Distress-driven events only start at the distress onset."""
    n, months = world.n, grid.months
    t = np.arange(months)
    c = world.character[:, None]
    u = lambda: rng.random((n, months))  # noqa: E731
    distressed = t[None, :] >= fate.onset[:, None]
    violation = alive & (u() < _sigmoid(-6.6 - 0.9 * c - 0.3 * health))
    violation_amount = np.round(np.exp(rng.normal(np.log(3000), 0.9, (n, months))), -1)
    major = alive & (u() < _sigmoid(-10.5 - 1.3 * c))
    audit = alive & (u() < _sigmoid(-7.2 - 0.4 * c))
    found = u() < _sigmoid(-0.6 - 1.0 * c)
    audit_amount = np.where(found, np.round(world.annual_sales[:, None]
                                            * rng.uniform(0.003, 0.03, (n, months)), -2), 0.0)
    legal = alive & (u() < 0.003 * np.exp(-0.5 * c) + 0.05 * distressed)
    address = alive & (u() < 0.004 + 0.02 * distressed)
    office = alive & (u() < 0.001 + 0.01 * distressed)
    abnormal = np.zeros((n, months), dtype=bool)
    deregistered = np.zeros((n, months), dtype=bool)
    restored = np.zeros((n, months), dtype=bool)
    lag = rng.integers(1, 4, n)
    when = fate.stop + lag
    rows = np.flatnonzero((fate.exit_kind == 1) & (when < months))
    abnormal[rows, when[rows]] = True
    back = fate.stop + lag + rng.integers(2, 10, n)
    rows_r = rows[(rng.random(len(rows)) < 0.12) & (back[rows] < months)]
    restored[rows_r, back[rows_r]] = True
    when_d = fate.stop + rng.integers(2, 7, n)
    rows_d = np.flatnonzero((fate.exit_kind == 2) & (when_d < months))
    deregistered[rows_d, when_d[rows_d]] = True
    return MonthlyEvents(violation=violation, violation_amount=violation_amount,
                         major_violation=major, audit=audit, audit_amount=audit_amount,
                         legal_rep_change=legal, address_change=address, tax_office_change=office,
                         abnormal=abnormal, restored=restored, deregistered=deregistered)
