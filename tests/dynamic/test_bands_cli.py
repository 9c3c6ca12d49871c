"""``basisctl bands`` and ``basisctl simulate upper | upper-grid | lower-grid`` through typer's CliRunner,
checked against the model functions and hand calculations (shipped Parquet data, no network)."""

from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from basisctl.calibration.inputs import calibrate_kappa, calibrate_sigma
from basisctl.cli.main import app
from basisctl.model.bands import alpha_lower
from basisctl.model.static import pi_liq, solve_alpha_risk

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

runner = CliRunner()


def invoke_json(args: list[str]) -> dict:  # type: ignore[type-arg]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_bands_with_explicit_inputs_by_hand() -> None:
    out = invoke_json(["bands", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5", "--stress", "1.5",
                       "--kappa14-bps", "25", "--cost-bps", "5,10,30", "--risk-model", "gbm"])  # the paper's
    theta = 1 / 80  # Hyperliquid BTC: 1 / (2 * 40)
    a_t = float(solve_alpha_risk(0.75, theta, 1 / 365, 1e-3))
    assert out["theta_f"] == pytest.approx(theta)
    assert out["alpha_target"] == pytest.approx(a_t, abs=1e-9)
    assert pi_liq(out["alpha_lower"], 0.75, theta, 3 / 8760) == pytest.approx(1e-4, rel=1e-5)
    ups = {u["cost_bps"]: u for u in out["upper"]}
    assert ups[5.0]["delta_upper"] == pytest.approx(0.2)  # 5 / 25
    assert ups[10.0]["alpha_upper"] == pytest.approx(a_t + 0.4)
    assert ups[30.0]["alpha_upper"] == 0.99 and ups[30.0]["clipped"]
    assert "alpha_lower_boot" not in out


def test_bands_from_shipped_data_with_bootstrap() -> None:
    out = invoke_json(["bands", "--venue", "binance", "--asset", "ETH", "--bootstrap", "--boot-paths", "400000",
                       "--risk-model", "gbm", "--asof", "2026-03-10"])  # the paper's alpha_L (eq. 38), bootstrap
    sig = calibrate_sigma("ETH", None, 180).sigma_annual
    kap = calibrate_kappa("binance", "ETH", None, 180, horizon_hours=336).kappa
    assert out["sigma"] == pytest.approx(sig) and out["kappa14_bps"] == pytest.approx(kap * 1e4)
    assert out["alpha_lower"] == pytest.approx(float(alpha_lower(sig * 1.5, 0.01, 3.0, 1e-4)))
    lo, hi = out["alpha_lower_boot_ci"]
    assert lo <= out["alpha_lower_boot"] <= hi
    assert out["alpha_liq"] < out["alpha_lower_boot"] < out["alpha_target"]
    assert out["bootstrap"]["paths"] == 400_000 and out["bootstrap"]["steps"] == 3
    assert [u["cost_bps"] for u in out["upper"]] == [5.0, 10.0, 20.0, 30.0]


def test_simulate_upper_contract_and_exactness() -> None:
    out = invoke_json(["simulate", "upper", "--alpha-target", "0.15", "--alpha-upper", "0.4", "--sigma", "0.7",
                       "--horizon-days", "30", "--step-hours", "4", "--paths", "50000", "--seed", "3"])
    for key in ("hit_rate", "hit_rate_se", "median_hit_days", "paths", "steps", "backend", "seconds",
                "path_steps_per_s"):
        assert key in out
    assert out["paths"] == 50_000 and out["steps"] == 180 and out["backend"] == "numba"
    assert abs(out["hit_rate"] - out["exact_hit_rate"]) < 4 * out["hit_rate_se"]
    assert 0 < out["median_hit_days"] < 30


def test_simulate_upper_numpy_discrete_and_funding() -> None:
    base = ["simulate", "upper", "--alpha-target", "0.15", "--alpha-upper", "0.4", "--sigma", "0.7",
            "--horizon-days", "10", "--step-hours", "24", "--paths", "20000"]
    d = invoke_json([*base, "--backend", "numpy", "--monitoring", "discrete"])
    assert d["hit_rate"] < d["exact_hit_rate"] - 4 * d["hit_rate_se"]  # discrete misses crossings
    f = invoke_json([*base, "--funding-bps-per-day", "50"])
    assert "exact_hit_rate" not in f and f["funding_bps_per_day"] == 50


def test_upper_grid_json_rows() -> None:
    out = invoke_json(["simulate", "upper-grid", "--venues", "hyperliquid", "--assets", "BTC,LINK",
                       "--paths", "4000", "--horizon-days", "30", "--step-hours", "6"])
    rows = out["rows"]
    assert len(rows) == 8 and {r["asset"] for r in rows} == {"BTC", "LINK"}
    for asset in ("BTC", "LINK"):
        rr = [r for r in rows if r["asset"] == asset]
        assert [r["cost_bps"] for r in rr] == [5.0, 10.0, 20.0, 30.0]
        rates = [r["hit_rate"] for r in rr]
        assert all(a >= b - 1e-12 for a, b in itertools.pairwise(rates))  # CRN: higher alpha_U, fewer
        for r in rr:
            assert r["alpha_upper"] == pytest.approx(min(r["alpha_target"] + r["cost_bps"] / r["kappa14_bps"], 0.99))


def test_upper_grid_bootstrap_model_close_to_gbm() -> None:
    args = ["simulate", "upper-grid", "--venues", "hyperliquid", "--assets", "LINK", "--cost-bps", "5",
            "--paths", "20000", "--horizon-days", "30"]
    g = invoke_json(args)["rows"][0]
    b = invoke_json([*args, "--model", "bootstrap"])
    assert b["model"] == "bootstrap"
    # price-driftless resampled hourly returns vs GBM with the same sigma: close at a 30-day scale
    assert abs(b["rows"][0]["hit_rate"] - g["hit_rate"]) < 0.05


def test_lower_grid_json_rows() -> None:
    out = invoke_json(["simulate", "lower-grid", "--venues", "binance", "--assets", "BTC", "--mc-paths", "100000",
                       "--boot-rel-halfwidth", "0.3"])
    (r,) = out["rows"]
    assert r["alpha_liq"] < r["alpha_lower"] < r["alpha_target"]
    assert abs(r["mc_liq_rate"] - 1e-4) < 4 * r["mc_liq_rate_se"]  # the closed form's own budget
    assert r["alpha_lower_boot_ci"][0] <= r["alpha_lower_boot"] <= r["alpha_lower_boot_ci"][1]


def test_human_tables_render() -> None:
    res = runner.invoke(app, ["bands", "--venue", "binance", "--asset", "BTC", "--sigma", "0.5",
                              "--kappa14-bps", "15"])
    assert res.exit_code == 0 and "alpha_target=" in res.stdout
    res = runner.invoke(app, ["simulate", "upper-grid", "--venues", "binance", "--assets", "BTC",
                              "--paths", "1000", "--horizon-days", "5", "--step-hours", "24"])
    assert res.exit_code == 0 and "binance" in res.stdout


@pytest.mark.parametrize("args", [
    ["bands", "--venue", "deribit", "--asset", "BTC", "--sigma", "0.5", "--kappa14-bps", "10"],
    ["bands", "--venue", "binance", "--asset", "BTC", "--sigma", "-0.5", "--kappa14-bps", "10"],
    ["bands", "--venue", "binance", "--asset", "BTC", "--sigma", "0.5", "--kappa14-bps", "10", "--cost-bps", "x"],
    ["bands", "--venue", "binance", "--asset", "BTC", "--kappa14-bps", "10", "--asof", "2019-01-01"],
    ["simulate", "upper", "--alpha-target", "0.15", "--alpha-upper", "0.4", "--sigma", "0.7", "--backend", "gpu"],
    ["simulate", "upper", "--alpha-target", "0.15", "--alpha-upper", "0.4", "--sigma", "0.7",
     "--horizon-days", "1", "--step-hours", "5"],
])
def test_errors_are_one_line_with_exit_code_2(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "args",
    [["--alpha-target", "0.5", "--alpha-upper", "0.3"], ["--alpha-target", "0.2", "--alpha-upper", "1.2"],
     ["--alpha-target", "0.2", "--alpha-upper", "0.4", "--alpha-lower", "0.25"]],
)
def test_simulate_upper_rejects_an_inverted_band(args):
    r = runner.invoke(app, ["simulate", "upper", "--sigma", "0.5", "--paths", "1000", *args])
    assert r.exit_code == 2
    assert "need 0 <" in r.output


def test_bands_from_user_files_match_the_shipped_answer(tmp_path):
    """Copies of the shipped series given as files reproduce the shipped bands, bootstrap included."""
    import json

    from basisctl.data import locator
    from basisctl.data.io import write_frame

    prices, funding = tmp_path / "eth_1h.parquet", tmp_path / "eth_funding.csv"
    write_frame(locator.load_candles("binance_perp", "ETH", "1h"), prices)
    write_frame(locator.load_funding("hyperliquid", "ETH"), funding)
    base = ["bands", "--venue", "hyperliquid", "--asset", "ETH", "--asof", "2026-03-10", "--bootstrap",
            "--boot-paths", "200000", "--json"]
    ref = json.loads(runner.invoke(app, base).stdout)
    r = runner.invoke(app, [*base, "--prices-file", str(prices), "--funding-file", str(funding)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    for k in ("alpha_target", "alpha_lower", "kappa14_bps", "alpha_lower_boot"):
        assert out[k] == ref[k], k
    assert out["upper"] == ref["upper"]
    assert "prices file" in out["sigma_source"] and "funding file" in out["kappa14_source"]
