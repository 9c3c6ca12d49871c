"""Sweeps (executors agree), the ``backtest`` CLI contract and bad-input handling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.backtest import JSON_KEYS
from basisctl.backtest.sweep import SweepGrid, run_sweep
from basisctl.cli.main import app
from tests.backtest._bt_synth import make_data, make_rule
from tests.skips import need_extra

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

runner = CliRunner()
GRID = SweepGrid(alpha_target_mult=(0.9, 1.0, 1.2), cost_bps=(10.0, 30.0), q_min_usd=(0.0, 2e5),
                 budget_bps=(float("inf"), 35.0), buffer_bps=(10.0,))


def _data():
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    return make_data(close, rate=rng.normal(1e-5, 2e-5, 3000))


def test_sweep_process_pool_equals_serial() -> None:
    d, r = _data(), make_rule(alpha_lower=0.15, alpha_upper=0.4, kappa_14d=0.05)
    a = run_sweep(d, r, GRID, executor="serial")
    b = run_sweep(d, r, GRID, executor="process", workers=2)
    assert len(a) == 24 and (a["error"] == "").all()
    pd.testing.assert_frame_equal(a, b)
    # the grid axes matter: more cost -> weakly lower APY at equal other settings; q_min escalates to emergencies
    assert (a.loc[a.q_min_usd == 2e5, "emergencies"] > 0).any()
    assert a.loc[(a.cost_bps == 30) & np.isinf(a.budget_bps), "ret_costs"].min() < \
        a.loc[(a.cost_bps == 10) & np.isinf(a.budget_bps), "ret_costs"].min()


@pytest.mark.needs_extra
def test_sweep_ray_equals_process() -> None:
    need_extra("ray", "ray")
    d, r = _data(), make_rule(alpha_lower=0.15, alpha_upper=0.4, kappa_14d=0.05)
    pd.testing.assert_frame_equal(run_sweep(d, r, GRID, executor="serial"),
                                  run_sweep(d, r, GRID, executor="ray", workers=2))


def test_sweep_reports_infeasible_band_instead_of_crashing() -> None:
    d, r = _data(), make_rule(alpha_lower=0.15, alpha_upper=0.4)
    df = run_sweep(d, r, SweepGrid(alpha_target_mult=(0.5, 1.0)), executor="serial")
    assert "alpha_L <= alpha_target" in df.loc[0, "error"] and df.loc[1, "error"] == ""


def test_backtest_cli_json_contract() -> None:
    res = runner.invoke(app, ["backtest", "--asset", "BTC", "--from", "2025-09-01", "--to", "2025-11-01",
                              "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for k in JSON_KEYS:
        assert k in out
    assert out["bars"] == 61 * 24 and out["start"].startswith("2025-09-01")
    assert out["calib_to"].startswith("2025-09-01") and out["calib_from"].startswith("2023-09-01")
    assert abs(out["apy"]) < 1 and out["funding_apy"] > 0  # fractions, not percent


def test_backtest_cli_user_files_and_out_dir(tmp_path) -> None:
    """--prices-file/--funding-file replace shipped data (any symbol)."""
    from basisctl.data import locator
    from basisctl.data.io import write_frame

    c = locator.load_candles("binance_perp", "ETH", "4h")
    f = locator.load_funding("hyperliquid", "ETH")
    pf, ff = tmp_path / "XYZ_4h.csv", tmp_path / "fund.parquet"
    write_frame(c[c.ts >= "2024-06-01"], pf)
    write_frame(f, ff)
    res = runner.invoke(app, ["backtest", "--asset", "XYZ", "--prices-file", str(pf), "--funding-file", str(ff),
                              "--from", "2025-06-01", "--to", "2025-09-01", "--cost-bps", "25", "--l-max", "20",
                              "--json",
                              "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["bar_hours"] == 4.0 and out["prices_source"] == str(pf) and out["k_reb_fix"] == 0.0025
    assert out["theta_f"] == pytest.approx(1 / 40)
    assert (tmp_path / "o" / "bars.parquet").exists() and (tmp_path / "o" / "metrics.json").exists()


def test_backtest_cli_bad_file_one_line_naming_file_and_row(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,open,high,low,close\n2025-01-01T00:00:00Z,1,2,0.5,1.5\n"
                   "2025-01-01T01:00:00Z,1,abc,0.5,1.5\n")
    res = runner.invoke(app, ["backtest", "--asset", "BTC", "--prices-file", str(bad), "--json"])
    assert res.exit_code != 0
    msg = res.stderr.strip()
    # one message (rich may soft-wrap it at the terminal width, so join the wrapped pieces)
    assert "Traceback" not in res.output and msg.count("error:") == 1
    msg = "".join(msg.splitlines())
    assert "bad.csv" in msg and "row 1" in msg


def test_backtest_cli_refuses_lookahead_calibration() -> None:
    res = runner.invoke(app, ["backtest", "--asset", "BTC", "--from", "2025-06-01", "--calib-to", "2025-07-01"])
    assert res.exit_code == 2 and "no look-ahead" in res.stderr


def test_sweep_cli_serial_json() -> None:
    res = runner.invoke(app, ["sweep", "--asset", "BTC", "--from", "2025-09-01", "--to", "2025-12-01",
                              "--alpha-mult", "1,1.2", "--cost-bps", "20", "--executor", "serial", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 2 and rows[1]["alpha_target"] == pytest.approx(1.2 * rows[0]["alpha_target"])
