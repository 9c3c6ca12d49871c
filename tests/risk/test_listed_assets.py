"""Issue 17 item 6: an asset Hyperliquid lists (SOL) works in every command, L_max from the margin table.

The data dir has no SOL bars: a tmp data dir holds synthetic SOL candles and funding, and the real Hyperliquid
margin-table snapshot of the shared data (symlinked, read in place), which lists SOL at 20x (theta_F = 1/40).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.data import locator
from tests.risk.synth import candles, to_frame

runner = CliRunner()
pytestmark = pytest.mark.needs_data  # the real Hyperliquid margin-table snapshot


def _write_candles(path: Path, frame: pd.DataFrame) -> None:
    out = frame.copy()
    out.insert(0, "timestamp", out.pop("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.insert(1, "ts_ms", pd.DatetimeIndex(pd.to_datetime(out["timestamp"], utc=True)).as_unit("ns").asi8 // 10**6)
    out["source"] = "synthetic"
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)


def _write_funding(path: Path, ts: pd.DatetimeIndex, rate: float, interval_hours: int) -> None:
    f = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "ts_ms": ts.as_unit("ns").asi8 // 10**6,
                      "rate": rate, "interval_hours": interval_hours, "source": "synthetic"})
    if "hyperliquid" in str(path):
        f.insert(4, "premium", 0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    f.to_csv(path, index=False)


@pytest.fixture(scope="module")
def sol_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import DATA_DIR

    assert DATA_DIR is not None
    d = tmp_path_factory.mktemp("sol") / "data"
    d.mkdir()
    (d / "hyperliquid").symlink_to(DATA_DIR / "hyperliquid")
    bars = to_frame(candles(24 * 420, 0.7, seed=5, sub=6))  # 420 days of 1h bars from 2022-01-01
    _write_candles(d / "prices" / "binance_perp" / "SOL_1h.csv", bars)
    ts = pd.DatetimeIndex(bars["ts"])
    _write_funding(d / "funding" / "hyperliquid" / "SOL.csv", ts + pd.Timedelta(hours=1), 1.2e-5, 1)
    _write_funding(d / "funding" / "binance" / "SOL.csv", ts[ts.hour % 8 == 0] + pd.Timedelta(hours=8), 1e-4, 8)
    return d


def _run(d: Path, *args: str) -> dict:
    r = runner.invoke(app, ["--data-dir", str(d), *args, "--json"])
    locator.set_data_dir(None)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_sol_is_in_the_real_margin_table() -> None:
    tiers = locator.hyperliquid_tiers("SOL")
    assert tiers[0].max_leverage == 20.0  # the snapshot's first tier; theta_F = 1/(2 x 20) = 0.025


def test_risk_backtest_takes_l_max_from_the_margin_table(sol_dir: Path) -> None:
    rows = _run(sol_dir, "risk-backtest", "--asset", "SOL", "--venue", "hyperliquid", "--models", "gbm",
                "--epsilons", "0.01", "--horizons", "24", "--from", "2022-09-01")
    assert rows and all(r["asset"] == "SOL" and r["n"] > 0 for r in rows)
    # mean alpha is alpha_of_barrier at theta_F = 1/40: recover theta from a Binance run (theta_F = 1/20, its
    # own default would need --l-max) by the barrier identity alpha = 1 - exp(-b) / (1 + theta_F)
    bn = _run(sol_dir, "risk-backtest", "--asset", "SOL", "--venue", "binance", "--l-max", "20", "--models", "gbm",
              "--epsilons", "0.01", "--horizons", "24", "--from", "2022-09-01")
    assert rows[0]["n"] == bn[0]["n"] and rows[0]["breaches"] == bn[0]["breaches"]  # b_eps is venue-free
    # same barriers: (1 - a_hl)(1 + 1/40) = (1 - a_bn)(1 + 1/20) origin by origin, hence in the mean
    assert (1 - rows[0]["mean_alpha"]) * (1 + 1 / 40) == pytest.approx((1 - bn[0]["mean_alpha"]) * (1 + 1 / 20),
                                                                       rel=1e-12)


def test_every_sizing_command_runs_on_sol(sol_dir: Path) -> None:
    asof = ["--asof", "2023-02-01"]
    st = _run(sol_dir, "static", "--venue", "hyperliquid", "--asset", "SOL", *asof)
    assert st["l_max"] == 20.0 and st["theta_f"] == pytest.approx(0.025) and st["model"] == "fhs"
    assert 0.0 < st["alpha_risk"] < 1.0 and st["alpha_risk_se"] > 0.0
    bands = _run(sol_dir, "bands", "--venue", "hyperliquid", "--asset", "SOL", *asof)
    assert bands["theta_f"] == pytest.approx(0.025) and bands["risk_model"] == "fhs"
    pl = _run(sol_dir, "pi-liq", "--venue", "hyperliquid", "--asset", "SOL", "--alpha", "0.2", "--model", "gbm", *asof)
    assert pl["theta_f"] == pytest.approx(0.025)
    ven = _run(sol_dir, "venues", "--asset", "SOL", *asof)
    (hl,) = [r for r in ven["venues"] if r["venue"] == "hyperliquid"]
    assert hl["theta_f"] == pytest.approx(0.025) and hl["alpha_target"] is not None
    bt = _run(sol_dir, "backtest", "--asset", "SOL", "--venue", "hyperliquid", "--funding-venue", "hyperliquid",
              "--kappa-venue", "hyperliquid", "--from", "2022-12-01", "--to", "2023-01-15")
    assert bt["risk_model"] == "fhs" and np.isfinite(bt["apy"])
