"""Derived documentation is up to date, and the README's promises hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_data_contract_page_is_generated_and_fresh():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from gen_docs import PAGES

    for rel, build in PAGES.items():
        assert (ROOT / rel).read_text(encoding="utf-8") == build(), (
            f"{rel} is stale: run python tools/gen_docs.py")


def test_readme_quick_start_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n(.*?)\n## ", readme, re.S)
    assert block, "README needs a Quick start section"
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", block.group(1), re.S)
    lines = [ln for c in commands for ln in c.strip().splitlines() if ln.strip()]
    assert len(lines) == 2, lines


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci  # the command is read from the README, not copied


@pytest.mark.parametrize("name", ["CHANGELOG.md", "README.md", "pyproject.toml"])
def test_project_files_exist(name):
    assert (ROOT / name).is_file()


def test_notebooks_are_committed_without_outputs():
    import json

    books = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert books, "notebooks/ should hold at least the quick start"
    for nb in books:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{nb.name}: clear the outputs of cells {dirty}"
