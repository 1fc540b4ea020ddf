"""Annual 纳税信用 evaluation of a synthetic block, by the deduction rules of the SAT.

For each calendar year the score starts at 100 (complete regular and non-regular indicators),
93 (from 2025: non-regular missing, regular complete) or 90 and loses points per late or missing
filing (5), late payment (3), year-end arrears (11 if ≥ ¥50k else 3), violation (5) and audit
adjustment (11). Grades: A ≥ 90, B ≥ 70, C ≥ 40, D below; direct D for an abnormal (非正常户)
status or a major-violation listing; M for a first filing in the year or no revenue with a
score ≥ 70; "not A" (capped at B) when the firm has filed for less than 3 years, was D last year,
or had 3 consecutive / 6 cumulative zero-sales months. Results take effect in April of the next
year; later audits adjust them, repairs and appeals raise them — each revision is a new row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .activity import Activity
from .calendar import MonthGrid
from .events import MonthlyEvents
from .fate import Fate, _sigmoid
from .world import World

__all__ = ["GRADE_ORDER", "evaluate_grades"]

GRADE_ORDER = np.array(["A", "B", "M", "C", "D"])
_A, _B, _M, _C, _D = range(5)


def _grade_from_score(score: np.ndarray) -> np.ndarray:
    return np.select([score >= 90, score >= 70, score >= 40], [_A, _B, _C], _D)


def _max_run(flags: np.ndarray) -> np.ndarray:
    run = np.zeros(flags.shape[0], dtype=int)
    best = np.zeros(flags.shape[0], dtype=int)
    for m in range(flags.shape[1]):
        run = np.where(flags[:, m], run + 1, 0)
        best = np.maximum(best, run)
    return best


def _april(rng: np.random.Generator, year: int, n: int) -> np.ndarray:
    return np.datetime64(f"{year + 1}-04-10") + rng.integers(0, 21, n).astype("timedelta64[D]")


def _prior_grades(rng: np.random.Generator, world: World, fate: Fate, grid: MonthGrid,
                  year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grades of a year before the window, drawn from the traits at the window start."""
    n = world.n
    first = grid.month[0]
    ff_year = (first + fate.first_filing_month).astype("datetime64[Y]").astype(int) + 1970
    lam = np.exp(-0.7 - 1.1 * world.character - 0.5 * world.health[:, 0])
    score = np.clip(90.0 - 5 * rng.poisson(lam) - 3 * rng.poisson(0.3, n), 0, 100)
    grade = _grade_from_score(score)
    age_months = (year - ff_year) * 12 + 12
    grade = np.where((grade == _A) & (age_months < 36), _B, grade)
    direct_d = rng.random(n) < _sigmoid(-6.0 - 1.2 * world.character)
    grade = np.where(direct_d, _D, grade)
    score = np.where(direct_d, np.nan, score)
    grade = np.where(ff_year == year, _M, grade)
    score = np.where(ff_year == year, np.nan, score)
    evaluated = ff_year <= year
    return grade, score, evaluated


def evaluate_grades(rng: np.random.Generator, world: World, fate: Fate, act: Activity,
                    ev: MonthlyEvents, grid: MonthGrid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate every year; return grade rows and repair-event rows (``idx``, ``date``)."""
    n = world.n
    years = grid.year
    y0 = int(years[0])
    full_years = [int(y) for y in np.unique(years) if (years == y).sum() == 12]
    rows: list[dict[str, np.ndarray]] = []
    prev = np.full(n, -1)
    for y in (y0 - 2, y0 - 1):
        g, s, evaluated = _prior_grades(rng, world, fate, grid, y)
        idx = np.flatnonzero(evaluated)
        rows.append(dict(idx=idx, year=np.full(len(idx), y), grade=g[idx], score=s[idx],
                         eff=_april(rng, y, len(idx)), source=np.zeros(len(idx), dtype=int)))
        prev = np.where(evaluated, g, -1)

    liability = np.where(act.filed, act.vat_payable * 1.12, 0.0)
    delay = act.payment_delay
    paid_month = np.arange(grid.months)[None, :] + np.ceil((delay + 15) / 30.0).astype(int)
    quarterly = world.quarterly[:, None]
    zero_month = act.alive & (act.sales == 0)
    if world.quarterly.any():  # a zero quarter counts as three consecutive zero months
        qzero = np.zeros_like(zero_month)
        for m in np.flatnonzero(act.period_due.any(axis=0)):
            if m >= 2:
                z = act.period_due[:, m] & (act.period_sales[:, m] == 0)
                qzero[:, m - 2:m + 1] |= z[:, None]
        zero_month = np.where(quarterly, qzero, zero_month)
    ff = fate.first_filing_month
    stuck = ev.abnormal.any(axis=1) & ~ev.restored.any(axis=1)
    for y in full_years:
        cols = np.flatnonzero(years == y)
        a, b = cols[0], cols[-1] + 1
        alive_y = act.alive[:, a:b].any(axis=1)
        missing = (act.period_due[:, a:b] & ~act.filed[:, a:b]).sum(axis=1)
        late = (act.filed[:, a:b] & (act.filing_offset[:, a:b] > 0)).sum(axis=1)
        has_liab = liability[:, a:b] > 0
        late_pay = (has_liab & (delay[:, a:b] > 0) & (paid_month[:, a:b] < b)).sum(axis=1)
        unpaid = np.where(has_liab & (paid_month[:, a:b] >= b), liability[:, a:b], 0).sum(axis=1)
        violations = ev.violation[:, a:b].sum(axis=1)
        audited = ev.audit[:, a:b].any(axis=1)
        found = (ev.audit[:, a:b] & (ev.audit_amount[:, a:b] > 0)).sum(axis=1)
        if y >= 2025:
            start = np.where(audited, 100.0, np.where(missing == 0, 93.0, 90.0))
        else:
            start = np.where(audited, 100.0, 90.0)
        arrears_pts = np.where(unpaid >= 50_000, 11, np.where(unpaid > 0, 3, 0))
        score = np.clip(start - 5 * (late + missing) - 3 * late_pay - arrears_pts
                        - 5 * violations - 11 * found, 0, 100)
        grade = _grade_from_score(score)
        zero_run = _max_run(zero_month[:, a:b])
        zero_total = zero_month[:, a:b].sum(axis=1)
        age = b - ff
        not_a = (age < 36) | (prev == _D) | (zero_run >= 3) | (zero_total >= 6)
        grade = np.where((grade == _A) & not_a, _B, grade)
        no_revenue = ~(act.alive[:, a:b] & (act.sales[:, a:b] > 0)).any(axis=1)
        grade = np.where(no_revenue & (score >= 70), _M, grade)
        new = (ff >= a) & (ff < b)
        grade = np.where(new, _M, grade)
        score = np.where(new, np.nan, score)
        direct = (ev.abnormal[:, a:b] | ev.major_violation[:, a:b]).any(axis=1)
        grade = np.where(direct, _D, grade)
        score = np.where(direct, np.nan, score)
        evaluated = alive_y | direct
        idx = np.flatnonzero(evaluated)
        eff = _april(rng, y, len(idx))
        rows.append(dict(idx=idx, year=np.full(len(idx), y), grade=grade[idx], score=score[idx],
                         eff=eff, source=np.zeros(len(idx), dtype=int)))
        prev = np.where(evaluated, grade, -1)
        # later audit findings adjust the year's A/B result downwards
        nxt = slice(b, min(b + 12, grid.months))
        hits = ev.audit[:, nxt] & (ev.audit_amount[:, nxt] > 0)
        adj = evaluated & hits.any(axis=1) & np.isin(grade, (_A, _B))
        j = np.flatnonzero(adj[idx])
        if len(j):
            who = idx[j]
            month = b + hits[who].argmax(axis=1)
            when = np.maximum(grid.month_end[month] + 20, eff[j] + 30)
            new_grade = np.where(grade[who] == _A, _B, _C)
            new_score = np.where(new_grade == _B, np.minimum(score[who] - 11, 89),
                                 np.clip(score[who] - 11, 40, 69))
            rows.append(dict(idx=who, year=np.full(len(who), y), grade=new_grade,
                             score=new_score, eff=when, source=np.ones(len(who), dtype=int)))
        # repairs (信用修复) and appeals (复评) raise C and D results — not for firms that
        # end up abnormal (非正常户): theirs wait until the status is lifted
        low = np.isin(grade[idx], (_C, _D)) & ~stuck[idx]
        repair = low & (rng.random(len(idx)) < 0.25)
        appeal = low & ~repair & (rng.random(len(idx)) < 0.03)
        for sel, source, lag_lo, lag_hi in ((repair, 2, 60, 240), (appeal, 3, 20, 50)):
            k = np.flatnonzero(sel)
            if not len(k):
                continue
            who = idx[k]
            up = (source == 2) | (rng.random(len(k)) < 0.5)
            g_new = np.where(up, np.where(grade[who] == _D, _C, _B), grade[who])
            s_old = score[who]
            s_new = np.where(g_new == _B, np.maximum(np.nan_to_num(s_old, nan=70.0) + 10, 70.0),
                             np.where(g_new == _C, np.clip(np.nan_to_num(s_old, nan=40.0), 40, 69),
                                      s_old))
            s_new = np.minimum(s_new, 89.0)
            when = eff[k] + rng.integers(lag_lo, lag_hi, len(k)).astype("timedelta64[D]")
            rows.append(dict(idx=who, year=np.full(len(who), y), grade=g_new, score=s_new,
                             eff=when, source=np.full(len(who), source)))
    # becoming abnormal is a direct D: the grade in force is adjusted at once (动态调整)
    ab = ev.abnormal.any(axis=1)
    who = np.flatnonzero(ab)
    if len(who):
        month = ev.abnormal[who].argmax(axis=1)
        when = grid.month_end[month] + 1
        # the result in force then: last year's from April, the year before's until April
        cal_year = when.astype("datetime64[Y]").astype(int) + 1970
        before_april = (when.astype("datetime64[M]").astype(int) % 12) < 3
        year = cal_year - 1 - before_april.astype(int)
        rows.append(dict(idx=who, year=year, grade=np.full(len(who), _D),
                         score=np.full(len(who), np.nan), eff=when,
                         source=np.ones(len(who), dtype=int)))
    out = {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}
    grades = pd.DataFrame(out)
    grades = grades[grades["eff"] <= grid.extraction_date]
    # nothing is evaluated, adjusted or repaired after deregistration
    dereg = ev.deregistered.any(axis=1)
    gone = np.where(dereg, grid.month_start[ev.deregistered.argmax(axis=1)],
                    np.datetime64("2262-01-01"))
    grades = grades[grades["eff"].to_numpy() < gone[grades["idx"].to_numpy()]]
    # two results of one enterprise and year on the same day: keep the later revision
    grades = grades.drop_duplicates(["idx", "year", "eff"], keep="last")
    repairs = grades.loc[grades["source"] == 2, ["idx", "eff"]].rename(columns={"eff": "date"})
    return grades.reset_index(drop=True), repairs.reset_index(drop=True)
