"""Notebooks run by the test suite (nbmake); the Spark one only where Spark can run."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    """Skip the Spark notebook, saying why, where pyspark or Java is missing."""
    has_spark = importlib.util.find_spec("pyspark") is not None
    has_java = bool(os.environ.get("JAVA_HOME") or shutil.which("java"))
    if has_spark and has_java:
        return
    why = "needs pyspark" if not has_spark else "needs Java (JAVA_HOME or java on PATH)"
    for item in items:
        if "04_spark" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=f"the Spark notebook {why}"))
