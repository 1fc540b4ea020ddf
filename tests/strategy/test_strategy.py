"""Strategies end to end: spec in TOML, fit, decide, save/load, tampering, plug-ins, demo."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.strategy import StrategySpec


@pytest.fixture(scope="module")
def ds():
    return tc.datasets.make_population(n_enterprises=3_000, months=48, seed=11)


@pytest.fixture(scope="module")
def fitted(ds):
    return tc.strategies.get("sme_scorecard").fit(ds)


def test_builtin_specs_load_and_round_trip_through_toml():
    assert "sme_scorecard" in tc.strategies.available()
    spec = tc.strategies.get("sme_scorecard").spec
    again = StrategySpec.from_dict(__import__("tomllib").loads(spec.to_toml()))
    assert again.to_dict() == spec.to_dict()
    assert {r.code for r in spec.rules} >= {"R01_GRADE", "R04_ARREARS"}
    assert spec.calibration == "platt"  # the default stays out of the file
    assert "calibration" not in spec.to_dict()["model"]
    beta = StrategySpec.from_dict({**spec.to_dict(), "model": {
        **spec.to_dict()["model"], "calibration": "beta"}})
    assert beta.calibration == "beta"
    assert StrategySpec.from_dict(__import__("tomllib").loads(beta.to_toml())) == beta
    assert "central_tendency" not in spec.to_dict()["model"]
    anchored = StrategySpec.from_dict({**spec.to_dict(), "model": {
        **spec.to_dict()["model"], "central_tendency": 0.045}})
    assert anchored.central_tendency == 0.045
    assert StrategySpec.from_dict(__import__("tomllib").loads(anchored.to_toml())) == anchored


def test_bad_specs_are_refused_with_reasons(tmp_path):
    bad = tmp_path / "strategy.toml"
    bad.write_text('[strategy]\nname = "x"\n[model]\ntype = "forest"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="model type"):
        StrategySpec.from_toml(bad)
    bad.write_text('[strategy]\nname = "x"\n[[rules]]\ncode = "R"\nrequire = "import os"\n',
                   encoding="utf-8")
    with pytest.raises(tc.strategy.RuleError, match="syntax"):
        StrategySpec.from_toml(bad)
    bad.write_text('[strategy]\nname = "x"\n[model]\ncalibration = "magic"\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="calibration must be one of"):
        StrategySpec.from_toml(bad)
    bad.write_text('[strategy]\nname = "x"\n[extras]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown table"):
        StrategySpec.from_toml(bad)
    bad.write_text('[strategy]\nname = "x"\n[model]\ncalibraton = "beta"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['calibraton'\] in \[model\]"):
        StrategySpec.from_toml(bad)  # a misspelt key is not silently ignored
    bad.write_text('[strategy]\nname = "x"\n[decision]\napprove_max = 0.1\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"approve_max.*\[decision\]"):
        StrategySpec.from_toml(bad)
    bad.write_text('model = "gbm"\n[strategy]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[model\] must be a table"):
        StrategySpec.from_toml(bad)
    for ct in ('"0.04"', "1.2", "0"):
        bad.write_text(f'[strategy]\nname = "x"\n[model]\ncentral_tendency = {ct}\n',
                       encoding="utf-8")
        with pytest.raises(ValueError, match="central_tendency must be a default rate"):
            StrategySpec.from_toml(bad)
    spec = StrategySpec(name="x", rules=(tc.strategy.Rule("R", "no_such_feature > 1"),))
    with pytest.raises(tc.strategy.RuleError, match="no_such_feature"):
        spec.needed_features()


def test_decisions_keep_every_enterprise_and_follow_the_bands(ds, fitted):
    d = fitted.decide(ds, as_of="2025-06-30", lang="en")
    assert len(d) == ds.n_enterprises
    assert list(d.index.get_level_values("uscc")) == list(ds.enterprise_ids)
    spec = fitted.spec
    knocked = d["rule_hits"].str.contains("R0[1-5]", regex=True)
    assert (d.loc[knocked, "decision"] == "decline").all()
    assert (d.loc[~knocked & (d["pd"] >= spec.refer_max_pd), "decision"] == "decline").all()
    ok = ~knocked & (d["pd"] < spec.approve_max_pd) & ~d["rule_hits"].str.contains("R06")
    assert (d.loc[ok, "decision"] == "approve").all()
    assert (d.loc[d["decision"] != "approve", "limit"] == 0).all()
    assert (d.loc[d["decision"] == "approve", "limit"] > 0).mean() > 0.9
    assert d.loc[knocked, "rule_messages"].str.len().gt(0).all()
    # scores are the scale's points of the PD; grades the master scale's
    assert np.allclose(d["score"], np.round(spec.scale.score(d["pd"])))
    assert list(d["grade"].astype(str)) == list(spec.grades.grade(d["pd"]).astype(str))


def test_unknown_enterprises_still_get_a_row(ds, fitted):
    pairs = pd.DataFrame({"uscc": [ds.enterprise_ids[0], "91110108551385082Q"],
                          "as_of": ["2025-06-30", "2025-06-30"]})
    with pytest.warns(UserWarning, match="absent"):
        d = fitted.decide(ds, as_of=pairs)
    assert len(d) == 2 and d["decision"].iloc[1] == "decline"


def test_save_load_gives_identical_decisions_and_refuses_tampering(ds, fitted, tmp_path):
    folder = fitted.save(tmp_path / "s")
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    assert set(card["files"]) == {"strategy.toml", "model.json", "calibration.json"}
    assert card["libraries"]["lightgbm"] and card["training_window"][0] < card["training_window"][1]
    again = tc.load_strategy(folder)
    pd.testing.assert_frame_equal(again.decide(ds, as_of="2025-06-30"),
                                  fitted.decide(ds, as_of="2025-06-30"))
    # the card guards itself: a changed window, fingerprint or list of files is refused
    for field, value in (("training_window", ["2021-01-01", "2021-02-01"]),
                         ("data_fingerprint", "0" * 64), ("attachments", ["extra"]),
                         ("card_sha256", "0" * 64)):
        edited = {**card, field: value}
        (folder / "model_card.json").write_text(json.dumps(edited), encoding="utf-8")
        with pytest.raises(tc.ArtifactError, match="card_sha256"):
            tc.load_strategy(folder)
    del card["card_sha256"]  # a card from before cards carried a digest
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(tc.ArtifactError, match="before cards carried one"):
        tc.load_strategy(folder)
    folder = fitted.save(tmp_path / "s")
    toml = folder / "strategy.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("0.035", "0.5"), encoding="utf-8")
    with pytest.raises(tc.ArtifactError, match=r"strategy\.toml: SHA-256"):
        tc.load_strategy(folder)
    (folder / "calibration.json").unlink()
    with pytest.raises(tc.ArtifactError):
        tc.load_strategy(folder)


def test_gbm_strategy_uses_catalog_directions(ds, tmp_path):
    spec = tc.strategies.get("sme_scorecard").spec
    gbm_spec = StrategySpec.from_dict({**spec.to_dict(), "model": {
        "type": "gbm", "features": "catalog", "params": {"n_estimators": 60}}})
    s = tc.Strategy(gbm_spec).fit(ds)
    assert s.model_.monotone_["tax_12m"] == -1
    s.save(tmp_path / "g")
    d1 = s.decide(ds, as_of="2025-06-30")
    d2 = tc.load_strategy(tmp_path / "g").decide(ds, as_of="2025-06-30")
    pd.testing.assert_frame_equal(d1, d2)


def test_a_banks_own_package_registers_a_strategy(tmp_path, monkeypatch):
    pkg = tmp_path / "mybank_risk"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import taxcredit as tc

        def sme():
            base = tc.strategies.get("sme_scorecard").spec.to_dict()
            base["strategy"]["name"] = "mybank_sme"
            base["decision"]["approve_max_pd"] = 0.02
            return tc.StrategySpec.from_dict(base)
    '''), encoding="utf-8")
    dist = tmp_path / "mybank_risk-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mybank-risk\nVersion: 0.1\n",
                                   encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[taxcredit.strategies]\nmybank_sme = mybank_risk:sme\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "mybank_sme" in tc.strategies.available()
    s = tc.strategies.get("mybank_sme")
    assert s.spec.name == "mybank_sme" and s.spec.approve_max_pd == 0.02
    with pytest.raises(KeyError, match="available"):
        tc.strategies.get("nobody")
    sys.modules.pop("mybank_risk", None)


def test_unfitted_strategy_says_so(ds):
    with pytest.raises(ValueError, match="not fitted"):
        tc.strategies.get("sme_scorecard").decide(ds, as_of="2025-06-30")


def test_demo_command(tmp_path, capsys):
    from taxcredit.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--enterprises", "5000", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "AUC" in text and "rule-only policy" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert 0.5 < summary["auc_out_of_time"] <= 1
    d = pd.read_parquet(out / "decisions.parquet")
    processed = d["consent"] == "ok"  # the applications without consent stay, with why
    assert processed.sum() == summary["test_applications"]
    assert (d.loc[~processed, "decision"] == "not_processed").all()
    assert d["uscc"].str.contains("********", regex=False).all()
    assert tc.load_strategy(out / "strategy").spec.name == "sme_scorecard"
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    assert "taxcredit demo --out" in capsys.readouterr().out


def _custom(ds):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    base = tc.strategies.get("sme_scorecard").spec.to_dict()
    base["strategy"]["name"] = "own_model"
    base["model"] = {"type": "custom", "features": ["tax_12m", "arrears_months_12m",
                                                    "credit_grade", "firm_age_months"]}
    spec = StrategySpec.from_dict(base)
    model = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500))
    return tc.Strategy(spec, model=model).fit(ds)


def test_a_banks_own_model_saved_with_skops_loads_only_when_trusted(ds, tmp_path):
    pytest.importorskip("skops")
    s = _custom(ds)
    d = s.decide(ds, as_of="2025-06-30")
    assert d["reason_1"].notna().any()
    folder = s.save(tmp_path / "own")
    assert (folder / "model.skops").is_file() and not (folder / "model.json").exists()
    with pytest.raises(tc.ArtifactError, match="does not trust"):
        tc.load_strategy(folder)
    again = tc.load_strategy(folder, trusted=True)
    pd.testing.assert_frame_equal(again.decide(ds, as_of="2025-06-30"), d)


def test_without_skops_a_joblib_model_needs_trust(ds, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_skops(name, *args, **kwargs):
        if name.startswith("skops"):
            raise ImportError("no skops here")
        return real_import(name, *args, **kwargs)

    s = _custom(ds)
    monkeypatch.setattr(builtins, "__import__", no_skops)
    folder = s.save(tmp_path / "own")
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert (folder / "model.joblib").is_file()
    with pytest.raises(tc.ArtifactError, match="trusted=True"):
        tc.load_strategy(folder)
    assert tc.load_strategy(folder, trusted=True).decide(ds, as_of="2025-06-30").equals(
        s.decide(ds, as_of="2025-06-30"))


def test_custom_model_rules():
    spec = tc.strategies.get("sme_scorecard").spec
    with pytest.raises(ValueError, match="only for model type 'custom'"):
        tc.Strategy(spec, model=object())


def test_reason_codes_only_where_asked(ds, fitted):
    default = fitted.decide(ds, as_of="2025-06-30")
    approved = default["decision"] == "approve"
    assert default.loc[approved, "reason_1"].isna().all()
    assert default.loc[~approved, "reason_1"].notna().mean() > 0.5
    every = fitted.decide(ds, as_of="2025-06-30", reasons="all")
    assert every.loc[approved, "reason_1"].notna().any()
    assert (every.loc[~approved, "reason_1"].fillna("") ==
            default.loc[~approved, "reason_1"].fillna("")).all()
    assert fitted.decide(ds, as_of="2025-06-30", reasons="none")["reason_1"].isna().all()
    with pytest.raises(ValueError, match="reasons must be"):
        fitted.decide(ds, as_of="2025-06-30", reasons="some")


def test_central_tendency_moves_only_the_level_and_is_saved(ds, fitted, tmp_path):
    import dataclasses

    spec = dataclasses.replace(fitted.spec, central_tendency=0.08)
    anchored = tc.strategy.Strategy(spec).fit(ds)
    plain, cal = fitted.calibrator_, anchored.calibrator_
    assert (cal.coef_, cal.intercept_) == pytest.approx((plain.coef_, plain.intercept_))
    assert cal.shift_ > 0  # 8 % is above the synthetic calibration window's rate
    assert anchored.card_["central_tendency"] == 0.08
    a = anchored.decide(ds, as_of="2025-06-30")
    p = fitted.decide(ds, as_of="2025-06-30")
    scored = p["pd"].notna()
    assert (a.loc[scored, "pd"] > p.loc[scored, "pd"]).all()
    assert (a.loc[scored, "pd"].rank() == p.loc[scored, "pd"].rank()).all()
    again = tc.load_strategy(anchored.save(tmp_path / "ct"))
    assert again.calibrator_.shift_ == cal.shift_
    pd.testing.assert_frame_equal(again.decide(ds, as_of="2025-06-30"), a)


@__import__("hypothesis").settings(max_examples=200, deadline=None)
@__import__("hypothesis").given(__import__("hypothesis").strategies.text())
def test_any_text_survives_the_toml_writer(text):
    import tomllib

    from taxcredit.strategy.spec import to_toml

    assert tomllib.loads(to_toml({"t": {"s": text, "l": [text]}}))["t"] == {"s": text,
                                                                           "l": [text]}


def test_a_multi_line_rule_saves_and_loads(ds, fitted, tmp_path):
    import dataclasses

    rule = tc.strategy.Rule("R99_TAB", "arrears_now <= 0\n   or\ttax_12m > 0",
                            en="line one\nline two", zh="第一行\n第二行")
    spec = dataclasses.replace(fitted.spec, rules=(*fitted.spec.rules, rule))
    s = tc.strategy.Strategy(spec)
    s.model_, s.calibrator_, s.card_ = fitted.model_, fitted.calibrator_, fitted.card_
    s.attachments_ = {}
    again = tc.load_strategy(s.save(tmp_path / "ml"))
    assert again.spec.rules[-1] == rule


def test_every_approval_has_a_limit_and_language_is_checked(ds, fitted):
    d = fitted.decide(ds, as_of="2025-06-30", lang="en")
    assert (d.loc[d["decision"] == "approve", "limit"] > 0).all()
    no_amount = d["rule_hits"].str.contains("LIMIT_NONE")
    assert (d.loc[no_amount, "decision"] == "refer").all()
    assert (d.loc[no_amount, "limit"] == 0).all()
    assert d.loc[no_amount, "rule_messages"].str.contains("limit policy gives no amount").all()
    assert not d["rule_messages"].str.contains("；").any()  # English joins with "; "
    for lang in ("ZH", "zh-CN", "fr"):
        with pytest.raises(ValueError, match="lang must be"):
            fitted.decide(ds, as_of="2025-06-30", lang=lang, reasons="none")


def test_referrals_for_want_of_an_amount_get_reasons_like_every_referral(ds, fitted):
    import dataclasses

    # a minimum loan most approvals cannot reach: they are referred (LIMIT_NONE)
    spec = dataclasses.replace(fitted.spec, limits=dataclasses.replace(fitted.spec.limits,
                                                                       minimum=400_000.0))
    s = tc.strategy.Strategy(spec)
    s.model_, s.calibrator_, s.card_ = fitted.model_, fitted.calibrator_, fitted.card_
    s.attachments_ = {}
    d = s.decide(ds, as_of="2025-06-30")
    every = s.decide(ds, as_of="2025-06-30", reasons="all")
    no_amount = d["rule_hits"].str.contains("LIMIT_NONE")
    assert no_amount.sum() > 10 and (d.loc[no_amount, "decision"] == "refer").all()
    cols = [c for c in d.columns if c.startswith("reason_")]
    assert d.loc[no_amount, "reason_1"].notna().any()
    pd.testing.assert_frame_equal(d.loc[no_amount, cols], every.loc[no_amount, cols])


def test_fit_until_reads_dates_like_decide(ds):
    naive = tc.strategies.get("sme_scorecard").fit(ds, until="2025-01-01")
    aware = tc.strategies.get("sme_scorecard").fit(ds, until="2025-01-01T00:00+08:00")
    assert aware.card_["training_window"] == naive.card_["training_window"]
    assert aware.card_["calibration_window"] == naive.card_["calibration_window"]


def test_reasons_name_missing_data_as_such(ds, fitted):
    d = fitted.decide(ds, as_of="2025-06-30", lang="en", reasons="all")
    X = tc.build_features(ds, as_of="2025-06-30", features=fitted.spec.needed_features())
    by_label = {en: f for f, (_, en) in tc.features.labels().items()}
    checked = 0
    for col in ("reason_1", "reason_2"):
        for i, text in enumerate(d[col]):
            if text is None or pd.isna(text):
                continue
            missing = text.startswith("no data: ")
            feature = by_label.get(text.removeprefix("no data: "), text.removeprefix("no data: "))
            assert missing == bool(pd.isna(X[feature].iloc[i])), (i, text)
            checked += missing
    assert checked > 0  # the synthetic data have enterprises without records


@pytest.mark.parametrize(("toml", "match"), [
    ('[limits]\ncap = 2000000\n', r"\[limits\] needs sales_share"),
    ('[limits]\nsales_share = 0.2\ncap = nan\n', "cap must be a finite number"),
    ('[limits]\nsales_share = 0.2\ncap = "3000000"\n', "cap must be a finite number"),
    ('[limits]\nsales_share = 0.2\ntax_multiple = { A = "8" }\n',
     "tax_multiple A must be a finite number"),
    ('[limits]\nsales_share = 0.2\ntax_multiple = { A = -1 }\n', "must not be negative"),
    ('[decision]\napprove_max_pd = "0.03"\n', r"\[decision\] approve_max_pd must be a number"),
    ('[model]\nfeatures = "sales_12m"\n', r"features must be \"catalog\" or a list"),
    ('[grades]\nname = ["A"]\nbounds = []\n', r"unknown key\(s\) \['name'\] in \[grades\]"),
    ('[[rules]]\ncode = "R"\nrequire = 5\n', "require must be text"),
    # a misspelt key anywhere is an error naming its table, not a TypeError or a silence
    ('[limits]\nsales_share = 0.2\ncaps = 1\n', r"unknown key\(s\) \['caps'\] in \[limits\]"),
    ('[scale]\npdo = 20\nbase = 600\n', r"unknown key\(s\) \['base'\] in \[scale\]"),
    ('[[rules]]\ncode = "R1"\nrequire = "tax_12m > 0"\nactoin = "refer"\n',
     r"unknown key\(s\) \['actoin'\] in \[\[rules\]\] entry 1 \(R1\)"),
    ('[model.params]\nmin_ivv = 0.02\n', r"unknown key\(s\) \['min_ivv'\] in .*\[model.params\]"),
    ('[model.params.binner]\nmax_bins = 5\n',
     r"unknown key\(s\) \['max_bins'\] in .*\[model.params.binner\]"),
    ('[model]\ntype = "gbm"\n[model.params]\nnum_leave = 7\n',
     r"unknown key\(s\) \['num_leave'\] in .*\[model.params\]"),
])
def test_strategy_toml_types_are_checked(tmp_path, toml, match):
    bad = tmp_path / "strategy.toml"
    bad.write_text('[strategy]\nname = "x"\nversion = "1.10"\n' + toml, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        StrategySpec.from_toml(bad)


def test_an_unknown_strategy_is_a_key_error_that_reads_well():
    with pytest.raises(KeyError) as err:
        tc.strategies.get("nosuch")
    assert isinstance(err.value, tc.UnknownNameError) and isinstance(err.value,
                                                                     tc.TaxCreditError)
    assert str(err.value).startswith("no strategy 'nosuch'; available: [")


def test_version_is_text_and_no_sales_cap_round_trips(tmp_path):
    f = tmp_path / "strategy.toml"
    f.write_text('[strategy]\nname = "x"\nversion = 1.10\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"version must be text in quotes"):
        StrategySpec.from_toml(f)
    f.write_text('[strategy]\nname = "x"\n[limits]\nsales_share = false\n', encoding="utf-8")
    spec = StrategySpec.from_toml(f)
    assert spec.limits.sales_share is None
    assert "sales_share = false" in spec.to_toml()
    assert StrategySpec.from_dict(__import__("tomllib").loads(spec.to_toml())) == spec


def test_no_pairs_give_no_rows_with_every_column(ds, fitted):
    full = fitted.decide(ds, as_of="2025-06-30")
    none = fitted.decide(ds, as_of=pd.DataFrame({"uscc": pd.Series([], dtype=str),
                                                 "as_of": pd.Series([], dtype="datetime64[ns]")}))
    assert len(none) == 0 and list(none.columns) == list(full.columns)
    assert none.index.names == full.index.names
    assert none["decision"].dtype == full["decision"].dtype


def test_decision_bands_split_whole_grades_at_a_shared_bound():
    from taxcredit.modeling import MasterScale
    from taxcredit.strategy.strategy import decision_bands

    ms = MasterScale(grades=("R1", "R2", "R3", "R4"), bounds=(0.01, 0.035, 0.06))
    p = np.array([0.0, 0.0349999, 0.035, 0.0599999, 0.06, 0.5])
    assert decision_bands(p, 0.035, 0.06).tolist() == [
        "approve", "approve", "refer", "refer", "decline", "decline"]
    assert ms.grade(p).astype(str).tolist() == ["R1", "R2", "R3", "R3", "R4", "R4"]
    # every grade gets one band
    grid = np.linspace(0, 0.2, 20_001)
    bands = pd.Series(decision_bands(grid, 0.035, 0.06)).groupby(
        ms.grade(grid).astype(str)).nunique()
    assert (bands == 1).all()
