"""Early-warning rules: each fires on a hand-made enterprise and stays silent on its twin."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from taxcredit.data import TaxDataset
from taxcredit.data.ids import mask_uscc_array
from taxcredit.governance import pseudonym
from taxcredit.monitoring import RULES, WarningConfig, early_warnings
from tests.conftest import authorised

U = "91110108551385082Q"
AS_OF = pd.Timestamp("2025-06-30")
d = pd.Timestamp


def _ds(**tables) -> TaxDataset:
    ent = pd.DataFrame({"uscc": [U], "industry_code": ["I6510"], "region_code": ["110108"],
                        "taxpayer_type": ["general"], "status": ["normal"],
                        "registration_date": [d("2015-03-02")]})
    return TaxDataset({"enterprises": ent, **tables})


def vat(sales_by_month: dict[str, float], freq: str = "monthly") -> pd.DataFrame:
    ends = pd.DatetimeIndex([d(m) + pd.offsets.MonthEnd(0) for m in sales_by_month])
    starts = ends - pd.offsets.MonthBegin(1) if freq == "monthly" else \
        ends - pd.offsets.QuarterBegin(1, startingMonth=1)
    return pd.DataFrame({"uscc": U, "period_start": starts, "period_end": ends,
                         "filing_frequency": freq, "taxable_sales": list(sales_by_month.values()),
                         "filing_date": ends + pd.Timedelta(days=10)})


def months(first: str, last: str, value: float = 100_000.0) -> dict[str, float]:
    return {str(m.date()): value for m in pd.date_range(first, last, freq="MS")}


def events(*rows) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [f"E{i}" for i in range(len(rows))], "uscc": U,
                         "event_type": [r[0] for r in rows],
                         "event_date": [d(r[1]) for r in rows],
                         "amount": [r[2] if len(r) > 2 else None for r in rows]})


def grades(*rows) -> pd.DataFrame:
    return pd.DataFrame({"uscc": U, "year": [r[0] for r in rows], "grade": [r[1] for r in rows],
                         "effective_date": [d(r[2]) for r in rows]})


def payments(*rows) -> pd.DataFrame:  # (amount, due, paid or None)
    return pd.DataFrame({"uscc": U, "tax_type": "vat", "amount": [r[0] for r in rows],
                         "due_date": [d(r[1]) for r in rows],
                         "period_end": [d(r[1]) - pd.offsets.MonthEnd(1) for r in rows],
                         "payment_date": [d(r[2]) if r[2] else pd.NaT for r in rows]})


def invoices(out: dict[str, tuple], inn: dict[str, float] | None = None) -> pd.DataFrame:
    """out: month → (amount, count, red_amount); inn: month → amount."""
    rows = [{"period_end": d(m) + pd.offsets.MonthEnd(0), "direction": "out", "amount": a,
             "count": c, "red_amount": r} for m, (a, c, r) in out.items()]
    rows += [{"period_end": d(m) + pd.offsets.MonthEnd(0), "direction": "in", "amount": a,
              "count": 5, "red_amount": 0.0} for m, a in (inn or {}).items()]
    return pd.DataFrame(rows).assign(uscc=U)


def payroll(heads: dict[str, int]) -> pd.DataFrame:
    ends = [d(m) + pd.offsets.MonthEnd(0) for m in heads]
    return pd.DataFrame({"uscc": U, "period_end": ends, "headcount": list(heads.values()),
                         "filing_date": [e + pd.Timedelta(days=15) for e in ends]})


ACTIVE = {m: (100_000.0, 20, 1_000.0) for m in months("2024-06-01", "2025-05-01")}

# rule → (tables that fire, expected level, tables that must stay silent)
CASES = {
    "EW01": ({"events": events(("abnormal_status", "2025-03-01"))}, "red",
             {"events": events(("abnormal_status", "2025-03-01"),
                               ("status_restored", "2025-04-01"))}),
    "EW02": ({"credit_grades": grades((2024, "D", "2025-04-20"))}, "red",
             {"credit_grades": grades((2024, "B", "2025-04-20"))}),
    "EW03": ({"payments": payments((1_000.0, "2025-06-15", None)),
              "vat_returns": vat(months("2024-07-01", "2025-05-01"))}, "orange",
             {"payments": payments((1_000.0, "2025-06-15", "2025-06-14"))}),
    "EW04": ({"vat_returns": vat(months("2024-06-01", "2025-03-01"))}, "orange",
             {"vat_returns": vat(months("2024-06-01", "2025-04-01"))}),
    "EW05": ({"vat_returns": vat({**months("2025-01-01", "2025-02-01"),
                                  **months("2025-03-01", "2025-05-01", 0.0)})}, "orange",
             {"vat_returns": vat({**months("2025-01-01", "2025-02-01"),
                                  **months("2025-03-01", "2025-04-01", 0.0),
                                  "2025-05-01": 10.0})}),
    "EW06": ({"vat_returns": vat({**months("2024-03-01", "2025-02-01"),
                                  **months("2025-03-01", "2025-05-01", 40_000.0)})}, "orange",
             {"vat_returns": vat({**months("2024-03-01", "2025-02-01"),
                                  **months("2025-03-01", "2025-05-01", 90_000.0)})}),
    "EW07": ({"invoices": invoices({m: v for m, v in ACTIVE.items() if m <= "2025-03-01"})},
             "orange", {"invoices": invoices(ACTIVE)}),
    "EW08": ({"invoices": invoices({**ACTIVE, "2025-06-01": (70_000.0, 20, 30_000.0)})},
             "yellow", {"invoices": invoices({**ACTIVE, "2025-06-01": (99_000.0, 20, 1_000.0)})}),
    "EW09": ({"credit_grades": grades((2023, "A", "2024-04-20"), (2024, "B", "2025-06-10"))},
             "yellow",
             {"credit_grades": grades((2023, "A", "2024-04-20"), (2024, "B", "2025-04-10"))}),
    "EW10": ({"events": events(("legal_rep_change", "2025-06-15"))}, "yellow",
             {"events": events(("legal_rep_change", "2025-03-01"))}),
    "EW11": ({"payroll": payroll({"2025-02-01": 10, "2025-03-01": 9, "2025-04-01": 8,
                                  "2025-05-01": 6})}, "yellow",
             {"payroll": payroll({"2025-02-01": 10, "2025-03-01": 10, "2025-04-01": 9,
                                  "2025-05-01": 9})}),
    "EW13": ({"events": events(("penalty", "2025-06-20", 5_000.0))}, "orange",
             {"events": events(("penalty", "2025-01-20", 5_000.0))}),
    "EW14": ({"invoices": invoices({m: (100_000.0, 10, 0.0) for m in
                                    ("2025-04-01", "2025-05-01", "2025-06-01")},
                                   {m: 150_000.0 for m in
                                    ("2025-04-01", "2025-05-01", "2025-06-01")})}, "yellow",
             {"invoices": invoices({m: (100_000.0, 10, 0.0) for m in
                                    ("2025-04-01", "2025-05-01", "2025-06-01")},
                                   {"2025-04-01": 150_000.0, "2025-05-01": 100_000.0,
                                    "2025-06-01": 150_000.0})}),
    "EW15": ({"events": events(("tax_office_change", "2025-06-20"))}, "yellow",
             {"events": events(("tax_office_change", "2025-04-20"))}),
    "EW16": ({"consents": pd.DataFrame({"uscc": [U], "granted_at": [d("2024-01-10")],
                                        "expires_at": [d("2026-01-10")],
                                        "revoked_at": [d("2025-06-01")]})}, "yellow",
             {"consents": pd.DataFrame({"uscc": [U], "granted_at": [d("2024-01-10")],
                                        "expires_at": [d("2026-01-10")],
                                        "revoked_at": [d("2025-07-05")]})}),
    "EW17": ({"vat_returns": vat(months("2024-06-01", "2025-02-01"))}, "yellow",
             {"vat_returns": vat(months("2024-06-01", "2025-05-01"))}),
    "EW18": ({"events": events(("credit_repair", "2025-06-20"))}, "info",
             {"events": events(("credit_repair", "2025-02-20"))}),
}


def _fired(tables, code, as_of=AS_OF, **kw):
    alerts = early_warnings(_ds(**tables), as_of, book=[U], **kw)
    return alerts[alerts["rule"] == code]


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_on_its_enterprise(code):
    fire, level, _ = CASES[code]
    got = _fired(fire, code)
    assert len(got) == 1, got
    row = got.iloc[0]
    assert row["level"] == level and row["uscc"] == U and row["status"] == "new"
    assert json.loads(row["evidence"])  # says what triggered it
    assert row["trigger_date"] <= AS_OF
    assert row["rescore"] == (code == "EW18")


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_stays_silent_on_its_twin(code):
    _, _, silent = CASES[code]
    assert _fired(silent, code).empty


@pytest.mark.parametrize(("code", "tables", "level"), [
    ("EW03", {"payments": payments((1_000.0, "2025-04-15", None)),
              "vat_returns": vat(months("2024-07-01", "2025-05-01"))}, "red"),  # 2+ months
    ("EW03", {"payments": payments((50_000.0, "2025-06-15", None)),
              "vat_returns": vat(months("2024-07-01", "2025-05-01"))}, "red"),  # > 10 % sales
    ("EW04", {"vat_returns": vat(months("2024-06-01", "2025-02-01"))}, "red"),  # 2 periods
    ("EW06", {"vat_returns": vat({**months("2024-03-01", "2025-02-01"),
                                  **months("2025-03-01", "2025-05-01", 20_000.0)})}, "red"),
    ("EW09", {"credit_grades": grades((2023, "A", "2024-04-20"), (2024, "C", "2025-06-10"))},
     "orange"),
    ("EW10", {"events": events(("address_change", "2025-05-01"),
                               ("legal_rep_change", "2025-06-15"))}, "orange"),
    ("EW11", {"payroll": payroll({"2025-02-01": 10, "2025-05-01": 4})}, "orange"),
    ("EW18", {"credit_grades": grades((2023, "C", "2024-04-20"), (2023, "B", "2025-06-20"))},
     "info"),
])
def test_escalations(code, tables, level):
    got = _fired(tables, code)
    assert list(got["level"]) == [level]


def test_no_alert_uses_data_recorded_after_its_as_of():
    tables = {"events": events(("penalty", "2025-07-05", 1.0), ("abnormal_status", "2025-07-02")),
              "credit_grades": grades((2024, "D", "2025-07-10"))}
    assert early_warnings(_ds(**tables), AS_OF, book=[U]).query("rule != 'EW17'").empty
    later = early_warnings(_ds(**tables), "2025-07-31", book=[U])
    assert {"EW01", "EW02", "EW13"} <= set(later["rule"])
    assert (later["trigger_date"] <= d("2025-07-31")).all()


def test_one_alert_per_enterprise_and_rule_the_most_severe():
    tables = {"events": events(("penalty", "2025-06-05", 1.0), ("audit", "2025-06-25"),
                               ("violation", "2025-06-10"))}
    got = _fired(tables, "EW13")
    assert len(got) == 1 and json.loads(got.iloc[0]["evidence"])["event_type"] == "audit"


def test_status_against_the_previous_run():
    first = early_warnings(_ds(payments=payments((1_000.0, "2025-06-15", None)),
                               vat_returns=vat(months("2024-07-01", "2025-05-01"))),
                           AS_OF, book=[U])
    assert first.query("rule == 'EW03'")["status"].tolist() == ["new"]
    again = early_warnings(_ds(payments=payments((1_000.0, "2025-06-15", None)),
                               vat_returns=vat(months("2024-07-01", "2025-06-01"))),
                           "2025-07-10", book=[U], previous=first)
    assert again.query("rule == 'EW03'")["status"].tolist() == ["ongoing"]
    worse = early_warnings(_ds(payments=payments((1_000.0, "2025-06-15", None)),
                               vat_returns=vat(months("2024-07-01", "2025-06-01"))),
                           "2025-08-31", book=[U], previous=first)
    assert worse.query("rule == 'EW03'")[["level", "status"]].values.tolist() == \
        [["red", "escalated"]]


def test_thresholds_levels_and_rules_are_data():
    tables = CASES["EW06"][0]
    assert _fired(tables, "EW06").empty is False
    strict = {"rules": {"EW06": {"orange": -0.7, "red": -0.9}}}
    assert _fired(tables, "EW06", config=strict).empty
    louder = {"rules": {"EW13": {"level": "red"}}, "disabled": ["EW17"]}
    alerts = early_warnings(_ds(**CASES["EW13"][0]), AS_OF, book=[U], config=louder)
    assert alerts["rule"].tolist() == ["EW13"] and alerts["level"].tolist() == ["red"]
    en = _fired(CASES["EW05"][0], "EW05", lang="en")
    assert en["message"].tolist() == ["3 months of zero sales in a row"]


@pytest.mark.parametrize(("config", "match"), [
    ({"rules": {"EW99": {}}}, "unknown rule"),
    ({"disabled": ["EW12"]}, "unknown rule"),
    ({"rules": {"EW06": {"orange": -0.5, "purple": 1}}}, "unknown setting"),
    ({"rules": {"EW13": {"level": "crimson"}}}, "a level is one of"),
    ({"lookback_days": 0}, "lookback_days"),
    ({"rules": {"EW17": {"days": "forty"}}}, "a number"),
    ({"window": 3}, "unknown setting"),
    ({"rules": {"EW05": {"months": 2.5}}}, r"EW05\.months: a whole number of months >= 1"),
    ({"rules": {"EW05": {"months": 0}}}, "a whole number of months >= 1"),
    ({"rules": {"EW03": {"red_months": 1.5}}}, "a whole number of months"),
    ({"rules": {"EW04": {"grace_days": -1}}}, "a whole number of days >= 0"),
])
def test_bad_configuration_is_refused(config, match):
    with pytest.raises(ValueError, match=match):
        WarningConfig.from_params(config)


def test_a_quiet_book_gives_an_empty_frame_with_the_columns():
    alerts = early_warnings(_ds(vat_returns=vat(months("2024-06-01", "2025-05-01"))), AS_OF,
                            book=[U])
    assert alerts.empty and list(alerts.columns) == ["uscc", "rule", "level", "message",
                                                     "evidence", "trigger_date", "as_of",
                                                     "rescore", "status"]


def test_builtin_strategies_declare_valid_monitoring_tables():
    import taxcredit as tc

    for name in tc.strategies.available():
        spec = tc.strategies.get(name).spec
        cfg = WarningConfig.from_params(spec.monitoring)
        assert cfg.active()
    assert WarningConfig.from_params(tc.strategies.get("sme_scorecard").spec.monitoring) \
        .params("EW13")["level"] == "red"


def test_cli_monitor(tmp_path, capsys):
    import taxcredit as tc
    from taxcredit.cli.main import main

    data = tmp_path / "data"
    tc.datasets.write_population(data, n_enterprises=1_500, months=36, seed=71, progress=False)
    apps = pd.read_parquet(data / "applications.parquet")
    apps[["application_id", "uscc"]].head(300).to_csv(tmp_path / "book.csv", index=False)
    book_size = apps["uscc"].head(300).nunique()
    first = tmp_path / "a1.parquet"
    assert main(["monitor", "--data", str(data), "--as-of", "2025-06-30", "--book",
                 str(tmp_path / "book.csv"), "--strategy", "sme_scorecard", "--out",
                 str(first), "--consent-at", "as-of"]) == 0
    printed = capsys.readouterr().out
    assert f"{book_size:,} enterprises on the book at 2025-06-30" in printed
    # without --book: every enterprise registered by the as-of, and the count says so
    assert main(["monitor", "--data", str(data), "--as-of", "2023-06-30", "--out",
                 str(tmp_path / "all.parquet"), "--consent-at", "as-of"]) == 0
    ent = pd.read_parquet(data / "enterprises.parquet")
    registered = int((ent["registration_date"] <= "2023-06-30").sum())
    assert registered < len(ent)
    assert f"{registered:,} enterprises on the book at 2023-06-30" in capsys.readouterr().out
    a1 = pd.read_parquet(first)
    book = apps["uscc"].head(300)
    assert set(a1["uscc"]) <= set(mask_uscc_array(book)) and len(a1)  # masked
    assert (a1["status"] == "new").all()
    # enterprises without a live authorisation: one EW16 (stop using the data), nothing else
    ok = authorised(pd.read_parquet(data / "consents.parquet"),
                    pd.DataFrame({"uscc": book, "as_of": pd.Timestamp("2025-06-30")}),
                    "post_loan_monitoring")
    refused = set(pseudonym(book[~ok], _key(tmp_path)))
    assert refused and refused <= set(a1["uscc_key"])
    only = a1[a1["uscc_key"].isin(refused)]
    assert (only["rule"] == "EW16").all() and len(only) == len(refused)
    second = tmp_path / "a2.csv"
    assert main(["monitor", "--data", str(data), "--as-of", "2025-07-31", "--book",
                 str(tmp_path / "book.csv"), "--previous", str(first), "--out",
                 str(second), "--lang", "en", "--consent-at", "as-of"]) == 0
    a2 = pd.read_csv(second, dtype={"uscc": str})
    # the masked previous run is matched through the keyed pseudonym
    assert {"ongoing", "new"} <= set(a2["status"])
    kept = a2.merge(a1[["uscc_key", "rule"]], on=["uscc_key", "rule"])
    assert (kept["status"] != "new").all()
    assert main(["monitor", "--data", str(data), "--as-of", "2025-06-30", "--book",
                 str(tmp_path / "nope.csv"), "--out", str(first)]) == 1
    assert "no such file" in capsys.readouterr().err


def _key(_folder=None) -> bytes:
    from taxcredit.governance.config import home

    return (home() / "audit.key").read_bytes().strip()  # the user's key, not the outputs'



def test_consent_rule_point_in_time_and_reasons():
    c = pd.DataFrame({"uscc": [U, U], "granted_at": [d("2023-01-10"), d("2025-02-01")],
                      "expires_at": [d("2024-01-10"), d("2025-05-31")]})
    ev = lambda as_of: _fired({"consents": c}, "EW16", as_of=as_of)  # noqa: E731
    assert ev("2025-03-31").empty  # the second authorisation is live
    got = ev("2025-06-30")
    assert json.loads(got.iloc[0]["evidence"])["reason"] == "expired"
    assert ev("2023-01-01").iloc[0]["evidence"].count("none") == 1  # nothing granted yet
    alerts = early_warnings(_ds(), AS_OF, book=[U], consents=c)
    assert "EW16" in set(alerts["rule"])
    assert "EW16" not in set(early_warnings(_ds(), AS_OF, book=[U])["rule"])  # no table: skip
    with pytest.raises(ValueError, match="granted_at"):
        early_warnings(_ds(), AS_OF, book=[U], consents=pd.DataFrame({"uscc": [U]}))



@pytest.mark.parametrize(("last", "freq"), [("2025-02-01", "monthly"), ("2025-04-01", "monthly"),
                                            ("2025-06-01", "monthly"), ("2024-11-01", "monthly")])
def test_sales_drop_compares_the_same_three_months_a_year_apart(last, freq):
    end = pd.Timestamp(last)
    sales = {str(m.date()): 100.0 for m in pd.date_range(end - pd.DateOffset(months=23), end,
                                                        freq="MS")}
    for k in range(3):  # the last three months at 40 % of a year before: -60 %
        sales[str((end - pd.DateOffset(months=k)).date())] = 40.0
    got = _fired({"vat_returns": vat(sales)}, "EW06", as_of=end + pd.offsets.MonthEnd(0)
                 + pd.Timedelta(days=20))
    ev = json.loads(got.iloc[0]["evidence"])
    assert ev["sales_3m"] == 120 and ev["sales_3m_year_before"] == 300
    assert ev["change"] == pytest.approx(-0.6) and got.iloc[0]["level"] == "orange"


def test_sales_drop_of_a_quarterly_filer_is_quarter_on_quarter_a_year_apart():
    q = {"2024-04-01": 300.0, "2024-07-01": 300.0, "2024-10-01": 300.0, "2025-01-01": 300.0,
         "2025-04-01": 0.0}
    ends = {str((pd.Timestamp(k) + pd.DateOffset(months=2)).date()): v for k, v in q.items()}
    got = _fired({"vat_returns": vat(ends, freq="quarterly")}, "EW06", as_of="2025-07-31")
    ev = json.loads(got.iloc[0]["evidence"])
    assert ev["change"] == -1 and got.iloc[0]["level"] == "red"


def test_key_change_window_is_around_the_legal_rep_change():
    far = {"events": events(("address_change", "2025-01-10"), ("legal_rep_change", "2025-06-15"))}
    near = {"events": events(("address_change", "2025-04-01"), ("legal_rep_change", "2025-06-15"))}
    assert _fired(far, "EW10")["level"].tolist() == ["yellow"]
    assert _fired(near, "EW10")["level"].tolist() == ["orange"]


def test_sales_drop_needs_every_month_filed_and_a_current_window():
    full = {**months("2024-03-01", "2025-02-01"), **months("2025-03-01", "2025-05-01", 90_000.0)}
    # two returns missing: they are not months of zero sales (no EW06), and nothing is hidden
    gaps = {k: v for k, v in full.items() if k not in ("2025-03-01", "2025-04-01")}
    assert _fired({"vat_returns": vat(gaps)}, "EW06").empty
    # a firm that stopped filing a year ago gets no alert about its old last three months
    old = {**months("2023-03-01", "2024-02-01"), **months("2024-03-01", "2024-05-01", 10_000.0)}
    assert _fired({"vat_returns": vat(old)}, "EW06").empty
    # a quarterly filer: Q1 2025 (the last quarter due by 2025-06-30) against Q1 2024
    quarters = {"2024-03-01": 300_000.0, "2024-06-01": 300_000.0, "2024-09-01": 300_000.0,
                "2024-12-01": 300_000.0, "2025-03-01": 90_000.0}
    hit = _fired({"vat_returns": vat(quarters, freq="quarterly")}, "EW06")
    assert list(hit["level"]) == ["red"]
    evidence = json.loads(hit["evidence"].iloc[0])
    assert evidence["sales_3m"] == 90_000.0 and evidence["sales_3m_year_before"] == 300_000.0
    assert evidence["change"] == pytest.approx(-0.7)


def test_a_later_event_under_the_same_rule_is_new_and_amount_is_optional():
    pen = events(("penalty", "2025-05-20", 5_000.0), ("penalty", "2025-06-20", 80_000.0))
    may = early_warnings(_ds(events=pen[pen["event_date"] <= "2025-05-31"]), "2025-05-31",
                         book=[U])
    assert may.query("rule == 'EW13'")["status"].tolist() == ["new"]
    june = early_warnings(_ds(events=pen), "2025-06-30", book=[U], previous=may)
    assert june.query("rule == 'EW13'")["status"].tolist() == ["new"]  # another penalty
    same = early_warnings(_ds(events=pen[pen["event_date"] <= "2025-05-31"]), "2025-06-05",
                          book=[U], previous=may)
    assert same.query("rule == 'EW13'")["status"].tolist() == ["ongoing"]  # the same one
    no_amount = early_warnings(_ds(events=pen.drop(columns="amount")), "2025-06-30", book=[U])
    assert json.loads(no_amount.query("rule == 'EW13'")["evidence"].iloc[0]).get("amount") is None


def test_an_up_to_date_quarterly_filer_is_not_stale():
    quarters = {"2024-06-01": 1.0, "2024-09-01": 1.0, "2024-12-01": 1.0, "2025-03-01": 1.0}
    q = vat(quarters, freq="quarterly")  # Q1 2025 filed 2025-04-10: 81 days before as-of
    assert _fired({"vat_returns": q}, "EW17").empty  # Q2 is not due until July
    behind = q[q["period_end"] < "2025-03-01"]  # Q1 2025 missing: stale indeed
    assert list(_fired({"vat_returns": behind}, "EW17")["level"]) == ["yellow"]


def test_an_amended_return_replaces_its_period_from_its_filing_date():
    # three months of zero sales, then May's return restated (更正申报) with sales on 2025-06-20
    v = vat({**months("2025-01-01", "2025-02-01"), **months("2025-03-01", "2025-05-01", 0.0)})
    amended = v.iloc[[-1]].assign(taxable_sales=80_000.0, filing_date=d("2025-06-20"))
    tables = {"vat_returns": pd.concat([v, amended], ignore_index=True)}
    assert _fired(tables, "EW05", as_of=d("2025-06-19"))["rule"].tolist() == ["EW05"]
    assert _fired(tables, "EW05", as_of=d("2025-06-30")).empty
    # an amendment is not a missing or an extra period either
    assert _fired(tables, "EW04").empty


@pytest.mark.parametrize("as_of", ["2025-06-30 18:00", pd.Timestamp("2025-06-30 09:00",
                                                                     tz="Asia/Shanghai")])
def test_an_as_of_with_a_time_of_day_is_its_day(as_of):
    """A refresh run at 18:00 (or tz-aware) checks the same periods as one at midnight."""
    for code in ("EW04", "EW14"):
        tables = CASES[code][0]
        day = _fired(tables, code)
        assert len(day) == 1
        timed = _fired(tables, code, as_of=as_of)
        pd.testing.assert_frame_equal(timed.reset_index(drop=True), day.reset_index(drop=True))
        assert _fired(CASES[code][2], code, as_of=as_of).empty


@pytest.mark.parametrize("freq", ["monthly", "quarterly"])
@pytest.mark.parametrize(("owed", "level"), [(9_500.0, "orange"), (10_500.0, "red")])
def test_arrears_against_monthly_sales_over_the_months_filed(freq, owed, level):
    """100,000 a month, filed monthly or quarterly: 10 % of it is 10,000, whatever the
    frequency and however many of the year's returns are in (11 monthly, 3 quarterly)."""
    if freq == "monthly":
        sales = vat(months("2023-01-01", "2025-05-01"))
    else:
        sales = vat({str(q.date()): 300_000.0 for q in
                     pd.date_range("2023-03-01", "2025-03-01", freq="QS-MAR")}, "quarterly")
    hits = _fired({"vat_returns": sales, "payments": payments((owed, "2025-06-16", None))},
                  "EW03")
    assert hits["level"].tolist() == [level]
    ratio = json.loads(hits["evidence"].iloc[0])["arrears_to_monthly_sales"]
    assert ratio == pytest.approx(owed / 100_000.0)


def test_arrears_on_their_due_day_agree_with_the_feature():
    """Due on the as-of day and unpaid by its end: arrears for EW03 and for arrears_now."""
    import taxcredit as tc

    tables = {"vat_returns": vat(months("2024-06-01", "2025-05-01")),
              "payments": payments((5_000.0, "2025-06-16", None))}
    on_due_day = pd.Timestamp("2025-06-16")
    assert _fired(tables, "EW03", as_of=on_due_day)["level"].tolist() == ["orange"]
    ds = _ds(**tables)
    ent = ds["enterprises"].assign(first_filing_date=d("2015-04-15"))
    returns = tables["vat_returns"].assign(vat_payable=0.0, due_date=lambda t: t["filing_date"])
    ds = tc.TaxDataset({**ds.tables, "enterprises": ent, "vat_returns": returns},
                       validated=True)  # (hand-made rows: no warning wanted)
    X = tc.build_features(ds, as_of=on_due_day, features=["arrears_now"])
    assert X["arrears_now"].iloc[0] == 5_000.0
    paid = {**tables, "payments": payments((5_000.0, "2025-06-16", "2025-06-16"))}
    assert _fired(paid, "EW03", as_of=on_due_day).empty


GRADE_RULES = ("EW02", "EW09", "EW18")


@pytest.mark.parametrize("lookback", [31, 90])
def test_an_earlier_year_revised_to_d_is_a_d_event_and_no_upgrade(lookback):
    """动态调整: 2023 B, then 2024 B (April), then 2023 revised to D (June)."""
    tables = {"credit_grades": grades((2023, "B", "2024-04-20"), (2024, "B", "2025-04-20"),
                                      (2023, "D", "2025-06-10"))}
    alerts = early_warnings(_ds(**tables), AS_OF, book=[U],
                            config={"lookback_days": lookback})
    alerts = alerts[alerts["rule"].isin(GRADE_RULES)]
    assert alerts["rule"].tolist() == ["EW02"]
    ev = json.loads(alerts["evidence"].iloc[0])
    assert ev["year"] == 2023 and ev["effective_date"] == "2025-06-10"


def test_a_revision_of_an_earlier_year_is_not_a_change_of_the_grade_in_force():
    """2024's C is in force; 2023 revised from B to A later changes nothing now."""
    tables = {"credit_grades": grades((2023, "B", "2024-04-20"), (2024, "C", "2025-04-20"),
                                      (2023, "A", "2025-06-10"))}
    alerts = early_warnings(_ds(**tables), AS_OF, book=[U], config={"lookback_days": 90})
    alerts = alerts[alerts["rule"].isin(GRADE_RULES)]
    assert alerts["rule"].tolist() == ["EW09"]  # the April downgrade B → C only
    assert json.loads(alerts["evidence"].iloc[0])["previous_grade"] == "B"


@pytest.mark.parametrize(("registered", "fires"), [("2025-06-20", False), ("2025-03-22", True)])
def test_no_data_yet_is_stale_only_once_the_firm_is_old_enough(registered, fires):
    ds = _ds()
    ds = TaxDataset({"enterprises": ds["enterprises"].assign(registration_date=d(registered))})
    hits = early_warnings(ds, AS_OF, book=[U])
    hits = hits[hits["rule"] == "EW17"]
    assert len(hits) == int(fires)
    if fires:
        ev = json.loads(hits["evidence"].iloc[0])
        assert ev["days_stale"] == (AS_OF - d(registered)).days == 100
        assert "latest_data" not in ev  # nothing ever came


def test_zero_sales_months_count_a_quarter_as_three():
    """months = 6: two zero quarters in a row for a quarterly filer, six zero months."""
    six = {"rules": {"EW05": {"months": 6.0}}}  # a whole number written as a float (TOML)
    assert WarningConfig.from_params(six).params("EW05")["months"] == 6
    one_zero_q = vat({"2024-09-01": 300.0, "2024-12-01": 300.0, "2025-03-01": 0.0},
                     "quarterly")
    two_zero_q = vat({"2024-09-01": 300.0, "2024-12-01": 0.0, "2025-03-01": 0.0}, "quarterly")
    assert _fired({"vat_returns": one_zero_q}, "EW05", config=six).empty
    hit = _fired({"vat_returns": two_zero_q}, "EW05", config=six)
    assert json.loads(hit["evidence"].iloc[0])["zero_from"] == "2024-10-01"
    assert not _fired({"vat_returns": one_zero_q}, "EW05").empty  # the default: 3 months
    months6 = vat({**months("2024-10-01", "2024-11-01"), **months("2024-12-01", "2025-05-01",
                                                                  0.0)})
    assert not _fired({"vat_returns": months6}, "EW05", config=six).empty


@pytest.mark.parametrize("rows", [
    ((2023, "B", "2024-04-20"), (2024, "D", "2025-06-05"), (2024, "B", "2025-06-25")),
    ((2023, "B", "2024-04-20"), (2024, "D", "2025-04-01"), (2024, "B", "2025-04-11")),
])
def test_a_d_already_reversed_is_no_d_event(rows):
    """A D corrected (appeal, repair) within the window: EW18's upgrade, not a red EW02."""
    alerts = early_warnings(_ds(credit_grades=grades(*rows)), AS_OF, book=[U],
                            config={"lookback_days": 120})
    assert "EW02" not in alerts["rule"].tolist()


def test_grade_rules_do_not_depend_on_the_tables_index():
    """Frames concatenated per enterprise repeat index labels: each keeps its own alert."""
    u2 = "91110000600037341L"
    a = grades((2023, "B", "2024-04-20"), (2024, "B", "2025-04-20"), (2023, "D", "2025-06-10"))
    b = grades((2024, "D", "2025-04-20")).assign(uscc=u2)
    ent = _ds()["enterprises"]
    ds = TaxDataset({"enterprises": pd.concat([ent, ent.assign(uscc=u2)], ignore_index=True),
                     "credit_grades": pd.concat([a, b])})  # index 0, 1, 2, 0
    alerts = early_warnings(ds, AS_OF, book=[U, u2])
    assert sorted(alerts.loc[alerts["rule"] == "EW02", "uscc"]) == sorted([U, u2])
