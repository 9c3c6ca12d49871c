"""The layering of docs/architecture.md, checked by import-linter (contracts in ``.importlinter``)."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import importlinter  # noqa: F401  (in the [test] extra: tests/inputs/test_test_extra.py checks it)

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    res = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()", "--no-cache"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_contracts_keep_model_and_simulate_pure_and_forbid_cycles() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    pure = cfg["importlinter:contract:pure-core"]
    assert pure["type"] == "forbidden"
    assert set(pure["source_modules"].split()) == {"basisctl.model", "basisctl.simulate"}
    forbidden = set(pure["forbidden_modules"].split())
    assert {"basisctl.data", "basisctl.live", "basisctl.cli", "basisctl.report"} <= forbidden
    assert cfg["importlinter:contract:no-cycles"]["type"] == "acyclic_siblings"
    assert cfg["importlinter:contract:layers"]["type"] == "layers"
