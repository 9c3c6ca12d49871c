"""``basisctl pi-liq`` and ``basisctl risk-backtest`` through typer's CliRunner (synthetic candle files)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.model.static import pi_liq as static_pi_liq
from basisctl.risk import alpha_at
from basisctl.risk.coverage import ROW_KEYS
from basisctl.risk.kou import KouRisk
from tests.risk.synth import candles, to_frame

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_pi_liq_explicit_gbm_is_the_closed_form_and_kou_its_model() -> None:
    r = run("pi-liq", "--model", "gbm", "--alpha", "0.05", "--horizon-hours", "24", "--theta-f", "0.0125",
            "--sigma", "0.6", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["pi_liq"] == float(static_pi_liq(0.05, 0.6, 0.0125, 24 / 8760))
    r = run("pi-liq", "--model", "kou", "--alpha", "0.05", "--horizon-hours", "24", "--venue", "hyperliquid",
            "--asset", "BTC", "--sigma", "0.6", "--jump-rate", "100", "--jump-p-up", "0.5", "--jump-mean-up", "0.03",
            "--jump-mean-down", "0.03", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["theta_f"] == 1 / 80  # Hyperliquid BTC 40x: 1/(2 L_max)
    want = KouRisk.of(0.6, 100, 0.5, 0.03, 0.03).hit_prob(-__import__("math").log(1.0125 * 0.95), 24.0)[0]
    assert abs(out["pi_liq"] - want) < 1e-12
    assert out["params"]["jump_rate_annual"] == 100


def test_pi_liq_calibrates_from_a_prices_file(tmp_path: Path) -> None:
    f = tmp_path / "X_1h.csv"
    to_frame(candles(24 * 120, 0.5, seed=1, lam_up=50.0)).to_csv(f, index=False)
    for model in ("gbm", "kou", "fhs", "evt", "adaptive"):
        r = run("pi-liq", "--model", model, "--alpha", "0.03", "--horizon-hours", "24", "--theta-f", "0.01",
                "--asset", "X", "--prices-file", str(f), "--fhs-paths", "2000", "--json")
        assert r.exit_code == 0, (model, r.output)
        out = json.loads(r.stdout)
        assert 0 < out["pi_liq"] < 1 and out["model"] == model and out["params"]


def test_pi_liq_bad_input_is_one_line_exit_2() -> None:
    r = run("pi-liq", "--model", "kou", "--sigma", "0.5", "--theta-f", "0.01")
    assert r.exit_code == 2 and "needs exactly --sigma, --jump-rate" in r.output
    r = run("pi-liq", "--model", "nope", "--sigma", "0.5", "--theta-f", "0.01")
    assert r.exit_code == 2 and "unknown risk model 'nope'" in r.output
    r = run("pi-liq", "--model", "gbm", "--alpha", "0.5")
    assert r.exit_code == 2 and "--theta-f" in r.output


def test_risk_backtest_json_rows_and_too_little_data(tmp_path: Path) -> None:
    f = tmp_path / "X_1h.csv"
    to_frame(candles(24 * 120, 0.5, seed=2)).to_csv(f, index=False)
    r = run("risk-backtest", "--asset", "X", "--prices-file", str(f), "--theta-f", "0.02", "--models", "gbm,kou",
            "--epsilons", "0.01", "--horizons", "1,24", "--lookback-days", "60", "--no-floor-cell", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 4 and all(list(x) == list(ROW_KEYS) for x in rows)
    assert {x["n"] for x in rows} == {60}  # origins at days 60..119 of 120; the last one still has 24 bars ahead
    r = run("risk-backtest", "--asset", "X", "--prices-file", str(f), "--theta-f", "0.02", "--models", "kou",
            "--lookback-days", "10", "--json")
    assert r.exit_code == 2
    assert "kou: too little data to calibrate (239 returns in 240 bars of 1h" in " ".join(r.output.split())


@pytest.mark.needs_data
def test_static_bands_backtest_select_a_risk_model() -> None:
    from basisctl.model.bands import alpha_lower
    from basisctl.risk.fit import fit_model, load_bars, window
    from basisctl.risk.kou import KouRisk

    r = run("static", "--venue", "hyperliquid", "--asset", "BTC", "--model", "kou", "--asof", "2026-03-10", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["model"] == "kou" and s["alpha_risk"] != s["alpha_risk_gbm"]
    assert abs(s["pi_liq_at_alpha"] - 1e-3) < 1e-6
    # the same alpha from the model fitted directly on the same window (asof 2026-03-10, 180 days)
    bars = load_bars("BTC")
    lo, hi = window(bars, pd.Timestamp("2026-03-10", tz="UTC"), 180.0)
    k = fit_model("kou", bars, lo, hi, 24.0)
    assert isinstance(k, KouRisk)
    assert abs(float(alpha_at(k, 1e-3, 1 / 80, 24.0)[0]) - s["alpha_risk"]) < 1e-9
    r = run("bands", "--venue", "hyperliquid", "--asset", "BTC", "--risk-model", "kou", "--asof", "2026-03-10",
            "--json")
    assert r.exit_code == 0, r.output
    b = json.loads(r.stdout)
    assert b["risk_model"] == "kou" and b["alpha_target"] == pytest.approx(s["alpha_risk"], abs=1e-9)
    assert b["alpha_lower_gbm"] == pytest.approx(float(alpha_lower(b["sigma_stressed"], 1 / 80, 3.0, 1e-4)))
    r = run("backtest", "--asset", "BTC", "--funding-venue", "hyperliquid", "--from", "2025-09-01", "--to",
            "2025-10-01", "--risk-model", "kou", "--json")
    assert r.exit_code == 0, r.output
    bt = json.loads(r.stdout)
    assert bt["risk_model"] == "kou" and 0 < bt["alpha_lower"] <= bt["alpha_target"] < bt["alpha_upper"]


@pytest.mark.needs_data
def test_risk_backtest_uses_4h_bars_where_1h_bars_are_missing(gappy_hourly_data_dir: object) -> None:
    args = ["risk-backtest", "--asset", "BTC", "--venue", "binance", "--models", "gbm", "--epsilons", "0.01",
            "--horizons", "1,24", "--lookback-days", "30", "--from", "2024-05-01", "--to", "2025-05-01", "--json"]
    r = run(*args)
    assert r.exit_code == 0, r.output
    rows = {x["horizon_hours"]: x for x in json.loads(r.stdout)}
    assert rows[24.0]["n"] == 365  # every day: 1h origins, 4h origins across the hole
    # 1h origins only: the hole (2024-06-16 -> 2025-03-06) plus 30 days of lookback after it are not testable
    assert 365 - 300 < rows[1.0]["n"] < 365 - 280
    out = " ".join(r.output.split())
    # issue 20 item 3l: informational (nothing substituted), so a note that --strict accepts
    assert "note: BTC:" in out and "warning: BTC:" not in out
    assert "daily origins use 4h bars where 1h bars are missing (2024-06-1" in out
    r = run(*args[:-1], "--no-4h", "--json")
    no4 = {x["horizon_hours"]: x for x in json.loads(r.stdout)}
    assert no4[1.0]["n"] == rows[1.0]["n"] and no4[24.0]["n"] < rows[1.0]["n"] + 2
