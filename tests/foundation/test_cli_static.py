"""The static CLI contract: keys other tools script against, grid shape, file outputs and exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app
from basisctl.model.static import pi_liq, solve_alpha_risk

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

runner = CliRunner()
STATIC_KEYS = {"venue", "asset", "sigma_annual", "stress", "sigma_stressed", "horizon_days", "theta_f", "l_max",
               "epsilon", "lgd", "kappa_bps", "alpha_risk", "alpha_econ", "leverage_risk", "pi_liq_at_alpha_risk"}


def test_static_json_with_user_inputs_matches_the_model():
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5", "--stress",
                            "1.5", "--kappa-bps", "2", "--model", "gbm", "--json"])  # the paper's closed form
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out.keys() >= STATIC_KEYS
    assert out["theta_f"] == pytest.approx(0.0125)
    assert out["sigma_stressed"] == pytest.approx(0.75)
    assert out["alpha_risk"] == pytest.approx(float(solve_alpha_risk(0.75, 0.0125, 1 / 365, 1e-3)), abs=1e-9)
    assert out["pi_liq_at_alpha_risk"] == pytest.approx(float(pi_liq(out["alpha_risk"], 0.75, 0.0125, 1 / 365)))
    assert out["leverage_risk"] == pytest.approx((1 - out["alpha_risk"]) / out["alpha_risk"])


def test_static_overrides_theta_via_l_max_and_theta_f():
    # --model gbm: the default (fhs) calibrates on bars, and the data dir has no SOL bars
    r = runner.invoke(app, ["static", "--venue", "binance", "--asset", "SOL", "--sigma", "0.8", "--kappa-bps", "1",
                            "--l-max", "20", "--model", "gbm", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["theta_f"] == pytest.approx(0.05)
    r = runner.invoke(app, ["static", "--venue", "binance", "--asset", "SOL", "--sigma", "0.8", "--kappa-bps", "1",
                            "--theta-f", "0.03", "--model", "gbm", "--json"])
    assert json.loads(r.stdout)["theta_f"] == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--venue", "deribit", "--asset", "BTC"], "unknown venue"),
        (["--venue", "binance", "--asset", "BTC", "--epsilon", "1.5"], "epsilon"),
        (["--venue", "binance", "--asset", "BTC", "--sigma", "-0.2"], "sigma"),
        (["--venue", "binance", "--asset", "SOL", "--sigma", "0.5", "--kappa-bps", "1"], "--l-max"),
        (["--venue", "binance", "--asset", "BTC", "--asof", "2019-01-01"], "window"),
    ],
)
def test_static_bad_input_is_one_line_and_nonzero(args, needle):
    r = runner.invoke(app, ["static", *args])
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output


def test_static_grid_json_has_every_cell(tmp_path):
    r = runner.invoke(app, ["static-grid", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 2 * 4 * 4 * 3
    assert STATIC_KEYS | {"lookback_days"} <= rows[0].keys()
    # alpha_risk rises with stress within each venue/asset/lookback
    df = pd.DataFrame(rows)
    for _, g in df.groupby(["venue", "asset", "lookback_days"]):
        assert g.sort_values("stress")["alpha_risk"].is_monotonic_increasing
    csv = tmp_path / "grid.csv"
    r = runner.invoke(app, ["static-grid", "--assets", "BTC", "--csv", str(csv)])
    assert r.exit_code == 0
    assert len(pd.read_csv(csv)) == 2 * 4 * 3


def test_funding_stats_json():
    r = runner.invoke(app, ["funding-stats", "--venue", "binance", "--asset", "BTC", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [w["window_days"] for w in out["windows"]] == [90, 180, 360]
    assert {"mean", "median", "std", "q05", "q95", "share_positive"} <= out["windows"][0].keys()


def test_version_flag():
    import basisctl

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.stdout.strip() == f"basisctl {basisctl.__version__}"


def test_static_from_user_files_matches_the_shipped_answer(tmp_path):
    """Copies of the shipped series given as files reproduce the shipped calibration exactly."""
    from basisctl.data import locator
    from basisctl.data.io import write_frame

    prices, funding = tmp_path / "btc_1h.csv", tmp_path / "btc_funding.parquet"
    write_frame(locator.load_candles("binance_perp", "BTC", "1h"), prices)
    write_frame(locator.load_funding("hyperliquid", "BTC"), funding)
    base = ["static", "--venue", "hyperliquid", "--asset", "BTC", "--json"]
    ref = json.loads(runner.invoke(app, [*base, "--asof", "2026-03-10"]).stdout)
    files = ["--prices-file", str(prices), "--funding-file", str(funding)]
    r = runner.invoke(app, [*base, "--asof", "2026-03-10", *files])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["alpha_risk"] == ref["alpha_risk"] and out["kappa_bps"] == ref["kappa_bps"]
    assert str(prices) in out["sigma_source"] and str(funding) in out["kappa_source"]
    # without --asof the calibration ends where the files end (last bar close / last settlement)
    out = json.loads(runner.invoke(app, [*base, *files]).stdout)
    last_close = locator.load_candles("binance_perp", "BTC", "1h")["ts"].max() + pd.Timedelta(hours=1)
    assert pd.Timestamp(out["asof"]) == last_close


def test_static_with_a_corrupt_user_file_names_file_and_row(tmp_path):
    from basisctl.data import locator
    from basisctl.data.io import write_frame

    c = locator.load_candles("binance_perp", "ETH", "1h").tail(2000).reset_index(drop=True)
    c.loc[17, "high"] = c.loc[17, "low"] * 0.5  # high < low
    path = tmp_path / "eth.csv"
    write_frame(c, path)
    r = runner.invoke(app, ["static", "--venue", "binance", "--asset", "ETH", "--prices-file", str(path),
                            "--kappa-bps", "1"])
    assert r.exit_code == 2
    assert str(path) in r.output and "row 17" in r.output and "Traceback" not in r.output
