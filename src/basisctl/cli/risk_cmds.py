"""Risk-model commands: ``pi-liq`` (Pi_liq at a chosen alpha under any model) and ``risk-backtest`` (coverage).

Units: alpha = margin share of capital; sigma annualised (8760 h/yr); jump rate per year; jump sizes as mean
log-price jumps (positive fractions); horizons in hours.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from basisctl.cli._common import console, fail, handle_errors, parse_floats, parse_strs, print_json
from basisctl.cli._defaults import (
    ASOF_DATA_HELP,
    DEFAULT_RISK_MODEL,
    FHS_DEFAULT_PATHS,
    RISK_DEFAULT_MODELS,
    RISK_MODEL_HELP,
    VENUE_NAMES,
)

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba

MODEL_HELP = RISK_MODEL_HELP + "."


def resolve_theta(venue: str | None, asset: str | None, theta_f: float | None, l_max: float | None
                  ) -> tuple[float, str | None]:
    """theta_F from --theta-f, or the venue's rule for the asset (--l-max overrides the paper's table; an asset
    Hyperliquid lists takes L_max from the margin table in the data, as ``static`` does)."""
    from basisctl.calibration.inputs import margin_for
    from basisctl.model.margin import check_venue, theta_f_for

    if theta_f is not None:
        th, _ = theta_f_for(venue or "binance", asset or "", l_max=None, theta_f=theta_f)
        return th, (check_venue(venue) if venue else None)
    if venue is None or asset is None:
        fail("give --venue and --asset (the margin rule), or --theta-f")
    v = check_venue(venue)
    th, _ = margin_for(v, asset.upper(), l_max=l_max)
    return th, v


@handle_errors
def pi_liq_cmd(
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = DEFAULT_RISK_MODEL,
    alpha: Annotated[float, typer.Option(help="Collateral share [fraction of capital].")] = 0.1,
    horizon_hours: Annotated[float, typer.Option(help="Horizon h [hours].")] = 24.0,
    venue: Annotated[str | None, typer.Option(help=" | ".join(VENUE_NAMES) + " (margin rule theta_F; a venue "
                                                   "without a documented L_max for the asset needs --l-max or "
                                                   "--theta-f).")] = None,
    asset: Annotated[str | None, typer.Option(help="Asset (margin rule and calibration data).")] = None,
    theta_f: Annotated[float | None, typer.Option(help="Maintenance margin fraction (overrides the venue rule).")]
    = None,
    l_max: Annotated[float | None, typer.Option(help="Venue max leverage (sets theta_F).")] = None,
    sigma: Annotated[float | None, typer.Option(help="Diffusion volatility [1/sqrt(yr)] (gbm, kou).")] = None,
    jump_rate: Annotated[float | None, typer.Option(help="Kou jump rate [jumps per year].")] = None,
    jump_p_up: Annotated[float | None, typer.Option(help="Kou probability that a jump is upward.")] = None,
    jump_mean_up: Annotated[float | None, typer.Option(help="Kou mean up-jump of the log price [fraction].")]
    = None,
    jump_mean_down: Annotated[float | None, typer.Option(help="Kou mean down-jump size [fraction, > 0].")]
    = None,
    prices_file: Annotated[Path | None, typer.Option(help="Candles (CSV/Parquet) to calibrate on instead of the "
                                                     "data's binance_perp bars.")] = None,
    asof: Annotated[str | None, typer.Option(help=f"{ASOF_DATA_HELP} With --prices-file: the "
                                             "file's end.")]
    = None,
    lookback_days: Annotated[float, typer.Option(help="Calibration lookback [days].")] = 180.0,
    seed: Annotated[int, typer.Option(help="FHS Monte Carlo seed.")] = 0,
    fhs_paths: Annotated[int, typer.Option(help="FHS Monte Carlo paths.")] = 20_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Pi_liq(alpha; h, theta_F) under a risk model, for explicit parameters or calibrated from data."""
    import numpy as np

    from basisctl.calibration.inputs import utc
    from basisctl.model.static import alpha_liq
    from basisctl.risk.base import pi_liq
    from basisctl.risk.fit import check_model, fit_model, load_bars, window
    from basisctl.risk.sizing import explicit_model

    m = check_model(model)
    if not (np.isfinite(alpha) and 0 < alpha < 1):
        fail(f"--alpha must lie in the open interval (0, 1) (got {alpha:g})")
    if not (np.isfinite(horizon_hours) and horizon_hours > 0):
        fail(f"--horizon-hours must be finite and > 0 (got {horizon_hours:g})")
    if sigma is not None and not (np.isfinite(sigma) and sigma > 0):
        fail(f"--sigma must be finite and > 0 (got {sigma:g})")
    th, v = resolve_theta(venue, asset, theta_f, l_max)
    jumps = (jump_rate, jump_p_up, jump_mean_up, jump_mean_down)
    explicit = sigma is not None or any(x is not None for x in jumps)
    out: dict[str, Any] = {"model": m, "alpha": alpha, "horizon_hours": horizon_hours, "theta_f": th,
                           "alpha_liq": float(alpha_liq(th))}
    if v:
        out["venue"] = v
    if explicit:
        fitted: Any = explicit_model(m, {"sigma": sigma, "jump_rate": jump_rate, "jump_p_up": jump_p_up,
                                         "jump_mean_up": jump_mean_up, "jump_mean_down": jump_mean_down})
        out["calibration"] = "explicit"
    else:
        if asset is None:
            fail("calibrating from data needs --asset (or give the model's parameters explicitly)")
        bars = load_bars(asset, prices_file)
        if asof is None and prices_file is None:  # the same as-of as static, bands, venues (issue 20 h, p)
            from basisctl.calibration.asof import resolve_asof

            asof = resolve_asof(None, [], [asset], funding=False)
        lo, hi = window(bars, utc(asof) if asof else None, lookback_days)
        fitted = fit_model(m, bars, lo, hi, horizon_hours, seed=seed, fhs_paths=fhs_paths)
        out["calibration"] = bars.span_text(lo, hi)
    out["pi_liq"] = float(np.asarray(pi_liq(fitted, alpha, th, horizon_hours)).reshape(-1)[0])
    out["params"] = fitted.params()
    if as_json:
        print_json(out)
        return
    t = Table(title=f"Pi_liq under {m}", show_header=False)
    for k, val in out.items():
        t.add_row(k, f"{val:.6g}" if isinstance(val, float) else str(val))
    console.print(t)


@handle_errors
def risk_backtest(
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC.")],
    prices_file: Annotated[Path | None, typer.Option(help="Candles (CSV/Parquet; ts = bar open) instead of the "
                                                     "data's binance_perp 1h bars (4h where 1h is missing).")]
    = None,
    venue: Annotated[str, typer.Option(help="Margin rule for alpha: " + " | ".join(VENUE_NAMES) + " (without a "
                                            "documented L_max for the asset: --l-max or --theta-f).")] = "hyperliquid",
    theta_f: Annotated[float | None, typer.Option(help="Maintenance margin fraction (overrides the venue rule).")]
    = None,
    l_max: Annotated[float | None, typer.Option(help="Venue max leverage (sets theta_F).")] = None,
    models: Annotated[str, typer.Option(help="Comma-separated models: " + MODEL_HELP)] = ",".join(RISK_DEFAULT_MODELS),
    epsilons: Annotated[str, typer.Option(help="Comma-separated liquidation budgets.")] = "0.01,0.001",
    horizons: Annotated[str, typer.Option(help="Comma-separated horizons [hours].")] = "1,24,168",
    date_from: Annotated[str | None, typer.Option("--from", help="First origin (UTC date, inclusive).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last origin before this (UTC date).")] = None,
    lookback_days: Annotated[float, typer.Option(help="Calibration window before each origin [days].")] = 180.0,
    fhs_paths: Annotated[int, typer.Option(help="FHS Monte Carlo paths per origin.")] = FHS_DEFAULT_PATHS,
    seed: Annotated[int, typer.Option(help="FHS seed (per-origin streams derive from it and the date).")] = 0,
    gbm_stress: Annotated[float, typer.Option(help="Multiply GBM's sigma (1.5 = the paper's alpha_target).")]
    = 1.0,
    use_4h: Annotated[bool, typer.Option("--use-4h/--no-4h", help="Add origins from 4h bars on days 1h bars "
                                         "cannot serve (data dir only; stated as a warning).")] = True,
    floor_cell: Annotated[bool, typer.Option("--floor-cell/--no-floor-cell", help="Also test the band's floor "
                                             "budget, eps_liq = 1e-4 over 3 h (the budget alpha_L is sized at), for "
                                             "gbm and fhs on 1h origins (FHS: its own path set of "
                                             "--fhs-floor-paths).")] = True,
    fhs_floor_paths: Annotated[int, typer.Option(help="FHS paths per origin for the floor cell.")] = 40_000,
    details: Annotated[Path | None, typer.Option(help="Write per-origin rows (.csv or .parquet).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as a JSON list.")] = False,
) -> None:
    """Out-of-sample coverage of each model's alpha at epsilon: daily origins, calibrated on the past only;
    a breach is the next h hours of bar highs crossing that alpha's liquidation barrier. Tests use
    non-overlapping origins (ceil(h/24) days apart)."""
    import pandas as pd

    from basisctl.calibration.inputs import utc
    from basisctl.risk import coverage as cov
    from basisctl.risk.study import asset_barriers

    th, _ = resolve_theta(venue, asset, theta_f, l_max)
    cfg = cov.StudyConfig(models=tuple(x.lower() for x in parse_strs(models)),
                          epsilons=tuple(parse_floats(epsilons, "epsilons")),
                          horizons_hours=tuple(parse_floats(horizons, "horizons", positive=True)),
                          lookback_days=lookback_days,
                          fhs_paths=fhs_paths, seed=seed, gbm_stress=gbm_stress,
                          floor_epsilon=cov.BAND_FLOOR_CELL[0] if floor_cell else None,
                          floor_horizon_hours=cov.BAND_FLOOR_CELL[1], fhs_floor_paths=fhs_floor_paths)
    cfg.check()
    bt = asset_barriers(asset, cfg, prices_file, start_ns=utc(date_from).value if date_from else None,
                        end_ns=utc(date_to).value if date_to else None, use_4h=use_4h)
    cov.check_testable(bt)
    cov.warn_skipped(bt)
    rows, det = cov.coverage_table(bt, asset.upper(), th)
    if details is not None:
        det.to_parquet(details, index=False) if details.suffix == ".parquet" else det.to_csv(details, index=False)
    if as_json:
        print_json(rows)
        return
    span = (f"{pd.Timestamp(int(bt.origin_ts_ns[0]), tz='UTC'):%Y-%m-%d} -> "
            f"{pd.Timestamp(int(bt.origin_ts_ns[-1]), tz='UTC'):%Y-%m-%d}")
    t = Table(title=f"Coverage: {asset.upper()} ({venue}, theta_F={th:.4f}), origins {span}")
    for col in ("model", "eps", "h", "n", "breaches", "expected", "kupiec p", "christoffersen p", "mean alpha"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        t.add_row(r["model"], f"{r['epsilon']:g}", f"{r['horizon_hours']:g}", str(r["n"]), str(r["breaches"]),
                  f"{r['expected_breaches']:.2f}", f"{r['kupiec_p']:.3f}", f"{r['christoffersen_p']:.3f}",
                  f"{r['mean_alpha']:.4f}")
    console.print(t)
    cmd = (f"basisctl risk-backtest --asset {asset.upper()} --venue {venue} --models {models} --epsilons {epsilons} "
           f"--horizons {horizons} --lookback-days {lookback_days:g}"
           + (f" --from {date_from}" if date_from else "") + (f" --to {date_to}" if date_to else "")
           + (f" --prices-file {prices_file}" if prices_file else "")
           + ("" if floor_cell else " --no-floor-cell") + " --json")
    sys.stderr.write(f"regenerate: {cmd}\n")


def register(app: typer.Typer) -> None:
    app.command("pi-liq")(pi_liq_cmd)
    app.command("risk-backtest")(risk_backtest)
