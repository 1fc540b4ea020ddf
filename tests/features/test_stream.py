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
        # the key comes as a categorical over the chunk's enterprises: the same codes
        streamed = pd.concat([c[name]["uscc"].astype("str") for c in chunks], ignore_index=True)
        assert (streamed.to_numpy() == ds[name]["uscc"].astype("str").to_numpy()).all()
        assert all(list(c[name]["uscc"].cat.categories) == list(c.enterprise_ids)
                   for c in chunks)


def test_out_of_order_tables_are_refused(folder, tmp_path):
    ds = tc.TaxDataset.from_folder(folder)
    shuffled = dict(ds.tables)
    shuffled["vat_returns"] = ds["vat_returns"].sample(frac=1.0, random_state=1)
    tc.TaxDataset(shuffled).to_folder(tmp_path)
    with pytest.raises(tc.TaxDataError, match="not grouped by enterprise"):
        list(iter_folder(tmp_path, 500))


def test_a_missing_required_column_or_a_damaged_file_is_a_data_error(folder, tmp_path):
    import shutil

    shutil.copytree(folder, tmp_path / "f")
    vat = tmp_path / "f" / "vat_returns.parquet"
    pd.read_parquet(vat).drop(columns="taxable_sales").to_parquet(vat, index=False)
    with pytest.raises(tc.TaxDataError, match=r"vat_returns\.taxable_sales \[missing_column\]"
                       ) as err:
        tc.features.build_features_folder(tmp_path / "f", "2025-06-30", chunk_size=1_000)
    assert err.value.report[["table", "column", "rule"]].values.tolist() == [
        ["vat_returns", "taxable_sales", "missing_column"]]
    vat.write_bytes(b"not parquet at all")
    for run in (lambda: tc.features.build_features_folder(tmp_path / "f", "2025-06-30"),
                lambda: list(iter_folder(tmp_path / "f", 1_000))):
        with pytest.raises(tc.TaxDataError, match=r"cannot read .*vat_returns\.parquet"):
            run()


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


@pytest.fixture(scope="module")
def small_groups(folder, tmp_path_factory):
    """The same population with many small row groups, so ranges skip some unread."""
    path = tmp_path_factory.mktemp("groups")
    for f in folder.glob("*.parquet"):
        pq.write_table(pq.read_table(f), path / f.name, row_group_size=3_000)
    assert pq.ParquetFile(path / "invoices.parquet").metadata.num_row_groups > 20
    return path


def _frames(chunks):
    return {name: pd.concat([c[name] for c in chunks], ignore_index=True)
            for name in chunks[0].tables}


@pytest.mark.parametrize(("start", "stop"), [(0, 2), (3, 7), (5, None), (11, 12), (11, None)])
def test_a_range_of_chunks_is_that_slice_of_all_chunks(small_groups, start, stop):
    every = list(iter_folder(small_groups, 250))
    assert len(every) == 12
    part = list(iter_folder(small_groups, 250, start_chunk=start, stop_chunk=stop))
    want = every[start:stop]
    assert len(part) == len(want)
    for name, frame in _frames(want).items():
        pd.testing.assert_frame_equal(_frames(part)[name], frame, obj=name)


def test_a_range_past_the_end_is_empty_and_bad_ranges_are_refused(small_groups):
    assert list(iter_folder(small_groups, 250, start_chunk=40)) == []
    with pytest.raises(ValueError, match="start_chunk"):
        iter_folder(small_groups, 250, start_chunk=3, stop_chunk=2)
    with pytest.raises(ValueError, match="read_ahead"):
        iter_folder(small_groups, 250, read_ahead=-1)


def test_reading_ahead_gives_the_same_chunks_and_raises_where_it_failed(small_groups,
                                                                          tmp_path,
                                                                          monkeypatch):
    plain = list(iter_folder(small_groups, 400))
    ahead = list(iter_folder(small_groups, 400, read_ahead=2))
    for name, frame in _frames(plain).items():
        pd.testing.assert_frame_equal(_frames(ahead)[name], frame, obj=name)
    # an error in the reading thread reaches the caller, after the good chunks
    ds = tc.TaxDataset.from_folder(small_groups)
    tables = dict(ds.tables)
    vat = ds["vat_returns"]
    tail = vat.iloc[len(vat) // 2:].sample(frac=1.0, random_state=3)  # late rows disordered
    tables["vat_returns"] = pd.concat([vat.iloc[:len(vat) // 2], tail], ignore_index=True)
    tc.TaxDataset(tables).to_folder(tmp_path)
    monkeypatch.setattr("taxcredit.data.stream.BATCH_ROWS", 2_000)
    got = []
    with pytest.raises(tc.TaxDataError, match="not grouped by enterprise"):
        for chunk in iter_folder(tmp_path, 250, read_ahead=1):
            got.append(chunk)
    assert len(got) >= 1


def test_leaving_a_read_ahead_early_stops_its_thread(small_groups):
    import threading

    chunks = iter_folder(small_groups, 250, read_ahead=1)
    next(chunks)
    chunks.close()
    assert not any(t.name == "taxcredit-read-ahead" and t.is_alive()
                   for t in threading.enumerate())


def test_worker_processes_give_the_in_memory_answer(small_groups, tmp_path):
    ds = tc.TaxDataset.from_folder(small_groups)
    expected = tc.build_features(ds, as_of="2025-06-30")
    got = tc.build_features_folder(small_groups, "2025-06-30", chunk_size=300, n_jobs=2)
    pd.testing.assert_frame_equal(got, expected)
    # pairs: the caller's order, an enterprise twice, one unknown to the folder
    pairs = ds["applications"][["uscc", "application_date"]].rename(
        columns={"application_date": "as_of"}).sample(frac=1.0, random_state=2)
    pairs = pd.concat([pairs, pairs.iloc[:3],
                       pd.DataFrame({"uscc": ["91110108551385082Q"],
                                     "as_of": [pd.Timestamp("2025-01-01")]})],
                      ignore_index=True)
    with pytest.warns(UserWarning, match="absent"):
        expected = tc.build_features(ds, as_of=pairs)
    with pytest.warns(UserWarning, match="absent"):
        got = tc.build_features_folder(small_groups, pairs, chunk_size=300, n_jobs=2)
    pd.testing.assert_frame_equal(got, expected)
    # written by parts: the same rows, in the enterprises' order, and no scratch left
    out = tmp_path / "features.parquet"
    assert tc.build_features_folder(small_groups, "2025-06-30", chunk_size=300, n_jobs=2,
                                    out=out) is None
    written = pd.read_parquet(out).set_index(["uscc", "as_of"])
    pd.testing.assert_frame_equal(written, tc.build_features(ds, as_of="2025-06-30"),
                                  check_index_type=False)
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]


def test_bad_arguments_are_refused(folder):
    with pytest.raises(ValueError, match="n_jobs"):
        tc.build_features_folder(folder, "2025-06-30", n_jobs=0)
    with pytest.raises(KeyError, match="unknown feature"):
        tc.build_features_folder(folder, "2025-06-30", features=["nope"])


def test_a_code_written_full_width_in_every_table_streams_like_its_ascii_form(folder, tmp_path):
    import shutil

    copy = tmp_path / "wide"
    shutil.copytree(folder, copy)
    (copy / "_validated.json").unlink(missing_ok=True)
    code = pq.read_table(copy / "enterprises.parquet").column("uscc")[3].as_py()
    wide = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # an Excel export
    for f in copy.glob("*.parquet"):
        t = pq.read_table(f).to_pandas()
        if "uscc" in t and (t["uscc"] == code).any():
            t["uscc"] = t["uscc"].astype(object).where(t["uscc"] != code, wide)
            t.to_parquet(f, index=False)
    want = tc.build_features_folder(folder, "2025-06-30", chunk_size=100)
    got = tc.build_features_folder(copy, "2025-06-30", chunk_size=100)
    pd.testing.assert_frame_equal(got, want)  # validation normalised it, nothing lost
    assert got.loc[code].notna().sum(axis=1).iloc[0] > 20


def test_only_some_enterprises(folder):
    ids = list(pq.read_table(folder / "enterprises.parquet").column("uscc").to_pylist())
    some = ids[5:900:7]
    got = tc.build_features_folder(folder, "2025-06-30", chunk_size=250, only=some)
    want = tc.build_features(tc.TaxDataset.from_folder(folder).select(some), "2025-06-30")
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(ValueError, match="only="):
        tc.build_features_folder(folder, pd.DataFrame({"uscc": some, "as_of": "2025-06-30"}),
                                 only=some)
