"""Issue 20 item 3, the newcomer's list: each defect a new user met, pinned by a test."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app

runner = CliRunner()


def _one_error_line(r) -> str:  # type: ignore[no-untyped-def]
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


# b. negative costs are refused
@pytest.mark.parametrize("args, flag", [
    (["bands", "--venue", "hyperliquid", "--asset", "BTC", "--cost-bps", "-5"], "--cost-bps"),
    (["bands", "--venue", "hyperliquid", "--asset", "BTC", "--cost-bps", "10,-1"], "--cost-bps"),
    (["costs", "capacity", "--asset", "ETH", "--budget-buy-bps", "-1"], "--budget-buy-bps"),
    (["costs", "capacity", "--asset", "ETH", "--budget-sell-bps", "-0.5"], "--budget-sell-bps"),
])
def test_b_negative_costs_are_refused(args: list[str], flag: str) -> None:
    line = _one_error_line(runner.invoke(app, args, env={"COLUMNS": "300"}))
    assert flag in line and ">= 0" in line


# c. options validated by the CLI framework: one line, not a usage block
@pytest.mark.parametrize("args, flag", [
    (["run", "--max-cycles", "0"], "--max-cycles"),
    (["run", "--pace", "-1"], "--pace"),
    (["chaos", "--kills", "0"], "--kills"),
    (["costs", "quote", "--asset", "ETH", "--side", "sideways", "--notional-usd", "1000"], "--side"),
    (["static", "--no-such-option"], "--no-such-option"),
])
def test_c_framework_validation_is_one_line(args: list[str], flag: str) -> None:
    line = _one_error_line(runner.invoke(app, args, env={"COLUMNS": "300"}))
    assert flag in line and "Usage:" not in line and "--help" in line


def test_c_a_group_without_a_command_still_prints_its_help() -> None:
    r = runner.invoke(app, ["costs"])
    assert "quote" in r.output and "capacity" in r.output
