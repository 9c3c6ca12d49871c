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


# d. a date outside the data names the data's span
def test_d_window_outside_the_data_names_its_span() -> None:
    import numpy as np
    import pandas as pd

    from basisctl.calibration.volatility import realised_vol
    from basisctl.errors import DataCoverageError

    ts = pd.date_range("2024-01-01", periods=24 * 30, freq="4h", tz="UTC")
    candles = pd.DataFrame({"ts": ts, "close": np.exp(np.linspace(0, 0.1, len(ts)))})
    with pytest.raises(DataCoverageError, match=r"the 4h price data spans 2024-01-01 to 2024-04-29"):
        realised_vol(candles, pd.Timestamp("2010-01-01", tz="UTC"), lookback_days=180, interval_hours=4)


# e. a JSON or binary file passed as funding says what it is
@pytest.mark.parametrize("content, what", [
    (b'{"fundingRate": [1, 2]}', "a JSON document"),
    (b"  [1, 2]", "a JSON document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
    (b"PAR1\x00\x00", "a Parquet file"),
    (b"PK\x03\x04rest", "a ZIP archive"),
    (bytes(range(128, 256)) * 3, "binary data"),
])
def test_e_non_csv_funding_file_says_what_it_is(tmp_path, content: bytes, what: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "funding.csv"
    f.write_bytes(content)
    r = runner.invoke(app, ["static", "--venue", "hyperliquid", "--asset", "BTC", "--sigma", "0.5",
                            "--funding-file", str(f)], env={"COLUMNS": "300"})
    line = _one_error_line(r)
    assert str(f) in line and what in line


# f. an error is the last line: no queued warning after it
def test_f_no_warning_after_the_error() -> None:
    r = runner.invoke(app, ["backtest", "--asset", "DOGEE"], env={"COLUMNS": "300"})
    line = _one_error_line(r)
    assert "DOGEE" in line and "warning" not in r.output


# o. chaos prints a table, not a Python dict; run says "1 rebalance"
def test_o_chaos_result_is_a_table() -> None:
    from rich.console import Console

    from basisctl.cli.live_cmds import chaos_table

    con = Console(width=120, record=True)
    con.print(chaos_table({"ok": True, "failures": [], "faults": {"acks": 0, "restart_delays": 2}, "wall_s": 1.5}))
    text = con.export_text()
    assert "{" not in text and "[]" not in text
    assert "faults: restart_delays" in text and "none" in text and "yes" in text


@pytest.mark.needs_data
def test_o_run_says_one_rebalance(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 30 cycles: the example's one rebalance follows its 2025-04-10 00:00 recalibration (tests/live/test_cli.py)
    r = runner.invoke(app, ["run", "--max-cycles", "30", "--state-dir", str(tmp_path / "p")],
                      env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "30 cycles" in r.output and "1 rebalance," in r.output and "1 rebalances" not in r.output


# h. pi-liq uses the same default as-of as the other commands
@pytest.mark.needs_data
def test_h_pi_liq_default_asof_is_the_common_one() -> None:
    import json

    import pandas as pd

    from basisctl.calibration.asof import data_asof

    asof = data_asof([], ["BTC"], funding=False)  # issue 20 p: the data's last complete day, as everywhere
    base = ["pi-liq", "--model", "gbm", "--alpha", "0.1", "--horizon-hours", "24", "--venue", "hyperliquid",
            "--asset", "BTC", "--json"]
    d = runner.invoke(app, base)
    e = runner.invoke(app, [*base, "--asof", f"{asof:%Y-%m-%d}"])
    assert d.exit_code == 0 and e.exit_code == 0, d.output + e.output
    assert json.loads(d.stdout) == json.loads(e.stdout)
    last = asof - pd.Timedelta(days=1)  # the window ends at the as-of (its last bar on the last complete day)
    assert f"{last:%Y-%m-%d}" in json.loads(d.stdout)["calibration"]


# k. simulate upper-grid blanks hit-time statistics with fewer than 30 hits, as the report does
def test_k_upper_grid_blanks_thin_hit_statistics() -> None:
    from basisctl.cli._defaults import MIN_HITS_FOR_STATS
    from basisctl.cli.bands_cmds import hit_time_cells
    from basisctl.report.mc_section import MIN_HITS_FOR_MEDIAN

    assert MIN_HITS_FOR_STATS == 30 and MIN_HITS_FOR_MEDIAN == MIN_HITS_FOR_STATS
    row = {"median_hit_days": 12.34, "hit_days_q90": 40.0}
    assert hit_time_cells({**row, "hit_rate": 29 / 1000}, 1000) == ("-", "-")
    assert hit_time_cells({**row, "hit_rate": 30 / 1000}, 1000) == ("12.3", "40.0")
    assert hit_time_cells({**row, "hit_rate": 0.0}, 20_000) == ("-", "-")


# i. help lists exactly the venues each option accepts (the venue registry)
VENUE_OPTIONS = [(["funding-stats"], "--venue"), (["backtest"], "--funding-venue"), (["sweep"], "--funding-venue"),
                 (["pi-liq"], "--venue"), (["risk-backtest"], "--venue"), (["static"], "--venue")]


def _help_venues(cmd: list[str], flag: str) -> set[str]:
    import re

    import typer

    from basisctl.venues.registry import venue_names

    command = typer.main.get_command(app)
    for name in cmd:
        command = command.commands[name]  # type: ignore[attr-defined]
    text = next(p.help for p in command.params if flag in getattr(p, "opts", ()))
    return {v for v in venue_names() if re.search(rf"\b{v}\b", text or "")}


def test_i_venue_literal_mirrors_the_registry() -> None:
    from basisctl.cli._defaults import VENUE_NAMES
    from basisctl.venues.registry import venue_names

    assert set(VENUE_NAMES) == set(venue_names())


@pytest.mark.parametrize("cmd, flag", VENUE_OPTIONS)
def test_i_help_lists_exactly_the_accepted_venues(cmd: list[str], flag: str) -> None:
    from basisctl.venues.registry import venue_names

    assert _help_venues(cmd, flag) == set(venue_names())
    r = runner.invoke(app, [*cmd, flag, "nosuchvenue", "--asset", "BTC"], env={"COLUMNS": "300"})
    assert r.exit_code == 2 and "nosuchvenue" in r.output and all(v in r.output for v in venue_names())


# j. funding-stats and backtest --funding-venue accept every venue that has data
@pytest.mark.needs_data
@pytest.mark.parametrize("venue", ["okx", "dydx", "kraken"])
def test_j_every_venue_with_data_is_accepted(tmp_path, venue: str) -> None:  # type: ignore[no-untyped-def]
    from basisctl.data import locator
    from tests.datadir import data_dir, require

    shared = require(data_dir())
    (tmp_path / "funding" / venue).mkdir(parents=True)
    (tmp_path / "funding" / venue / "BTC.csv").symlink_to(shared / "funding" / "hyperliquid" / "BTC.csv")
    (tmp_path / "prices").symlink_to(shared / "prices")
    try:
        r = runner.invoke(app, ["--data-dir", str(tmp_path), "funding-stats", "--venue", venue, "--asset", "BTC",
                                "--asof", "2026-03-10", "--json"])
        assert r.exit_code == 0, r.output
        b = runner.invoke(app, ["--data-dir", str(tmp_path), "backtest", "--asset", "BTC", "--funding-venue", venue,
                                "--from", "2025-09-01", "--to", "2025-10-01", "--json"])
        assert b.exit_code == 0, b.output
        assert venue in b.output
        h = runner.invoke(app, ["--data-dir", str(tmp_path), "backtest", "--asset", "BTC", "--funding-venue", venue,
                                "--from", "2025-09-01", "--to", "2025-10-01", "--json"])
        assert h.stdout == b.stdout  # deterministic
    finally:
        locator.set_data_dir(None)


# d. (audit) every date outside the data names the data's span, command by command
@pytest.mark.needs_data
@pytest.mark.parametrize("args, span", [
    (["funding-stats", "--venue", "binance", "--asset", "BTC", "--asof", "2010-01-01"],
     r"the funding data spans 20\d\d-\d\d-\d\d to 20\d\d-\d\d-\d\d"),
    (["static", "--venue", "binance", "--asset", "BTC", "--asof", "2010-01-01"],
     r"price data spans 20\d\d-\d\d-\d\d to 20\d\d-\d\d-\d\d"),
    (["backtest", "--asset", "BTC", "--from", "2010-01-01", "--to", "2010-03-01"],
     r"price data spans 20\d\d-\d\d-\d\d to 20\d\d-\d\d-\d\d"),
    (["risk-backtest", "--asset", "BTC", "--from", "2030-01-01", "--to", "2030-03-01"],
     r"in 2030-01-01 \.\. 2030-03-01 .*the data has \d+ bars of 1h, 20\d\d-\d\d-\d\dT\d\d:\d\d -> 20\d\d"),
])
def test_d_dates_outside_the_data_name_its_span(args: list[str], span: str) -> None:
    import re

    line = _one_error_line(runner.invoke(app, args, env={"COLUMNS": "300"}))
    assert re.search(span, line), line


# i. (audit) every venue-like option of every command: its help names exactly the venues the code accepts
def _accepted_venues() -> dict[tuple[str, str], set[str]]:
    from basisctl.cli.forecast_cmds import FUNDING_VENUES as FORECAST
    from basisctl.model.margin import ALL_VENUES
    from basisctl.venues.pull import OTHER_FUNDING_VENUES
    from basisctl.venues.registry import venue_names

    reg = set(venue_names())
    return {
        ("static", "--venue"): set(ALL_VENUES), ("static-grid", "--venues"): set(ALL_VENUES),
        ("funding-stats", "--venue"): reg, ("bands", "--venue"): set(ALL_VENUES),
        ("backtest", "--prices-venue"): {"binance"}, ("backtest", "--funding-venue"): reg,
        ("backtest", "--venue"): set(ALL_VENUES), ("backtest", "--kappa-venue"): set(ALL_VENUES),
        ("sweep", "--funding-venue"): reg, ("allocate", "--venues"): reg, ("pi-liq", "--venue"): set(ALL_VENUES),
        ("risk-backtest", "--venue"): set(ALL_VENUES),
        ("data fetch", "--venue"): {"binance", "hyperliquid", *OTHER_FUNDING_VENUES},
        ("simulate upper-grid", "--venues"): set(ALL_VENUES), ("simulate lower-grid", "--venues"): set(ALL_VENUES),
        ("costs quote", "--venue"): {"hyperliquid", "lighter"},  # the depth snapshot's venues
        ("costs capacity", "--venue"): {"hyperliquid", "lighter"},  # lighter only with explicit band alphas
        ("backtest-regime", "--prices-venue"): {"binance"},
        ("backtest-regime", "--funding-venue"): reg,  # build_backtest's funding venues
        ("forecast-funding", "--venue"): set(FORECAST),
    }


NOT_VENUE_LISTS = {("allocate", "--max-venue-share"), ("backtest-portfolio", "--max-venue-share"),
                   ("compare-rules", "--venues")}  # caps; compare-rules: the experiment's venues (issue 18's area)


def _venue_options() -> list[tuple[str, str, str]]:
    import typer

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for n, c in subs.items():
                yield from walk(c, [*path, n])
        else:
            yield " ".join(path), cmd

    return [(path, o, p.help or "") for path, cmd in walk(typer.main.get_command(app), [])
            for p in cmd.params for o in getattr(p, "opts", ()) if "venue" in o]


def test_i_every_venue_option_help_names_exactly_what_it_accepts() -> None:
    import re

    from basisctl.venues.registry import venue_names

    accepted = _accepted_venues()
    words = set(venue_names()) | {"lighter"}
    seen = set()
    for path, opt, text in _venue_options():
        if (path, opt) in NOT_VENUE_LISTS:
            continue
        assert (path, opt) in accepted, f"new venue option {path} {opt}: add what it accepts to this audit"
        named = {v for v in words if re.search(rf"\b{v}\b", text)}
        assert named == accepted[(path, opt)], (path, opt, text)
        seen.add((path, opt))
    assert seen == set(accepted)


@pytest.mark.parametrize("args", [["static-grid", "--venues", "nosuchvenue"],
                                  ["allocate", "--venues", "nosuchvenue", "--capital-usd", "1e6"],
                                  ["backtest", "--asset", "BTC", "--kappa-venue", "nosuchvenue"]])
def test_i_list_options_refuse_an_unknown_venue_naming_the_accepted(args: list[str]) -> None:
    from basisctl.venues.registry import venue_names

    line = _one_error_line(runner.invoke(app, args, env={"COLUMNS": "300"}))
    assert "nosuchvenue" in line and all(v in line for v in venue_names()), line
