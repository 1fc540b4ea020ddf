"""Spark local mode gives exactly the in-process results (parity), for decisions and features."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import taxcredit as tc

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (taxcredit[spark])")
if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
    pytest.skip("Spark needs Java: no JAVA_HOME and no java on PATH", allow_module_level=True)

from taxcredit import spark as tcs  # noqa: E402
from taxcredit.profile import decide_with_profiles, fit_reference  # noqa: E402

pytestmark = pytest.mark.spark
AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def session():
    spark = tcs.local_session(cores=1, memory="4g", app="taxcredit-tests")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def world(session):
    ds = tc.datasets.make_population(n_enterprises=10_000, months=36, seed=5)
    strategy = tc.strategies.get("sme_scorecard").fit(ds)
    fit_reference(strategy, ds)
    return ds, strategy, tcs.to_spark(session, ds)


def _text(s) -> list[str]:
    return [("" if v is None or v != v or str(v) == "None" else str(v)) for v in s]


def test_decisions_and_profiles_on_spark_equal_the_in_process_ones(world):
    ds, strategy, tables = world
    got = tcs.score(tables, strategy, AS_OF, profile=True, features=True).toPandas()
    want = decide_with_profiles(strategy, ds, AS_OF).reset_index()
    assert len(got) == len(want) == 10_000
    got = got.set_index("uscc").loc[want["uscc"].astype(str)].reset_index()
    for c in ("pd", "score", "limit", "profile_score", "score_credit_history",
              "peer_operations"):
        np.testing.assert_array_equal(got[c].to_numpy(dtype=float),
                                      want[c].to_numpy(dtype=float), err_msg=c)
    for c in ("decision", "grade", "rule_hits", "reason_1", "strengths", "weaknesses"):
        assert _text(got[c]) == _text(want[c].astype(object)), c
    X = tc.build_features(ds, as_of=AS_OF, features=strategy.spec.needed_features())
    np.testing.assert_array_equal(got["f_tax_12m"].to_numpy(dtype=float),
                                  X["tax_12m"].to_numpy(dtype=float))


def test_features_on_spark_equal_the_in_process_ones(world):
    ds, _, tables = world
    ids = ["tax_12m", "arrears_now", "credit_grade", "sales_yoy", "industry_section"]
    got = tcs.build_features(tables, AS_OF, features=ids).toPandas().set_index("uscc")
    want = tc.build_features(ds, as_of=AS_OF, features=ids).reset_index().set_index("uscc")
    got = got.loc[want.index]
    for f in ids[:-1]:
        np.testing.assert_array_equal(got[f].to_numpy(dtype=float), want[f].to_numpy(
            dtype=float, na_value=np.nan))
    assert list(got["industry_section"]) == list(want["industry_section"].astype(str))


def test_tables_read_from_a_parquet_folder(session, tmp_path):
    folder = tmp_path / "data"
    tc.datasets.write_population(folder, n_enterprises=300, months=24, seed=8, progress=False)
    tables = tcs.read_tables(session, str(folder))
    assert {"enterprises", "vat_returns", "consents"} <= set(tables) and "truth" not in tables
    assert tables["enterprises"].count() == 300
    with pytest.raises(FileNotFoundError, match="enterprises"):
        tcs.read_tables(session, str(tmp_path / "nothing"))


def test_clear_errors(world):
    _, strategy, tables = world
    with pytest.raises(ValueError, match="enterprises"):
        tcs.score({k: v for k, v in tables.items() if k != "enterprises"}, strategy, AS_OF)
    bare = tc.strategies.get("sme_scorecard").fit(world[0])
    with pytest.raises(tc.ArtifactError, match="no profile reference"):
        tcs.score(tables, bare, AS_OF, profile=True)


def test_governed_scoring_on_spark_equals_the_governed_in_process_one(world, tmp_path):
    from taxcredit.governance import AuditLog, ConsentRegistry, Governance

    ds, strategy, tables = world
    reg = ConsentRegistry(ds["consents"])
    log = AuditLog(tmp_path / "audit.jsonl")
    gov = Governance(reg, actor="spark-batch", audit=log, mask=False)
    got = tcs.score(tables, strategy, AS_OF, governance=gov, consent_at="as_of").toPandas()
    want = gov.decide(strategy, ds, AS_OF, at="as_of").reset_index()
    got = got.set_index("uscc").loc[want["uscc"].astype(str)].reset_index()
    assert list(got["consent"]) == list(want["consent"])
    assert (got["consent"] != "ok").sum() > 0 and (got["consent"] == "ok").sum() > 0
    assert _text(got["decision"]) == _text(want["decision"].astype(object))
    np.testing.assert_array_equal(got["pd"].to_numpy(dtype=float),
                                  want["pd"].to_numpy(dtype=float))
    assert [r["event"] for r in log.records()] == ["decide_start", "decide"]
    assert log.records()[0]["engine"] == "spark"
    masked = Governance(reg, actor="spark-batch", key=b"k" * 32)
    out = tcs.score(tables, strategy, AS_OF, governance=masked, consent_at="as_of").toPandas()
    assert out["uscc"].str.contains("********", regex=False).all()
    assert out["uscc_key"].nunique() == len(out) == 10_000


def test_governed_spark_batches_where_nobody_is_authorised(world):
    from taxcredit.governance import ConsentRegistry, Governance

    ds, strategy, tables = world
    nobody = ConsentRegistry(ds["consents"].iloc[:0])
    gov = Governance(nobody, actor="spark-batch", mask=False)
    out = tcs.score(tables, strategy, AS_OF, profile=True, features=True, governance=gov,
                    consent_at="as_of").toPandas()
    assert len(out) == 10_000 and set(out["decision"]) == {"not_processed"}
    assert out["profile_score"].isna().all() and out["strengths"].isna().all()
    assert out["f_tax_12m"].isna().all() and set(out["consent"]) == {"none"}
