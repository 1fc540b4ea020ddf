"""The feature catalog: every tax feature declared once, as data.

Each :class:`Feature` says what it means (中文 and English), which profile dimension it feeds,
which way it points (higher → riskier, safer, or both tails risky), its unit, the exact input
columns it reads (so a strategy reads only what its features declare) and its window.

Windows are counted in months back from the *window end*: the last period whose return was due
by the as-of date — the last due month for monthly filers, the last due quarter for quarterly
filers. ``L12`` is the 12 months ending there, ``P12`` the 12 before, ``24m`` both. Dated
records (events, grades, payments due) use the as-of date itself: "in the 12 months before as-of".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

import pandas as pd

from ..errors import UnknownNameError

__all__ = ["DIMENSIONS", "FEATURES", "Feature", "catalog", "feature", "feature_ids", "labels",
           "monotone_constraints"]

Direction = Literal["riskier", "safer", "both", "none"]

#: Profile dimensions: id → (中文, English).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "operations": ("生产经营", "Operations"),
    "assets_liabilities": ("资产负债", "Assets & liabilities"),
    "credit_history": ("历史信用", "Credit history & compliance"),
    "tax_contribution": ("纳税贡献", "Tax contribution"),
    "trade_network": ("交易网络", "Trade network"),
    "entity": ("主体基础", "Entity basics"),
}


@dataclass(frozen=True)
class Feature:
    """One catalog entry.

    Parameters
    ----------
    id : str
        Column name in the feature frame.
    zh, en : str
        Chinese and English names.
    dimension : str
        Key of :data:`DIMENSIONS`.
    direction : {"riskier", "safer", "both", "none"}
        Higher value → riskier / safer; ``"both"``: both tails risky (compare with peers);
        ``"none"``: a grouping key, not a risk signal.
    unit : str
        ``"CNY"``, ``"ratio"``, ``"share"``, ``"months"``, ``"count"``, ``"flag"``, ``"grade"``,
        ``"people"`` or ``"category"``.
    inputs : tuple of str
        ``table.column`` read.
    window : str
        ``"L12"``, ``"24m"``, ``"as-of"`` …
    definition : str
        One line, precise enough to recompute by hand.
    kind : {"numeric", "category"}
        Output dtype.
    """

    id: str
    zh: str
    en: str
    dimension: str
    direction: Direction
    unit: str
    inputs: tuple[str, ...]
    window: str
    definition: str
    kind: Literal["numeric", "category"] = "numeric"

    @property
    def tables(self) -> tuple[str, ...]:
        """Tables read, in first-use order."""
        return tuple(dict.fromkeys(i.split(".")[0] for i in self.inputs))


_VAT_S = ("vat_returns.taxable_sales", "vat_returns.period_end", "vat_returns.period_start",
          "vat_returns.filing_frequency", "vat_returns.filing_date")
_INV = ("invoices.period_end", "invoices.direction")
_PAY = ("payments.tax_type", "payments.period_end", "payments.amount", "payments.due_date",
        "payments.payment_date")
_FS = ("financials.filing_date", "financials.year")

F = Feature
FEATURES: tuple[Feature, ...] = (
    # ------------------------------------------------------------------ 生产经营 operations
    F("sales_12m", "近12月销售收入", "Sales, last 12 months", "operations", "safer", "CNY",
      _VAT_S, "L12", "Σ VAT taxable sales (incl. exempt) of the returns in L12."),
    F("sales_yoy", "销售同比增长率", "Sales growth, year on year", "operations", "safer", "ratio",
      _VAT_S, "24m", "Σ sales L12 / Σ sales P12 − 1 (missing unless all of P12 is known "
      "and has sales)."),
    F("sales_mom_3v12", "近3月销售动量", "Sales momentum, 3 vs 12 months", "operations", "safer",
      "ratio", _VAT_S, "L12", "Mean monthly sales of the last 3 months / mean over L12."),
    F("sales_3m_yoy", "近3月同比", "Last-3-month sales, year on year", "operations", "safer",
      "ratio", _VAT_S, "15m", "Σ sales of the last 3 months / Σ of the same months a year "
      "earlier − 1."),
    F("sales_cv_12m", "月销售波动系数", "Sales volatility (CV)", "operations", "riskier", "ratio",
      _VAT_S, "L12", "Std / mean of the period sales in L12 (12 months, or 4 quarters for "
      "quarterly filers)."),
    F("zero_sales_months_12m", "零申报月数", "Zero-sales months", "operations", "riskier",
      "months", _VAT_S, "L12", "Months in L12 whose return declared zero sales (a zero quarter "
      "counts 3)."),
    F("max_zero_run_12m", "最长连续零申报", "Longest zero-sales run", "operations", "riskier",
      "months", _VAT_S, "L12", "Longest run of consecutive zero-sales months in L12."),
    F("active_month_ratio_24m", "活跃月占比", "Active-month share", "operations", "safer", "share",
      (*_VAT_S, "enterprises.first_filing_date"), "24m",
      "Months with positive sales / months of the 24m window on or after the first filing."),
    F("months_since_sales", "最近收入距今月数", "Months since last sales", "operations", "riskier",
      "months", _VAT_S, "36m", "Window end − last month with positive sales (36 when returns "
      "of the 36 months show none; missing when no return of the 36 months is known)."),
    F("missing_filings_12m", "漏报期数", "Missing returns", "operations", "riskier", "count",
      (*_VAT_S, "enterprises.first_filing_date"), "L12",
      "Periods in L12 after the first filing with no return known by the as-of date."),
    F("quarter_end_share", "季末集中度", "Quarter-end sales share", "operations", "riskier",
      "share", _VAT_S, "L12", "Σ sales of March, June, September, December / Σ sales L12 "
      "(monthly filers only)."),
    F("invoice_declared_ratio", "开票申报比", "Invoiced vs declared sales", "operations", "both",
      "ratio", (*_VAT_S, *_INV, "invoices.amount"), "L12",
      "Σ outgoing invoice amount L12 / Σ declared sales L12."),
    F("invoice_count_12m", "开票张数", "Invoices issued", "operations", "safer", "count",
      (*_INV, "invoices.count"), "L12", "Σ outgoing invoices in L12."),
    F("headcount", "社保参保人数", "Insured headcount", "operations", "safer", "people",
      ("payroll.period_end", "payroll.headcount", "payroll.filing_date"), "L12",
      "Insured headcount of the latest month in L12 with a declaration known at as-of; 0 for "
      "an active enterprise that never declared any staff."),
    F("headcount_chg_6m", "社保人数变化", "Headcount change, 6 months", "operations", "safer",
      "ratio", ("payroll.period_end", "payroll.headcount", "payroll.filing_date"), "7m",
      "Headcount at the window end / headcount 6 months earlier − 1."),
    F("sales_per_head", "人均销售", "Sales per employee", "operations", "both", "CNY",
      (*_VAT_S, "payroll.period_end", "payroll.headcount", "payroll.filing_date"), "L12",
      "Σ sales L12 / mean insured headcount over L12."),
    # ------------------------------------------------------------------ 交易网络 trade network
    F("red_invoice_ratio_12m", "红字发票金额占比", "Red-letter invoice share", "trade_network",
      "riskier", "share", (*_INV, "invoices.amount", "invoices.red_amount"), "L12",
      "Σ red-letter amount / Σ gross outgoing amount (net + red) in L12."),
    F("void_invoice_ratio_12m", "作废发票占比", "Voided invoice share", "trade_network", "riskier",
      "share", (*_INV, "invoices.count", "invoices.void_count"), "L12",
      "Σ voided / Σ (issued + voided) outgoing invoices in L12, over the months whose "
      "void count is recorded (missing when none is: 数电 invoices are not voided)."),
    F("n_buyers_avg_12m", "月均下游客户数", "Buyers per month", "trade_network", "safer", "count",
      (*_INV, "invoices.n_counterparties"), "L12",
      "Mean monthly number of distinct buyers over months with outgoing invoices in L12."),
    F("top1_buyer_share", "第一大客户占比", "Largest buyer's share", "trade_network", "riskier",
      "share", (*_INV, "invoices.amount", "invoices.red_amount", "invoices.top1_share"), "L12",
      "Mean monthly top-1 buyer share in L12, weighted by the month's gross invoiced amount."),
    F("top5_buyer_share", "前五大客户集中度", "Top-5 buyers' share", "trade_network", "riskier",
      "share", (*_INV, "invoices.amount", "invoices.red_amount", "invoices.top5_share"), "L12",
      "Mean monthly top-5 buyer share in L12, weighted by the month's gross invoiced amount."),
    F("buyer_hhi", "客户集中度HHI", "Buyer concentration (HHI)", "trade_network", "riskier",
      "share", (*_INV, "invoices.amount", "invoices.red_amount", "invoices.counterparty_hhi"),
      "L12", "Mean monthly Herfindahl index of buyers in L12, weighted by the month's gross "
      "invoiced amount."),
    F("n_suppliers_avg_12m", "月均上游供应商数", "Suppliers per month", "trade_network", "safer",
      "count", (*_INV, "invoices.n_counterparties"), "L12",
      "Mean monthly number of distinct suppliers over months with incoming invoices in L12."),
    F("input_output_ratio", "进销比", "Purchases vs sales invoiced", "trade_network", "riskier",
      "ratio", (*_INV, "invoices.amount"), "L12",
      "Σ incoming invoice amount / Σ outgoing invoice amount in L12."),
    F("max_invoice_gap_24m", "最长断票月数", "Longest invoicing gap", "trade_network", "riskier",
      "months", (*_INV, "invoices.count", "enterprises.first_filing_date"), "24m",
      "Longest run of months without outgoing invoices in the 24m window after the first "
      "filing."),
    # ------------------------------------------------------------------ 纳税贡献 tax contribution
    F("tax_12m", "近12月纳税总额", "Tax paid, last 12 months", "tax_contribution", "safer", "CNY",
      _PAY, "L12", "Σ tax (all types but social insurance and penalties) for periods in L12, "
      "paid by the as-of date; a liability is known from its due date; a quarterly or annual "
      "amount counts for the share of its months inside L12."),
    F("tax_yoy", "纳税同比", "Tax paid, year on year", "tax_contribution", "safer", "ratio", _PAY,
      "24m", "tax_12m / the same sum for P12 − 1."),
    F("avg_annual_tax_24m", "年均纳税(近24月)", "Average annual tax, 24 months",
      "tax_contribution", "safer", "CNY", _PAY, "24m",
      "Σ tax for periods in the 24m window, paid by the as-of date, / 2 (the limit base)."),
    F("vat_burden", "增值税税负率", "VAT burden", "tax_contribution", "both", "ratio",
      (*_VAT_S, "vat_returns.vat_payable"), "L12", "Σ VAT payable L12 / Σ sales L12."),
    F("cit_to_sales", "所得税贡献率", "Income tax to sales", "tax_contribution", "safer", "ratio",
      (*_PAY, *_VAT_S), "L12", "Σ CIT for periods in L12, paid / Σ sales L12."),
    F("tax_paid_months_24m", "纳税月数", "Months with tax paid", "tax_contribution", "safer",
      "months", _PAY, "24m", "Months of the 24m window with tax paid for them (quarterly "
      "amounts spread over their 3 months)."),
    # ------------------------------------------------------------------ 历史信用 credit history
    F("late_filings_24m", "逾期申报次数", "Late returns", "credit_history", "riskier", "count",
      ("vat_returns.period_end", "vat_returns.due_date", "vat_returns.filing_date",
       "cit_returns.period_end", "cit_returns.due_date", "cit_returns.filing_date"), "24m",
      "VAT and CIT returns for periods in the 24m window filed after their due date."),
    F("late_payments_24m", "逾期缴款次数", "Late payments", "credit_history", "riskier", "count",
      _PAY, "24m before as-of", "Liabilities due in the 24 months before as-of paid after their "
      "due date or still unpaid at as-of."),
    F("arrears_now", "当前欠税金额", "Arrears at as-of", "credit_history", "riskier", "CNY", _PAY,
      "as-of", "Σ amount due by as-of and not paid by as-of."),
    F("arrears_to_sales", "欠税占月均销售", "Arrears to monthly sales", "credit_history",
      "riskier", "ratio", (*_PAY, *_VAT_S), "L12", "arrears_now / mean monthly sales L12."),
    F("arrears_months_12m", "欠税月数", "Months in arrears", "credit_history", "riskier",
      "months", _PAY, "L12", "Month-ends in L12 with an amount past due and unpaid."),
    F("arrears_max_duration_24m", "欠税最长持续", "Longest arrears spell", "credit_history",
      "riskier", "months", _PAY, "24m", "Longest run of month-ends in arrears in the 24m "
      "window."),
    F("fees_penalties_24m", "滞纳金与罚款", "Late fees and penalties", "credit_history",
      "riskier", "CNY", (*_PAY, "payments.late_fee"), "24m before as-of",
      "Σ late fees of liabilities paid, and Σ penalties due, in the 24 months before as-of "
      "(missing when a payment made by as-of has no late fee recorded)."),
    F("credit_grade", "纳税信用等级", "Tax credit grade", "credit_history", "riskier", "grade",
      ("credit_grades.year", "credit_grades.grade", "credit_grades.effective_date"), "as-of",
      "Latest grade in effect at as-of, as an ordinal: A=1, B=2, M=3, C=4, D=5."),
    F("credit_score", "纳税信用得分", "Tax credit score", "credit_history", "safer", "score",
      ("credit_grades.year", "credit_grades.score", "credit_grades.effective_date"), "as-of",
      "Score of the latest evaluation in effect at as-of (missing for direct grades)."),
    F("worst_grade_2y", "近两年最差等级", "Worst grade, last two years", "credit_history",
      "riskier", "grade", ("credit_grades.year", "credit_grades.grade",
                           "credit_grades.effective_date"), "as-of",
      "Worst A–D grade (ordinal A=1 … D=5; M ignored) of the latest evaluation year and the "
      "year before it, each as revised by as-of. A downgrade says less than a past bad grade: "
      "risk persists."),
    F("repaired_recently", "近期信用修复", "Recent credit repair", "credit_history", "riskier",
      "flag", ("credit_grades.source", "credit_grades.effective_date", "events.event_type",
               "events.event_date"), "24m before as-of",
      "1 if a repair took effect in the 24 months before as-of."),
    F("violations_36m", "违法违章与稽查", "Violations and audits", "credit_history", "riskier",
      "count", ("events.event_type", "events.event_date", "events.amount"), "36m before as-of",
      "Violations, penalties, audits with an adjustment and major-violation listings in the 36 "
      "months before as-of."),
    F("abnormal_now", "非正常户状态", "Abnormal status at as-of", "credit_history", "riskier",
      "flag", ("events.event_type", "events.event_date"), "as-of",
      "1 if the latest abnormal-status event is not followed by a restoration by as-of."),
    # ------------------------------------------------------------------ 资产负债 balance sheet
    F("debt_to_assets", "资产负债率", "Debt to assets", "assets_liabilities", "riskier", "ratio",
      (*_FS, "financials.total_liabilities", "financials.total_assets"), "latest filed",
      "Liabilities / assets of the latest statements filed by as-of."),
    F("current_ratio", "流动比率", "Current ratio", "assets_liabilities", "safer", "ratio",
      (*_FS, "financials.current_assets", "financials.current_liabilities"), "latest filed",
      "Current assets / current liabilities of the latest statements filed by as-of."),
    F("net_margin", "净利润率", "Net margin", "assets_liabilities", "safer", "ratio",
      (*_FS, "financials.net_profit", "financials.revenue"), "latest filed",
      "Net profit / revenue of the latest statements filed by as-of."),
    F("fs_vs_vat_gap", "报表与申报收入差异", "Statement vs VAT sales gap", "assets_liabilities",
      "riskier", "ratio", (*_FS, "financials.revenue", *_VAT_S), "latest filed",
      "|statement revenue − Σ VAT sales of that year| / Σ VAT sales of that year."),
    F("liabilities_to_tax", "负债与年均纳税比", "Liabilities to annual tax", "assets_liabilities",
      "riskier", "ratio", (*_FS, "financials.total_liabilities", *_PAY), "latest filed",
      "Liabilities of the latest statements / avg_annual_tax_24m (debt capacity vs tax)."),
    # ------------------------------------------------------------------ 主体基础 entity basics
    F("firm_age_months", "经营年限(月)", "Months since first filing", "entity", "safer",
      "months", ("enterprises.first_filing_date",), "as-of",
      "Whole months from the first tax filing to as-of."),
    F("general_taxpayer", "一般纳税人", "General VAT taxpayer", "entity", "safer", "flag",
      ("enterprises.taxpayer_type", "enterprises.general_since"), "as-of",
      "1 for a general taxpayer at as-of (from `general_since` when given), 0 for small-scale."),
    F("key_changes_12m", "法人/地址变更", "Key changes", "entity", "riskier", "count",
      ("events.event_type", "events.event_date"), "12m before as-of",
      "Legal-representative, address and tax-office changes in the 12 months before as-of."),
    F("industry_section", "行业门类", "Industry section", "entity", "none", "category",
      ("enterprises.industry_code",), "static", "GB/T 4754 section letter (A–T).",
      kind="category"),
    F("industry_division", "行业大类", "Industry division", "entity", "none", "category",
      ("enterprises.industry_code",), "static", "GB/T 4754 section + 2-digit division, e.g. C33 "
      "(a division outside its section's range is missing).",
      kind="category"),
    F("province", "省份", "Province", "entity", "none", "category",
      ("enterprises.region_code",), "static", "First two digits of the GB/T 2260 region code.",
      kind="category"),
    F("size_class", "企业规模", "Size class", "entity", "none", "category",
      ("enterprises.industry_code", *_VAT_S, "payroll.headcount", "financials.total_assets"),
      "L12", "中小企业划型标准 (工信部联企业〔2011〕300号) with tax proxies: revenue = sales_12m, "
      "staff = headcount, assets = latest statements; micro / small / medium / large.",
      kind="category"),
)

#: Features that tell "no history" (missing) from zero by the VAT returns known at the as-of
#: date, so they read ``vat_returns`` too (an authorisation's scope must cover it).
_VAT_HISTORY = frozenset({
    "invoice_count_12m", "red_invoice_ratio_12m", "void_invoice_ratio_12m", "n_buyers_avg_12m",
    "top1_buyer_share", "top5_buyer_share", "buyer_hhi", "n_suppliers_avg_12m",
    "input_output_ratio", "max_invoice_gap_24m", "headcount", "headcount_chg_6m", "tax_12m",
    "tax_yoy", "avg_annual_tax_24m", "tax_paid_months_24m", "late_payments_24m",
    "arrears_now", "arrears_months_12m", "arrears_max_duration_24m", "fees_penalties_24m",
    "liabilities_to_tax"})
FEATURES = tuple(replace(f, inputs=tuple(dict.fromkeys((*f.inputs, *_VAT_S))))
                 if f.id in _VAT_HISTORY else f for f in FEATURES)

_BY_ID = {f.id: f for f in FEATURES}
assert len(_BY_ID) == len(FEATURES), "duplicate feature ids"
assert _VAT_HISTORY <= set(_BY_ID), "unknown feature id in _VAT_HISTORY"


def feature_ids(*, kind: str | None = None) -> list[str]:
    """Feature ids in catalog order (optionally only ``"numeric"`` or ``"category"``)."""
    return [f.id for f in FEATURES if kind is None or f.kind == kind]


def feature(feature_id: str) -> Feature:
    """Return the catalog entry ``feature_id``."""
    try:
        return _BY_ID[feature_id]
    except KeyError:
        raise UnknownNameError(f"no feature {feature_id!r} in the catalog") from None


def catalog() -> pd.DataFrame:
    """Return the catalog as a DataFrame, one row per feature, in output order.

    Columns: ``id``, ``zh``, ``en``, ``dimension``, ``dimension_zh``, ``direction``, ``unit``,
    ``tables``, ``inputs``, ``window``, ``definition``, ``kind``.
    """
    rows = []
    for f in FEATURES:
        d = asdict(f)
        d["dimension_zh"] = DIMENSIONS[f.dimension][0]
        d["tables"] = ", ".join(f.tables)
        d["inputs"] = ", ".join(f.inputs)
        rows.append(d)
    cols = ["id", "zh", "en", "dimension", "dimension_zh", "direction", "unit", "tables",
            "inputs", "window", "definition", "kind"]
    return pd.DataFrame(rows)[cols]


def monotone_constraints(features=None) -> dict[str, int]:
    """Monotone constraints from the catalog's risk directions, for ``GBMRiskModel``.

    ``riskier`` → +1 (higher values may only raise the PD), ``safer`` → −1, ``both`` / ``none``
    → 0. Features not in the catalog (a bank's own columns) get 0.

    Parameters
    ----------
    features : iterable of str, optional
        Feature names (default: every numeric catalog feature).
    """
    names = feature_ids(kind="numeric") if features is None else list(features)
    sign = {"riskier": 1, "safer": -1}
    return {n: (sign.get(_BY_ID[n].direction, 0)
                if n in _BY_ID and _BY_ID[n].kind == "numeric" else 0) for n in names}


def labels() -> dict[str, tuple[str, str]]:
    """``{feature id: (中文名, English name)}``, e.g. for reason codes."""
    return {f.id: (f.zh, f.en) for f in FEATURES}
