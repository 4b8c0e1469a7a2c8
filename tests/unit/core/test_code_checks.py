"""The tree passes the linters and type checks configured in pyproject.toml: ruff's rules over
everything ([tool.ruff.lint]), ruff's formatter ([tool.ruff]), mypy over services/
([tool.mypy])."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_ruff_finds_nothing():
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_tree_is_as_ruff_formats_it():
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert checked.returncode == 0, "run `.venv/bin/ruff format .`:\n" + checked.stdout + checked.stderr


def test_mypy_finds_nothing_in_the_services():
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
