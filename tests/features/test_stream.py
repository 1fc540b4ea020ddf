"""Streaming a Parquet folder gives the in-memory answer, in bounded memory."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

import taxcredit as tc
from taxcredit.data.stream import iter_folder
from taxcredit.data.synthetic import write_population


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("pop")
    write_population(path, n_enterprises=3_000, months=36, seed=17, progress=False)
    return path


@pytest.mark.parametrize(("chunk_size", "n_jobs"), [(250, 1), (1_000, 2), (5_000, 1)])
def test_streamed_features_equal_in_memory(folder, chunk_size, n_jobs):
    ds = tc.TaxDataset.from_folder(folder)
    expected = tc.build_features(ds, as_of="2025-06-30")
    got = tc.features.build_features_folder(folder, "2025-06-30", chunk_size=chunk_size,
                                            n_jobs=n_jobs)
    pd.testing.assert_frame_equal(got, expected)


def test_streamed_pairs_keep_their_order_and_file_output(folder, tmp_path):
    ds = tc.TaxDataset.from_folder(folder)
    apps = ds["applications"].sample(frac=1.0, random_state=0)
    pairs = apps[["uscc", "application_date"]].rename(columns={"application_date": "as_of"})
    expected = tc.build_features(ds, as_of=pairs)
    got = tc.features.build_features_folder(folder, pairs, chunk_size=400)
    pd.testing.assert_frame_equal(got, expected)
    out = tmp_path / "x.parquet"
    assert tc.features.build_features_folder(folder, "2025-06-30", chunk_size=700,
                                             out=out) is None
    assert pq.ParquetFile(out).metadata.num_rows == ds.n_enterprises


def test_chunks_partition_the_folder(folder):
    ds = tc.TaxDataset.from_folder(folder)
    chunks = list(iter_folder(folder, 700))
    assert sum(c.n_enterprises for c in chunks) == ds.n_enterprises
    for name in ("vat_returns", "payments", "invoices", "events"):
        assert sum(len(c[name]) for c in chunks) == len(ds[name])


def test_out_of_order_tables_are_refused(folder, tmp_path):
    ds = tc.TaxDataset.from_folder(folder)
    shuffled = dict(ds.tables)
    shuffled["vat_returns"] = ds["vat_returns"].sample(frac=1.0, random_state=1)
    tc.TaxDataset(shuffled).to_folder(tmp_path)
    with pytest.raises(tc.TaxDataError, match="not grouped by enterprise"):
        list(iter_folder(tmp_path, 500))


def test_child_codes_in_lower_case_are_normalised_when_streaming(folder, tmp_path):
    ds = tc.TaxDataset.from_folder(folder)
    tables = dict(ds.tables)
    tables["vat_returns"] = ds["vat_returns"].assign(uscc=ds["vat_returns"]["uscc"].str.lower())
    tc.TaxDataset(tables).to_folder(tmp_path)
    got = tc.features.build_features_folder(tmp_path, "2025-06-30", chunk_size=1_000)
    expected = tc.build_features(ds, as_of="2025-06-30")
    pd.testing.assert_frame_equal(got, expected)


def test_a_folder_validated_once_is_not_validated_again(tmp_path, monkeypatch):
    from taxcredit.cli.main import main
    from taxcredit.data.manifest import MANIFEST, manifest_matches

    write_population(tmp_path, n_enterprises=300, months=24, seed=3, progress=False)
    assert main(["validate", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / MANIFEST).is_file() and manifest_matches(tmp_path)
    calls = []
    original = tc.TaxDataset.validate

    def spy(self, *a, **k):
        calls.append(1)
        return original(self, *a, **k)

    monkeypatch.setattr(tc.TaxDataset, "validate", spy)
    list(iter_folder(tmp_path, 100))
    assert calls == []  # trusted
    # any change to a file makes the record stale
    f = tmp_path / "payroll.parquet"
    pq.write_table(pq.read_table(f).slice(0, 10), f)
    assert not manifest_matches(tmp_path)
    list(iter_folder(tmp_path, 100))
    assert len(calls) == 3


def test_no_record_when_validation_had_to_convert(tmp_path):
    from taxcredit.cli.main import main
    from taxcredit.data.manifest import MANIFEST

    ds = tc.datasets.make_population(n_enterprises=50, months=24, seed=2)
    tables = dict(ds.tables)
    tables["vat_returns"] = ds["vat_returns"].assign(
        filing_date=ds["vat_returns"]["filing_date"].dt.strftime("%Y-%m-%d"))
    tc.TaxDataset(tables).to_folder(tmp_path)
    assert main(["validate", str(tmp_path), "--quiet"]) == 0
    assert not (tmp_path / MANIFEST).exists()
