"""Turn one simulated block into the tables of the data contract."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa

from ..calendar import due_dates
from ..schema import SCHEMAS
from .activity import Activity
from .calendar import MonthGrid
from .events import MonthlyEvents
from .fate import Fate, _sigmoid
from .grades import GRADE_ORDER
from .world import INDUSTRIES, REGIONS, World

__all__ = ["build_tables"]

_BRAND = np.array(list("鑫华盛源达恒泰瑞丰兴德隆昌宏安顺通利新远诚信祥和金汇嘉福永康佳美益合天中宇晟睿"))
_TRADE = {"A": "农业发展", "C": "制造", "D": "能源", "E": "建筑工程", "F": "贸易", "G": "物流",
          "H": "餐饮管理", "I": "信息技术", "K": "置业", "L": "商务咨询", "M": "科技",
          "N": "环境工程", "O": "家政服务"}
_SOURCES = np.array(["annual", "adjustment", "repair", "appeal"])
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_EVENT_TEXT = {
    "violation": "税收违法违章", "major_violation_listing": "列入重大税收违法失信主体",
    "audit": "税务稽查", "legal_rep_change": "法定代表人变更", "address_change": "注册地址变更",
    "tax_office_change": "主管税务机关变更", "abnormal_status": "认定为非正常户",
    "status_restored": "解除非正常户", "deregistration": "注销登记", "penalty": "税务行政处罚",
    "credit_repair": "纳税信用修复",
}


def _dates(base: np.ndarray, days: np.ndarray | int = 0) -> np.ndarray:
    return (base.astype("datetime64[D]") + np.asarray(days).astype("timedelta64[D]")).astype(
        "datetime64[ns]")


def _cat(values: np.ndarray | str, table: str, column: str, n: int | None = None,
         ) -> pd.Categorical:
    """Categorical with the contract's categories; ``values`` may be one value for ``n`` rows.

    Codes are looked up once per distinct value, never per row (this runs on tens of millions
    of rows).
    """
    allowed = pd.Index(SCHEMAS[table].column(column).allowed)
    if isinstance(values, str):
        codes = np.full(n, allowed.get_loc(values), dtype=np.int8)
    else:
        uniq, inverse = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        codes = allowed.get_indexer(uniq).astype(np.int8)[inverse]
    return pd.Categorical.from_codes(codes, categories=allowed)


def _cat_where(cond: np.ndarray, a: str, b: str, table: str, column: str) -> pd.Categorical:
    """Categorical of ``a`` where ``cond`` else ``b``."""
    allowed = pd.Index(SCHEMAS[table].column(column).allowed)
    codes = np.where(cond, allowed.get_loc(a), allowed.get_loc(b)).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=allowed)


def _str(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(pa.array(values, type=pa.string()), dtype=_STR))


def _frame(table: str, data: dict) -> pd.DataFrame:
    df = pd.DataFrame(data)
    first = ["_idx"] if "_idx" in df.columns else []
    return df[[*first, *[c for c in SCHEMAS[table].column_names if c in df.columns]]]


def _finish(table: str, df: pd.DataFrame, uscc: pa.Array) -> pd.DataFrame:
    """Order rows by enterprise then time, and put the enterprise code in place of ``_idx``."""
    keys = ["_idx", *[k for k in SCHEMAS[table].sort_by if k not in ("uscc", "_idx")]]
    if table == "applications":
        keys = ["_idx", "application_date"]
    df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    codes = uscc.take(pa.array(df["_idx"].to_numpy(dtype=np.int64)))
    df.insert(0, "uscc", pd.array(codes, dtype=_STR))
    df = df.drop(columns="_idx")
    return df[[c for c in SCHEMAS[table].column_names if c in df.columns]]


def _month(grid: MonthGrid, idx: np.ndarray) -> np.ndarray:
    """``datetime64[M]`` of month indices (negative or beyond the grid allowed)."""
    return grid.month[0] + np.asarray(idx).astype("timedelta64[M]")


def first_filing(world: World, grid: MonthGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Registration date, first filing date and first filing month index of each enterprise."""
    reg = _month(grid, world.reg_month).astype("datetime64[D]") + (world.reg_day - 1).astype(
        "timedelta64[D]")
    ff = reg + world.first_filing_lag.astype("timedelta64[D]")
    ff_month = (ff.astype("datetime64[M]") - grid.month[0]).astype(int)
    return reg, ff, ff_month


def _enterprises(rng, world, fate, ev, grid, uscc) -> pd.DataFrame:
    reg, ff, _ = first_filing(world, grid)
    n = world.n
    sections = np.array([INDUSTRIES[k].section for k in world.industry])
    code = sections + world.division.astype(str) + rng.integers(1, 10, n).astype(str) + \
        rng.integers(0, 10, n).astype(str)
    city = np.array([r[1] for r in REGIONS])[world.region]
    city = np.char.replace(city.astype(str), "市", "")
    brand = _BRAND[rng.integers(0, len(_BRAND), n)].astype(str)
    brand2 = _BRAND[rng.integers(0, len(_BRAND), n)].astype(str)
    trade = np.array([_TRADE[s] for s in sections])
    name = np.char.add(np.char.add(np.char.add(np.char.add(city, brand), brand2), trade),
                       "有限公司")
    abnormal = ev.abnormal.any(axis=1) & ~ev.restored.any(axis=1)
    status = np.where(ev.deregistered.any(axis=1), "deregistered",
                      np.where(abnormal, "abnormal", "normal"))
    capital = np.round(world.annual_sales * rng.uniform(0.05, 0.5, n), -4)
    return _frame("enterprises", {
        "_idx": np.arange(n),
        "name": _str(name),
        "industry_code": _str(code),
        "region_code": _str(np.array([r[0] for r in REGIONS])[world.region]),
        "taxpayer_type": _cat_where(world.general, "general", "small_scale", "enterprises",
                              "taxpayer_type"),
        "general_since": np.where(world.general, reg, np.datetime64("NaT")).astype(
            "datetime64[ns]"),  # the simulated type does not change over time
        "collection_method": _cat_where(world.deemed, "deemed", "audit", "enterprises",
                                  "collection_method"),
        "registration_date": reg.astype("datetime64[ns]"),
        "first_filing_date": np.where(ff <= grid.extraction_date, ff,
                                      np.datetime64("NaT")).astype("datetime64[ns]"),
        "status": _cat(status, "enterprises", "status"),
        "registered_capital": capital,
    })


def _filing_dates(act: Activity, grid: MonthGrid) -> np.ndarray:
    """Filing date of the return of each (enterprise, period-end month)."""
    due = act.due[None, :]
    filed = due + act.filing_offset.astype("timedelta64[D]")
    earliest = grid.month_end[None, :] + 1
    return np.maximum(filed, earliest)


def _vat_returns(world, act, grid, uscc, filing, reg_date) -> pd.DataFrame:
    ok = act.filed & (filing <= grid.extraction_date)
    i, t = np.nonzero(ok)
    q = world.quarterly[i]
    start = np.where(q, grid.month_start[np.maximum(t - 2, 0)], grid.month_start[t])
    start = np.maximum(start, reg_date[i])  # a first period starts at registration
    return _frame("vat_returns", {
        "_idx": i,
        "period_start": start.astype("datetime64[ns]"),
        "period_end": grid.month_end[t].astype("datetime64[ns]"),
        "filing_frequency": _cat_where(q, "quarterly", "monthly", "vat_returns",
                                 "filing_frequency"),
        "taxable_sales": np.round(act.period_sales[i, t], 2),
        "exempt_sales": np.round(act.exempt_sales[i, t], 2),
        "output_tax": act.output_tax[i, t],
        "input_tax": act.input_tax[i, t],
        "vat_payable": act.vat_payable[i, t],
        "credit_carried_forward": np.where(world.general[i], act.credit[i, t], 0.0).round(2),
        "due_date": act.due[t].astype("datetime64[ns]"),
        "filing_date": filing[i, t].astype("datetime64[ns]"),
        "revision": pd.array(np.zeros(len(i), dtype=np.int64), dtype="Int64"),  # originals
    })


def _cit_tax(taxable: np.ndarray) -> np.ndarray:
    """Small low-profit enterprise rates: 5 % up to ¥3m, 25 % above."""
    ti = np.maximum(taxable, 0.0)
    return np.round(0.05 * np.minimum(ti, 3e6) + 0.25 * np.maximum(ti - 3e6, 0.0), 2)


def _cit(rng, world, act, grid, uscc, filing, stop, cutoff, reg_date):
    """Quarterly prepayments and annual settlements; also the annual figures for statements."""
    n, months = world.n, grid.months
    margin = np.array([i.margin for i in INDUSTRIES])[world.industry][:, None]
    cost_ratio = np.array([i.cost_ratio for i in INDUSTRIES])[world.industry][:, None]
    m = margin + 0.05 * act.health + 0.02 * rng.standard_normal((n, months))
    profit = act.sales * m
    years = grid.year
    q_rows, a_rows = [], []
    deemed = world.deemed
    for y in np.unique(years):
        cols = np.flatnonzero(years == y)
        if grid.month_of_year[cols[0]] != 1:
            continue  # the window starts mid-year: year-to-date figures unknown
        rev_ytd = np.cumsum(act.sales[:, cols], axis=1)
        prof_ytd = np.cumsum(profit[:, cols], axis=1)
        taxable = np.where(deemed[:, None], rev_ytd * 0.10, prof_ytd)
        tax_ytd = _cit_tax(taxable)
        paid = np.zeros(n)
        for k, tcol in enumerate(cols):
            if grid.month_of_year[tcol] not in (3, 6, 9, 12):
                continue
            owed = np.maximum(tax_ytd[:, k] - paid, 0.0)
            filed = act.filed[:, tcol]  # filed with the VAT return of the quarter's last month
            paid = np.where(filed, paid + owed, paid)
            q_rows.append((np.flatnonzero(filed), tcol, rev_ytd[:, k], prof_ytd[:, k],
                           taxable[:, k], owed, cols[0]))
        if len(cols) == 12:
            b = cols[-1]
            alive_end = act.alive[:, b].copy()  # firms gone before December file no settlement
            annual_profit = prof_ytd[:, -1] * (1 + 0.05 * rng.standard_normal(n))
            a_taxable = np.where(deemed, rev_ytd[:, -1] * 0.10, annual_profit)
            owed = np.maximum(_cit_tax(a_taxable) - paid, 0.0)
            p_late = _sigmoid(-3.4 - 0.9 * world.character)
            late = rng.random(n) < p_late
            deadline = np.datetime64(f"{int(y) + 1}-05-31")
            fdate = np.where(late, deadline + (1 + rng.geometric(1 / 30, n)).astype(
                "timedelta64[D]"), deadline - rng.integers(0, 80, n).astype("timedelta64[D]"))
            # ... nor do firms that stop filing before the settlement is due
            filing_month = (fdate.astype("datetime64[M]") - grid.month[0]).astype(int)
            alive_end &= (stop > filing_month) & (fdate < cutoff)
            a_rows.append(dict(idx=np.flatnonzero(alive_end), year=int(y), revenue=rev_ytd[:, -1],
                               cost=rev_ytd[:, -1] * cost_ratio[:, 0], profit=annual_profit,
                               taxable=a_taxable, owed=owed, filing=fdate, deadline=deadline))
    # quarterly table
    parts = []
    for idx, tcol, rev, prof, taxable, owed, c0 in q_rows:
        f = filing[idx, tcol]
        keep = f <= grid.extraction_date
        idx, f = idx[keep], f[keep]
        parts.append(pd.DataFrame({
            "_idx": idx,
            "return_type": _cat("quarterly", "cit_returns", "return_type", len(idx)),
            "period_start": np.maximum(grid.month_start[c0], reg_date[idx]).astype(
                "datetime64[ns]"),
            "period_end": np.full(len(idx), grid.month_end[tcol]).astype("datetime64[ns]"),
            "revenue": np.round(rev[idx], 2),
            "cost": np.round(rev[idx] * cost_ratio[idx, 0], 2),
            "total_profit": np.round(prof[idx], 2),
            "taxable_income": np.round(taxable[idx], 2),
            "tax_payable": owed[idx],
            "due_date": np.full(len(idx), act.due[tcol]).astype("datetime64[ns]"),
            "filing_date": f.astype("datetime64[ns]"),
        }))
    annual = []
    for r in a_rows:
        idx = r["idx"]
        keep = r["filing"][idx] <= grid.extraction_date
        idx = idx[keep]
        y = r["year"]
        annual.append(dict(r, idx=idx))
        parts.append(pd.DataFrame({
            "_idx": idx,
            "return_type": _cat("annual", "cit_returns", "return_type", len(idx)),
            "period_start": np.maximum(np.datetime64(f"{y}-01-01"), reg_date[idx]).astype(
                "datetime64[ns]"),
            "period_end": np.full(len(idx), np.datetime64(f"{y}-12-31", "ns")),
            "revenue": np.round(r["revenue"][idx], 2),
            "cost": np.round(r["cost"][idx], 2),
            "total_profit": np.round(r["profit"][idx], 2),
            "taxable_income": np.round(r["taxable"][idx], 2),
            "tax_payable": r["owed"][idx],
            "due_date": np.full(len(idx), r["deadline"]).astype("datetime64[ns]"),
            "filing_date": r["filing"][idx].astype("datetime64[ns]"),
        }))
    cit = pd.concat(parts, ignore_index=True) if parts else None
    if cit is not None:  # originals only
        cit["revision"] = pd.array(np.zeros(len(cit), dtype=np.int64), dtype="Int64")
    return cit, annual


def _pay_date(due: np.ndarray, filing: np.ndarray, late_days: np.ndarray,
              delay: np.ndarray) -> np.ndarray:
    """Paid at filing when on time, else the due date plus the delay."""
    return np.where(late_days == 0, filing, due + delay.astype("timedelta64[D]"))


def _payments(rng, world, act, grid, uscc, filing, cit, payroll, penalties, dereg_date):
    parts = []
    ext = grid.extraction_date

    def add(tax_type, idx, period_end, amount, due, paid):
        paid = paid.astype("datetime64[D]")
        # deregistration needs tax clearance: everything is settled before it
        d = dereg_date[idx]
        settle = ~np.isnat(d) & (due <= d) & (np.isnat(paid) | (paid >= d))
        early = d - rng.integers(1, 20, len(idx)).astype("timedelta64[D]")
        paid = np.where(settle, np.maximum(due, early), paid)
        unpaid = paid > ext
        late = np.where(unpaid, np.nan, np.maximum((paid - due).astype(int), 0) * 0.0005
                        * amount)
        parts.append(pd.DataFrame({
            "_idx": idx,
            "tax_type": _cat(tax_type, "payments", "tax_type", len(idx)),
            "period_end": period_end.astype("datetime64[ns]"),
            "amount": np.round(amount, 2),
            "due_date": due.astype("datetime64[ns]"),
            "payment_date": np.where(unpaid, np.datetime64("NaT"), paid).astype("datetime64[ns]"),
            "late_fee": np.round(late, 2),
        }))

    ok = act.filed & (filing <= ext) & (act.vat_payable > 0) & (act.due[None, :] <= ext)
    i, t = np.nonzero(ok)
    due = act.due[t]
    paid = _pay_date(due, filing[i, t], act.late_payment_days[i, t], act.payment_delay[i, t])
    add("vat", i, grid.month_end[t], act.vat_payable[i, t], due, paid)
    surtax_rate = np.where(world.general[i], 0.12, 0.06)
    add("surtax", i, grid.month_end[t], act.vat_payable[i, t] * surtax_rate, due, paid)
    if cit is not None and len(cit):
        c = cit[(cit["tax_payable"] > 0) & (cit["due_date"] <= pd.Timestamp(ext))]
        idx = c["_idx"].to_numpy()
        due_c = c["due_date"].to_numpy().astype("datetime64[D]")
        fil_c = c["filing_date"].to_numpy().astype("datetime64[D]")
        pe = c["period_end"].to_numpy().astype("datetime64[D]")
        month = np.clip((pe.astype("datetime64[M]") - grid.month[0]).astype(int), 0,
                        grid.months - 1)
        late_days = act.late_payment_days[idx, month]
        delay = np.maximum((fil_c - due_c).astype(int), 0) + late_days
        add("cit", idx, pe, c["tax_payable"].to_numpy(), due_c,
            _pay_date(due_c, fil_c, late_days, delay))
    # social insurance: declared, then paid by the 15th of the next month
    if payroll is not None and len(payroll):
        pidx = payroll["_idx"].to_numpy()
        pe = payroll["period_end"].to_numpy().astype("datetime64[D]")
        declared = payroll["filing_date"].to_numpy().astype("datetime64[D]")
        due = due_dates(pe)
        t = (pe.astype("datetime64[M]") - grid.month[0]).astype(int)
        paid = np.maximum(declared, due - rng.integers(0, 10, len(pidx)).astype(
            "timedelta64[D]")) + act.late_payment_days[pidx, t].astype("timedelta64[D]")
        keep = due <= ext
        add("social_insurance", pidx[keep], pe[keep],
            payroll["wage_base"].to_numpy()[keep] * 0.3, due[keep], paid[keep])
    if len(penalties):
        pidx = penalties["idx"].to_numpy()
        pdate = penalties["date"].to_numpy().astype("datetime64[D]")
        due = pdate + 15
        keep = due <= ext
        m = np.clip((pdate.astype("datetime64[M]") - grid.month[0]).astype(int), 0,
                    grid.months - 1)
        paid = due - rng.integers(0, 12, len(pidx)).astype("timedelta64[D]") + \
            act.late_payment_days[pidx, m].astype("timedelta64[D]")
        add("penalty", pidx[keep], pdate[keep], penalties["amount"].to_numpy()[keep], due[keep],
            paid[keep])
    out = pd.concat(parts, ignore_index=True)
    out["voucher_id"] = pd.Series(np.nan, index=out.index, dtype=_STR)  # not in the extract
    return out


def _invoices(rng, world, act, grid, uscc) -> pd.DataFrame:
    n, months = world.n, grid.months
    ind = world.industry
    c = world.character
    ticket = np.array([i.ticket for i in INDUSTRIES])[ind] * np.exp(0.3 * rng.standard_normal(n))
    small_cov = np.clip(np.array([i.invoice_share_small for i in INDUSTRIES])[ind]
                        * rng.uniform(0.7, 1.2, n), 0.05, 1.0)
    coverage = np.where(world.general, 0.97, small_cov)
    inflate = 1 + (c < -1.8) * rng.uniform(0.0, 0.4, n)  # a few firms invoice more than they declare
    rate = np.where(world.general, np.array([i.vat_rate for i in INDUSTRIES])[ind], 0.01)
    legacy = np.clip((np.datetime64("2025-01") - grid.month).astype(int) / 24.0, 0.05, 1.0)
    parts = []
    for direction, base, cov, tk, conc in (
        ("out", act.sales, coverage * inflate, ticket, world.concentration),
        ("in", act.purchases, np.where(world.general, 0.95, 0.6), ticket * 2.0,
         world.concentration * 0.8),
    ):
        amount = base * cov[:, None] * np.exp(0.04 * rng.standard_normal((n, months)))
        count = np.round(amount / tk[:, None] * np.exp(0.2 * rng.standard_normal((n, months))))
        count = np.where(amount > 0, np.maximum(count, 1), 0).astype(np.int64)
        ok = act.alive & (count > 0)
        i, t = np.nonzero(ok)
        amt = amount[i, t]
        cnt = count[i, t]
        p_red = np.clip(0.012 * np.exp(-0.6 * c[i]) * (1 + 2 * (act.health[i, t] < -2)), 0, 0.5)
        red_cnt = rng.binomial(cnt, p_red)
        red_amt = np.round(amt * red_cnt / cnt * rng.uniform(0.6, 1.4, len(i)), 2)
        void = rng.binomial(cnt, np.clip(0.008 * legacy[t] * np.exp(-0.5 * c[i]), 0, 0.5))
        lam = np.maximum(cnt**0.75 * 0.8 - 1, 0)
        parties = np.minimum(1 + rng.poisson(lam), cnt)
        top1 = np.clip(conc[i] * np.exp(0.2 * rng.standard_normal(len(i))), 0, 1)
        top1 = np.where(parties == 1, 1.0, np.maximum(top1, 1.0 / parties))
        rest = 1 - top1
        k5 = np.minimum(parties, 5)
        frac = np.where(parties <= 5, 1.0, ((k5 - 1) / np.maximum(parties - 1, 1)) ** 0.5)
        top5 = np.minimum(1.0, top1 + rest * frac)
        hhi_min = top1**2 + rest**2 / np.maximum(parties - 1, 1)
        hhi = np.minimum(hhi_min * rng.uniform(1.0, 1.3, len(i)), top1)
        hhi = np.where(parties == 1, 1.0, hhi)
        parts.append(pd.DataFrame({
            "_idx": i,
            "period_end": grid.month_end[t].astype("datetime64[ns]"),
            "direction": _cat(direction, "invoices", "direction", len(i)),
            "amount": np.round(amt, 2),
            "tax_amount": np.round(amt * rate[i], 2),
            "count": cnt,
            "red_amount": red_amt,
            "red_count": red_cnt.astype(np.int64),
            "void_count": pd.array(void, dtype="Int64"),
            "n_counterparties": parties.astype(np.int64),
            "top1_share": np.round(top1, 4),
            "top5_share": np.round(np.maximum(top5, np.round(top1, 4)), 4),
            "counterparty_hhi": np.round(hhi, 4),
        }))
    out = pd.concat(parts, ignore_index=True)
    # rounding can push the HHI a hair outside [top1², top1]
    out["counterparty_hhi"] = np.clip(out["counterparty_hhi"], out["top1_share"] ** 2,
                                      out["top1_share"])
    return out


def _payroll(rng, world, act, grid, uscc, cutoff):
    wage = np.array([r[3] for r in REGIONS])[world.region]
    n, months = world.n, grid.months
    wage_base = np.round(act.headcount * wage[:, None]
                         * np.exp(0.1 * rng.standard_normal((n, months))), 2)
    filing = grid.month_end[None, :] + rng.integers(1, 20, (n, months)).astype("timedelta64[D]")
    ok = act.alive & (act.headcount > 0) & (filing <= grid.extraction_date) & (
        filing < cutoff[:, None])
    i, t = np.nonzero(ok)
    df = _frame("payroll", {
        "_idx": i,
        "period_end": grid.month_end[t].astype("datetime64[ns]"),
        "headcount": act.headcount[i, t].astype(np.int64),
        "wage_base": wage_base[i, t],
        "filing_date": filing[i, t].astype("datetime64[ns]"),
    })
    return df


def _financials(rng, world, act, grid, uscc, annual) -> pd.DataFrame:
    parts = []
    intensity = np.array([i.asset_intensity for i in INDUSTRIES])[world.industry]
    cost_ratio = np.array([i.cost_ratio for i in INDUSTRIES])[world.industry]
    for r in annual:
        idx = r["idx"]
        y = r["year"]
        m = len(idx)
        col = np.flatnonzero(grid.year == y)[-1]
        c = world.character[idx]
        gap = np.where(c < -1.5, rng.uniform(0.6, 1.0, m), 1 + 0.02 * rng.standard_normal(m))
        revenue = np.round(r["revenue"][idx] * gap, 2)
        assets = np.round(np.maximum(revenue, 1e4) * intensity[idx]
                          * np.exp(0.3 * rng.standard_normal(m)), 2)
        lev = _sigmoid(-0.1 - 0.9 * act.health[idx, col] - 0.2 * c
                       + 0.4 * rng.standard_normal(m))
        liabilities = np.round(assets * lev, 2)
        parts.append(_frame("financials", {
            "_idx": idx,
            "year": np.full(m, y, dtype=np.int64),
            "period_end": np.full(m, np.datetime64(f"{y}-12-31", "ns")),
            "total_assets": assets,
            "total_liabilities": liabilities,
            "equity": np.round(assets - liabilities, 2),
            "current_assets": np.round(assets * rng.uniform(0.5, 0.9, m), 2),
            "current_liabilities": np.round(liabilities * rng.uniform(0.6, 0.95, m), 2),
            "revenue": revenue,
            "cost_of_sales": np.round(revenue * cost_ratio[idx], 2),
            "net_profit": np.round(r["profit"][idx] * 0.9, 2),
            "filing_date": r["filing"][idx].astype("datetime64[ns]"),
            "revision": pd.array(np.zeros(m, dtype=np.int64), dtype="Int64"),
        }))
    return pd.concat(parts, ignore_index=True) if parts else None


def _events(rng, ev: MonthlyEvents, act, grid, uscc, gidx, filing, repairs) -> tuple:
    rows = []

    def add(kind, i, date, amount=None):
        rows.append(pd.DataFrame({"idx": i, "event_type": kind,
                                  "event_date": date.astype("datetime64[D]"),
                                  "amount": np.nan if amount is None else amount}))

    def flagged(flag, kind, amount=None):
        i, t = np.nonzero(flag)
        day = rng.integers(0, 28, len(i)).astype("timedelta64[D]")
        add(kind, i, grid.month_start[t] + day, None if amount is None else amount[i, t])
        return i, t, grid.month_start[t] + day

    vi, vt, vdate = flagged(ev.violation, "violation", ev.violation_amount)
    flagged(ev.major_violation, "major_violation_listing")
    flagged(ev.audit, "audit", ev.audit_amount)
    flagged(ev.legal_rep_change, "legal_rep_change")
    flagged(ev.address_change, "address_change")
    flagged(ev.tax_office_change, "tax_office_change")
    flagged(ev.abnormal, "abnormal_status")
    flagged(ev.restored, "status_restored")
    flagged(ev.deregistered, "deregistration")
    # penalties: for some late filings, and for every violation
    late = act.filed & (act.filing_offset > 0) & (rng.random(act.filed.shape) < 0.15)
    li, lt = np.nonzero(late)
    ldate = filing[li, lt] + rng.integers(5, 30, len(li)).astype("timedelta64[D]")
    lamt = np.round(rng.uniform(200, 2000, len(li)), -1)
    pen_i = np.concatenate([li, vi])
    pen_d = np.concatenate([ldate, vdate + 10])
    pen_a = np.concatenate([lamt, ev.violation_amount[vi, vt]])
    add("penalty", pen_i, pen_d, pen_a)
    if len(repairs):
        add("credit_repair", repairs["idx"].to_numpy(), repairs["date"].to_numpy())
    df = pd.concat(rows, ignore_index=True)
    df = df[df["event_date"] <= grid.extraction_date]
    df = df.sort_values(["idx", "event_date", "event_type"], kind="stable").reset_index(drop=True)
    seq = df.groupby("idx").cumcount().to_numpy()
    ids = ("EV" + pd.Series(gidx[df["idx"].to_numpy()]).astype(str).str.zfill(8) + "-"
           + pd.Series(seq).astype(str).str.zfill(4))
    events = _frame("events", {
        "event_id": _str(ids.to_numpy()),
        "_idx": df["idx"].to_numpy(),
        "event_type": _cat(df["event_type"].to_numpy(), "events", "event_type"),
        "event_date": df["event_date"].to_numpy().astype("datetime64[ns]"),
        "amount": df["amount"].to_numpy(),
        "description": _str(pd.Series(df["event_type"]).map(_EVENT_TEXT).to_numpy()),
    })
    pen = pd.DataFrame({"idx": pen_i, "date": pen_d, "amount": pen_a})
    pen = pen.groupby(["idx", "date"], as_index=False, sort=True)["amount"].sum()
    return events, pen


def _applications(rng, world, fate, grid, uscc, gidx, ff_month):
    idx = np.flatnonzero(fate.app_month >= 0)
    a = fate.app_month[idx]
    day = rng.integers(0, 28, len(idx))
    app_month = _month(grid, a)
    app_date = app_month.astype("datetime64[D]") + day.astype("timedelta64[D]")
    horizon = (app_month + 12).astype("datetime64[D]") + day.astype("timedelta64[D]")
    lag = fate.default_month[idx] - a
    d_date = ((app_month + np.maximum(lag, 0)).astype("datetime64[D]")
              + (day - rng.integers(0, 11, len(idx))).astype("timedelta64[D]"))
    d_date = np.maximum(d_date, app_date + 1)
    default = fate.default[idx]
    ext = grid.extraction_date
    seen_default = default & (d_date <= ext)
    mature = horizon <= ext
    flag = pd.array(np.where(seen_default, 1, 0), dtype="Int64")
    flag[~seen_default & ~mature] = pd.NA
    amount = np.round(np.clip(world.annual_sales[idx] * rng.uniform(0.05, 0.3, len(idx)),
                              1e5, 3e6), -4)
    app_id = ("AP" + pd.Series(gidx[idx]).astype(str).str.zfill(8)).to_numpy()
    apps = _frame("applications", {
        "application_id": _str(app_id),
        "_idx": idx,
        "application_date": app_date.astype("datetime64[ns]"),
        "product": _str(np.where(rng.random(len(idx)) < 0.8, "tax_credit_loan",
                                 "invoice_loan")),
        "amount_requested": amount,
        "default_12m": flag,
        "default_date": np.where(seen_default, d_date, np.datetime64("NaT")).astype(
            "datetime64[ns]"),
        "observed_through": np.minimum(horizon, ext).astype("datetime64[ns]"),
    })
    truth = _frame("truth", {
        "application_id": _str(app_id),
        "true_pd": fate.true_pd[idx],
        "default_12m_full": pd.array(default.astype(int), dtype="Int64"),
    })
    return apps, truth


def _consents(rng, apps: pd.DataFrame, gidx, ext) -> pd.DataFrame:
    """Authorisations behind the applications: most in force, a few missing, short or revoked.

    2 % of applicants gave none; the rest authorised 1-20 days before applying, for one (30 %),
    two or three years; 3 % revoked later; 10 % left model development out of the purposes.
    """
    n = len(apps)
    u = rng.random(n)
    years = rng.choice([1, 2, 3], n, p=[0.3, 0.4, 0.3])
    before = rng.integers(1, 21, n)
    after = rng.integers(30, 300, n)
    no_dev = rng.random(n) < 0.10
    keep = u >= 0.02
    app = apps["application_date"].to_numpy().astype("datetime64[D]")
    granted = app - before.astype("timedelta64[D]")
    expires = granted + (365 * years).astype("timedelta64[D]")
    revoked = np.where((u >= 0.02) & (u < 0.05), app + after.astype("timedelta64[D]"),
                       np.datetime64("NaT"))
    revoked = np.where(revoked <= ext, revoked, np.datetime64("NaT"))
    idx = apps["_idx"].to_numpy()
    purposes = np.where(no_dev, "credit_assessment;post_loan_monitoring",
                        "credit_assessment;post_loan_monitoring;model_development")
    df = _frame("consents", {
        "consent_id": _str(("CS" + pd.Series(gidx[idx]).astype(str).str.zfill(8)).to_numpy()),
        "_idx": idx,
        "bank": _str(np.full(n, "synthetic-bank")),
        "purposes": _str(purposes),
        "scope": _str(np.full(n, "*")),
        "granted_at": granted.astype("datetime64[ns]"),
        "expires_at": expires.astype("datetime64[ns]"),
        "revoked_at": revoked.astype("datetime64[ns]"),
        "verification": _cat("real_name+double_authorisation", "consents", "verification", n),
    })
    return df[keep].reset_index(drop=True)


def _amend_vat(rng: np.random.Generator, vat: pd.DataFrame, share: float,
               cutoff: np.ndarray, extraction: np.datetime64) -> pd.DataFrame:
    """Add amended returns (更正申报): ``share`` of the returns corrected once, later.

    The correction is filed 10 days to 8 months after the original (while the enterprise
    still files, and before extraction) and restates the period's sales and the taxes on
    them by a factor around 1 (errors and self-audits go both ways; an exempt return is only
    corrected downwards, so it stays exempt); input tax and carried-forward credit stay.
    """
    if share <= 0 or vat.empty:
        return vat
    pick = np.flatnonzero(rng.random(len(vat)) < share)
    filed = vat["filing_date"].to_numpy()[pick] + rng.integers(10, 240, len(pick)).astype(
        "timedelta64[D]")
    ok = (filed <= extraction) & (filed < cutoff[vat["_idx"].to_numpy()[pick]])
    pick, filed = pick[ok], filed[ok]
    factor = np.exp(rng.normal(0.0, 0.15, len(pick)))
    new = vat.iloc[pick].copy()
    # an exempt return stays under the exemption threshold: its corrections only lower sales
    factor = np.where(new["exempt_sales"].to_numpy() > 0, np.minimum(factor, 1.0), factor)
    for c in ("taxable_sales", "exempt_sales", "output_tax", "vat_payable"):
        new[c] = np.round(new[c].to_numpy() * factor, 2)
    new["filing_date"] = filed.astype("datetime64[ns]")
    new["revision"] = pd.array(np.ones(len(new), dtype=np.int64), dtype="Int64")
    return pd.concat([vat, new], ignore_index=True)


def build_tables(rng: np.random.Generator, world: World, fate: Fate, act: Activity,
                 ev: MonthlyEvents, grades: pd.DataFrame, repairs: pd.DataFrame,
                 grid: MonthGrid, uscc: np.ndarray, gidx: np.ndarray, *,
                 amend: tuple[np.random.Generator, float] | None = None,
                 ) -> dict[str, pd.DataFrame]:
    """Build every table of the contract for one block.

    Parameters
    ----------
    uscc : numpy.ndarray of str
        The enterprises' codes.
    gidx : numpy.ndarray of int
        Global enterprise numbers (used in event and application identifiers).
    amend : (numpy.random.Generator, float), optional
        Generator and share of VAT returns amended later (its own stream, so the rest of the
        data does not depend on it).
    """
    filing = _filing_dates(act, grid)
    _, _, ff_month = first_filing(world, grid)
    # nothing is filed once an enterprise is abnormal (非正常户) or deregistered
    gone = ev.abnormal | ev.deregistered
    gone_month = np.where(gone.any(axis=1), gone.argmax(axis=1), grid.months)
    cutoff = np.where(gone_month < grid.months, grid.month_start[np.minimum(gone_month,
                                                                             grid.months - 1)],
                      np.datetime64("2262-01-01"))
    act = replace(act, filed=act.filed & (filing < cutoff[:, None]))
    dereg = ev.deregistered.any(axis=1)
    dereg_date = np.where(dereg, grid.month_start[ev.deregistered.argmax(axis=1)],
                          np.datetime64("NaT"))
    tables: dict[str, pd.DataFrame] = {}
    tables["enterprises"] = _enterprises(rng, world, fate, ev, grid, uscc)
    reg_date, _, _ = first_filing(world, grid)
    tables["vat_returns"] = _vat_returns(world, act, grid, uscc, filing, reg_date)
    if amend is not None:
        tables["vat_returns"] = _amend_vat(amend[0], tables["vat_returns"], amend[1], cutoff,
                                           grid.extraction_date)
    cit, annual = _cit(rng, world, act, grid, uscc, filing, fate.stop, cutoff, reg_date)
    tables["cit_returns"] = cit
    payroll = _payroll(rng, world, act, grid, uscc, cutoff)
    events, penalties = _events(rng, ev, act, grid, uscc, gidx, filing, repairs)
    tables["payments"] = _payments(rng, world, act, grid, uscc, filing, cit, payroll,
                                   penalties, dereg_date)
    tables["invoices"] = _invoices(rng, world, act, grid, uscc)
    g = grades
    tables["credit_grades"] = _frame("credit_grades", {
        "_idx": g["idx"].to_numpy(),
        "year": g["year"].to_numpy().astype(np.int64),
        "grade": pd.Categorical.from_codes(g["grade"].to_numpy().astype(np.int8), categories=GRADE_ORDER),
        "score": g["score"].to_numpy().astype(float),
        "effective_date": g["eff"].to_numpy().astype("datetime64[ns]"),
        "source": pd.Categorical.from_codes(g["source"].to_numpy().astype(np.int8), categories=_SOURCES),
    })
    tables["events"] = events
    tables["financials"] = _financials(rng, world, act, grid, uscc, annual)
    tables["payroll"] = payroll
    tables["applications"], tables["truth"] = _applications(rng, world, fate, grid, uscc, gidx,
                                                            ff_month)
    tables["consents"] = _consents(rng, tables["applications"], gidx,
                                   grid.extraction_date.astype("datetime64[D]"))
    codes = pa.array(uscc, type=pa.string())
    out = {}
    for name, df in tables.items():
        if df is None:
            continue
        out[name] = _finish(name, df, codes) if "_idx" in df.columns else df
    return out


