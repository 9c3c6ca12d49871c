"""Backtest commands: ``backtest``, ``sweep``, ``report``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from basisctl.cli._common import (
    SPIKES_HELP,
    STRICT_HELP,
    console,
    err_console,
    fail,
    fmt_number,
    handle_errors,
    parse_floats,
    print_json,
    print_table_or_records,
)
from basisctl.cli._defaults import DEFAULT_RISK_MODEL, RISK_MODEL_HELP, VENUE_NAMES
from basisctl.cli._defaults import SWEEP_EXECUTORS as EXECUTORS
from basisctl.errors import DataCoverageError

if TYPE_CHECKING:
    from basisctl.backtest.results import BacktestResult

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba

ALLOW_MISSING_HELP = ("Run even when more than 2% of the window's funding settlements are missing (they are not "
                      "paid; a warning says how many).")
LIQUIDATION_PRICES = ("barrier", "high", "close")  # basisctl.backtest.kernel.LIQ_MODES
LIQ_PRICE_HELP = ("Liquidation accounting: barrier (default: the venue's documented procedure, closed at the "
                  "barrier or the gap open, fee/backstop of --venue; docs/backtest.md) | high | close (the old "
                  "accounting: whole margin account forfeited at the bar high / close).")
REHEDGE_HELP = ("After a liquidation the spot leg is naked until the open this many bars later (1 = next bar's "
                "open, with costs; 0 = the liquidation bar's close). Reported as ret_unhedged.")
DEFAULT_FROM = "2025-03-10"
DEFAULT_TO = "2026-03-10"


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)


FUNDING_VENUES = VENUE_NAMES  # every registry venue; its funding must be in the data (basisctl data fetch)
FUNDING_VENUE_HELP = " | ".join(VENUE_NAMES) + " (any venue with funding data: `basisctl data list`)"
PRICES_VENUES = ("binance", "hyperliquid", "bybit")  # basisctl.backtest.data.PRICE_MARKETS


def check_venues(prices_venue: str | None, funding_venue: str | None) -> None:
    """A misspelt venue is named with the valid ones before any data is read."""
    if prices_venue is not None and prices_venue.lower() not in PRICES_VENUES:
        fail(f"unknown --prices-venue '{prices_venue}': expected one of {', '.join(PRICES_VENUES)}")
    if funding_venue is not None:
        from basisctl.venues.registry import venue_names

        if funding_venue.lower() not in venue_names():
            fail(f"unknown --funding-venue '{funding_venue}': expected one of {', '.join(venue_names())}")


def build_backtest(
    asset: str, prices_venue: str, funding_venue: str, prices_file: Path | None, funding_file: Path | None,
    spot_file: Path | None, date_from: str, date_to: str, calib_from: str | None, calib_to: str | None,
    cost_bps: float | None, q_min_usd: float, buffer_bps: float, capital_usd: float, delay_bars: int = 0,
    kappa_bps: float | None = None, bar: str = "auto", budget_bps: float = math.inf,
    l_max: float | None = None, theta_f: float | None = None, allow_missing_funding: bool = False,
    exclude_spikes: bool = False, margin_venue: str = "hyperliquid", risk_model: str = DEFAULT_RISK_MODEL,
    spot: str = "auto", kappa_venue: str = "binance", liquidation_price: str = "barrier", rehedge_delay_bars: int = 1,
) -> BacktestResult:
    """Everything ``basisctl backtest`` does before printing: freeze the rule, load the window, run."""
    check_venues(prices_venue if prices_file is None else None, funding_venue if funding_file is None else None)
    import pandas as pd

    from basisctl.backtest import BacktestConfig, CostModel, calibrate_rule, paper_cost_bps, prepare, run_backtest
    from basisctl.backtest.data import _bar_hours, utc
    from basisctl.backtest.rule import RuleSpec

    a = asset.upper()
    start = utc(date_from)
    c_to = utc(calib_to) if calib_to else start
    c_from = utc(calib_from) if calib_from else c_to - pd.DateOffset(years=2)
    if c_to > start:
        raise DataCoverageError(f"calibration window must end at or before the test start (no look-ahead): "
                                f"--calib-to {c_to:%Y-%m-%d} > --from {start:%Y-%m-%d}")
    cost = paper_cost_bps(a) if cost_bps is None else cost_bps
    candles = funding = None
    bar_h = None
    if prices_file is not None:
        from basisctl.data.io import read_candles

        candles = read_candles(prices_file, exclude_spikes=exclude_spikes)
        bar_h = _bar_hours(candles)
    if funding_file is not None:
        from basisctl.data.io import read_funding

        funding = read_funding(funding_file)
    from basisctl.calibration.gaps import mark_user_file

    for frame in (candles, funding):  # holes in the calibration window are warned about
        if frame is not None:
            mark_user_file(frame)
    from basisctl.model.margin import check_venue, venue_margin_tiers

    mv = check_venue(margin_venue)
    kv = check_venue(kappa_venue)
    rule = calibrate_rule(a, c_from, c_to, cost, RuleSpec(l_max=l_max, theta_f=theta_f, margin_venue=mv,
                                                          kappa_venue=kv),
                          candles=candles,
                          candles_bar_hours=bar_h, funding=funding,
                          kappa_bps_14d=kappa_bps)
    from basisctl.risk.rule import with_risk_model  # alpha_target / alpha_L under the chosen model (docs/risk.md)

    rule = with_risk_model(rule, risk_model, RuleSpec(l_max=l_max, theta_f=theta_f, margin_venue=mv,
                                                      kappa_venue=kv), candles)  # the file as read above
    data = prepare(a, start, utc(date_to), prices_venue, funding_venue, spot_file=spot_file, bar=bar,
                   prices=candles, funding=funding, spot=spot, allow_missing_funding=allow_missing_funding)
    if prices_file is not None or funding_file is not None:
        data = type(data)(**{**data.__dict__,
                             "prices_source": str(prices_file) if prices_file else data.prices_source,
                             "funding_source": str(funding_file) if funding_file else data.funding_source})
    costs = CostModel.fixed(cost, budget_bps=budget_bps)
    if liquidation_price not in LIQUIDATION_PRICES:
        fail(f"unknown --liquidation-price '{liquidation_price}': expected one of {', '.join(LIQUIDATION_PRICES)}")
    if rehedge_delay_bars < 0:
        fail(f"--rehedge-delay-bars must be >= 0 (got {rehedge_delay_bars})")
    cfg = BacktestConfig(capital_usd=capital_usd, q_min_usd=q_min_usd, buffer_bps=buffer_bps, delay_bars=delay_bars,
                         margin_tiers=venue_margin_tiers(mv, a), liquidation_price=liquidation_price,
                         rehedge_delay_bars=rehedge_delay_bars, liquidation_venue=mv)
    res = run_backtest(data, rule, costs, cfg)
    if theta_f is None and l_max is None:  # beyond the last documented MMR tier there is no theta_F to charge
        from basisctl.backtest.portfolio import max_perp_notional_usd
        from basisctl.model.margin import check_within_margin_table

        check_within_margin_table(mv, a, max_perp_notional_usd(res))
    return res


def write_outputs(res: BacktestResult, out: Path) -> list[Path]:
    """DIR/metrics.json, DIR/bars.parquet, DIR/trades.csv, DIR/summary.txt."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.json", out / "bars.parquet", out / "trades.csv", out / "summary.txt"]
    from basisctl.cli._common import _clean

    paths[0].write_text(json.dumps(_clean(res.metrics()), indent=2) + "\n")
    res.to_frame().to_parquet(paths[1])
    res.trades().to_csv(paths[2])
    paths[3].write_text(res.summary() + "\n")
    return paths


@handle_errors
def backtest(
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC (any symbol with --prices-file/--funding-file).")],
    prices_venue: Annotated[str, typer.Option(help="Shipped perp bars to replay: binance (1h, 4h fallback).")]
    = "binance",
    funding_venue: Annotated[str, typer.Option(help="Funding stream credited to the short: " + FUNDING_VENUE_HELP
                                               + ".")] = "hyperliquid",
    prices_file: Annotated[Path | None, typer.Option(help="CSV/Parquet candles (shared data schema, ts = bar open) "
                                                     "replacing the data-dir prices for calibration and test.")]
    = None,
    funding_file: Annotated[Path | None, typer.Option(help="CSV/Parquet funding (rate per interval, + = longs pay) "
                                                      "replacing the data-dir funding (test and kappa).")] = None,
    spot_file: Annotated[Path | None, typer.Option(help="Separate spot candles (overrides --spot).")]
    = None,
    spot: Annotated[str, typer.Option(help="Spot leg without --spot-file: auto (Binance spot 1h where it covers "
                                      "the window, 2022-23; on Hyperliquid perp bars the spot implied by the "
                                      "funding premium; else the perp series, flagged as a proxy) | perp | "
                                      "binance_spot | hl_premium (error if it does not cover the window).")]
    = "auto",
    date_from: Annotated[str, typer.Option("--from", help="Test start (UTC date, inclusive).")] = DEFAULT_FROM,
    date_to: Annotated[str, typer.Option("--to", help="Test end (UTC date, exclusive).")] = DEFAULT_TO,
    calib_from: Annotated[str | None, typer.Option(help="Calibration start; default --calib-to minus 2 years.")]
    = None,
    calib_to: Annotated[str | None, typer.Option(help="Calibration end (exclusive, <= --from); default --from.")]
    = None,
    cost_bps: Annotated[float | None, typer.Option(help="Fixed execution cost per basis trade [bps of notional]"
                                                   "; also K_reb_fix [bps of capital]. Default Table VIII.")]
    = None,
    q_min_usd: Annotated[float, typer.Option(help="Minimum executable size q_min [USD].")] = 10_000.0,
    buffer_bps: Annotated[float, typer.Option(help="Execution buffer b [bps]; bites only with --budget-bps.")]
    = 10.0,
    budget_bps: Annotated[float, typer.Option(help="Per-side cost budget [bps]; inf = liquidity never binds "
                                              "(paper Sec. IX).")] = math.inf,
    capital_usd: Annotated[float, typer.Option(help="Initial capital D [USD].")] = 1_000_000.0,
    delay_bars: Annotated[int, typer.Option(help="Fill rebalances N bars after the decision.")] = 0,
    kappa_bps: Annotated[float | None, typer.Option(help="Override the 14-day carry kappa [bps] for alpha_U.")]
    = None,
    bar: Annotated[str, typer.Option(help="Shipped bar size: auto (1h, 4h over gaps) | 1h | 4h.")] = "auto",
    l_max: Annotated[float | None, typer.Option(help="Hyperliquid max leverage (theta_F = 1/(2 L_max)); "
                                                "default: the paper's table.")] = None,
    theta_f: Annotated[float | None, typer.Option(help="Maintenance margin fraction, overrides --l-max.")] = None,
    venue: Annotated[str, typer.Option(help="Margin venue (theta_F rule): hyperliquid | binance | bybit | okx | "
                                       "dydx | kraken.")] = "hyperliquid",
    risk_model: Annotated[str, typer.Option(help="Liquidation-risk model for alpha_target/alpha_L: "
                                            + RISK_MODEL_HELP + ".")] = DEFAULT_RISK_MODEL,
    kappa_venue: Annotated[str, typer.Option(help="Funding stream whose 14-day carry calibrates kappa for "
                                             "alpha_U (the paper: binance): " + " | ".join(VENUE_NAMES) + "; "
                                             "--funding-file replaces it.")]
    = "binance",
    liquidation_price: Annotated[str, typer.Option(help=LIQ_PRICE_HELP)] = "barrier",
    rehedge_delay_bars: Annotated[int, typer.Option(help=REHEDGE_HELP)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object (fractions).")]
    = False,
    out: Annotated[Path | None, typer.Option(help="Write metrics.json, bars.parquet, trades.csv, summary.txt.")]
    = None,
    allow_missing_funding: Annotated[bool, typer.Option(
        "--allow-missing-funding", help=ALLOW_MISSING_HELP)] = False,
    exclude_spikes: Annotated[bool, typer.Option("--exclude-spikes", help=SPIKES_HELP)] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Replay one asset under the frozen band rule (calibrated before --from) with real funding."""
    from basisctl.backtest import JSON_KEYS

    res = build_backtest(asset, prices_venue, funding_venue, prices_file, funding_file, spot_file, date_from,
                         date_to, calib_from, calib_to, cost_bps, q_min_usd, buffer_bps, capital_usd, delay_bars,
                         kappa_bps, bar, budget_bps, l_max, theta_f, allow_missing_funding, exclude_spikes,
                         margin_venue=venue, risk_model=risk_model, spot=spot, kappa_venue=kappa_venue,
                         liquidation_price=liquidation_price, rehedge_delay_bars=rehedge_delay_bars)
    if out is not None:
        write_outputs(res, out)
    if as_json:
        m = res.metrics()
        print_json({**{k: m[k] for k in JSON_KEYS}, **m, "risk_model": risk_model.lower(),
                    "kappa_venue": kappa_venue if funding_file is None else "funding file"})
        return
    console.print(res.summary(), highlight=False)
    if out is not None:
        console.print(f"wrote {out}/metrics.json, bars.parquet, trades.csv, summary.txt", highlight=False, markup=False)


@handle_errors
def sweep(
    asset: Annotated[str | None, typer.Option(help="Asset symbol (or --universe).")] = None,
    funding_venue: Annotated[str, typer.Option(help="Funding stream: " + FUNDING_VENUE_HELP + ".")] = "hyperliquid",
    date_from: Annotated[str, typer.Option("--from", help="Test start (UTC date).")] = DEFAULT_FROM,
    date_to: Annotated[str, typer.Option("--to", help="Test end (UTC date, exclusive).")] = DEFAULT_TO,
    alpha_mult: Annotated[str, typer.Option(help="alpha_target multipliers, comma-separated.")] = "0.8,1,1.2",
    alpha_lower: Annotated[str, typer.Option(help="alpha_L values (empty = frozen).")] = "",
    alpha_upper: Annotated[str, typer.Option(help="alpha_U values (empty = from kappa and cost).")] = "",
    cost_bps: Annotated[str, typer.Option(help="Costs [bps of notional] (empty = Table VIII).")] = "",
    q_min_usd: Annotated[str, typer.Option(help="q_min values [USD].")] = "10000",
    buffer_bps: Annotated[str, typer.Option(help="Buffer values [bps].")] = "10",
    budget_bps: Annotated[str, typer.Option(help="Cost budgets [bps], 'inf' allowed.")] = "inf",
    executor: Annotated[str, typer.Option(help=f"{' | '.join(EXECUTORS)} (ray needs basisctl[ray]).")]
    = "process",
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU count).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as a JSON list.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the table (.csv or .parquet).")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the table as CSV on stdout (full precision).")]
    = False,
    universe: Annotated[Path | None, typer.Option(help="Folder of user files (funding/<venue>/<ASSET>.csv, "
                                                  "prices/<market>/<ASSET>_1h.csv): venue table per asset, "
                                                  "calibrated up to --to.")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster (e.g. ray://head:10001 or "
                                                    "auto) for --executor ray.")] = None,
    allow_missing_funding: Annotated[bool, typer.Option(
        "--allow-missing-funding", help=ALLOW_MISSING_HELP)] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
    theta_f: Annotated[list[str] | None, typer.Option(help="With --universe: VENUE=THETA maintenance margin "
                                                      "fraction for every asset on that venue (needed for "
                                                      "assets outside the venue tables), repeatable.")] = None,
    l_max: Annotated[list[str] | None, typer.Option(help="With --universe: VENUE=L_MAX max leverage, theta_F = "
                                                    "c / L_max with the venue's rule (not OKX), repeatable.")]
    = None,
) -> None:
    """Evaluate the rule over a parameter grid (results identical for every executor), or with --universe DIR
    rank venues for every asset with data in a folder of your files (one independent task per asset)."""
    if universe is None and (theta_f or l_max):
        fail("--theta-f/--l-max VENUE=... apply to --universe only (the grid sweep takes the paper's margin rule)")
    if universe is not None:
        from basisctl.cli.venue_cmds import universe_sweep, universe_theta_f

        universe_sweep(universe, date_to, executor, workers, ray_address, as_json, out,
                       universe_theta_f(theta_f or [], l_max or []))
        return
    if asset is None:
        fail("give --asset (parameter grid) or --universe DIR (every asset in a folder)")
    import pandas as pd

    from basisctl.backtest import calibrate_rule, paper_cost_bps, prepare
    from basisctl.backtest.data import utc
    from basisctl.backtest.sweep import SweepGrid, run_sweep

    check_venues(None, funding_venue)
    a = asset.upper()
    start = utc(date_from)
    costs = parse_floats(cost_bps, "cost-bps") or [paper_cost_bps(a)]
    rule = calibrate_rule(a, start - pd.DateOffset(years=2), start, costs[0])
    data = prepare(a, start, utc(date_to), "binance", funding_venue, allow_missing_funding=allow_missing_funding)
    grid = SweepGrid(
        alpha_target_mult=parse_floats(alpha_mult, "alpha-mult") or [1.0],
        alpha_lower=parse_floats(alpha_lower, "alpha-lower") or [None],
        alpha_upper=parse_floats(alpha_upper, "alpha-upper") or [None],
        cost_bps=costs, q_min_usd=parse_floats(q_min_usd, "q-min-usd") or [10_000.0],
        buffer_bps=parse_floats(buffer_bps, "buffer-bps") or [10.0],
        budget_bps=parse_floats(budget_bps, "budget-bps", allow_inf=True) or [math.inf],
    )
    n = len(grid.points())
    with _progress() as prog:
        tid = prog.add_task(f"sweep {a} ({executor})", total=n)
        df = run_sweep(data, rule, grid, executor=executor, workers=workers,
                       on_progress=lambda d, t: prog.update(tid, completed=d))
    if out is not None:
        df.to_parquet(out) if out.suffix == ".parquet" else df.to_csv(out, index=False)
    if as_json:
        print_json(df.to_dict(orient="records"))
        return
    if as_csv:
        import sys

        df.to_csv(sys.stdout, index=False)
        return
    cols = ["alpha_target_mult", "alpha_target", "alpha_lower_eff", "alpha_upper_eff", "cost_bps", "q_min_usd",
            "buffer_bps", "budget_bps", "apy", "funding_apy", "max_drawdown", "avg_leverage", "rebalances",
            "emergencies", "liquidations"]
    rows = [[fmt_number(r[c]) for c in cols] for _, r in df.iterrows() if not r.get("error")]
    print_table_or_records(f"Sweep {a} {date_from} -> {date_to}, {funding_venue} funding ({n} points)", cols, rows)


@handle_errors
def report(
    out: Annotated[Path, typer.Option(help="Output directory; writes DIR/index.html (self-contained).")],
    assets: Annotated[str, typer.Option(help="Assets for the static grid and backtests.")] = "BTC,ETH,LINK,DOGE",
    quick: Annotated[bool, typer.Option(help="Small subset (first period per asset, fewer grid cells).")] = False,
    allow_missing_funding: Annotated[bool, typer.Option(
        "--allow-missing-funding", help=ALLOW_MISSING_HELP)] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
    download: Annotated[bool, typer.Option(
        "--download", help="With no market data found, download the default set (`basisctl data pull`) without "
                           "asking. Without a terminal and without this flag, no data is an error (exit 2).")] = False,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Recompute every section instead of reusing cached results (the cache is refreshed; "
        "it lives in $BASISCTL_CACHE_DIR or the user cache dir, see docs/performance.md).")] = False,
) -> None:
    """Static grid, bands, funding diagnostics and funding-environment backtests -> one HTML report.

    Warnings (substituted inputs, thin samples, missing funding) are listed under the section they affect."""
    from basisctl.report import build_report

    names = [x.strip().upper() for x in assets.split(",") if x.strip()]
    if not names:
        fail("--assets needs at least one symbol")
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is an existing file; the report writes DIR/index.html, so give a directory")
    _ensure_data(names, download=download)
    _ensure_candles(names)
    with _progress() as prog:
        tid = prog.add_task("report", total=None)

        def step(label: str, done: int, total: int) -> None:
            prog.update(tid, description=f"report: {label}", completed=done, total=total)
            if label.endswith(("(computed)", "(cached)")):  # one lasting line per section: computed or cached
                prog.console.print(f"report: {label}", highlight=False, markup=False)

        path = build_report(out, assets=names, quick=quick, on_step=step,
                            allow_missing_funding=allow_missing_funding, use_cache=not no_cache)
    console.print(f"wrote {path}", highlight=False, markup=False)


def _interactive() -> bool:
    """A person at a terminal (stdin and stderr are both TTYs): only then does ``report`` ask before downloading."""
    import sys

    return sys.stdin.isatty() and sys.stderr.isatty()


def download_prompt(assets: list[str]) -> str:
    """The question asked before downloading: what, how big, how long (:mod:`basisctl.data.pull_estimate`)."""
    from basisctl.venues.pull import default_set
    from basisctl.venues.pull_estimate import estimate_pull

    est = estimate_pull(default_set(tuple(assets)))
    return (f"Download the default data set now with `basisctl data pull` (Binance USD-M funding and 1h/4h klines, "
            f"Hyperliquid funding, 1h candles and margin tables for {', '.join(assets)}; {est.describe()}; "
            "resumable)?")


def _ensure_candles(assets: list[str]) -> None:
    """Every section calibrates volatility on the perp candles: an asset without them fails now, in one line
    naming the fetch command, not minutes later in whichever section reaches it first."""
    from basisctl.data import locator

    market = locator.VOL_PRICE_MARKET
    for a in assets:
        if not any(locator.has_candles(market, a, iv) for iv in ("1h", "4h")):
            fail(f"no {market} 1h or 4h candles for {a} in the data dirs "
                 f"({', '.join(str(r) for r in locator.roots())}); the report calibrates every section on them: get "
                 f"them with `basisctl data fetch --venue binance --asset {a} --kind candles --interval 1h "
                 f"--from 2021-01-01`, or leave {a} out of --assets")


def _ensure_data(assets: list[str], download: bool = False) -> None:
    """No market data at all: download it (``--download``, or yes at the terminal prompt) or say exactly how
    (scripts, CI: exit 2)."""
    from basisctl.data import locator

    if any(locator.has_funding("binance", a) for a in assets):
        return
    looked = ", ".join(str(r) for r in locator.roots())
    have = locator.list_assets("funding", "binance")
    # data for other assets is not "no market data": say which assets are missing and which are there
    looked += f"; the data has Binance funding for {', '.join(have)} only" if have else ""
    what = f"no market data for {', '.join(assets)} found" if have else "no market data found"
    how = (f"run `basisctl data pull --assets {','.join(assets)}` (public Binance and Hyperliquid endpoints, no "
           "keys) or `basisctl report --download`, or point --data-dir / BASISCTL_DATA_DIR at a folder in the "
           "shared layout (e.g. ../shared/data)")
    if not download and _interactive():
        err_console.print(f"{what[0].upper()}{what[1:]} (looked in {looked}).", highlight=False, markup=False)
        download = typer.confirm(download_prompt(assets), default=True, err=True)
        if not download:
            fail(f"{what} (looked in {looked}): {how}")
    if download:
        from basisctl.cli.data_cmds import pull_cmd

        pull_cmd(assets=",".join(assets))
        return
    fail(f"{what} (looked in {looked}): {how}")


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
    app.command("sweep")(sweep)
    app.command("report")(report)
