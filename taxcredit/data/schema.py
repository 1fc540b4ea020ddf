"""The tax data contract: one declared schema per table.

Every table a bank receives from the tax authority (or builds from it) is described here once, as
data: its columns with logical kind, unit, nullability, allowed values and ranges, its key, its parent
table, and its *knowledge date* — the column that says when a row became known to the bank, which the
point-in-time feature engine uses to avoid leakage.

Conventions
-----------
* Amounts are CNY yuan (元), floats. Dates are calendar dates (``datetime64[ns]``, no time zone).
* Period tables are keyed on ``period_end`` (the last day of the month, quarter or year covered).
* Categorical values use short English codes; the usual Chinese labels are accepted as aliases and
  converted on validation (e.g. ``一般纳税人`` → ``general``).
* ``enterprises.status`` is the status *at extraction*; point-in-time status comes from ``events``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "SCHEMAS",
    "TABLE_ORDER",
    "Column",
    "Compare",
    "RowRule",
    "TableSchema",
    "describe_contract",
    "get_schema",
]

Kind = Literal["string", "category", "float", "int", "date"]

#: Dates outside this range are implausible for enterprise tax data.
MIN_DATE = pd.Timestamp("1949-10-01")
MAX_DATE = pd.Timestamp("2099-12-31")


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"string", "category", "float", "int", "date"}
        Logical type; validation coerces to ``str``, ``category``, ``float64``, ``int64``
        (``Int64`` when nullable) or ``datetime64[ns]``.
    zh : str
        Chinese label.
    description : str
        One-line English definition.
    unit : str, optional
        ``"CNY"``, ``"count"``, ``"share"``, ``"score"``, ``"year"`` …
    nullable : bool
        Whether missing values are allowed.
    required : bool
        Whether the column must be present. An absent optional column is added as all-missing.
    allowed : tuple of str, optional
        Allowed values of a category column.
    aliases : mapping, optional
        Accepted alternative spellings (e.g. Chinese labels) → canonical value.
    min, max : float, optional
        Inclusive bounds of a numeric column.
    pattern : str, optional
        Regular expression a string column must match in full.
    free_text : bool
        Free text (names, descriptions): only surrounding blanks are stripped. Other text
        columns are codes, whose full-width characters are also converted to ASCII.
    """

    name: str
    kind: Kind
    zh: str = ""
    description: str = ""
    unit: str | None = None
    nullable: bool = False
    required: bool = True
    allowed: tuple[str, ...] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    free_text: bool = False

    @property
    def dtype(self) -> str:
        """The pandas dtype a validated column has."""
        if self.kind == "int":
            return "Int64" if self.nullable else "int64"
        return {
            "string": "str",
            "category": "category",
            "float": "float64",
            "date": "datetime64[ns]",
        }[self.kind]


@dataclass(frozen=True)
class Compare:
    """A row rule ``left <op> right`` between two columns (rows where either is missing pass).

    Parameters
    ----------
    rule : str
        Rule code shown in reports.
    left, right : str
        Column names.
    op : {"<=", "<", ">=", ">"}
        Comparison that must hold.
    message : str
        What the rule means, in words.
    """

    rule: str
    left: str
    op: Literal["<=", "<", ">=", ">"]
    right: str
    message: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the rule reads (the left one is reported)."""
        return (self.left, self.right)

    def failed(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows that break the rule."""
        a, b = df[self.left], df[self.right]
        ok = {"<=": a <= b, "<": a < b, ">=": a >= b, ">": a > b}[self.op]
        known = a.notna().to_numpy() & b.notna().to_numpy()
        return known & ~ok.fillna(True).to_numpy(dtype=bool)


@dataclass(frozen=True)
class RowRule:
    """A row rule given as a vectorised function of the (coerced) table.

    Parameters
    ----------
    rule : str
        Rule code shown in reports.
    column : str
        Column the failure is reported on.
    columns : tuple of str
        All columns the rule reads; the rule is skipped when one is absent.
    check : callable
        ``check(df) -> numpy bool array`` marking the rows that *break* the rule.
    message : str
        What the rule means, in words.
    """

    rule: str
    column: str
    columns: tuple[str, ...]
    check: Callable[[pd.DataFrame], np.ndarray]
    message: str

    def failed(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows that break the rule."""
        return np.asarray(self.check(df), dtype=bool)


@dataclass(frozen=True)
class TableSchema:
    """The contract of one table.

    Parameters
    ----------
    name : str
        Table name, also the file stem in a dataset folder (``<name>.parquet``).
    zh : str
        Chinese name.
    description : str
        What one row is.
    columns : tuple of Column
        Declared columns, in canonical order.
    key : tuple of str
        Columns that identify a row (an optional column the input lacks is left out).
    knowledge_date : str or None
        Column holding the date a row became known (point-in-time use).
    parent : tuple of (str, str), optional
        ``(parent_table, column)``: every value of ``column`` must exist in the parent.
    rules : tuple
        Row rules (:class:`Compare` or :class:`RowRule`).
    sort_by : tuple of str
        Usual row order (enterprise, then time). Validation keeps the input order; input in this
        order has its keys checked for uniqueness in a single pass.
    revises : tuple of str
        Columns naming what a row reports (an enterprise's return for a period). Rows that
        share them are versions of one report — an original and its amendments (更正申报) —
        told apart by ``knowledge_date`` (then by the other key columns, e.g. an optional
        ``revision`` number for versions filed the same day): at any as-of date the latest
        version known is the one in force. Empty: every row stands on its own.
    """

    name: str
    zh: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    knowledge_date: str | None
    parent: tuple[str, str] | None = None
    rules: tuple[Compare | RowRule, ...] = ()
    sort_by: tuple[str, ...] = ()
    revises: tuple[str, ...] = ()

    @property
    def version_order(self) -> tuple[str, ...]:
        """Columns ordering the versions of one report (empty when rows are not versions).

        The knowledge date, then the rest of the key (``revision`` for same-day versions).
        """
        if not self.revises:
            return ()
        rest = tuple(k for k in self.key if k not in self.revises and k != self.knowledge_date)
        return (self.knowledge_date, *rest) if self.knowledge_date else rest

    @property
    def column_names(self) -> list[str]:
        """Declared column names in canonical order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the declared column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} declares no column {name!r}")


# --------------------------------------------------------------------------------------------
# reusable column builders


def _revision() -> Column:
    return Column("revision", "int", "更正序号",
                  "Which version of the report a row is: 0 the original, 1, 2 … its amendments. "
                  "Optional; orders versions filed on the same day (else the filing date does; "
                  "missing counts as 0).",
                  unit="count", min=0, required=False, nullable=True)


def _uscc() -> Column:
    return Column(
        "uscc", "string", "统一社会信用代码",
        "Unified social credit code (GB 32100-2015), the enterprise key.",
    )


def _money(name: str, zh: str, description: str, *, nullable: bool = False,
           required: bool = True, signed: bool = False) -> Column:
    return Column(name, "float", zh, description, unit="CNY", nullable=nullable,
                  required=required, min=None if signed else 0.0)


def _count(name: str, zh: str, description: str, *, required: bool = True) -> Column:
    return Column(name, "int", zh, description, unit="count", min=0, required=required)


def _share(name: str, zh: str, description: str) -> Column:
    return Column(name, "float", zh, description, unit="share", nullable=True,
                  required=False, min=0.0, max=1.0)


def _date(name: str, zh: str, description: str, *, nullable: bool = False) -> Column:
    return Column(name, "date", zh, description, unit="date", nullable=nullable)


def _month_end_rule(column: str = "period_end") -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        d = df[column]
        return (d.notna() & ~d.dt.is_month_end).to_numpy(dtype=bool)

    return RowRule("not_month_end", column, (column,), check,
                   f"{column} must be the last day of a month")


def _filing_rules() -> tuple[Compare, ...]:
    return (
        Compare("period_start_after_end", "period_start", "<=", "period_end",
                "period_start must not be after period_end"),
        Compare("filed_before_period_end", "filing_date", ">=", "period_end",
                "a return cannot be filed before its period ends"),
        Compare("due_before_period_end", "due_date", ">=", "period_end",
                "a due date cannot precede the end of its period"),
    )


def _before_month_rule(rule: str, column: str, message: str,
                       only: tuple[str, tuple[str, ...]] | None = None) -> RowRule:
    """``column`` must not fall before the first day of the ``period_end`` month.

    Social insurance is declared and paid within its own month in many provinces
    (当月申报、当月缴纳), so its dates may precede ``period_end`` but not the month itself.
    ``only``: ``(category column, values)`` the rule is limited to.
    """

    def check(df: pd.DataFrame) -> np.ndarray:
        month = df["period_end"].to_numpy(dtype="datetime64[M]")
        d = df[column].to_numpy(dtype="datetime64[ns]")
        bad = ~np.isnat(d) & ~np.isnat(month) & (d.astype("datetime64[M]") < month)
        if only is not None:
            bad &= df[only[0]].astype("str").isin(only[1]).to_numpy()
        return bad

    columns = (column, "period_end", *((only[0],) if only else ()))
    return RowRule(rule, column, columns, check, message)


def _after_period_rule(rule: str, column: str, message: str,
                       exempt: tuple[str, tuple[str, ...]]) -> RowRule:
    """``column >= period_end`` except for the rows whose ``exempt[0]`` is in ``exempt[1]``."""

    def check(df: pd.DataFrame) -> np.ndarray:
        d = df[column].to_numpy(dtype="datetime64[ns]")
        end = df["period_end"].to_numpy(dtype="datetime64[ns]")
        with np.errstate(invalid="ignore"):
            bad = ~np.isnat(d) & ~np.isnat(end) & (d < end)
        return bad & ~df[exempt[0]].astype("str").isin(exempt[1]).to_numpy()

    return RowRule(rule, column, (column, "period_end", exempt[0]), check, message)


def _quarter_end_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        quarterly = (df["filing_frequency"] == "quarterly").to_numpy(dtype=bool)
        month = df["period_end"].dt.month.to_numpy(dtype=float, na_value=np.nan)
        return quarterly & ~np.isin(month, (3, 6, 9, 12)) & ~np.isnan(month)

    return RowRule("quarterly_not_quarter_end", "period_end",
                   ("filing_frequency", "period_end"), check,
                   "a quarterly return must end in March, June, September or December")


def _period_length_rule(frequency_column: str, values: Mapping[str, int]) -> RowRule:
    """period_start must be the first day of the month ``n`` months back (n by frequency)."""

    def check(df: pd.DataFrame) -> np.ndarray:
        end = df["period_end"].to_numpy(dtype="datetime64[M]")
        start = df["period_start"].to_numpy(dtype="datetime64[D]")
        bad = np.zeros(len(df), dtype=bool)
        freq = df[frequency_column].astype("str").to_numpy()
        for value, months in values.items():
            sel = freq == value
            expected = (end[sel] - np.timedelta64(months - 1, "M")).astype("datetime64[D]")
            got = start[sel]
            # a first or last period may be shorter (registration, deregistration), never longer
            bad[sel] = ~np.isnat(got) & ~np.isnat(expected) & (got < expected)
        return bad

    return RowRule("period_length", "period_start", (frequency_column, "period_start", "period_end"),
                   check, "a period cannot start before the first day its frequency implies "
                          "(a month, or a quarter)")


def _reports(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Enterprise code and report number (one per ``(uscc, period_end)``) of every row."""
    uscc = pd.factorize(df["uscc"])[0]  # missing codes: -1, reported by other rules
    report = pd.DataFrame({"u": uscc, "e": df["period_end"].to_numpy(dtype="datetime64[D]")}
                          ).groupby(["u", "e"], sort=True, dropna=False).ngroup().to_numpy()
    return uscc, report


def _no_overlap_rule() -> RowRule:
    """One enterprise's return periods must not overlap (their sales would count twice).

    Rows with the same period end are versions of one report (an original and its
    amendments, which may correct the start); a report overlaps every earlier report whose
    end is on or after its earliest start, and then all versions of all of them are refused
    (keeping some would still count months twice, or make an amendment look original).
    """

    def check(df: pd.DataFrame) -> np.ndarray:
        uscc, report = _reports(df)
        start_d = df["period_start"].to_numpy(dtype="datetime64[D]")
        end_d = df["period_end"].to_numpy(dtype="datetime64[D]")
        ok = (uscc >= 0) & ~np.isnat(start_d) & ~np.isnat(end_d)
        start, end = start_d.astype(np.int64), end_d.astype(np.int64)
        n_rep = int(report.max(initial=-1)) + 1
        if n_rep == 0:
            return np.zeros(len(df), dtype=bool)
        big = np.iinfo(np.int64).max // 4  # reports sort by (enterprise, end): one number
        first_start = np.full(n_rep, big)
        np.minimum.at(first_start, report[ok], start[ok])
        rep_u = np.full(n_rep, -1)
        rep_u[report[ok]] = uscc[ok]
        rep_end = np.full(n_rep, -1)
        rep_end[report[ok]] = end[ok]
        valid = rep_u >= 0
        span = 1 << 20  # days: dates stay far inside ±2,800 years
        key_end = np.where(valid, rep_u * span * 2 + rep_end + span, -1)
        key_start = np.where(valid, rep_u * span * 2 + first_start + span, -1)
        order = np.argsort(key_end, kind="stable")
        lo_sorted = np.searchsorted(key_end[order], key_start[order], side="left")
        idx = np.arange(n_rep)
        over = valid[order] & (lo_sorted < idx)  # an earlier report ends on/after its start
        mark = np.zeros(n_rep + 1, dtype=np.int64)
        np.add.at(mark, lo_sorted[over], 1)
        np.add.at(mark, idx[over] + 1, -1)
        hit_sorted = np.cumsum(mark[:-1]) > 0
        hit = np.zeros(n_rep, dtype=bool)
        hit[order] = hit_sorted
        return hit[report] & ok

    return RowRule("overlapping_period", "period_start", ("uscc", "period_start", "period_end"),
                   check, "an enterprise's return periods cannot overlap (a month in both a "
                          "monthly and a quarterly return would count its sales twice)")


def _version_frequency_rule() -> RowRule:
    """Versions of one report (same ``period_end``) must have one filing frequency."""

    def check(df: pd.DataFrame) -> np.ndarray:
        uscc, report = _reports(df)
        freq = df["filing_frequency"].astype("str").to_numpy()
        n = pd.Series(freq).groupby(report).transform("nunique").to_numpy()
        return (n > 1) & (uscc >= 0)

    return RowRule("versions_differ_in_frequency", "filing_frequency",
                   ("uscc", "period_end", "filing_frequency"), check,
                   "returns for the same period end must all be monthly or all quarterly (a "
                   "monthly March beside a quarterly Q1 is two overlapping periods, not an "
                   "amendment)")


def _exempt_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        exempt = df["exempt_sales"].to_numpy(dtype=float, na_value=np.nan)
        sales = df["taxable_sales"].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return exempt > np.maximum(sales, 0.0) + 0.005

    return RowRule("exempt_above_sales", "exempt_sales", ("exempt_sales", "taxable_sales"), check,
                   "exempt sales are part of taxable_sales and cannot exceed it")


def _general_since_rule() -> RowRule:
    """General-taxpayer status may not take effect before the month of registration.

    It takes effect on the first day of the month of registration or the next (国家税务总局令
    第43号 art. 8: 当月1日 or 次月1日), so it may precede the registration day itself.
    """

    def check(df: pd.DataFrame) -> np.ndarray:
        since = df["general_since"].to_numpy(dtype="datetime64[M]")
        reg = df["registration_date"].to_numpy(dtype="datetime64[M]")
        return ~np.isnat(since) & ~np.isnat(reg) & (since < reg)

    return RowRule("general_before_registration", "general_since",
                   ("general_since", "registration_date"), check,
                   "general-taxpayer status cannot take effect before the month of registration")


# --------------------------------------------------------------------------------------------
# the tables

TAXPAYER_TYPES = ("general", "small_scale")
GRADES = ("A", "B", "M", "C", "D")

ENTERPRISES = TableSchema(
    name="enterprises",
    zh="企业基础信息",
    description="One row per enterprise: registration facts and the status at extraction.",
    columns=(
        _uscc(),
        Column("name", "string", "企业名称", "Registered name.", nullable=True, required=False,
               free_text=True),
        Column("industry_code", "string", "行业代码",
               "GB/T 4754-2017 code: section letter + 2-4 digit division/group/class, e.g. C1711.",
               pattern=r"[A-T]\d{2,4}"),
        Column("region_code", "string", "行政区划代码",
               "GB/T 2260 six-digit administrative division code of the registering tax office.",
               pattern=r"\d{6}"),
        Column("taxpayer_type", "category", "纳税人类型",
               "VAT taxpayer type: general (一般纳税人) or small_scale (小规模纳税人).",
               allowed=TAXPAYER_TYPES,
               aliases={"一般纳税人": "general", "一般": "general",
                        "小规模纳税人": "small_scale", "小规模": "small_scale"}),
        Column("general_since", "date", "一般纳税人生效日期",
               "Date the general-taxpayer registration took effect; empty for small-scale "
               "taxpayers. With it, features at an earlier as-of date see the type of then (a "
               "later conversion does not leak back); without it the type at extraction is used.",
               unit="date", nullable=True, required=False),
        Column("collection_method", "category", "征收方式",
               "Income-tax collection: audit (查账征收, books) or deemed (核定征收).",
               allowed=("audit", "deemed"),
               aliases={"查账征收": "audit", "查账": "audit", "核定征收": "deemed", "核定": "deemed"}),
        _date("registration_date", "登记日期", "Date of business registration."),
        _date("first_filing_date", "首次办理涉税事宜日期",
              "Date the enterprise first handled tax matters (tax registration / first filing "
              "obligation; 2025 rules count operating years from it). On or before its first "
              "return; missing if none yet.", nullable=True),
        Column("status", "category", "登记状态",
               "Registration status at extraction: normal, abnormal (非正常户), deregistered.",
               allowed=("normal", "abnormal", "deregistered"),
               aliases={"正常": "normal", "非正常": "abnormal", "非正常户": "abnormal",
                        "注销": "deregistered", "已注销": "deregistered"}),
        _money("registered_capital", "注册资本", "Registered capital.", nullable=True,
               required=False),
    ),
    key=("uscc",),
    knowledge_date="registration_date",
    rules=(
        Compare("first_filing_before_registration", "first_filing_date", ">=",
                "registration_date", "an enterprise cannot file taxes before it is registered"),
        _general_since_rule(),
    ),
    sort_by=("uscc",),
)

VAT_RETURNS = TableSchema(
    name="vat_returns",
    zh="增值税申报表",
    description="One row per VAT return (monthly, or quarterly for most small-scale taxpayers); "
                "an amendment is one more row for its period.",
    columns=(
        _uscc(),
        _date("period_start", "所属期起", "First day of the period covered."),
        _date("period_end", "所属期止", "Last day of the period covered (month or quarter end)."),
        Column("filing_frequency", "category", "申报期限", "monthly (按月) or quarterly (按季).",
               allowed=("monthly", "quarterly"),
               aliases={"按月": "monthly", "月": "monthly", "按季": "quarterly", "季": "quarterly"}),
        _money("taxable_sales", "应税销售额",
               "All sales declared, including tax-exempt sales (negative after red-letter credits).",
               signed=True),
        _money("exempt_sales", "免税销售额", "Sales exempt from VAT (e.g. small-scale threshold).",
               required=False, nullable=True),
        _money("output_tax", "销项税额", "Output VAT (negative after red-letter credits).",
               signed=True),
        _money("input_tax", "进项税额", "Deductible input VAT."),
        _money("vat_payable", "应纳税额", "VAT payable for the period."),
        _money("credit_carried_forward", "期末留抵税额", "Excess input VAT carried forward.",
               required=False, nullable=True),
        _date("due_date", "申报截止日", "Statutory filing deadline."),
        _date("filing_date", "申报日期",
              "Date the return was filed (its knowledge date); an amended return (更正申报) is "
              "another row for the same period with its own, later filing date."),
        _revision(),
    ),
    key=("uscc", "period_end", "filing_date", "revision"),
    knowledge_date="filing_date",
    parent=("enterprises", "uscc"),
    rules=(
        *_filing_rules(),
        _month_end_rule(),
        _quarter_end_rule(),
        _period_length_rule("filing_frequency", {"monthly": 1, "quarterly": 3}),
        _no_overlap_rule(),
        _version_frequency_rule(),
        _exempt_rule(),
    ),
    sort_by=("uscc", "period_end", "filing_date", "revision"),
    revises=("uscc", "period_end"),
)

CIT_RETURNS = TableSchema(
    name="cit_returns",
    zh="企业所得税申报表",
    description="One row per corporate income tax return: quarterly prepayment or annual "
                "settlement; an amendment is one more row for its period.",
    columns=(
        _uscc(),
        Column("return_type", "category", "申报类型",
               "quarterly (季度预缴) or annual (年度汇算清缴).",
               allowed=("quarterly", "annual"),
               aliases={"季度预缴": "quarterly", "年度汇算": "annual", "汇算清缴": "annual"}),
        _date("period_start", "所属期起", "First day of the period (cumulative from 1 January)."),
        _date("period_end", "所属期止", "Last day of the period covered."),
        _money("revenue", "营业收入", "Operating revenue, year to date."),
        _money("cost", "营业成本", "Operating cost, year to date."),
        _money("total_profit", "利润总额", "Total profit, year to date.", signed=True),
        _money("taxable_income", "应纳税所得额", "Taxable income, year to date.", signed=True,
               nullable=True, required=False),
        _money("tax_payable", "应纳所得税额", "Income tax payable for the return."),
        _date("due_date", "申报截止日", "Statutory filing deadline."),
        _date("filing_date", "申报日期",
              "Date the return was filed (its knowledge date); an amended return (更正申报) is "
              "another row for the same period with its own, later filing date."),
        _revision(),
    ),
    key=("uscc", "period_end", "return_type", "filing_date", "revision"),
    knowledge_date="filing_date",
    parent=("enterprises", "uscc"),
    rules=(
        Compare("filed_before_period_end", "filing_date", ">=", "period_end",
                "a return cannot be filed before its period ends"),
        Compare("due_before_period_end", "due_date", ">=", "period_end",
                "a due date cannot precede the end of its period"),
        Compare("period_start_after_end", "period_start", "<=", "period_end",
                "period_start must not be after period_end"),
        _month_end_rule(),
    ),
    sort_by=("uscc", "period_end", "return_type", "filing_date", "revision"),
    revises=("uscc", "period_end", "return_type"),
)

PAYMENTS = TableSchema(
    name="payments",
    zh="税费缴纳信息",
    description=(
        "One row per tax liability (tax type × period): amount due, due date, and when it was "
        "paid. Unpaid at extraction: payment_date missing. Arrears at date t are the liabilities "
        "due by t and not paid by t (data as known at the end of day t)."
    ),
    columns=(
        _uscc(),
        Column("tax_type", "category", "税种",
               "vat, cit, surtax (附加税费), iit (个税代扣), social_insurance, stamp, penalty, other.",
               allowed=("vat", "cit", "surtax", "iit", "social_insurance", "stamp", "penalty",
                        "other"),
               aliases={"增值税": "vat", "企业所得税": "cit", "附加税费": "surtax",
                        "个人所得税": "iit", "社保费": "social_insurance", "印花税": "stamp",
                        "罚款": "penalty", "其他": "other"}),
        _date("period_end", "所属期止", "End of the period the liability belongs to."),
        _money("amount", "应缴金额", "Amount due."),
        _date("due_date", "缴款期限", "Payment deadline (the liability's knowledge date)."),
        _date("payment_date", "缴款日期", "Date paid; missing while unpaid.", nullable=True),
        _money("late_fee", "滞纳金", "Late-payment surcharge (0.05% a day).", required=False,
               nullable=True),
        Column("voucher_id", "string", "税票号码",
               "Number of the liability's tax voucher (电子税票号). Optional; tells apart "
               "several liabilities of one tax, period and deadline — the extra tax after an "
               "amended return (补缴) beside the original (missing counts as one value).",
               nullable=True, required=False),
    ),
    key=("uscc", "tax_type", "period_end", "due_date", "voucher_id"),
    knowledge_date="due_date",
    parent=("enterprises", "uscc"),
    rules=(
        _after_period_rule("due_before_period_end", "due_date",
                           "a due date cannot precede the end of its period (social insurance: "
                           "its month)", exempt=("tax_type", ("social_insurance",))),
        _after_period_rule("paid_before_period_end", "payment_date",
                           "a liability cannot be paid before its period ends (social "
                           "insurance: its month)", exempt=("tax_type", ("social_insurance",))),
        _before_month_rule("due_before_month", "due_date",
                           "social insurance cannot fall due before its month",
                           only=("tax_type", ("social_insurance",))),
        _before_month_rule("paid_before_month", "payment_date",
                           "social insurance cannot be paid before its month",
                           only=("tax_type", ("social_insurance",))),
    ),
    sort_by=("uscc", "period_end", "tax_type", "due_date", "voucher_id"),
)


def _hhi_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        top1 = df["top1_share"].to_numpy(dtype=float, na_value=np.nan)
        hhi = df["counterparty_hhi"].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            # shares are often rounded to 4 decimals: allow for it
            bad = (hhi > top1 + 2e-4) | (hhi < top1 * top1 - 2e-4)
        return bad & ~np.isnan(top1) & ~np.isnan(hhi)

    return RowRule("hhi_inconsistent", "counterparty_hhi", ("top1_share", "counterparty_hhi"), check,
                   "a concentration index must lie between top1_share² and top1_share")


INVOICES = TableSchema(
    name="invoices",
    zh="发票汇总",
    description=(
        "Monthly invoice aggregates per direction (out = sales 销项, in = purchases 进项). "
        "A month without a row had no invoices."
    ),
    columns=(
        _uscc(),
        _date("period_end", "月份", "Last day of the month."),
        Column("direction", "category", "方向", "out (销项, issued) or in (进项, received).",
               allowed=("out", "in"), aliases={"销项": "out", "进项": "in"}),
        _money("amount", "金额", "Invoice amount excluding VAT, net of red-letter invoices.",
               signed=True),
        _money("tax_amount", "税额", "VAT on the invoices.", signed=True),
        _count("count", "份数", "Number of invoices, red-letter ones included."),
        _money("red_amount", "红字金额", "Amount of red-letter (credit) invoices, positive."),
        _count("red_count", "红字份数", "Number of red-letter invoices."),
        Column("void_count", "int", "作废份数", "Number of voided (legacy paper/UKey) invoices.",
               unit="count", min=0, nullable=True, required=False),
        _count("n_counterparties", "交易对手数", "Distinct counterparties in the month."),
        _share("top1_share", "第一大对手占比", "Largest counterparty's share of the amount."),
        _share("top5_share", "前五大对手占比", "Five largest counterparties' share of the amount."),
        _share("counterparty_hhi", "对手集中度HHI", "Herfindahl index of counterparty shares."),
    ),
    key=("uscc", "period_end", "direction"),
    knowledge_date="period_end",
    parent=("enterprises", "uscc"),
    rules=(
        _month_end_rule(),
        Compare("red_count_above_count", "red_count", "<=", "count",
                "red-letter invoices are counted in count"),
        Compare("top1_above_top5", "top1_share", "<=", "top5_share",
                "the top-1 share cannot exceed the top-5 share"),
        _hhi_rule(),
    ),
    sort_by=("uscc", "period_end", "direction"),
)


def _grade_score_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        g = df["grade"].astype("str").to_numpy()
        s = df["score"].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ((g == "A") & (s < 90)) | ((g == "B") & (s < 70)) | (
                (g == "C") & ((s < 40) | (s >= 70))
            )
        return bad & ~np.isnan(s)

    return RowRule("grade_score_mismatch", "grade", ("grade", "score"), check,
                   "grade inconsistent with score (A needs >= 90, B >= 70, C 40-70)")


def _effective_after_year_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        year = df["year"].to_numpy(dtype=float, na_value=np.nan)
        eff_year = df["effective_date"].dt.year.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return eff_year <= year

    return RowRule("effective_before_year_end", "effective_date", ("year", "effective_date"), check,
                   "a grade for year Y can only take effect after Y ends")


CREDIT_GRADES = TableSchema(
    name="credit_grades",
    zh="纳税信用等级",
    description=(
        "Taxpayer credit grade results. A year can have several rows: the annual evaluation and "
        "later dynamic adjustments, repairs or appeal results, each with its effective date."
    ),
    columns=(
        _uscc(),
        Column("year", "int", "评价年度", "Evaluation year (calendar year evaluated).", unit="year",
               min=1990, max=2100),
        Column("grade", "category", "信用级别", "A, B, M, C or D.", allowed=GRADES),
        Column("score", "float", "评价得分", "Indicator score 0-100 (missing for direct grades).",
               unit="score", nullable=True, min=0.0, max=100.0),
        _date("effective_date", "生效日期", "Date the result took effect (its knowledge date)."),
        Column("source", "category", "结果来源",
               "annual (年度评价), adjustment (动态调整), repair (信用修复), appeal (复评).",
               allowed=("annual", "adjustment", "repair", "appeal"),
               aliases={"年度评价": "annual", "动态调整": "adjustment", "信用修复": "repair",
                        "复评": "appeal"}),
    ),
    key=("uscc", "year", "effective_date"),
    knowledge_date="effective_date",
    parent=("enterprises", "uscc"),
    rules=(_grade_score_rule(), _effective_after_year_rule()),
    sort_by=("uscc", "year", "effective_date"),
)

EVENT_TYPES = (
    "violation", "audit", "penalty", "abnormal_status", "status_restored", "deregistration",
    "legal_rep_change", "address_change", "tax_office_change", "credit_repair",
    "major_violation_listing",
)

EVENTS = TableSchema(
    name="events",
    zh="涉税事件",
    description="Dated events: violations, audits, penalties, status changes, key changes, repairs.",
    columns=(
        Column("event_id", "string", "事件编号", "Unique event identifier."),
        _uscc(),
        Column("event_type", "category", "事件类型", ", ".join(EVENT_TYPES) + ".",
               allowed=EVENT_TYPES,
               aliases={"违法违章": "violation", "税务稽查": "audit", "行政处罚": "penalty",
                        "非正常户": "abnormal_status", "解除非正常": "status_restored",
                        "注销": "deregistration", "法人变更": "legal_rep_change",
                        "地址变更": "address_change", "主管税务机关变更": "tax_office_change",
                        "信用修复": "credit_repair", "重大税收违法失信": "major_violation_listing"}),
        _date("event_date", "事件日期", "Date the event was recorded (its knowledge date)."),
        _money("amount", "金额", "Amount involved (penalty, tax adjusted), when any.",
               nullable=True, required=False),
        Column("description", "string", "说明", "Free text.", nullable=True, required=False,
               free_text=True),
    ),
    key=("event_id",),
    knowledge_date="event_date",
    parent=("enterprises", "uscc"),
    sort_by=("uscc", "event_date", "event_id"),
)


def _balance_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        a = df["total_assets"].to_numpy(dtype=float, na_value=np.nan)
        diff = a - df["total_liabilities"].to_numpy(dtype=float, na_value=np.nan) - df[
            "equity"
        ].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return np.abs(diff) > np.maximum(1.0, 1e-6 * np.abs(a))

    return RowRule("balance_identity", "equity", ("total_assets", "total_liabilities", "equity"),
                   check, "assets must equal liabilities plus equity (tolerance 1 yuan)")


FINANCIALS = TableSchema(
    name="financials",
    zh="财务报表",
    description="Annual balance sheet and income statement as filed with the tax authority; "
                "a restatement is one more row for its year.",
    columns=(
        _uscc(),
        Column("year", "int", "会计年度", "Fiscal year.", unit="year", min=1990, max=2100),
        _date("period_end", "报表截止日", "Balance-sheet date (31 December)."),
        _money("total_assets", "资产总计", "Total assets."),
        _money("total_liabilities", "负债合计", "Total liabilities."),
        _money("equity", "所有者权益合计", "Owners' equity.", signed=True),
        _money("current_assets", "流动资产", "Current assets.", nullable=True, required=False),
        _money("current_liabilities", "流动负债", "Current liabilities.", nullable=True,
               required=False),
        _money("revenue", "营业收入", "Operating revenue of the year."),
        _money("cost_of_sales", "营业成本", "Cost of sales.", nullable=True, required=False),
        _money("net_profit", "净利润", "Net profit.", signed=True),
        _date("filing_date", "报送日期",
              "Date the statements were filed (knowledge date); restated statements (更正) are "
              "another row for the year with their own, later filing date."),
        _revision(),
    ),
    key=("uscc", "year", "filing_date", "revision"),
    knowledge_date="filing_date",
    parent=("enterprises", "uscc"),
    rules=(
        _balance_rule(),
        Compare("current_above_total_assets", "current_assets", "<=", "total_assets",
                "current assets cannot exceed total assets"),
        Compare("current_above_total_liabilities", "current_liabilities", "<=",
                "total_liabilities", "current liabilities cannot exceed total liabilities"),
        Compare("filed_before_period_end", "filing_date", ">=", "period_end",
                "statements cannot be filed before the balance-sheet date"),
    ),
    sort_by=("uscc", "year", "filing_date", "revision"),
    revises=("uscc", "year"),
)

PAYROLL = TableSchema(
    name="payroll",
    zh="社保缴费",
    description="Monthly social-insurance contributions: insured headcount and wage base.",
    columns=(
        _uscc(),
        _date("period_end", "费款所属期", "Last day of the month."),
        _count("headcount", "参保人数", "Employees insured in the month."),
        _money("wage_base", "缴费基数", "Total contribution wage base."),
        _date("filing_date", "申报日期", "Date declared (its knowledge date)."),
    ),
    key=("uscc", "period_end"),
    knowledge_date="filing_date",
    parent=("enterprises", "uscc"),
    rules=(
        _month_end_rule(),
        _before_month_rule("filed_before_month", "filing_date",
                           "contributions cannot be declared before their month (within it is "
                           "fine: 当月申报)"),
    ),
    sort_by=("uscc", "period_end"),
)


def _default_date_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        flag = df["default_12m"].to_numpy(dtype=float, na_value=np.nan)
        dd = df["default_date"]
        app = df["application_date"]
        has_date = dd.notna().to_numpy()
        horizon = (app + pd.DateOffset(months=12)).to_numpy()
        ddv = dd.to_numpy()
        with np.errstate(invalid="ignore"):
            outside = has_date & ((ddv <= app.to_numpy()) | (ddv > horizon))
        seen = df["observed_through"].to_numpy() if "observed_through" in df else None
        after_seen = np.zeros(len(df), dtype=bool)
        if seen is not None:
            with np.errstate(invalid="ignore"):
                after_seen = has_date & ~np.isnat(seen) & (ddv > seen)
        return (((flag == 1) & ~has_date) | (~(flag == 1) & has_date) | outside | after_seen)

    return RowRule("default_date_inconsistent", "default_date",
                   ("default_12m", "default_date", "application_date"), check,
                   "default_12m=1 needs a default_date within 12 months after the application "
                   "and not after observed_through; otherwise there must be none")


def _immature_good_rule() -> RowRule:
    def check(df: pd.DataFrame) -> np.ndarray:
        flag = df["default_12m"].to_numpy(dtype=float, na_value=np.nan)
        horizon = (df["application_date"] + pd.DateOffset(months=12)).to_numpy()
        seen = df["observed_through"].to_numpy()
        return (flag == 0) & (np.isnat(seen) | (seen < horizon))

    return RowRule("immature_good", "default_12m",
                   ("default_12m", "observed_through", "application_date"), check,
                   "a good outcome (0) needs the loan observed for the full 12 months")


APPLICATIONS = TableSchema(
    name="applications",
    zh="贷款申请",
    description="Loan applications and, where known, their 12-month outcome.",
    columns=(
        Column("application_id", "string", "申请编号", "Unique application identifier."),
        _uscc(),
        _date("application_date", "申请日期", "Date of the application (its knowledge date)."),
        Column("product", "string", "产品", "Loan product code.", nullable=True, required=False,
               free_text=True),
        _money("amount_requested", "申请金额", "Amount requested.", nullable=True, required=False),
        Column("default_12m", "int", "12个月内违约", "1 defaulted within 12 months, 0 did not, "
               "missing while the outcome is unknown.", nullable=True, min=0, max=1),
        _date("default_date", "违约日期", "Date of default.", nullable=True),
        _date("observed_through", "观察截止日", "Last date the loan's performance was observed.",
              nullable=True),
    ),
    key=("application_id",),
    knowledge_date="application_date",
    parent=("enterprises", "uscc"),
    rules=(
        _default_date_rule(),
        _immature_good_rule(),
        Compare("observed_before_application", "observed_through", ">=", "application_date",
                "performance cannot be observed before the application"),
    ),
    sort_by=("application_date", "application_id"),
)

TRUTH = TableSchema(
    name="truth",
    zh="模拟真值",
    description=(
        "Synthetic data only: the true probability of default of each application and its full "
        "12-month outcome. Never a feature; use it to compute the oracle AUC."
    ),
    columns=(
        Column("application_id", "string", "申请编号", "Application identifier."),
        Column("true_pd", "float", "真实违约概率",
               "True 12-month probability of default given the enterprise's state at the "
               "application.",
               unit="share", min=0.0, max=1.0),
        Column("default_12m_full", "int", "完整违约结果",
               "12-month outcome, also for applications not yet mature.", nullable=True,
               required=False, min=0, max=1),
    ),
    key=("application_id",),
    knowledge_date=None,
    parent=("applications", "application_id"),
    sort_by=("application_id",),
)

VERIFICATIONS = ("real_name", "double_authorisation", "real_name+double_authorisation")

CONSENTS = TableSchema(
    name="consents",
    zh="授权记录",
    description=(
        "One row per authorisation an enterprise gave the bank to use its tax data: the "
        "purposes and tables it covers, when it was granted, when it expires and when (if) it "
        "was revoked, and how it was verified. Checked point in time on every use."
    ),
    columns=(
        Column("consent_id", "string", "授权编号", "Unique authorisation identifier."),
        _uscc(),
        Column("bank", "string", "银行", "The bank authorised.", nullable=True, required=False,
               free_text=True),
        Column("purposes", "string", "授权用途", "Purposes covered, ';'-separated: "
               "credit_assessment, post_loan_monitoring, model_development.", free_text=True),
        Column("scope", "string", "授权范围", "Tables covered, ';'-separated, or * for all.",
               nullable=True, required=False, free_text=True),
        _date("granted_at", "授权日期", "When the authorisation was given (its knowledge date)."),
        _date("expires_at", "到期日期", "When it lapses."),
        _date("revoked_at", "撤销日期", "When it was withdrawn; missing while in force.",
              nullable=True),
        Column("verification", "category", "验证方式", "How the authorisation was verified: "
               + ", ".join(VERIFICATIONS) + ".", allowed=VERIFICATIONS, nullable=True,
               required=False, aliases={"实名认证": "real_name", "双重授权": "double_authorisation",
                                        "实名+双重授权": "real_name+double_authorisation"}),
    ),
    key=("consent_id",),
    knowledge_date="granted_at",
    parent=("enterprises", "uscc"),
    rules=(
        Compare("expires_before_granted", "expires_at", ">", "granted_at",
                "an authorisation must expire after it is granted"),
        Compare("revoked_before_granted", "revoked_at", ">=", "granted_at",
                "an authorisation cannot be revoked before it is granted"),
    ),
    sort_by=("uscc", "granted_at", "consent_id"),
)

SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (ENTERPRISES, VAT_RETURNS, CIT_RETURNS, PAYMENTS, INVOICES, CREDIT_GRADES, EVENTS,
              FINANCIALS, PAYROLL, APPLICATIONS, TRUTH, CONSENTS)
}

#: Validation order: parents before children.
TABLE_ORDER: tuple[str, ...] = tuple(SCHEMAS)


def get_schema(table: str) -> TableSchema:
    """Return the contract of ``table``.

    Raises
    ------
    KeyError
        With the list of known tables when ``table`` is unknown.
    """
    try:
        return SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known tables: {', '.join(SCHEMAS)}") from None


def describe_contract() -> pd.DataFrame:
    """Return the whole data contract as a DataFrame (one row per column of every table).

    Returns
    -------
    pandas.DataFrame
        Columns ``table``, ``table_zh``, ``column``, ``zh``, ``kind``, ``dtype``, ``unit``,
        ``nullable``, ``required``, ``key``, ``knowledge_date``, ``allowed``, ``min``, ``max``,
        ``description``.
    """
    rows = []
    for s in SCHEMAS.values():
        for c in s.columns:
            rows.append({
                "table": s.name, "table_zh": s.zh, "column": c.name, "zh": c.zh,
                "kind": c.kind, "dtype": c.dtype, "unit": c.unit, "nullable": c.nullable,
                "required": c.required, "key": c.name in s.key,
                "knowledge_date": c.name == s.knowledge_date,
                "allowed": ", ".join(c.allowed) if c.allowed else None,
                "min": c.min, "max": c.max, "description": c.description,
            })
    return pd.DataFrame(rows)
