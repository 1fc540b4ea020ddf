"""taxcredit.spark says clearly what is missing; executors run one model thread per task."""

from __future__ import annotations

import sys

import pytest

from taxcredit import spark as tcs


def test_missing_pyspark_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ImportError, match="pip install 'pyspark=="):
        tcs.require_spark()


def test_missing_java_is_a_clear_error(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(tcs.shutil, "which", lambda _: None)
    with pytest.raises(RuntimeError, match="needs Java"):
        tcs.require_spark()


def test_tasks_use_the_threads_asked_for():
    import taxcredit as tc

    ds = tc.datasets.make_population(n_enterprises=2_000, months=36, seed=4)
    strategy = tc.strategies.get("digital_gbm").fit(ds)
    strategy.model_.n_jobs = 8
    tcs._threads(strategy, 1)
    assert strategy.model_.n_jobs == 1
