"""`basisctl run` (the shipped paper example), `basisctl chaos`, and the trade log feeding `exec-report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app

from .test_chaos import KEYS as CHAOS_KEYS

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

runner = CliRunner()


#: the example's one lower breach: under the default fhs it comes from the daily recalibration at 2025-04-10 00:00
#: (cycle 25: the new floor is above alpha_t, FLOOR_ABOVE_ALPHA); under the paper's gbm it came in the first 24 h
EXAMPLE_CYCLES = "30"


def test_run_shipped_example_json(tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", "--max-cycles", EXAMPLE_CYCLES, "--state-dir", str(tmp_path / "p"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{") :])
    assert out["mode"] == "paper" and out["asset"] == "BTC" and out["cycles"] == int(EXAMPLE_CYCLES)
    b = out["band"]
    assert b["source"] == "recalibrated" and b["alpha_lower"] < b["alpha_target"] < b["alpha_upper"]
    assert b["risk_model"] == "fhs" and out["alert_counts"].get("FLOOR_ABOVE_ALPHA", 0) >= 1
    assert len(out["trades"]) == 1 and out["trades"][0]["side"] == "sell-basis"
    assert out["state"]["unhedged_usd"] <= 50.0
    assert (tmp_path / "p" / "journal.sqlite").exists() and (tmp_path / "p" / "trades.csv").exists()


def test_trade_log_feeds_exec_report(tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", "--max-cycles", EXAMPLE_CYCLES, "--state-dir", str(tmp_path), "--quiet"])
    assert r.exit_code == 0, r.output
    rep = runner.invoke(
        app, ["exec-report", "--trades", str(tmp_path / "trades.csv"), "--q-min-usd", "10000", "--json"]
    )
    assert rep.exit_code == 0, rep.output
    out = json.loads(rep.output[rep.output.index("{") :])
    assert out["raw"]["sell-basis"]["trades"] == 1


def test_run_refuses_live_without_live_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('mode = "paper"\n[venue]\nkind = "sim"\n')
    r = runner.invoke(app, ["run", "--config", str(cfg), "--live", "--max-cycles", "1"])
    assert r.exit_code == 2 and "--live needs a config with mode = 'live'" in r.output


def test_run_bad_config_is_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[limits]\nmax_unhedged_seconds = 0\n")
    r = runner.invoke(app, ["run", "--config", str(cfg)])
    assert r.exit_code == 2 and "limits.max_unhedged_seconds" in r.output


def test_chaos_cli_json(tmp_path: Path) -> None:
    r = runner.invoke(
        app, ["chaos", "--kills", "2", "--seed", "4", "--transport", "file", "--workdir", str(tmp_path), "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(CHAOS_KEYS) <= set(out), set(CHAOS_KEYS) - set(out)  # the keys scripts rely on, as run_chaos's
    assert out["kills"] == 2 and out["duplicate_orders"] == 0 and out["ok"]
