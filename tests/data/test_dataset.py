"""TaxDataset: IO round trips, subsets and chunks."""

from __future__ import annotations

import pandas as pd
import pytest

import taxcredit as tc
from tests.conftest import U1, U2


def test_round_trip_dataframes_folder_dataset(tables, tmp_path):
    ds = tc.TaxDataset(tables).validate()
    ds.to_folder(tmp_path / "pq")
    back = tc.TaxDataset.from_folder(tmp_path / "pq")
    assert list(back.tables) == list(ds.tables)
    for name in ds.tables:
        pd.testing.assert_frame_equal(back[name], ds[name], check_categorical=True)


def test_round_trip_csv_keeps_codes_and_dtypes(tables, tmp_path):
    tables["enterprises"].loc[0, "region_code"] = "010101"  # a leading zero must survive
    tables["enterprises"].loc[0, "industry_code"] = "C0131"
    ds = tc.TaxDataset(tables).validate()
    ds.to_folder(tmp_path / "csv", format="csv")
    back = tc.TaxDataset.from_folder(tmp_path / "csv")
    for name in ds.tables:
        pd.testing.assert_frame_equal(back[name], ds[name], check_categorical=True)
    assert back["enterprises"].set_index("uscc").loc[U1, "region_code"] == "010101"


def test_to_folder_refuses_to_overwrite(tables, tmp_path):
    ds = tc.TaxDataset(tables)
    ds.to_folder(tmp_path)
    with pytest.raises(FileExistsError):
        ds.to_folder(tmp_path)
    ds.to_folder(tmp_path, overwrite=True)
    ds.to_folder(tmp_path, format="csv", overwrite=True)  # replaces parquet by csv
    assert not list(tmp_path.glob("*.parquet"))
    # overwriting with fewer tables: the folder reads back as the new dataset, not a mix
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    fewer = tc.TaxDataset({k: v for k, v in tables.items() if k != "credit_grades"})
    fewer.to_folder(tmp_path, format="csv", overwrite=True)
    assert not (tmp_path / "credit_grades.csv").exists() and (tmp_path / "notes.txt").exists()
    assert "credit_grades" not in tc.TaxDataset.from_folder(tmp_path, validate=False).tables
    # without overwrite, adding a table beside others removes nothing
    only = tc.TaxDataset({"credit_grades": tables["credit_grades"]})
    only.to_folder(tmp_path, format="csv")
    assert (tmp_path / "vat_returns.csv").exists() and (tmp_path / "credit_grades.csv").exists()


def test_from_folder_errors(tmp_path):
    with pytest.raises(tc.TaxDataError, match="not a folder"):
        tc.TaxDataset.from_folder(tmp_path / "nope")
    with pytest.raises(tc.TaxDataError, match="no enterprises"):
        tc.TaxDataset.from_folder(tmp_path)


def test_from_folder_validates_by_default(tables, tmp_path):
    tables["vat_returns"].loc[0, "vat_payable"] = -3.0
    tc.TaxDataset(tables).to_folder(tmp_path)
    with pytest.raises(tc.TaxDataError, match="below_min"):
        tc.TaxDataset.from_folder(tmp_path)
    raw = tc.TaxDataset.from_folder(tmp_path, validate=False)
    assert raw["vat_returns"]["vat_payable"].min() == -3.0


def test_from_folder_selected_tables(tables, tmp_path):
    tc.TaxDataset(tables).to_folder(tmp_path)
    ds = tc.TaxDataset.from_folder(tmp_path, tables=["vat_returns"])
    assert set(ds.tables) == {"enterprises", "vat_returns"}
    with pytest.raises(tc.TaxDataError, match="payroll"):
        tc.TaxDataset.from_folder(tmp_path, tables=["payroll"])


def test_select_keeps_only_the_enterprises_and_their_truth(tables):
    ds = tc.TaxDataset(tables).validate().select([U2])
    assert ds["enterprises"]["uscc"].tolist() == [U2]
    assert set(ds["vat_returns"]["uscc"]) == {U2}
    assert ds["truth"]["application_id"].tolist() == ["AP2"]


@pytest.mark.parametrize("size", [1, 2, 5])
def test_iter_chunks_partitions_every_table(tables, size):
    ds = tc.TaxDataset(tables).validate()
    chunks = list(ds.iter_chunks(size))
    assert len(chunks) == -(-2 // size)
    for name in ds.tables:
        got = pd.concat([c[name] for c in chunks], ignore_index=True)
        assert len(got) == len(ds[name])
    # each enterprise sits in exactly one chunk with all its rows
    for c in chunks:
        ids = set(c["enterprises"]["uscc"])
        assert set(c["vat_returns"]["uscc"]) <= ids


def test_iter_chunks_refuses_orphans(tables):
    tables["vat_returns"].loc[0, "uscc"] = "91350100M000100Y43"
    with pytest.raises(tc.TaxDataError, match="validate"):
        list(tc.TaxDataset(tables).iter_chunks(1))


def test_summary_and_repr(tables):
    ds = tc.TaxDataset(tables).validate()
    s = ds.summary()
    assert s.set_index("table").loc["vat_returns", "rows"] == 3
    assert "2 enterprises" in repr(ds)
    with pytest.raises(KeyError, match="payroll"):
        ds["payroll"]


def test_constructor_type_errors():
    with pytest.raises(TypeError):
        tc.TaxDataset([("enterprises", pd.DataFrame())])
    with pytest.raises(TypeError, match="enterprises"):
        tc.TaxDataset({"enterprises": [1, 2]})
