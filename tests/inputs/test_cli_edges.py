"""Issue 10 item 4: the CLI defects a new user hit in the first ten minutes, one test each."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app

runner = CliRunner()
BASISCTL = [sys.executable, "-c", "from basisctl.cli.main import app; app()"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BASISCTL, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


# 1. Rich markup: user text and help are printed literally ------------------------------------------------------
@pytest.mark.parametrize("name", ["funding[old].csv", "x[/y].csv", "a[bold]b.csv"])
def test_paths_with_brackets_are_printed_literally(tmp_path: Path, name: str) -> None:
    r = runner.invoke(app, ["data", "check", str(tmp_path / name)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert f"{tmp_path / name}: no such file" in r.stderr


def test_existing_bracket_file_is_reported_under_its_own_name(tmp_path: Path) -> None:
    p = tmp_path / "funding[old].csv"
    p.write_text("timestamp,rate,interval_hours\n2025-01-01T00:00:00Z,abc,8\n")
    r = runner.invoke(app, ["data", "check", str(p)])
    assert r.exit_code == 1 and str(p) in r.stdout and "'abc'" in r.stdout


def test_extras_in_brackets_survive_in_errors() -> None:
    import typer

    from basisctl.cli._common import handle_errors
    from basisctl.errors import BasisctlError

    mini = typer.Typer()

    @mini.command()
    @handle_errors
    def go() -> None:
        raise BasisctlError("the jax backend needs the optional extra: pip install 'basisctl[gpu]'")

    r = runner.invoke(mini, [])
    assert r.exit_code == 2 and "pip install 'basisctl[gpu]'" in r.stderr


def test_help_keeps_units_in_brackets_and_has_no_bool_metavars() -> None:
    for cmd in (["static"], ["bands"], ["backtest"], ["sweep"], ["report"], ["data", "check"], ["costs", "quote"],
                ["run"], ["simulate", "upper"]):
        r = runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0, cmd
        assert "<bool>" not in r.stdout, cmd
    assert "[days]" in runner.invoke(app, ["static", "--help"]).stdout
    bands = runner.invoke(app, ["bands", "--help"], env={"COLUMNS": "200"}).stdout
    assert "[days]" in bands and "[h]" in bands
    assert "--spot-impact-bps-at-1m" in runner.invoke(app, ["costs", "quote", "--help"]).stdout


# 2. malformed dates: one line, exit 2 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["static", "--venue", "binance", "--asset", "BTC", "--asof", "2025-13-45"],
        ["bands", "--venue", "binance", "--asset", "BTC", "--asof", "2025-13-45"],
        ["funding-stats", "--venue", "binance", "--asset", "BTC", "--asof", "2025-13-45"],
        ["static-grid", "--asof", "2025-13-45"],
        ["backtest", "--asset", "BTC", "--from", "2025-13-45"],
        ["backtest", "--asset", "BTC", "--calib-to", "yesterday-ish"],
        ["sweep", "--asset", "BTC", "--to", "2025-02-30"],
        ["data", "fetch", "--venue", "binance", "--asset", "BTC", "--from", "2025-13-45"],
        ["simulate", "upper-grid", "--asof", "2025-13-45"],
    ],
)
def test_malformed_date_is_one_line_exit_2(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --") and "cannot read date" in lines[0]


# 3. and 7. run --json stdout is pure JSON; --live without a config refuses before any banner ---------------------
@pytest.mark.needs_data
def test_run_json_stdout_is_pure_json(tmp_path: Path) -> None:
    r = cli("run", "--json", "--max-cycles", "2", "--state-dir", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cycles"] == 2 and "paper example" in r.stderr


def test_run_live_without_config_refuses_first() -> None:
    r = runner.invoke(app, ["run", "--live"])
    assert r.exit_code == 2 and r.stdout == "" and "--live needs --config" in r.stderr


# 4. report --out FILE ------------------------------------------------------------------------------------------
def test_report_out_existing_file_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "report.html"
    f.write_text("x")
    r = runner.invoke(app, ["report", "--out", str(f), "--quick"])
    assert r.exit_code == 2 and "is an existing file" in r.stderr and "Traceback" not in r.output


# 5. sweep table: numbers never shortened, COLUMNS honoured, --csv ----------------------------------------------
@pytest.mark.needs_data
def test_sweep_numbers_are_never_shortened_and_csv_is_full() -> None:
    base = ["sweep", "--asset", "BTC", "--executor", "serial", "--alpha-mult", "0.8,1", "--from", "2025-03-10",
            "--to", "2025-04-10"]
    c = cli(*base, "--csv")
    assert c.returncode == 0, c.stderr
    rows = list(csv.DictReader(io.StringIO(c.stdout)))
    assert len(rows) == 2
    apy = [float(r["apy"]) for r in rows]
    for width in ("80", "200"):
        t = cli(*base, env={"COLUMNS": width})
        assert t.returncode == 0, t.stderr
        assert "…" not in t.stdout
        for v in apy:
            assert f"{v:.6g}" in t.stdout  # every apy printed in full (6 significant digits)
    wide = cli(*base, env={"COLUMNS": "250"}).stdout
    assert max(len(x) for x in wide.splitlines()) > 140  # COLUMNS wider than the old fixed 140 is used


# 6. messages name the flag the user typed ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "value", "expect"),
    [("--sigma", "-0.5", "--sigma must be > 0 [annualised] (got -0.5)"),
     ("--stress", "0", "--stress must be > 0 [x] (got 0)"),
     ("--lookback-days", "-5", "--lookback-days must be > 0 [days] (got -5)")],
)
@pytest.mark.parametrize("cmd", ["static", "bands"])
def test_messages_name_the_flag_and_the_value_typed(cmd: str, flag: str, value: str, expect: str) -> None:
    r = runner.invoke(app, [cmd, "--venue", "hyperliquid", "--asset", "BTC", flag, value])
    assert r.exit_code == 2 and expect in r.stderr and "-0.75" not in r.stderr
@pytest.mark.needs_data
def test_kappa_error_names_the_cli_flag() -> None:
    from basisctl.backtest.rule import calibrate_rule
    from basisctl.data import locator
    from basisctl.errors import DataCoverageError

    candles = locator.load_candles("binance_perp", "BTC", "4h")
    tiny = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 08:00"], utc=True), "rate": [1e-4],
                         "interval_hours": [8.0]})
    with pytest.raises(DataCoverageError, match="pass --kappa-bps"):
        calibrate_rule("XRP", "2023-06-01", "2024-06-01", 30.0, candles=candles, candles_bar_hours=4.0,
                       funding=tiny)


# 8. run --serve keeps serving until Ctrl-C ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
@pytest.mark.needs_data
def test_run_serve_keeps_serving_until_interrupted(tmp_path: Path) -> None:
    port = _free_port()
    p = subprocess.Popen([*BASISCTL, "run", "--serve", "--port", str(port), "--max-cycles", "2", "--quiet",
                          "--state-dir", str(tmp_path / "p")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    try:
        assert p.stdout is not None
        deadline = time.time() + 120
        seen = ""
        while "until Ctrl-C" not in seen and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            seen += line
        assert "until Ctrl-C" in seen, seen
        time.sleep(1.0)
        assert p.poll() is None  # the run is over but the process still serves
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as resp:
            assert resp.status == 200
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# 9. exit codes: one scheme -------------------------------------------------------------------------------------
def test_data_check_unreadable_file_exits_2_and_invalid_file_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    r = runner.invoke(app, ["data", "check", str(bad)])
    assert r.exit_code == 2 and "readable Parquet" in r.stderr
    r = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert r.exit_code == 2
    inv = tmp_path / "f.csv"
    inv.write_text("timestamp,rate,interval_hours\n2025-01-01T00:00:00Z,abc,8\n")
    assert runner.invoke(app, ["data", "check", str(inv)]).exit_code == 1


# 11. report cosmetics ------------------------------------------------------------------------------------------
def test_report_tables_print_counts_as_ints_and_no_negative_zero() -> None:
    from basisctl.report.builder import PCT, _table

    df = pd.DataFrame({"n_windows": [268.0, float("nan")], "apy": [-0.00001, 0.0512]})
    html = _table(df, "c", "cmd", {"apy": PCT})
    assert "<td>268</td>" in html and "268.0" not in html
    assert "-0.00%" not in html and "<td>0.00%</td>" in html and "<td>5.12%</td>" in html
