"""The ``taxcredit`` command: generate, validate, exit codes and help."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc
from taxcredit.cli.main import build_parser, main


def test_generate_then_validate_ok(tmp_path, capsys):
    out = tmp_path / "pop"
    code = main(["generate", "--enterprises", "300", "--months", "24", "--seed", "3",
                 "--out", str(out), "--quiet"])
    assert code == 0
    assert (out / "enterprises.parquet").exists()
    printed = capsys.readouterr().out
    assert "vat_returns.parquet" in printed and "300 enterprises" in printed
    assert main(["validate", str(out)]) == 0
    assert "conform" in capsys.readouterr().out


def test_generate_refuses_to_overwrite(tmp_path, capsys):
    args = ["generate", "--enterprises", "20", "--months", "24", "--out", str(tmp_path),
            "--quiet"]
    assert main(args) == 0
    assert main(args) == 1
    assert "overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_validate_bad_data_exits_1_with_a_report(tables, tmp_path, capsys):
    tables["vat_returns"].loc[0, "vat_payable"] = -1.0
    tc.TaxDataset(tables).to_folder(tmp_path / "bad")
    report = tmp_path / "problems.csv"
    q = tmp_path / "q"
    code = main(["validate", str(tmp_path / "bad"), "--report", str(report),
                 "--quarantine", str(q)])
    assert code == 1
    text = capsys.readouterr().out
    assert "vat_returns.vat_payable [below_min]" in text
    rep = pd.read_csv(report)
    assert rep.loc[0, "rule"] == "below_min"
    assert len(pd.read_csv(q / "rejected" / "vat_returns.csv")) == 1
    clean = tc.TaxDataset.from_folder(q / "clean")
    assert len(clean["vat_returns"]) == 2


def test_validate_structural_problem_exits_1(tables, tmp_path, capsys):
    tables["vat_returns"] = tables["vat_returns"].drop(columns=["filing_date"])
    tc.TaxDataset(tables).to_folder(tmp_path)
    assert main(["validate", str(tmp_path)]) == 1
    assert "missing_column" in capsys.readouterr().err


def test_validate_missing_folder_exits_1(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_lenient_uscc(tables, tmp_path):
    pilot = "91350100M0001TGQXM"  # real early pilot code failing the check character
    for t in tables.values():
        if "uscc" in t.columns:
            t["uscc"] = t["uscc"].replace({"91310110666007217T": pilot})
    tables["enterprises"].loc[1, "region_code"] = "350100"
    tc.TaxDataset(tables).to_folder(tmp_path)
    assert main(["validate", str(tmp_path)]) == 1
    assert main(["validate", str(tmp_path), "--lenient-uscc"]) == 0


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit) as info:
        main(["generate"])  # --out missing
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code == 2
    assert main(["generate", "--out", "x", "--months", "3"]) == 2
    assert "months" in capsys.readouterr().err
    for command in (["features", "d", "--as-of", "2025-06-30"], ["validate", "d"],
                    ["score", "--strategy", "s", "--data", "d", "--as-of", "2025-06-30",
                     "--out", "x.parquet"]):
        with pytest.raises(SystemExit) as info:  # 0 is not "the default"
            main([*command, "--chunk-size", "0"])
        assert info.value.code == 2
        assert "--chunk-size: must be at least 1, got 0" in capsys.readouterr().err


def test_features_for_one_date_and_for_pairs(tmp_path, capsys):
    data = tmp_path / "pop"
    assert main(["generate", "--enterprises", "200", "--months", "36", "--out", str(data),
                 "--quiet"]) == 0
    out = tmp_path / "f.parquet"
    assert main(["features", str(data), "--as-of", "2025-06-30", "--out", str(out),
                 "--quiet"]) == 0
    X = pd.read_parquet(out)
    assert len(X) == 200 and {"uscc", "as_of", "tax_12m", "consent", "uscc_key"} <= set(X.columns)
    assert X["uscc"].str.contains("********", regex=False).all()  # masked by default
    refused = (X["consent"] != "ok").to_numpy()
    assert refused.any() and X.loc[refused, "tax_12m"].isna().all()
    apps = pd.read_parquet(data / "applications.parquet")
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    assert main(["features", str(data), "--pairs", str(tmp_path / "pairs.csv"),
                 "--out", str(tmp_path / "t.csv"), "--features", "tax_12m,credit_grade",
                 "--quiet", "--consent-at", "as-of", "--unmasked",
                 "--purpose", "model_development"]) == 0
    T = pd.read_csv(tmp_path / "t.csv", dtype={"uscc": str})
    assert len(T) == len(apps) and list(T.columns) == ["uscc", "as_of", "tax_12m",
                                                       "credit_grade", "consent"]
    assert (T["uscc"] == pairs["uscc"]).all()  # unmasked, in the given order
    # each application checked at its own date: the consent table says who is authorised
    consents = pd.read_parquet(data / "consents.parquet")
    m = pairs.reset_index().merge(consents, on="uscc")
    live = m[(m["granted_at"] <= m["as_of"]) & (m["expires_at"] > m["as_of"])
             & ~(m["revoked_at"] <= m["as_of"])
             & m["purposes"].str.contains("model_development")]["index"].unique()
    assert set(np.flatnonzero(T["consent"] == "ok")) == set(live)
    full = tc.build_features(tc.TaxDataset.from_folder(data), as_of=pairs,
                             features=["tax_12m", "credit_grade"])
    ok = (T["consent"] == "ok").to_numpy()
    np.testing.assert_allclose(T.loc[ok, "tax_12m"], full["tax_12m"].to_numpy()[ok])
    assert T.loc[~ok, ["tax_12m", "credit_grade"]].isna().all().all()
    capsys.readouterr()
    assert main(["features", str(data), "--out", str(out)]) == 2  # neither date nor pairs
    assert main(["features", str(data), "--as-of", "2025-06-30", "--out", "x.xlsx"]) == 2
    assert main(["features", str(data), "--pairs", "missing.csv", "--out", str(out)]) == 1


@pytest.mark.parametrize("command", ["generate", "validate", "features"])
def test_every_command_has_help_with_an_example(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    assert "example" in sub.format_help()
    assert f"taxcredit {command}" in sub.format_help()


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "taxcredit", "--help"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0
    assert "generate" in done.stdout and "validate" in done.stdout


def test_validate_in_chunks_reports_like_in_memory(tmp_path, capsys):
    from taxcredit.data.synthetic import write_population

    write_population(tmp_path / "ok", n_enterprises=500, months=24, seed=4, progress=False)
    assert main(["validate", str(tmp_path / "ok"), "--chunk-size", "120", "--quiet"]) == 0
    assert (tmp_path / "ok" / "_validated.json").exists()
    ds = tc.TaxDataset.from_folder(tmp_path / "ok")
    v = ds["vat_returns"].copy()
    v.loc[[3, 4000], "vat_payable"] = -1.0
    tables = dict(ds.tables)
    tables["vat_returns"] = v
    tc.TaxDataset(tables).to_folder(tmp_path / "bad")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "bad"), "--chunk-size", "120", "--quiet",
                 "--report", str(tmp_path / "r.csv")]) == 1
    rep = pd.read_csv(tmp_path / "r.csv")
    assert rep.loc[0, "n_rows"] == 2 and rep.loc[0, "rule"] == "below_min"
    assert "row 3 " in rep.loc[0, "examples"]  # row numbers of the whole file
    assert main(["validate", str(tmp_path / "bad"), "--chunk-size", "120",
                 "--quarantine", str(tmp_path / "q")]) == 2
