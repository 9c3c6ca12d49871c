"""``basisctl forecast-funding`` and ``backtest-regime``: JSON keys, one-line errors, light imports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.forecast_cmds import JSON_KEYS
from basisctl.cli.main import app
from tests.inputs.test_startup import _probe
from tests.skips import need_extra

runner = CliRunner()


def _funding_file(tmp_path: Path, days: int = 400) -> Path:
    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-01-01 08:00", periods=3 * days, freq="8h", tz="UTC")
    f = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "rate": rng.normal(1e-4, 5e-5, ts.size),
                      "interval_hours": 8})
    p = tmp_path / "XYZ_funding.csv"
    f.to_csv(p, index=False)
    return p


@pytest.mark.needs_extra
def test_json_keys_single_model_and_all(tmp_path: Path) -> None:
    need_extra("sklearn", "ml")  # `--model all` includes the gradient-boosted model
    p = _funding_file(tmp_path)
    r = runner.invoke(app, ["forecast-funding", "--asset", "XYZ", "--funding-file", str(p), "--model", "ewma",
                            "--horizon", "14d", "--alt-yield-apr", "0.03", "--cost-bps", "20", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(JSON_KEYS) <= set(out)
    assert out["model"] == "ewma" and out["horizon_days"] == 14 and out["n_origins"] > 100
    assert 0 <= out["dm_p_vs_rolling_mean"] <= 1 and 0 <= out["decision_accuracy"] <= 1
    r = runner.invoke(app, ["forecast-funding", "--asset", "XYZ", "--funding-file", str(p), "--model", "all",
                            "--alt-yield-apr", "0.03", "--cost-bps", "20", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)["results"]
    assert [x["model"] for x in res] == ["rolling_mean", "ewma", "har", "gbm"]
    assert res[0]["dm_p_vs_rolling_mean"] is None
    assert len({x["n_origins"] for x in res}) == 1  # paired on the same origins


@pytest.mark.parametrize(("args", "msg"), [
    (["--horizon", "two weeks"], "--horizon expects a whole number of days"),
    (["--model", "oracle"], "--model: unknown model 'oracle'"),
    (["--venue", "mtgox"], "unknown --venue 'mtgox'"),
    (["--alt-yield-apr", "0.03", "--alt-yield", "aave_v3/USDC_supply"], "alternatives"),
    (["--alt-yield-apr", "nan"], "--alt-yield-apr must be a finite number"),
])
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], msg: str) -> None:
    p = _funding_file(tmp_path, 60)
    r = runner.invoke(app, ["forecast-funding", "--asset", "XYZ", "--funding-file", str(p), *args])
    assert r.exit_code == 2
    assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_regime_params_errors_name_the_flag() -> None:
    r = runner.invoke(app, ["backtest-regime", "--asset", "BTC", "--decide-every-hours", "48"])
    assert r.exit_code == 2 and "exit_within_hours" in r.stderr


@pytest.mark.parametrize("args", [["forecast-funding", "--help"], ["backtest-regime", "--help"],
                                  ["forecast-funding", "--asset"]])
def test_commands_load_no_numerical_stack(args: list[str]) -> None:
    out = _probe(*args)
    assert out["heavy"] == [], out
    assert out["code"] in (0, 2)


@pytest.mark.needs_data
def test_backtest_regime_on_real_data_json() -> None:
    r = runner.invoke(app, ["backtest-regime", "--asset", "BTC", "--from", "2025-09-01", "--to", "2025-12-01",
                            "--alt-yield", "aave_v3/USDC_supply", "--alt-yield-fallback-apr", "0.04", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    for k in ("acc_return", "apy", "entries", "exits", "time_in_trade", "always_in", "apy_vs_always_in",
              "ret_alt_yield", "exit_times"):
        assert k in out
    assert out["entries"] >= out["exits"] >= 0


@pytest.mark.needs_data
def test_report_section_renders_table_and_figure() -> None:
    from basisctl.report.forecast_section import forecast_section

    html = forecast_section(["LINK"])
    assert "Does carry persist?" in html and "<img" in html and "rolling_mean" in html and "har" in html
    assert "basisctl forecast-funding" in html
