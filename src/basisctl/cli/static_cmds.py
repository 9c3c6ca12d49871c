"""Static control commands: ``static``, ``static-grid``, ``funding-stats``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from basisctl.cli._common import (
    SPIKES_HELP,
    STRICT_HELP,
    check_model_flags,
    console,
    fail,
    handle_errors,
    parse_floats,
    parse_strs,
    print_json,
    warn,
)
from basisctl.cli._defaults import ASOF_DATA_HELP, DEFAULT_RISK_MODEL, RISK_MODEL_HELP, VENUE_NAMES, VENUES_LIST_HELP

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba
ASOF_HELP = ASOF_DATA_HELP


@handle_errors
def static(
    venue: Annotated[str, typer.Option(help="binance | hyperliquid | bybit | okx | dydx | kraken "
                                            "(sets the margin rule theta_F; docs/venues.md).")],
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC.")],
    sigma: Annotated[float | None, typer.Option(help="Unstressed annualised volatility [1/sqrt(yr)], "
                                                "e.g. 0.5. Default: realised from data-dir hourly bars.")] = None,
    asof: Annotated[str | None, typer.Option(help=ASOF_HELP)] = None,
    lookback_days: Annotated[float, typer.Option(help="Calibration lookback [days].")] = 180.0,
    stress: Annotated[float, typer.Option(help="Multiplicative volatility stress [x].")] = 1.5,
    epsilon: Annotated[float, typer.Option(help="Liquidation-probability budget over the horizon.")] = 1e-3,
    lgd: Annotated[float, typer.Option(help="Loss given liquidation [fraction of capital].")] = 0.1,
    kappa_bps: Annotated[float | None, typer.Option(help="Expected cumulative funding over the horizon "
                                                    "[bps of notional]. Default: funding from the data dir.")] = None,
    horizon_days: Annotated[float, typer.Option(help="Review horizon h [days].")] = 1.0,
    mu: Annotated[float, typer.Option(help="Annual drift of spot [1/yr].")] = 0.0,
    l_max: Annotated[float | None, typer.Option(help="Venue max leverage (sets theta_F).")] = None,
    theta_f: Annotated[float | None, typer.Option(help="Maintenance margin fraction, overrides --l-max.")] = None,
    prices_file: Annotated[Path | None, typer.Option(help="Your candles (CSV/Parquet, shared data schema) for sigma "
                                                     "instead of the data dir's perp series, e.g. from "
                                                     "`basisctl data fetch`.")] = None,
    funding_file: Annotated[Path | None, typer.Option(help="Your funding history (CSV/Parquet) for kappa instead "
                                                      "of the data dir's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[str, typer.Option(help="Liquidation-risk model for alpha_risk: " + RISK_MODEL_HELP + "; "
                                       "models other than gbm calibrate on the bars before --asof, unstressed.")]
    = DEFAULT_RISK_MODEL,
    seed: Annotated[int, typer.Option(help="Monte Carlo seed of simulated models (fhs).")] = 0,
    exclude_spikes: Annotated[bool, typer.Option("--exclude-spikes", help=SPIKES_HELP)] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Risk-constrained (Variant 2) and economic (Variant 1) collateral share for one venue/asset.

    With --prices-file/--funding-file and no --asof, the calibration ends where the given files end."""
    from basisctl import cache

    params = {"venue": venue, "asset": asset, "sigma": sigma, "asof": asof, "lookback_days": lookback_days,
              "stress": stress, "epsilon": epsilon, "lgd": lgd, "kappa_bps": kappa_bps, "horizon_days": horizon_days,
              "mu": mu, "l_max": l_max, "theta_f": theta_f, "prices_file": _user_file(prices_file),
              "funding_file": _user_file(funding_file), "model": model, "seed": seed,
              "exclude_spikes": exclude_spikes}

    def compute() -> dict[str, Any]:
        return _static_fields(venue, asset, sigma, asof, lookback_days, stress, epsilon, lgd, kappa_bps, horizon_days,
                              mu, l_max, theta_f, prices_file, funding_file, model, seed, exclude_spikes)

    if params["prices_file"] is False or params["funding_file"] is False:  # unreadable: the readers say why
        out = compute()
    else:  # the whole result through the result cache: a hit imports no numerical library (performance.md)
        got = cache.memoize("cli/static", params, compute)
        out = got.value
        if got.hit and (msg := _sigma_warning(sigma, model)):
            warn(msg)  # printed by compute() on a miss, at the same point: before the substitutions
    if as_json:
        print_json(out)
        return
    t = Table(title=f"Static control: {out['venue']} {out['asset']}", show_header=False)  # as normalised
    stressed = bool(out["stressed"])
    rows: list[tuple[str, str, str]] = [("model", "liquidation-risk model", "{}")]
    rows += [("sigma_annual", "sigma (annual, unstressed)", "{:.4f}")]
    if stressed:  # the stress applies to the paper's model only: no stress line for unstressed models
        rows += [("stress", "stress", "{:.2f}x"), ("sigma_stressed", "sigma (stressed)", "{:.4f}")]
    rows += [("theta_f", "theta_F", "{:.4f}"), ("l_max", "L_max", "{:g}x"),
             ("alpha_liq", "alpha_liq = theta/(1+theta)", "{:.4f}"), ("kappa_bps", "kappa_h [bps]", "{:.3f}"),
             ("alpha_risk", f"alpha* Variant 2 (risk, {out['model']})", "{:.4f}")]
    if "alpha_risk_se" in out:
        rows.append(("alpha_risk_se", "alpha* Monte Carlo SE", "{:.4f}"))
    rows += [("leverage_risk", "hedge leverage at alpha*", "{:.2f}x"),
             ("pi_liq_at_alpha_risk", "Pi_liq at alpha*", "{:.3e}")]
    if not stressed:
        rows.append(("alpha_risk_gbm", f"alpha* under the paper's GBM (stress {out['stress']:g}x)", "{:.4f}"))
    rows.append(("alpha_econ", "alpha* Variant 1 (econ, GBM)", "{:.4f}"))
    for key, label, fmt in rows:
        t.add_row(label, fmt.format(out[key]))
    t.add_row("sigma source", str(out["sigma_source"]))
    t.add_row("kappa source", str(out["kappa_source"]))
    console.print(t)


def _user_file(path: Path | None) -> dict[str, Any] | bool | None:
    """A user file's part of the cache key: the path as given, where it resolves and its content hash (False
    when it cannot be read: the command then runs uncached and the reader names the problem)."""
    if path is None:
        return None
    from basisctl.cache import fingerprint

    try:
        fp = fingerprint("user file", path)
    except OSError:
        return False
    if not fp.sha256:  # too large to hash: not cached
        return False
    return {"given": str(path), "resolved": str(Path(path).resolve()), "size": fp.size, "sha256": fp.sha256}


def _sigma_warning(sigma: float | None, model: str) -> str | None:
    """The warning of ``--sigma`` with a model other than the paper's (None: no warning)."""
    from basisctl.risk.registry import check_model, is_stressed

    if sigma is None or is_stressed(check_model(model)):
        return None
    return (f"--sigma sizes the paper's GBM answers only (alpha_risk_gbm, alpha_econ); alpha_risk under "
            f"{check_model(model)} is calibrated on bars (pass --model gbm to size with --sigma)")


def _plain(o: Any) -> Any:
    """``o`` with numpy scalars as Python numbers and timestamps as ISO text, as :func:`print_json` prints them
    (NaN kept): a cached result then loads without numpy or pandas."""
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return type(o)(_plain(v) for v in o)
    if type(o).__module__ == "numpy" and hasattr(o, "item"):
        return o.item()
    if not isinstance(o, str) and hasattr(o, "isoformat"):
        return o.isoformat()
    return o


def _static_fields(venue: str, asset: str, sigma: float | None, asof: str | None, lookback_days: float,
                   stress: float, epsilon: float, lgd: float, kappa_bps: float | None, horizon_days: float,
                   mu: float, l_max: float | None, theta_f: float | None, prices_file: Path | None,
                   funding_file: Path | None, model: str, seed: int, exclude_spikes: bool) -> dict[str, Any]:
    """What ``static`` prints (the JSON object), computed from the data dir and the given files."""
    import basisctl.cache  # noqa: F401 - first: data files are read parsed from the result cache (performance.md)
    from basisctl.calibration.inputs import calibrate_kappa, calibrate_sigma, margin_for, user_series
    from basisctl.calibration.volatility import realised_vol
    from basisctl.model.margin import check_venue
    from basisctl.model.static import StaticInputs, solve_static

    check_model_flags(sigma=sigma, stress=stress, lookback_days=lookback_days, horizon_days=horizon_days,
                      epsilon=epsilon, lgd=lgd, l_max=l_max, theta_f=theta_f)
    venue = check_venue(venue)
    asset = asset.upper()
    pf, ff = prices_file if sigma is None else None, funding_file if kappa_bps is None else None
    if asof is None and pf is None and ff is None:  # the data dir's last complete day (issue 20 p)
        from basisctl.calibration.asof import resolve_asof

        asof = resolve_asof(None, [venue], [asset], candles=sigma is None, funding=kappa_bps is None)
    us = user_series(pf, ff, asof, exclude_spikes=exclude_spikes)
    candles, funding, end = us.candles, us.funding, us.asof
    extra: dict[str, object] = {"asof": end.isoformat(), "lookback_days": lookback_days}
    if sigma is None and candles is not None:
        bh = us.candles_bar_hours or 1.0
        v = realised_vol(candles, end, lookback_days, bh, min_coverage=0.9)
        sigma = v.sigma_annual
        extra.update(sigma_source=f"{prices_file}: realised {bh:g}h bars, {v.n_returns} returns")
    elif sigma is None:
        v = calibrate_sigma(asset, end, lookback_days)
        sigma = v.sigma_annual
        extra.update(sigma_source=f"realised {v.interval_hours:g}h bars, {v.n_returns} returns")
    else:
        extra["sigma_source"] = "--sigma"
    if kappa_bps is None:
        k = calibrate_kappa(venue, asset, end, lookback_days, horizon_days * 24.0, funding=funding)
        kappa = k.kappa
        src = str(funding_file) if funding is not None else f"{venue} funding"
        extra.update(kappa_source=f"{src}, {k.n_windows} windows, {k.days_covered:.0f} days")
    else:
        kappa = kappa_bps * 1e-4
        extra["kappa_source"] = "--kappa-bps"
    theta, lmax = margin_for(venue, asset, l_max=l_max, theta_f=theta_f)
    res = solve_static(StaticInputs(venue, asset, sigma, stress, theta, lmax, horizon_days, epsilon, lgd,
                                    kappa, mu))
    out = {**res.to_dict(), **extra}
    from basisctl.risk.sizing import static_model_fields

    if extra["sigma_source"] == "--sigma" and (msg := _sigma_warning(sigma, model)):
        warn(msg)
    bars_in = candles if candles is not None else prices_file  # as read for sigma (spikes excluded when asked)
    out.update(static_model_fields(model, res, asset, venue, bars_in, end, lookback_days, seed=seed))
    if kappa <= 0:
        out["alpha_econ_note"] = "kappa <= 0: carry cannot pay for liquidation risk; alpha_econ = 1 (stay out)"
    return _plain(out)


@handle_errors
def static_grid(
    venues: Annotated[str, typer.Option(help=VENUES_LIST_HELP)] = "binance,hyperliquid",
    assets: Annotated[str, typer.Option(help="Comma-separated assets.")] = "BTC,ETH,LINK,DOGE",
    lookbacks: Annotated[str, typer.Option(help="Comma-separated lookbacks [days].")] = "30,90,180,360",
    stresses: Annotated[str, typer.Option(help="Comma-separated volatility stresses [x].")] = "1,1.5,2",
    asof: Annotated[str | None, typer.Option(help=ASOF_HELP)] = None,
    epsilon: Annotated[float, typer.Option(help="Variant 2 budget.")] = 1e-3,
    lgd: Annotated[float, typer.Option(help="Variant 1 LGD [fraction of capital].")] = 0.1,
    horizon_days: Annotated[float, typer.Option(help="Review horizon [days].")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of rows.")] = False,
    csv: Annotated[Path | None, typer.Option(help="Write the grid to this CSV file.")] = None,
    parquet: Annotated[Path | None, typer.Option(help="Write the grid to this Parquet file.")] = None,
    model: Annotated[str, typer.Option(help="The grid is the paper's stressed closed form across --stresses: "
                                       "gbm only (other models: `basisctl static --model M`).")] = "gbm",
) -> None:
    """Both variants for every venue x asset x lookback x stress, calibrated from the data dir (the paper's
    model, GBM)."""
    import numpy as np
    import pandas as pd

    from basisctl.calibration.asof import resolve_asof
    from basisctl.model.margin import check_venue
    from basisctl.risk.registry import check_model, is_stressed
    from basisctl.static_grid import static_grid_frame

    if not is_stressed(check_model(model)):
        fail(f"static-grid sweeps the paper's stress multiplier, so it is the paper's model only (--model gbm); "
             f"size {model} with `basisctl static --model {model}`")
    vs = [check_venue(v) for v in parse_strs(venues)]
    asof = resolve_asof(asof, vs, parse_strs(assets))
    df = static_grid_frame(vs, parse_strs(assets), parse_floats(lookbacks, "lookbacks", positive=True),
                           parse_floats(stresses, "stresses", positive=True), asof, epsilon, lgd, horizon_days)
    bad = df[df["alpha_risk"].isna()]
    if len(df) and len(bad) == len(df):  # nothing computable: an error, never a grid of nulls with exit 0
        fail(f"no cell of the static grid could be calibrated; first: {bad['venue'].iloc[0]} {bad['asset'].iloc[0]}: "
             f"{bad['note'].iloc[0]}")
    for (v, a), g in bad.groupby(["venue", "asset"], sort=False):
        warn(f"static-grid {v} {a}: {len(g)} cells not computed: {g['note'].iloc[0]}")
    if csv is not None:
        df.to_csv(csv, index=False)
    if parquet is not None:
        df.to_parquet(parquet, index=False)
    if as_json:
        print_json(df.replace({np.nan: None}).to_dict(orient="records"))
        return
    if csv is not None or parquet is not None:
        console.print(f"wrote {len(df)} rows to {csv or parquet}", highlight=False, markup=False)
        return
    t = Table(title=f"Static grid (eps={epsilon:g}, LGD={lgd:g}, h={horizon_days:g}d, asof {df['asof'].iloc[0][:10]})"
              if len(df) else "Static grid")
    for col in ("venue", "asset", "lookback", "stress", "sigma", "kappa bps", "alpha_risk", "lev", "Pi_liq",
                "alpha_econ", "note"):
        t.add_column(col, justify="left" if col in ("venue", "asset", "note") else "right", no_wrap=col != "note")
    r: Any  # pandas-stubs types itertuples() fields as any Scalar; these columns are str/float
    for r in df.itertuples():
        if pd.isna(r.alpha_risk):
            t.add_row(r.venue, r.asset, f"{r.lookback_days:g}d", f"{r.stress:g}x", *["n/a"] * 6, str(r.note))
            continue
        t.add_row(r.venue, r.asset, f"{r.lookback_days:g}d", f"{r.stress:g}x", f"{r.sigma_annual:.3f}",
                  f"{r.kappa_bps:.2f}", f"{r.alpha_risk:.4f}", f"{r.leverage_risk:.2f}x",
                  f"{r.pi_liq_at_alpha_risk:.0e}", f"{r.alpha_econ:.4f}", str(r.note))
    console.print(t)
    console.print("[dim]regenerate: basisctl static-grid --json; alpha_econ = 1 means kappa <= 0 (stay out)[/]")


@handle_errors
def funding_stats(
    venue: Annotated[str, typer.Option(help=" | ".join(VENUE_NAMES) + " (any venue with funding data: "
                                            "`basisctl data list`; `basisctl data fetch` adds one).")],
    asset: Annotated[str, typer.Option(help="Asset symbol.")],
    asof: Annotated[str | None, typer.Option(help=ASOF_HELP)] = None,
    windows: Annotated[str, typer.Option(help="Comma-separated lookback windows [days].")] = "90,180,360",
    horizon_hours: Annotated[float, typer.Option(help="Cumulation horizon [h]; 24 = the paper's 1-day.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """1-day cumulative funding as APY per lookback window (shape of the paper's Tables I-III)."""
    from basisctl.calibration.funding import funding_window_stats
    from basisctl.calibration.inputs import utc
    from basisctl.data import locator
    from basisctl.venues.registry import venue_names

    v = venue.lower()
    if v not in venue_names():
        fail(f"unknown venue '{venue}': expected one of {', '.join(venue_names())}")
    f = locator.load_funding(v, asset)
    from basisctl.calibration.asof import resolve_asof

    end = utc(resolve_asof(asof, [v], [asset], candles=False))
    stats = funding_window_stats(f, end, tuple(parse_floats(windows, "windows", positive=True)), horizon_hours)
    rows = [s.to_dict() for s in stats]
    if as_json:
        print_json({"venue": v, "asset": asset.upper(), "asof": end.isoformat(), "horizon_hours": horizon_hours,
                    "unit": "APY (decimal per year)", "windows": rows})
        return
    t = Table(title=f"{v} {asset.upper()}: {horizon_hours:g}h cumulative funding as APY, windows ending "
              f"{end:%Y-%m-%d}")
    for col in ("window", "mean", "median", "std", "q0.05", "q0.95", "share +", "windows", "days covered"):
        t.add_column(col, justify="right")
    for s in stats:
        t.add_row(f"{s.window_days:g}d", f"{s.mean:.2%}", f"{s.median:.2%}", f"{s.std:.2%}", f"{s.q05:.2%}",
                  f"{s.q95:.2%}", f"{s.share_positive:.1%}", str(s.n_windows), f"{s.days_covered:.0f}")
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("static")(static)
    app.command("static-grid")(static_grid)
    app.command("funding-stats")(funding_stats)
