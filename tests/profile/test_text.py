"""Strengths and weaknesses: readable values per unit, both languages, every dimension."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.features import DIMENSIONS, FEATURES
from taxcredit.profile import Profiler
from taxcredit.profile.text import format_values, sentences


@pytest.mark.parametrize(("value", "unit", "zh", "en"), [
    (123_456.0, "CNY", "12.3万元", "CNY 123.5k"),
    (2_500_000.0, "CNY", "250万元", "CNY 2.5m"),
    (312_000_000.0, "CNY", "3.12亿元", "CNY 312m"),
    (850.0, "CNY", "850元", "CNY 850"),
    (0.3551, "share", "35.5%", "35.5%"),
    (3.0, "grade", "M", "M"),
    (1.0, "grade", "A", "A"),
    (1.0, "flag", "是", "yes"),
    (0.0, "flag", "否", "no"),
    (7.0, "months", "7个月", "7 months"),
    (12.0, "people", "12人", "12 people"),
    (-0.001, "ratio", "0", "0"),
    (1.256, "ratio", "1.26", "1.26"),
    (71.6, "score", "72", "72"),
])
def test_values_read_in_their_unit(value, unit, zh, en):
    assert format_values(np.array([value]), np.array([unit]), "zh").to_pylist() == [zh]
    assert format_values(np.array([value]), np.array([unit]), "en").to_pylist() == [en]


def test_mixed_units_keep_row_order():
    v = np.array([1.0, 123_456.0, 0.5, 3.0])
    u = np.array(["flag", "CNY", "share", "months"])
    assert format_values(v, u, "en").to_pylist() == ["yes", "CNY 123.5k", "50%", "3 months"]


def test_sentences_by_hand():
    P = pd.DataFrame({"tax_12m": [90.0, 10.0, np.nan], "late_payments_24m": [40.0, 100.0, 60.0],
                      "arrears_now": [55.0, 0.0, np.nan]}, index=list("abc"))
    X = pd.DataFrame({"tax_12m": [52_000.0, 800.0, np.nan], "late_payments_24m": [3.0, 0.0, 0.0],
                      "arrears_now": [0.0, 91_000.0, np.nan]}, index=list("abc"))
    good, bad = sentences(P, X, "zh", top=2)
    assert good["a"] == "近12月纳税总额 5.2万元（优于90%的同行）；当前欠税金额 0元（优于55%的同行）"
    assert bad["a"] == "逾期缴款次数 3次（仅优于40%的同行）"
    assert good["b"] == "逾期缴款次数 0次（同行最优）"
    assert bad["b"] == "当前欠税金额 9.1万元（同行最末）；近12月纳税总额 800元（仅优于10%的同行）"
    assert good["c"] == "逾期缴款次数 0次（优于60%的同行）" and bad["c"] == ""
    good, bad = sentences(P, X, "en", top=1)
    assert good["a"] == "Tax paid, last 12 months CNY 52k (better than 90% of peers)"
    assert bad["b"] == "Arrears at as-of CNY 91k (last among peers)"
    assert list(good.index) == list("abc") and good.dtype == "str"


def test_every_dimension_speaks_both_languages():
    ds = tc.datasets.make_population(n_enterprises=2_000, months=36, seed=41)
    X = tc.build_features(ds, as_of="2025-03-31")
    prof = Profiler(top=3).fit(X)
    names = {lang: {d: [f.zh if lang == "zh" else f.en for f in FEATURES
                        if f.id in prof.indicators and prof.indicators[f.id] == d]
                    for d in DIMENSIONS} for lang in ("zh", "en")}
    for lang in ("zh", "en"):
        out = prof.profile(X, lang=lang)
        text = " ".join(out["strengths"]) + " " + " ".join(out["weaknesses"])
        for d, labels in names[lang].items():
            assert any(label in text for label in labels), (lang, d)


def test_two_tailed_indicators_speak_of_the_median_and_extremes_are_exact():
    P = pd.DataFrame({"invoice_declared_ratio": [96.0, 10.0], "tax_12m": [99.6, 0.4]})
    X = pd.DataFrame({"invoice_declared_ratio": [1.01, 2.5], "tax_12m": [9e5, 10.0]})
    good, bad = sentences(P, X, "en", top=2)
    assert good[0] == ("Tax paid, last 12 months CNY 900k (better than 99% of peers); "
                       "Invoiced vs declared sales 1.01 (close to the peer median)")
    assert bad[1] == ("Tax paid, last 12 months CNY 10 (better than only 1% of peers); "
                      "Invoiced vs declared sales 2.5 (far from the peer median)")
    zh, _ = sentences(P.head(1), X.head(1), "zh", top=2)
    assert "接近同行中位数" in zh[0]
