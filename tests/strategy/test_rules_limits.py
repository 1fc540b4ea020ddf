"""Rules as data and the limit policy, on hand-made feature rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxcredit.strategy import LimitPolicy, Rule, RuleError, evaluate_rules

X = pd.DataFrame({
    "credit_grade": [1, 2, 3, 4, np.nan],
    "firm_age_months": [60, 30, 12, 100, 50],
    "tax_12m": [50_000, 29_999, np.nan, 100_000, 40_000],
    "arrears_now": [0, np.nan, 500, 0, 0],
    "avg_annual_tax_24m": [100_000, 40_000, 5_000, 200_000, np.nan],
    "sales_12m": [8_000_000, 1_000_000, np.nan, 50_000_000, 3_000_000],
}, index=list("abcde"))


def test_conditions_with_missing_values_are_not_met():
    r = Rule("TAX", "tax_12m >= 30000")
    assert list(r.hits(X)) == [False, True, True, False, False]  # c: missing → hit
    r = Rule("ARR", "isna(arrears_now) or arrears_now <= 0")
    assert list(r.hits(X)) == [False, False, True, False, False]
    r = Rule("GRADE", "credit_grade in [1, 2]")
    assert list(r.hits(X)) == [False, False, True, True, True]
    r = Rule("NOT_C", "not credit_grade in [4, 5]")
    assert list(r.hits(X)) == [False, False, False, True, True]  # e: unknown stays a hit
    r = Rule("MIX", "(tax_12m / max(avg_annual_tax_24m, 1) > 0.3 and firm_age_months >= 24) "
                    "or credit_grade == 1")
    # d: 100k / 200k = 0.5 > 0.3 and 100 ≥ 24; c and e: a needed value is missing
    assert list(r.hits(X)) == [False, False, True, False, True]


def test_evaluation_names_the_rules_hit_and_the_action():
    rules = [Rule("R1", "credit_grade in [1, 2]", "decline", "等级", "grade"),
             Rule("R2", "firm_age_months >= 24", "refer", "年限", "age"),
             Rule("R3", "tax_12m >= 30000")]
    out = evaluate_rules(rules, X)
    assert list(out["rule_hits"]) == ["", "R3", "R1;R2;R3", "R1", "R1"]
    assert list(out["knocked_out"]) == [False, True, True, True, True]
    assert list(out["referred"]) == [False, False, True, False, False]


@pytest.mark.parametrize("expr", ["__import__('os').system('echo hi')", "tax_12m.__class__",
                                  "open('x')", "[x for x in tax_12m]", "tax_12m >= ",
                                  "lambda: 1", "tax_12m if 1 else 2", "tax_12m"])
def test_anything_but_the_small_language_is_refused(expr):
    with pytest.raises(RuleError):
        Rule("BAD", expr)


def test_unknown_features_and_actions_are_named():
    with pytest.raises(RuleError, match="needs feature 'nope'"):
        Rule("R", "nope > 1").hits(X)
    with pytest.raises(RuleError, match="action"):
        Rule("R", "tax_12m > 1", action="maybe")
    with pytest.raises(RuleError, match="unique"):
        evaluate_rules([Rule("R", "tax_12m > 1"), Rule("R", "tax_12m > 2")], X)


def test_limits_by_hand():
    policy = LimitPolicy(tax_multiple={"A": 8, "B": 6}, fixed_by_grade={"M": 50_000},
                         sales_share=0.15, cap=1_000_000, minimum=10_000, unit=10_000)
    got = policy.limits(X)
    # a: A, min(8×100k=800k, 15%×8M=1.2M, cap 1M) = 800k
    # b: B, min(6×40k=240k, 150k) = 150k
    # c: M fixed 50k but sales unknown → 0 (conservative)
    # d: C grade: no multiple → 0
    # e: grade unknown → 0
    assert list(got) == [800_000, 150_000, 0, 0, 0]
    assert list(policy.limits(X, approved=[False, True, True, True, True])) == [0, 150_000, 0,
                                                                                0, 0]


def test_limit_rounding_minimum_and_cap():
    one = pd.DataFrame({"credit_grade": [1, 1, 1], "avg_annual_tax_24m": [1_234, 12_345, 1e9],
                        "sales_12m": [1e9, 1e9, 1e9]})
    p = LimitPolicy(tax_multiple={"A": 1.0}, sales_share=None, cap=2_000_000, minimum=5_000,
                    unit=1_000)
    assert list(p.limits(one)) == [0, 12_000, 2_000_000]  # below minimum, rounded down, cap
    with pytest.raises(ValueError, match="unknown grade"):
        LimitPolicy(tax_multiple={"AAA": 1})
    with pytest.raises(ValueError, match="needs feature"):
        p.limits(one.drop(columns="credit_grade"))


@pytest.mark.parametrize("expr", ['credit_grade in ["A", "B"]', 'credit_grade == "A"',
                                  'credit_grade != "D"', 'tax_12m > "30000"'])
def test_numbers_compared_with_text_are_refused_not_silently_false(expr):
    with pytest.raises(RuleError, match="compare like with like"):
        Rule("R", expr).hits(X)


def test_a_list_mixing_numbers_and_text_is_refused_when_the_rule_loads():
    with pytest.raises(RuleError, match="mixes numbers and text"):
        Rule("R", 'credit_grade in [1, "B"]')


def test_text_features_compare_with_text():
    T = pd.DataFrame({"industry": ["C", "F", None]})
    assert list(Rule("R", 'industry in ["C", "G"]').hits(T)) == [False, True, True]
    with pytest.raises(RuleError, match="industry is text but 5 is numeric"):
        Rule("R", "industry == 5").hits(T)


def test_a_rule_may_span_lines():
    r = Rule("R", "tax_12m >= 30000\n    and (credit_grade <= 2\n\tor firm_age_months > 36)")
    assert list(r.hits(X)) == [False, True, True, False, False]  # e: unknown or true


def test_limit_rounding_is_not_fooled_by_binary_fractions():
    # 0.35 × 1,400,000 is 489,999.99999999994 in binary floating point
    one = pd.DataFrame({"credit_grade": [1], "avg_annual_tax_24m": [1e9], "sales_12m": [1.4e6]})
    p = LimitPolicy(tax_multiple={"A": 10}, sales_share=0.35, cap=1e9, unit=10_000)
    assert list(p.limits(one)) == [490_000]
    shares = np.round(np.arange(1, 101) / 100, 2)
    for share in shares:  # every share of whole-¥10k sales gives an exact multiple
        q = LimitPolicy(tax_multiple={"A": 10}, sales_share=float(share), cap=1e9, unit=10_000)
        sales = np.arange(1, 301) * 10_000 * 100  # ¥1m … ¥300m
        got = q.limits(pd.DataFrame({"credit_grade": 1, "avg_annual_tax_24m": 1e12,
                                     "sales_12m": sales}))
        want = (np.round(sales * share, 6) // 10_000) * 10_000
        assert np.array_equal(got, np.where(want >= 10_000, want, 0)), share
