"""Spark local mode gives exactly the in-process results (parity), for decisions and features."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

import taxcredit as tc

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (taxcredit[spark])")
if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
    pytest.skip("Spark needs Java: no JAVA_HOME and no java on PATH", allow_module_level=True)

from taxcredit import spark as tcs  # noqa: E402

pytestmark = pytest.mark.spark
AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def session():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[1]").appName("taxcredit-tests")
             .config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "4g")
             .config("spark.sql.shuffle.partitions", "1")
             .config("spark.sql.session.timeZone", "Asia/Shanghai")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


def _to_spark(spark, df: pd.DataFrame):
    df = df.copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype) or str(df[c].dtype) in ("str",
                                                                                 "string"):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
        elif str(df[c].dtype) == "Int64":
            df[c] = df[c].astype("float64")
    return spark.createDataFrame(df)


@pytest.fixture(scope="module")
def world(session):
    ds = tc.datasets.make_population(n_enterprises=10_000, months=36, seed=5)
    strategy = tc.strategies.get("sme_scorecard").fit(ds)
    tables = {n: _to_spark(session, ds[n]) for n in ds.tables if n != "truth"}
    return ds, strategy, tables


def test_decisions_on_spark_equal_the_in_process_ones(world):
    ds, strategy, tables = world
    got = tcs.score(tables, strategy, AS_OF).toPandas().set_index("uscc")
    want = strategy.decide(ds, AS_OF).reset_index().set_index("uscc")
    assert len(got) == len(want) == 10_000
    got = got.loc[want.index]
    np.testing.assert_array_equal(got["pd"].to_numpy(), want["pd"].to_numpy())
    np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    np.testing.assert_array_equal(got["limit"].to_numpy(), want["limit"].to_numpy())
    for c in ("decision", "grade", "rule_hits", "reason_1"):
        assert list(got[c].fillna("")) == list(want[c].astype(object).fillna("")
                                               .astype(str).replace("None", "")), c


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


def test_a_clear_error_without_enterprises(world):
    _, strategy, tables = world
    with pytest.raises(ValueError, match="enterprises"):
        tcs.score({k: v for k, v in tables.items() if k != "enterprises"}, strategy, AS_OF)
