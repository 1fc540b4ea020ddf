"""Validation reports: textbook tests, stability, samples, and the HTML in a real browser."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.modeling import metrics
from taxcredit.monitoring import card_samples, grade_table, validate


@pytest.fixture(scope="module")
def fitted():
    ds = tc.datasets.make_population(n_enterprises=6_000, months=48, seed=81)
    strategy = tc.strategies.get("sme_scorecard").fit(ds, until="2024-06-01")
    return ds, strategy


@pytest.fixture(scope="module")
def report(fitted):
    ds, strategy = fitted
    return validate(strategy, ds, n_boot=100, random_state=3)


def _binom_sf_textbook(d: int, n: int, p: float) -> float:
    """P(X >= d) for X ~ Binomial(n, p), summed term by term."""
    return 1.0 - sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(d))


def _beta_cdf_textbook(x: float, a: float, b: float, steps: int = 200_000) -> float:
    """Regularised incomplete beta by the midpoint rule (exact enough for a test)."""
    t = (np.arange(steps) + 0.5) / steps * x
    log_b = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return float(np.sum(np.exp((a - 1) * np.log(t) + (b - 1) * np.log1p(-t) - log_b)) * x
                 / steps)


def test_grade_tests_match_textbook_values():
    # grade G1: 200 loans at PD 1 %, 6 defaults; grade G2: 100 loans at PD 5 %, 3 defaults
    y = np.r_[np.ones(6), np.zeros(194), np.ones(3), np.zeros(97)].astype(int)
    p = np.r_[np.full(200, 0.01), np.full(100, 0.05)]
    g = np.r_[np.full(200, "G1"), np.full(100, "G2")]
    t = grade_table(y, p, g, ["G1", "G2"]).set_index("grade")
    assert t.loc["G1", "p_binomial"] == pytest.approx(_binom_sf_textbook(6, 200, 0.01), rel=1e-9)
    assert t.loc["G2", "p_binomial"] == pytest.approx(_binom_sf_textbook(3, 100, 0.05), rel=1e-9)
    assert t.loc["G1", "p_jeffreys"] == pytest.approx(_beta_cdf_textbook(0.01, 6.5, 194.5),
                                                      rel=1e-4)
    assert t.loc["G2", "p_jeffreys"] == pytest.approx(_beta_cdf_textbook(0.05, 3.5, 97.5),
                                                      rel=1e-4)
    assert t.loc["G1", "p_binomial"] < 0.05 and t.loc["G2", "p_binomial"] > 0.5
    assert bool(t.loc["G2", "rank_ok"])  # 3 % then 3 %: not falling
    t2 = grade_table(y, p, np.r_[np.full(200, "G2"), np.full(100, "G1")], ["G1", "G2"])
    assert t2["rank_ok"].tolist() == [True, True]
    y3 = np.r_[np.ones(10), np.zeros(190), np.ones(1), np.zeros(99)].astype(int)
    assert grade_table(y3, p, g, ["G1", "G2"])["rank_ok"].tolist() == [True, False]


def test_samples_follow_the_card_and_leave_out_immature_outcomes(fitted):
    ds, strategy = fitted
    samples = card_samples(strategy, ds)
    assert list(samples) == ["train", "calibration", "out_of_time"]
    end = ds["applications"]["observed_through"].max()
    for s in samples.values():
        assert (s["application_date"] + pd.DateOffset(months=12) <= end).all()
        assert s["default_12m"].notna().all()
    t0, t1 = strategy.card_["training_window"]
    assert samples["train"]["application_date"].between(t0, t1).all()
    # the fit cut the calibration sample at a new day: every row is in one sample
    assert t1 < strategy.card_["calibration_window"][0]
    assert len(samples["train"]) == strategy.card_["n_train"]
    assert len(samples["calibration"]) == strategy.card_["n_calibration"]
    ids = [set(s["application_id"]) for s in samples.values()]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])


def test_summary_intervals_and_stability(fitted, report):
    ds, strategy = fitted
    s = report.summary.set_index("sample")
    assert (s["auc_lo"] <= s["auc"]).all() and (s["auc"] <= s["auc_hi"]).all()
    assert np.allclose(s["gini"], 2 * s["auc"] - 1)
    again = validate(strategy, ds, n_boot=100, random_state=3)
    pd.testing.assert_frame_equal(again.summary, report.summary)
    # PSI of the PD, recomputed by hand: deciles of the reference, shares, Σ (a−e)·ln(a/e)
    ref = report.scores["train"]["pd"].to_numpy()
    oot = report.scores["out_of_time"]["pd"].to_numpy()
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
    e = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, oot, side="right"), minlength=len(edges) + 1)
    e = np.where(e == 0, 0.5, e) / len(ref)
    a = np.where(a == 0, 0.5, a) / len(oot)
    by_hand = float(np.sum((a - e) * np.log(a / e)))
    assert s.loc["out_of_time", "psi_score"] == pytest.approx(by_hand, rel=1e-6)
    st = report.stability
    assert set(st["variable"]) >= {"pd", *strategy.model_.selected_}
    assert set(st["status"]) <= {"stable", "watch", "act"}
    csi = st[(st["sample"] == "calibration") & (st["variable"] == "tax_12m")]["psi"].iloc[0]
    assert csi == pytest.approx(metrics.psi(report.scores["train"]["tax_12m"],
                                            report.scores["calibration"]["tax_12m"]))
    assert report.binning and all(len(t) for t in report.binning.values())


def test_excel_workbook_has_every_table(report, tmp_path):
    import openpyxl

    path = report.to_excel(tmp_path / "r.xlsx")
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert {"summary", "stability", "model_card", "findings", "grades_out_of_time",
            "gains_train"} <= set(names)
    back = pd.read_excel(path, sheet_name="summary")
    assert back["n"].tolist() == report.summary["n"].tolist()


def test_html_is_self_contained(report, tmp_path):
    text = Path(report.to_html(tmp_path / "r.html")).read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", text)
    assert text.count("data:image/png;base64,") == 4
    assert len(text.encode()) < 1_500_000


def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                    "chromium-driver); .ci/run installs them")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1600"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_html_report_opens_in_headless_chromium(report, tmp_path):
    path = tmp_path / "report.html"
    report.to_html(path)
    browser = _browser()
    try:
        browser.get(path.as_uri())
        assert browser.execute_script("return document.readyState") == "complete"
        assert browser.title.startswith("Validation report")
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert len(images) == 4 and all(done and width > 100 for done, width in images)
        text = browser.find_element("tag name", "body").text
        assert "Findings" in text and "Discrimination" in text and "Model card" in text
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        browser.quit()


def test_cli_report(fitted, tmp_path, capsys):
    from taxcredit.cli.main import main

    ds, strategy = fitted
    data = tmp_path / "data"
    ds.to_folder(data)
    folder = strategy.save(tmp_path / "s")
    out = tmp_path / "r.html"
    assert main(["report", "--strategy", str(folder), "--data", str(data), "--out", str(out),
                 "--excel", str(tmp_path / "r.xlsx"), "--n-boot", "20"]) == 0
    assert out.is_file() and (tmp_path / "r.xlsx").is_file()
    assert "out_of_time" in capsys.readouterr().out
    assert main(["report", "--strategy", str(folder), "--data", str(data), "--out",
                 str(tmp_path / "r.pdf")]) == 2


def test_stability_of_a_categorical_column_by_hand():
    from taxcredit.monitoring.validation import stability_index

    e = pd.Series(["C"] * 50 + ["F"] * 30 + [None] * 20, dtype="category")
    a = pd.Series(["C"] * 20 + ["F"] * 60 + ["I"] * 20)
    ce = np.array([50, 30, 0.5, 20]) / 100.5  # C, F, I (empty: half a count), missing
    ca = np.array([20, 60, 20, 0.5]) / 100.5
    want = float(np.sum((ca - ce) * np.log(ca / ce)))
    assert stability_index(e, a) == pytest.approx(want)
    num = pd.Series(np.arange(100.0))
    assert stability_index(num, num) == pytest.approx(0.0)


def test_rank_ordering_skips_small_grades():
    # G1 2 %, G2 tiny (1 of 5), G3 1 % → G3 is below G1: broken, whatever G2 says
    y = np.r_[np.ones(2), np.zeros(98), np.ones(1), np.zeros(4), np.ones(1), np.zeros(99)]
    p = np.full(len(y), 0.02)
    g = np.r_[np.full(100, "G1"), np.full(5, "G2"), np.full(100, "G3")]
    t = grade_table(y.astype(int), p, g, ["G1", "G2", "G3"])
    assert t["rank_ok"].tolist() == [True, True, False]


def test_excel_sheet_names_are_legal_and_unique_and_failures_leave_nothing(tmp_path):
    import openpyxl

    from taxcredit.monitoring.report import write_excel

    class Report:
        def __init__(self, tables):
            self._tables = tables

        def tables(self):
            return self._tables

    t = pd.DataFrame({"a": [1, 2]})
    names = ["summary", "grades_2024/Q4 calib", "grades_calibration_window_2024_Q3",
             "grades_calibration_window_2024_Q4"]
    path = write_excel(Report({n: t.assign(a=t["a"] + i) for i, n in enumerate(names)}),
                       tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["summary", "grades_2024_Q4 calib",
                               "grades_calibration_window_2024_",
                               "grades_calibration_window_202~2"]
    assert book["grades_calibration_window_202~2"]["A3"].value == 2 + 3  # nothing overwritten

    class Broken:
        def tables(self):
            # Excel refuses time-zone-aware datetimes: the second sheet fails mid-write
            return {"ok": t, "bad": pd.DataFrame({"a": [pd.Timestamp("2025-01-01", tz="UTC")]})}

    with pytest.raises(ValueError):
        write_excel(Broken(), tmp_path / "broken.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_no_out_of_time_sample_is_said_not_hidden(fitted):
    """Fitted on every matured application, the card's windows leave nothing out of time."""
    ds, strategy = fitted
    apps = ds["applications"]
    early = apps[apps["application_date"] <= strategy.card_["calibration_window"][1]]
    ds_early = tc.TaxDataset({**ds.tables, "applications": early}, validated=True)
    with pytest.warns(UserWarning, match=r"no out-of-time sample .* fit with until="):
        rep = validate(strategy, ds_early, n_boot=5)
    assert list(rep.grades) == ["train", "calibration"]


def test_samples_sharing_a_long_prefix_keep_their_own_tables(fitted, tmp_path):
    import openpyxl

    ds, strategy = fitted
    apps = card_samples(strategy, ds)["out_of_time"]
    half = len(apps) // 2
    samples = {"out_of_time_applications_branch_north": apps.iloc[:half],
               "out_of_time_applications_branch_south": apps.iloc[half:]}
    rep = validate(strategy, ds, samples, n_boot=5)
    tables = rep.tables()
    for name, s in samples.items():
        assert tables[f"grades_{name}"]["n"].sum() == len(s)
    book = openpyxl.load_workbook(rep.to_excel(tmp_path / "r.xlsx"), read_only=True)
    grade_sheets = [n for n in book.sheetnames if n.startswith("grades_")]
    assert len(grade_sheets) == 2 and all(len(n) <= 31 for n in book.sheetnames)


def test_an_empty_sample_is_named(fitted):
    ds, strategy = fitted
    apps = card_samples(strategy, ds)["out_of_time"]
    with pytest.raises(ValueError, match=r"sample 'branch' has no application with a known "
                                         r"default_12m \(0 row\(s\)\)"):
        validate(strategy, ds, {"all": apps, "branch": apps.iloc[:0]}, n_boot=5)
