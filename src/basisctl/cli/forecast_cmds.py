"""Forecast commands: ``forecast-funding`` (walk-forward evaluation of funding forecasters) and
``backtest-regime`` (the regime rule: hold the basis only while forecast carry beats the alternative yield)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from basisctl.cli._common import STRICT_HELP, console, fail, handle_errors, print_json
from basisctl.cli._defaults import VENUE_NAMES

if TYPE_CHECKING:
    from basisctl.regime.alt_yield import AltYield

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba

MODELS = ("rolling_mean", "ewma", "har", "gbm")  # basisctl.forecast.models.MODEL_NAMES
FUNDING_VENUES = ("binance", "hyperliquid", "bybit")
#: keys ``forecast-funding --json`` promises (issue 23)
JSON_KEYS = ("model", "asset", "venue", "horizon_days", "n_origins", "mae", "smape", "sign_accuracy",
             "decision_accuracy", "dm_p_vs_rolling_mean")
DEFAULT_ALT_APR = 0.04
ALT_HELP = ("Alternative yield earned outside the trade: a constant APR (decimal per year). Default 0.04 unless "
            "--alt-yield names a series.")
SERIES_HELP = ("Rate series for the alternative yield: provider/name in the data dir (aave_v3/USDC_supply = "
               "rates/aave_v3/USDC_supply.csv, columns timestamp, apy) or a CSV/Parquet path.")
HOLDING_HELP = "Expected holding period the round-trip cost is amortised over [days]."
FALLBACK_HELP = "Constant APR that applies outside the series' span (with a warning); without it that is an error."


def parse_horizon(text: str) -> int:
    """``14d`` or ``14`` -> 14 days; one line naming --horizon otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*d?\s*", text)
    if not m or int(m.group(1)) < 1:
        fail(f"--horizon expects a whole number of days >= 1, e.g. 14d (got '{text}')")
    return int(m.group(1))


def _alt_yield(alt_yield_apr: float | None, series: str | None, fallback: float | None) -> AltYield:
    from basisctl.regime.alt_yield import AltYield, load_alt_yield

    if alt_yield_apr is not None and series is not None:
        fail("--alt-yield-apr and --alt-yield are alternatives: give one")
    if series is not None:
        return load_alt_yield(series, fallback)
    if fallback is not None:
        fail("--alt-yield-fallback-apr goes with --alt-yield SERIES")
    apr = DEFAULT_ALT_APR if alt_yield_apr is None else alt_yield_apr
    return AltYield.constant(apr, f"constant {apr:.2%} APR" + (" (default)" if alt_yield_apr is None else ""))


def _check_venue(venue: str) -> str:
    if venue.lower() not in FUNDING_VENUES:
        fail(f"unknown --venue '{venue}': expected one of {', '.join(FUNDING_VENUES)}")
    return venue.lower()


def _features(asset: str) -> tuple[Any, Any]:
    """Binance perp and spot 1h candles of the asset where the data dir has them (else None)."""
    from basisctl.data import locator

    perp = locator.load_candles("binance_perp", asset, "1h") if locator.has_candles("binance_perp", asset, "1h") \
        else None
    spot = locator.load_candles("binance_spot", asset, "1h") if locator.has_candles("binance_spot", asset, "1h") \
        else None
    return perp, spot


@handle_errors
def forecast_funding(
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC.")],
    venue: Annotated[str, typer.Option(help="Funding stream: binance | hyperliquid | bybit.")] = "hyperliquid",
    horizon: Annotated[str, typer.Option(help="Forecast horizon in days, e.g. 14d.")] = "14d",
    model: Annotated[str, typer.Option(help=f"Model: {' | '.join(MODELS)} | all.")] = "all",
    funding_file: Annotated[Path | None, typer.Option(help="CSV/Parquet funding replacing the data-dir stream.")]
    = None,
    alpha: Annotated[float, typer.Option(help="Margin share alpha of the decision's net carry (1 - alpha) x kappa "
                                         "[fraction of capital].")] = 0.2,
    cost_bps: Annotated[float | None, typer.Option(help="Cost per basis trade [bps of notional], entry and exit "
                                                   "each; default Table VIII.")] = None,
    transfer_fee_bps: Annotated[float, typer.Option(help="Fee per transfer of capital [bps].")] = 0.0,
    hurdle_apr: Annotated[float, typer.Option(help="Carry demanded over the alternative yield [APR].")] = 0.0,
    holding_days: Annotated[float, typer.Option(help=HOLDING_HELP)] = 90.0,
    alt_yield_apr: Annotated[float | None, typer.Option(help=ALT_HELP)] = None,
    alt_yield: Annotated[str | None, typer.Option(help=SERIES_HELP)] = None,
    alt_yield_fallback_apr: Annotated[float | None, typer.Option(help=FALLBACK_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object; with --model all a list under "
                                          "'results').")] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Walk-forward test of funding forecasts: each origin sees only the past; MAE and Diebold-Mariano p against
    the rolling mean (the paper's kappa-tilde), SMAPE (reported only), sign and decision accuracy."""
    h = parse_horizon(horizon)
    v = _check_venue(venue)
    names = list(MODELS) if model == "all" else [model]
    if model != "all" and model not in MODELS:
        fail(f"--model: unknown model '{model}'; expected one of {', '.join(MODELS)} or all")
    if not 0 < alpha < 1:
        fail(f"--alpha must be in (0, 1) (got {alpha:g})")
    if not holding_days > 0:
        fail(f"--holding-days must be > 0 (got {holding_days:g})")
    if transfer_fee_bps < 0:
        fail(f"--transfer-fee-bps must be >= 0 (got {transfer_fee_bps:g})")
    alt = _alt_yield(alt_yield_apr, alt_yield, alt_yield_fallback_apr)
    from basisctl.backtest.costs import paper_cost_bps
    from basisctl.backtest.data import load_funding_stream
    from basisctl.forecast import DecisionSpec, evaluate, funding_panel, make_model, walk_forward

    a = asset.upper()
    funding, _src = load_funding_stream(a, v, funding_file)
    models = [make_model(n) for n in dict.fromkeys(["rolling_mean", *names])]
    perp = spot = None
    if "gbm" in names and funding_file is None:
        perp, spot = _features(a)
    panel = funding_panel(funding, perp, spot)
    wf = walk_forward(panel, models, h)
    spec = DecisionSpec(alpha=alpha, cost_bps=paper_cost_bps(a) if cost_bps is None else cost_bps,
                        transfer_fee_bps=transfer_fee_bps, hurdle_apr=hurdle_apr, holding_days=holding_days)
    import pandas as pd

    alt_apr = alt.apr_at(pd.DatetimeIndex(wf.days) + pd.Timedelta(days=1))
    rows = [r.to_dict() for r in evaluate(wf, a, v if funding_file is None else str(funding_file), spec, alt_apr)
            if r.model in names]
    extra = {"alt_yield": alt.label, "alpha": alpha, "cost_bps": spec.cost_bps, "hurdle_apr": hurdle_apr,
             "holding_days": holding_days,
             "units": "mae in APR (decimal per year); accuracies and smape as fractions"}
    if as_json:
        if len(rows) == 1:
            print_json({**{k: rows[0][k] for k in JSON_KEYS}, **rows[0], **extra})
        else:
            print_json({"results": [{**{k: r[k] for k in JSON_KEYS}, **r} for r in rows], **extra})
        return
    from basisctl.cli._common import print_table_or_records

    header = ["model", "n_origins", "mae", "mae/rm", "dm_p", "smape", "sign_acc", "decision_acc", "fit_s"]
    body = [[r["model"], str(r["n_origins"]), f"{r['mae']:.2%}", f"{r['mae'] / r['mae_rolling_mean']:.3f}",
             "-" if r["dm_p_vs_rolling_mean"] is None else f"{r['dm_p_vs_rolling_mean']:.3f}",
             f"{r['smape']:.3f}", f"{r['sign_accuracy']:.1%}", f"{r['decision_accuracy']:.1%}",
             f"{r['fit_seconds']:.1f} ({r['n_fits']} fits)"] for r in rows]
    print_table_or_records(f"forecast-funding {a} {v}: {h}-day mean funding, origins {rows[0]['first_origin']}.."
                           f"{rows[0]['last_origin']} (MAE in APR; alt yield {alt.label})", header, body)


@handle_errors
def backtest_regime(
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC.")],
    funding_venue: Annotated[str, typer.Option(help="Funding stream credited to the short: "
                                               + " | ".join(VENUE_NAMES) + " (any venue with funding data).")]
    = "hyperliquid",
    prices_venue: Annotated[str, typer.Option(help="Perp bars to replay: binance (1h, 4h fallback).")] = "binance",
    date_from: Annotated[str, typer.Option("--from", help="Test start (UTC date).")] = "2025-03-10",
    date_to: Annotated[str, typer.Option("--to", help="Test end (UTC date, exclusive).")] = "2026-03-10",
    cost_bps: Annotated[float | None, typer.Option(help="Cost per basis trade [bps]; default Table VIII.")] = None,
    capital_usd: Annotated[float, typer.Option(help="Initial capital D [USD].")] = 1_000_000.0,
    q_min_usd: Annotated[float, typer.Option(help="Minimum rebalance q_min [USD].")] = 10_000.0,
    model: Annotated[str, typer.Option(help=f"Forecast model: {' | '.join(MODELS)}.")] = "rolling_mean",
    horizon: Annotated[str, typer.Option(help="Forecast horizon = expected holding period, e.g. 14d.")] = "14d",
    hurdle_apr: Annotated[float, typer.Option(help="Carry demanded over the alternative yield [APR].")] = 0.0,
    holding_days: Annotated[float, typer.Option(help=HOLDING_HELP)] = 90.0,
    hysteresis_apr: Annotated[float, typer.Option(help="Entry needs margin above this [APR].")] = 0.01,
    min_hold_hours: Annotated[float, typer.Option(help="Minimum time in the trade [h].")] = 72.0,
    exit_within_hours: Annotated[float, typer.Option(help="H: exit at most this long after the forecast "
                                                     "crosses the hurdle [h].")] = 24.0,
    decide_every_hours: Annotated[float, typer.Option(help="Decision cadence [h], UTC-aligned, <= H.")] = 24.0,
    transfer_fee_bps: Annotated[float, typer.Option(help="Fee per transfer [bps of the capital moved].")] = 0.0,
    transfer_fee_usd: Annotated[float, typer.Option(help="Fixed fee per transfer [USD].")] = 0.0,
    transfer_delay_hours: Annotated[float, typer.Option(help="Capital in transit, earning nothing [h].")] = 0.0,
    alt_yield_apr: Annotated[float | None, typer.Option(help=ALT_HELP)] = None,
    alt_yield: Annotated[str | None, typer.Option(help=SERIES_HELP)] = None,
    alt_yield_fallback_apr: Annotated[float | None, typer.Option(help=FALLBACK_HELP)] = None,
    allow_missing_funding: Annotated[bool, typer.Option("--allow-missing-funding", help="Run with > 2% of the "
                                                        "settlements missing (not paid).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON (fractions).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """The regime rule (rule = "regime"): the band rule inside the trade, held only while forecast net carry beats
    the alternative yield plus a hurdle; capital outside earns the alternative yield. Compared with always-in."""
    from pydantic import ValidationError

    from basisctl.regime.params import RegimeParams

    try:
        params = RegimeParams(model=model, horizon_days=parse_horizon(horizon), hurdle_apr=hurdle_apr,
                              holding_days=holding_days,
                              hysteresis_apr=hysteresis_apr, min_hold_hours=min_hold_hours,
                              exit_within_hours=exit_within_hours, decide_every_hours=decide_every_hours,
                              transfer_fee_bps=transfer_fee_bps, transfer_fee_usd=transfer_fee_usd,
                              transfer_delay_hours=transfer_delay_hours)
    except ValidationError as e:
        err = e.errors()[0]
        loc = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "regime parameters"
        fail(f"{loc}: {err['msg']}")
    alt = _alt_yield(alt_yield_apr, alt_yield, alt_yield_fallback_apr)
    from basisctl.cli.backtest_cmds import build_backtest

    base = build_backtest(asset, prices_venue, funding_venue, None, None, None, date_from, date_to, None, None,
                          cost_bps, q_min_usd, 10.0, capital_usd, allow_missing_funding=allow_missing_funding)
    from basisctl.backtest.data import load_funding_stream
    from basisctl.regime.rule import forecast_series, run_regime
    from basisctl.venues.idle_yield import idle_yield_apr

    a = asset.upper()
    funding, _ = load_funding_stream(a, funding_venue.lower())
    perp = spot = None
    if params.model == "gbm":
        perp, spot = _features(a)
    fc = forecast_series(funding, params, perp, spot)
    res = run_regime(base.data, base.rule, base.costs, base.config, fc, alt, params,
                     idle_apr=idle_yield_apr(funding_venue))
    m = res.metrics()
    bm = base.metrics()
    always = {k: bm[k] for k in ("acc_return", "apy", "funding_apy", "max_drawdown", "sharpe")}
    out = {**m, "asset": a, "funding_venue": funding_venue, "always_in": always,
           "apy_vs_always_in": m["apy"] - always["apy"], "spot_source": bm["spot_source"]}
    if as_json:
        print_json(out)
        return
    console.print(
        f"regime {a} {funding_venue} {m['start'][:10]} -> {m['end'][:10]} (model {params.model}, "
        f"{params.horizon_days}d, alt {alt.label}, hurdle {params.hurdle_apr:.2%}, H {params.exit_within_hours:g} h)"
        f"\n  acc return {m['acc_return']:.2%}  APY {m['apy']:.2%}  (always in: {always['apy']:.2%}, "
        f"difference {out['apy_vs_always_in']:+.2%})  max DD {m['max_drawdown']:.2%}\n"
        f"  entries {m['entries']}  exits {m['exits']}  time in trade {m['time_in_trade']:.1%}\n"
        f"  funding {m['ret_funding']:+.2%}  trade costs {m['ret_trade_costs']:+.2%}  transfers "
        f"{m['ret_transfer_fees']:+.2%}  alt yield {m['ret_alt_yield']:+.2%}", highlight=False, markup=False)
    if not math.isfinite(m["apy"]):
        fail("regime backtest produced a non-finite APY")


def register(app: typer.Typer) -> None:
    app.command("forecast-funding")(forecast_funding)
    app.command("backtest-regime")(backtest_regime)
