"""Portfolio monitoring: stability, grade shares, migration, vintages — checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.modeling import metrics
from taxcredit.monitoring import monitor_portfolio

DATES = ["2025-03-31", "2025-04-30", "2025-05-31"]


@pytest.fixture(scope="module")
def setup():
    ds = tc.datasets.make_population(n_enterprises=4_000, months=48, seed=91)
    strategy = tc.strategies.get("sme_scorecard").fit(ds, until="2024-09-01")
    book = ds["enterprises"]["uscc"].astype(str).head(2_500)
    return ds, strategy, book, monitor_portfolio(strategy, ds, DATES, book=book)


def _grades(strategy, ds, book, as_of) -> pd.Series:
    ent = ds["enterprises"]
    registered = set(ent.loc[ent["registration_date"] <= pd.Timestamp(as_of), "uscc"])
    book = [u for u in book if u in registered]  # the book as of that date
    X = tc.build_features(ds.select(book), as_of=as_of,
                          features=strategy.spec.needed_features())
    out = strategy.decide_features(X, reasons="none")
    return pd.Series(out["grade"].astype(str).to_numpy(),
                     index=out.index.get_level_values(0).astype(str)), out["pd"].to_numpy()


def test_grade_shares_and_migration_match_a_hand_count(setup):
    ds, strategy, book, mon = setup
    assert np.allclose(mon.grades.sum(axis=1), 1.0)
    a, _ = _grades(strategy, ds, book, DATES[0])
    b, _ = _grades(strategy, ds, book, DATES[1])
    share = a.value_counts(normalize=True)
    for g, v in share.items():
        assert mon.grades.loc[pd.Timestamp(DATES[0]), g] == pytest.approx(v)
    m = mon.migration[(pd.Timestamp(DATES[0]), pd.Timestamp(DATES[1]))]
    for g_from in share.index:
        rows = a[a == g_from].index
        counts = b[rows].value_counts()
        for g_to, c in counts.items():
            assert m.loc[g_from, g_to] == pytest.approx(c / len(rows))
    live = m.sum(axis=1)
    assert np.allclose(live[live > 0], 1.0)


def test_pd_stability_against_development(setup):
    ds, strategy, book, mon = setup
    from taxcredit.monitoring import card_samples

    dev = card_samples(strategy, ds)["train"]
    Xd = tc.build_features(ds, as_of=dev[["uscc", "application_date"]].rename(
        columns={"application_date": "as_of"}), features=strategy.spec.needed_features())
    ref = strategy.decide_features(Xd, reasons="none")["pd"].to_numpy()
    _, now = _grades(strategy, ds, book, DATES[2])
    got = mon.stability.query("variable == 'pd'")["psi"].iloc[2]
    assert got == pytest.approx(metrics.psi(ref, now))
    acts = mon.stability[(mon.stability["status"] == "act") & (mon.stability["variable"] != "pd")]
    for d in acts["as_of"].unique():
        assert any(f.startswith(str(pd.Timestamp(d).date())) and "shifted" in f
                   for f in mon.findings)


def test_vintages(setup):
    ds, _, _, mon = setup
    v = mon.vintages
    assert v["applications"].sum() == len(ds["applications"])
    assert np.allclose(v["approval_rate"], v["approved"] / v["applications"])
    assert (v["matured"] <= v["approved"]).all() and (v["defaults"] <= v["matured"]).all()
    assert v.loc[v["matured"] == 0, "bad_rate"].isna().all()


def test_bad_dates_and_outputs(setup, tmp_path):
    ds, strategy, _, mon = setup
    with pytest.raises(ValueError, match="increasing"):
        monitor_portfolio(strategy, ds, ["2025-05-31", "2025-03-31"])
    html = Path(mon.to_html(tmp_path / "p.html")).read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "<script" not in html
    import openpyxl

    names = openpyxl.load_workbook(mon.to_excel(tmp_path / "p.xlsx"), read_only=True).sheetnames
    assert {"stability", "grades", "vintages", "findings"} <= set(names)


def test_cli_portfolio(setup, tmp_path, capsys):
    from taxcredit.cli.main import main

    ds, strategy, _, _ = setup
    data = tmp_path / "data"
    ds.to_folder(data)
    folder = strategy.save(tmp_path / "s")
    out = tmp_path / "book.html"
    assert main(["portfolio", "--strategy", str(folder), "--data", str(data), "--until",
                 "2025-05-31", "--months", "2", "--out", str(out)]) == 0
    assert out.is_file() and "PD PSI" in capsys.readouterr().out
    assert main(["portfolio", "--strategy", str(folder), "--data", str(data), "--out",
                 str(tmp_path / "x.pdf")]) == 2


def test_book_codes_written_differently_are_the_same_loans(setup):
    ds, strategy, book, mon = setup
    messy = [u.lower() if i % 3 == 0 else (u + " " if i % 3 == 1 else u)
             for i, u in enumerate(book)]
    table = pd.DataFrame({"uscc": [*messy, "91430104WL2QXJQ04J"], "limit": 1.0})
    with pytest.warns(UserWarning, match=r"1 of 2501 enterprise\(s\) are not in the data"):
        again = monitor_portfolio(strategy, ds, DATES, book=table)
    pd.testing.assert_frame_equal(again.grades, mon.grades)
    pd.testing.assert_frame_equal(again.stability, mon.stability)


def test_dates_are_days_and_an_empty_book_date_is_reported_not_refused(setup):
    ds, strategy, book, mon = setup
    # a time of day or a time zone names the same as-of day (Beijing), as in build_features
    again = monitor_portfolio(strategy, ds, [f"{d} 18:30" for d in DATES], book=book)
    pd.testing.assert_frame_equal(again.grades, mon.grades)
    ent = ds["enterprises"]
    late = ent.loc[ent["registration_date"].between("2025-04-01", "2025-04-30"), "uscc"]
    m = monitor_portfolio(strategy, ds, DATES, book=late.head(3))
    first = pd.Timestamp(DATES[0])
    assert (m.grades.loc[first] == 0).all()  # nobody on the book yet
    assert np.allclose(m.grades.loc[pd.Timestamp(DATES[1]):].sum(axis=1), 1.0)
    s = m.stability[m.stability["as_of"] == first]
    assert s["psi"].isna().all() and set(s["status"]) == {"empty book"}
    assert (s["n_book"] == 0).all()
    assert not any(str(first.date()) in f for f in m.findings)


def test_no_training_window_applications_is_a_clear_error(setup):
    ds, strategy, book, _ = setup
    apps = ds["applications"]
    later = apps[apps["application_date"] >= "2024-09-01"]
    refresh = tc.TaxDataset({**ds.tables, "applications": later}, validated=True)
    with pytest.raises(ValueError, match=r"no matured application of the strategy's training "
                                         r"window .*development="):
        monitor_portfolio(strategy, refresh, DATES, book=book)
