"""The shipped API tour runs end to end on the shipped data (what a notebook user would paste)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.skips import SOURCE_REASON

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "api_tour.py"


@pytest.mark.skipif(not EXAMPLE.exists(), reason=SOURCE_REASON)
def test_api_tour_runs(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "raise collateral (sell-basis)" in r.stdout
    assert "8760 bars ->" in r.stdout
