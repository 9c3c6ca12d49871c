"""``basisctl bands --optimal --json`` adds the solved band per cost."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from basisctl.cli.main import app

runner = CliRunner()
ARGS = ["bands", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5", "--kappa14-bps", "40", "--l-max",
        "40", "--optimal", "--json"]


def test_bands_optimal_json_keys_and_structure() -> None:
    res = runner.invoke(app, [*ARGS, "--cost-bps", "0,20", "--fixed-usd", "0", "--capital-usd", "1000000"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    free, dear = out["optimal"]
    for o in (free, dear):
        assert {"alpha_lower", "reset_lower", "alpha_upper", "reset_upper", "net_carry_apy"} <= set(o)
        assert o["alpha_lower"] <= o["reset_lower"] <= o["alpha_upper"]
        assert o["alpha_lower"] <= o["reset_upper"] <= o["alpha_upper"]
    # zero cost: the band collapses onto the floor alpha_L; 20 bps: narrower than the paper's eq. 45 band
    assert free["alpha_upper"] - out["alpha_lower"] < 0.01
    assert dear["alpha_upper"] < out["upper"][1]["alpha_upper"]
    # kappa 40 bps per 14 days is 10.43%/yr on the perp notional; free trading holds alpha at the floor
    assert abs(free["net_carry_apy"] - (1 - out["alpha_lower"]) * 0.004 * 365 / 14) < 0.003 * 0.1


def test_bands_optimal_bad_capital_is_one_line_exit_2() -> None:
    res = runner.invoke(app, [*ARGS, "--capital-usd", "0"])
    assert res.exit_code == 2
    assert "--capital-usd" in res.output  # the flag typed, not the parameter (review F8)
