"""Parity with fractal-defi (only where the optional bench venv with fractal-defi exists)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.skips import BENCH_REASON

ROOT = Path(__file__).resolve().parents[2]
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"


def _have_fractal() -> bool:
    return BENCH_PY.exists() and subprocess.run([str(BENCH_PY), "-c", "import fractal"],
                                                capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _have_fractal(), reason=BENCH_REASON)
def test_nav_path_matches_fractal_defi_with_liquidations() -> None:
    # a tight venue cap forces liquidations and re-entries, a narrow band forces both rebalance sides
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "parity_fractal.py"), "--json", "--reps", "1",
                           "--hl-cap", "5", "--min-leverage", "4", "--max-leverage", "30", "--funding", "binance"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["parity_ok"] and out["max_rel_nav_diff"] < 1e-9
    assert out["liquidations_basisctl"] > 0
    assert out["rebalances_basisctl"] + out["liquidations_basisctl"] == \
        out["rebalances_fractal (hedge size changes after entry)"]
