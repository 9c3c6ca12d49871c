"""Dynamic band commands: ``bands`` and the ``simulate`` group (``upper``, ``upper-grid``, ``lower-grid``).

Units on the command line: sigma annualised (8760 h/yr); alpha as a fraction of capital; costs K_reb in bps
of capital; kappa14 = expected cumulative 14-day funding in bps of notional; horizons in hours or days as
named. Inputs not given on the command line come from the data dir (`basisctl data list`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from basisctl.cli._common import (
    SPIKES_HELP,
    STRICT_HELP,
    check_model_flags,
    console,
    err_console,
    fail,
    handle_errors,
    parse_floats,
    parse_strs,
    print_json,
)
from basisctl.cli._defaults import (
    ASOF_DATA_HELP,
    DATA_ASSETS,
    DEFAULT_EPS_LIQ,
    DEFAULT_EPSILON,
    DEFAULT_H_LIQ_HOURS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_LOWER_MC_PATHS,
    DEFAULT_MC_HORIZON_DAYS,
    DEFAULT_RISK_MODEL,
    DEFAULT_STRESS,
    DEFAULT_UPPER_PATHS,
    MIN_HITS_FOR_STATS,
    RISK_MODEL_HELP,
    SIM_BACKENDS,
    VENUES_LIST_HELP,
)
from basisctl.cli._defaults import MARGIN_VENUES as VENUES

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba
__all__ = ["register"]

DEFAULT_COSTS_BPS = "5,10,20,30"


def __getattr__(name: str) -> Any:  # the band inputs and grids live in basisctl.band_grids
    if name in ("MIN_BOOT_COVERAGE", "BandInputs", "hourly_returns"):
        from basisctl import band_grids as grids

        return getattr(grids, name)
    raise AttributeError(name)


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda desc=None: prog.update(task, advance=1, description=desc or label)


def _check_backend(backend: str) -> str:
    if backend not in SIM_BACKENDS:
        fail(f"--backend must be one of {', '.join(SIM_BACKENDS)} (got '{backend}')")
    return backend


def register(app: typer.Typer) -> None:
    sim = typer.Typer(rich_markup_mode=None, help="Monte Carlo evidence for the dynamic band (paper Sec. VIII).",
                      no_args_is_help=True)
    app.add_typer(sim, name="simulate")

    @app.command("bands")
    @handle_errors
    def bands_cmd(
        venue: str = typer.Option(..., help="binance | hyperliquid | bybit | okx | dydx | kraken "
                                  "(sets theta_F and the funding stream)."),
        asset: str = typer.Option(..., help="BTC, ETH, LINK, DOGE (data-dir assets); other assets need "
                                  "--sigma, --kappa14-bps and --l-max."),
        sigma: float | None = typer.Option(None, help="Unstressed annualised vol; default: 1h data-dir candles."),
        asof: str | None = typer.Option(None, help=ASOF_DATA_HELP),
        lookback_days: float = typer.Option(DEFAULT_LOOKBACK_DAYS, help="Calibration window [days]."),
        stress: float = typer.Option(DEFAULT_STRESS, help="Vol multiplier for alpha_target and alpha_L."),
        h_liq_hours: float = typer.Option(DEFAULT_H_LIQ_HOURS, help="Operational solvency horizon h_liq [h]."),
        eps_liq: float = typer.Option(DEFAULT_EPS_LIQ, help="Liquidation budget over h_liq [probability]."),
        epsilon: float = typer.Option(DEFAULT_EPSILON, help="Static 1-day budget for alpha_target."),
        kappa14_bps: float | None = typer.Option(None, help="Expected 14-day cumulative funding [bps]; "
                                                 "default: rolling-window estimate from the data dir's funding."),
        cost_bps: str = typer.Option(DEFAULT_COSTS_BPS, help="Rebalance cost scenarios K_reb [bps of capital]."),
        l_max: float | None = typer.Option(None, help="Override the venue max leverage (theta_F = c / L_max)."),
        bootstrap: bool = typer.Option(False, "--bootstrap", help="Add alpha_L^boot (eq. 40) and its CI, from "
                                       "the data dir's 1h returns of the lookback window (also with --sigma)."),
        boot_paths: int | None = typer.Option(None, help="Bootstrap paths (default: sized from the CI)."),
        boot_rel_halfwidth: float = typer.Option(0.1, help="Target relative CI half-width of the hit freq."),
        demean: bool = typer.Option(True, help="Demean bootstrap returns before the stress multiplier."),
        seed: int = typer.Option(0, help="Seed of the bootstrap."),
        prices_file: Path | None = typer.Option(None, help="Your 1h candles (CSV/Parquet) for sigma and the "
                                                "bootstrap instead of the data dir's series."),
        funding_file: Path | None = typer.Option(None, help="Your funding history (CSV/Parquet) for kappa14."),
        optimal: bool = typer.Option(False, "--optimal", help="Add the optimal band (impulse control, "
                                     "model.optimal_band) per --cost-bps, read as bps of traded notional on both "
                                     "sides: key 'optimal'."),
        fixed_usd: float = typer.Option(0.0, help="--optimal: fixed cost per rebalance [USD]."),
        capital_usd: float = typer.Option(1_000_000.0, help="--optimal: capital D [USD]."),
        q_min_usd: float = typer.Option(0.0, help="--optimal: smallest trade [USD]."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON."),
        risk_model: str = typer.Option(DEFAULT_RISK_MODEL, help="Liquidation-risk model for alpha_target and "
                                       "alpha_L: " + RISK_MODEL_HELP + "."),
        exclude_spikes: bool = typer.Option(False, "--exclude-spikes", help=SPIKES_HELP),
        strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    ) -> None:
        """Band boundaries for one venue/asset: alpha_target, alpha_L (eq. 38), alpha_U per cost (eq. 45).

        With --prices-file/--funding-file and no --asof, the calibration ends where the given files end."""
        from basisctl.band_grids import hourly_returns, resolve_band_inputs, upper_rows
        from basisctl.calibration.inputs import user_series, utc
        from basisctl.model.bands import alpha_lower
        from basisctl.model.static import alpha_liq
        from basisctl.simulate.bootstrap import alpha_lower_bootstrap

        check_model_flags(sigma=sigma, stress=stress, lookback_days=lookback_days, h_liq_hours=h_liq_hours,
                          eps_liq=eps_liq, epsilon=epsilon, l_max=l_max)
        costs = parse_floats(cost_bps, "cost-bps")
        if asof is None and prices_file is None and funding_file is None:  # data's last complete day (issue 20 p)
            from basisctl.calibration.asof import resolve_asof

            asof = resolve_asof(None, [venue], [asset], candles=sigma is None, funding=kappa14_bps is None)
        us = user_series(prices_file, funding_file, asof, exclude_spikes=exclude_spikes)
        asof = us.asof.isoformat()
        inp = resolve_band_inputs(venue, asset, asof, lookback_days, sigma, stress, kappa14_bps, l_max, epsilon,
                       candles=us.candles, funding=us.funding)
        a_t = inp.alpha_target
        a_l = float(alpha_lower(inp.sigma_stressed, inp.theta_f, h_liq_hours, eps_liq))
        from basisctl.risk.rule import band_risk_fields

        risk = band_risk_fields(risk_model, inp.asset, inp.theta_f, utc(asof), lookback_days, epsilon, eps_liq,
                                h_liq_hours, a_t, a_l, us.candles if us.candles is not None else prices_file)
        a_t, a_l = risk.pop("alpha_target"), risk.pop("alpha_lower")
        out: dict[str, Any] = {
            "venue": inp.venue, "asset": inp.asset, "asof": utc(asof).isoformat(), "lookback_days": lookback_days,
            "sigma": inp.sigma, "sigma_source": inp.sigma_source, "stress": inp.stress,
            "sigma_stressed": inp.sigma_stressed, "theta_f": inp.theta_f, "l_max": inp.l_max,
            "alpha_liq": float(alpha_liq(inp.theta_f)), "epsilon": epsilon,
            "alpha_target": a_t, "leverage_target": (1 - a_t) / a_t,
            "alpha_lower": a_l, "h_liq_hours": h_liq_hours, "eps_liq": eps_liq,
            "kappa14_bps": inp.kappa14 * 1e4, "kappa14_source": inp.kappa14_source,
            "upper": upper_rows(inp, a_t, costs), **risk,
        }
        if optimal:
            out["optimal"] = _optimal_rows(inp.sigma, inp.kappa14, a_l, costs, fixed_usd, capital_usd, q_min_usd)
        if bootstrap:
            if us.candles is not None and us.candles_bar_hours != 1.0:
                fail(f"--bootstrap needs 1h bars; {prices_file} has {us.candles_bar_hours:g}h bars")
            r = hourly_returns(inp.asset, asof, lookback_days, candles=us.candles)
            b = alpha_lower_bootstrap(r, inp.theta_f, h_liq_hours, eps_liq, inp.stress, demean=demean,
                                      paths=boot_paths, rel_halfwidth=boot_rel_halfwidth, seed=seed)
            out["alpha_lower_boot"] = b.alpha_lower_boot
            out["alpha_lower_boot_ci"] = list(b.alpha_ci)
            out["bootstrap"] = b.to_dict()
        if json_out:
            print_json(out)
            return
        console.print(f"[bold]{inp.venue} {inp.asset}[/]  sigma={inp.sigma:.4f} x{inp.stress:g} "
                      f"({inp.sigma_source})  theta_F={inp.theta_f:.4f}  kappa14={inp.kappa14 * 1e4:.2f} bps "
                      f"({inp.kappa14_source})")
        console.print(f"alpha_target={a_t:.4f} ({(1 - a_t) / a_t:.2f}x)   alpha_L={a_l:.4f} "
                      f"(h_liq {h_liq_hours:g} h, eps {eps_liq:g})   alpha_liq={out['alpha_liq']:.4f}")
        if bootstrap:
            b_d = out["bootstrap"]
            console.print(f"alpha_L^boot={b_d['alpha_lower_boot']:.4f} CI [{b_d['alpha_lower_boot_ci'][0]:.4f}, "
                          f"{b_d['alpha_lower_boot_ci'][1]:.4f}] ({b_d['paths']:,} paths, freq "
                          f"{b_d['hit_freq']:.2e})")
        t = Table(title="upper boundary alpha_U = alpha_target + K_reb / kappa14 (cap 0.99)")
        for col in ("K_reb [bps]", "Delta_U", "alpha_U"):
            t.add_column(col, justify="right")
        for u in out["upper"]:
            t.add_row(f"{u['cost_bps']:g}", f"{u['delta_upper']:.4f}",
                      f"{u['alpha_upper']:.4f}" + (" (cap)" if u["clipped"] else ""))
        console.print(t)
        if optimal:
            t = Table(title="optimal band (impulse control, floor alpha_L; long-run net carry)")
            for col in ("cost [bps]", "fixed [USD]", "alpha_lower", "reset_lower", "reset_upper", "alpha_upper",
                        "net carry APY", "cost drag"):
                t.add_column(col, justify="right")
            for o in out["optimal"]:
                t.add_row(f"{o['cost_bps']:g}", f"{o['fixed_usd']:,.0f}", f"{o['alpha_lower']:.4f}",
                          f"{o['reset_lower']:.4f}", f"{o['reset_upper']:.4f}", f"{o['alpha_upper']:.4f}",
                          f"{o['net_carry_apy']:.2%}", f"{o['cost_drag_apy']:.2%}")
            console.print(t)

    @sim.command("upper")
    @handle_errors
    def upper_cmd(
        alpha_target: float = typer.Option(..., help="Start and reset point alpha_0 [fraction of capital]."),
        alpha_upper_: float = typer.Option(..., "--alpha-upper", help="Upper band alpha_U to hit."),
        sigma: float = typer.Option(..., help="Annualised vol of the paths, used as is (no stress applied)."),
        mu: float = typer.Option(0.0, help="Annual spot drift [1/yr]."),
        horizon_days: float = typer.Option(DEFAULT_MC_HORIZON_DAYS, help="Simulation horizon [days]."),
        step_hours: float = typer.Option(1.0, help="Time step [hours]."),
        paths: int = typer.Option(100_000, help="Number of paths."),
        seed: int = typer.Option(0, help="Seed (numpy SeedSequence)."),
        backend: str = typer.Option("numba", help="numpy | numba | jax."),
        monitoring: str = typer.Option("continuous", help="continuous (Brownian bridge) | discrete."),
        antithetic: bool = typer.Option(False, "--antithetic", help="Antithetic pairs (z, -z)."),
        alpha_lower_: float | None = typer.Option(None, "--alpha-lower", help="Also track a lower band."),
        funding_bps_per_day: float = typer.Option(0.0, help="Constant funding accrued into margin (eq. 30) "
                                                  "[bps of notional per day, + = short earns]."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON."),
    ) -> None:
        """Hit rate and hit time of alpha_U (a price fall) within a horizon, starting at alpha_target."""
        from basisctl.model.static import hit_probability_log_barrier
        from basisctl.simulate.engine import simulate_hits
        from basisctl.simulate.models import GBM, FullState

        _check_backend(backend)
        if monitoring not in ("continuous", "discrete"):
            fail(f"--monitoring must be continuous or discrete (got '{monitoring}')")
        if not 0.0 < alpha_target < alpha_upper_ < 1.0:
            fail(f"need 0 < --alpha-target < --alpha-upper < 1 (got {alpha_target:g} and {alpha_upper_:g}): "
                 "alpha_U is reached by a price fall from alpha_target")
        if alpha_lower_ is not None and not 0.0 < alpha_lower_ < alpha_target:
            fail(f"need 0 < --alpha-lower < --alpha-target (got {alpha_lower_:g} and {alpha_target:g})")
        model = (GBM(sigma, mu) if funding_bps_per_day == 0.0
                 else FullState(sigma, funding_bps_per_day * 1e-4 / 24.0, mu))
        res = simulate_hits(model, alpha_target, [alpha_upper_], None if alpha_lower_ is None else [alpha_lower_],
                            horizon_hours=horizon_days * 24.0, step_hours=step_hours, paths=paths, seed=seed,
                            backend=backend, monitoring=monitoring, antithetic=antithetic)  # type: ignore[arg-type]
        col = res.columns()[0]
        out: dict[str, Any] = {
            "alpha_target": alpha_target, "alpha_upper": alpha_upper_, "sigma": sigma, "mu": mu,
            "horizon_days": horizon_days, "step_hours": step_hours,
            "hit_rate": col["upper_hit_rate"], "hit_rate_se": col["upper_hit_rate_se"],
            "median_hit_days": col["upper_hit_days_median"], "hit_days_q10": col["upper_hit_days_q10"],
            "hit_days_q90": col["upper_hit_days_q90"],
            "paths": res.paths, "steps": res.steps, "backend": backend, "monitoring": monitoring,
            "antithetic": antithetic, "seed": seed, "funding_bps_per_day": funding_bps_per_day,
            "seconds": res.seconds, "path_steps_per_s": res.path_steps_per_s,
        }
        if funding_bps_per_day == 0.0:
            b = math.log((1.0 - alpha_upper_) / (1.0 - alpha_target))
            # alpha_U hit = log price falls to b < 0; mirror: -x has log drift sigma^2/2 - mu
            out["exact_hit_rate"] = float(hit_probability_log_barrier(-b, sigma, horizon_days / 365.0,
                                                                      sigma * sigma - mu))
        if alpha_lower_ is not None:
            out.update(lower_hit_rate=col["lower_hit_rate"], lower_hit_rate_se=col["lower_hit_rate_se"],
                       lower_median_hit_days=col["lower_hit_days_median"])
        if json_out:
            print_json(out)
            return
        t = Table(title=f"alpha {alpha_target:.4f} -> alpha_U {alpha_upper_:.4f}, sigma {sigma:g}, "
                        f"{horizon_days:g} d in {step_hours:g} h steps")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        for k in ("hit_rate", "hit_rate_se", "exact_hit_rate", "median_hit_days", "hit_days_q10", "hit_days_q90",
                  "paths", "steps", "backend", "seconds", "path_steps_per_s"):
            if k in out:
                v = out[k]
                t.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
        console.print(t)

    @sim.command("upper-grid")
    @handle_errors
    def upper_grid_cmd(
        venues: str = typer.Option(",".join(VENUES), help=VENUES_LIST_HELP),
        assets: str = typer.Option(",".join(DATA_ASSETS), help="Comma-separated assets."),
        cost_bps: str = typer.Option(DEFAULT_COSTS_BPS, help="K_reb scenarios [bps of capital]."),
        asof: str | None = typer.Option(None, help=ASOF_DATA_HELP),
        lookback_days: float = typer.Option(DEFAULT_LOOKBACK_DAYS, help="Calibration window [days]."),
        stress: float = typer.Option(DEFAULT_STRESS, help="Vol multiplier for alpha_target (Table IV slice)."),
        path_stress: float = typer.Option(1.0, help="Vol multiplier for the simulated paths (1 = calibrated)."),
        horizon_days: float = typer.Option(DEFAULT_MC_HORIZON_DAYS, help="Simulation horizon [days]."),
        step_hours: float = typer.Option(1.0, help="Time step [hours]."),
        paths: int = typer.Option(DEFAULT_UPPER_PATHS, help="Paths per venue/asset (shared by all cost columns)."),
        seed: int = typer.Option(0, help="Seed (same paths for every cell: common random numbers)."),
        backend: str = typer.Option("numba", help="numpy | numba | jax."),
        funding: bool = typer.Option(False, "--funding", help="Accrue kappa14/336 per hour into margin (eq. 30)."),
        model: str = typer.Option("gbm", help="gbm | bootstrap (resample the window's demeaned 1h returns x "
                                  "path-stress; 1 h steps)."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON."),
    ) -> None:
        """Sec. VIII.E / Table XIX: time to reach alpha_U (14-day funding) per venue x asset x cost."""
        from basisctl.band_grids import upper_grid

        _check_backend(backend)
        if model not in ("gbm", "bootstrap"):
            fail(f"--model must be gbm or bootstrap (got '{model}')")
        if model == "bootstrap" and step_hours != 1.0:
            fail("--model bootstrap resamples 1-hour returns: use --step-hours 1")
        costs = parse_floats(cost_bps, "cost-bps")
        vs, as_ = parse_strs(venues), parse_strs(assets)
        from basisctl.calibration.asof import resolve_asof

        asof = resolve_asof(asof, vs, as_)
        with _progress(not json_out, len(vs) * len(as_), "upper-grid") as tick:
            grid = upper_grid(vs, as_, costs, asof=asof, lookback_days=lookback_days, stress=stress,
                              path_stress=path_stress, horizon_days=horizon_days, step_hours=step_hours, paths=paths,
                              seed=seed, backend=backend, funding=funding, model=model, on_cell=tick)
        meta, rows = grid.meta, grid.rows
        if json_out:
            print_json({**meta, "rows": rows})
            return
        t = Table(title=f"alpha_U hit within {horizon_days:g} d ({paths:,} {model} paths, sigma x{path_stress:g}, "
                        f"{step_hours:g} h steps + bridge)",
                  caption=f"basisctl simulate upper-grid --paths {paths} --seed {seed} --horizon-days "
                          f"{horizon_days:g}; median/q90 blank (-) where fewer than {MIN_HITS_FOR_STATS} paths hit")
        for col_name in ("venue", "asset", "alpha_t", "kappa14 bps", "K bps", "Delta_U", "alpha_U", "hit rate",
                         "se", "median d", "q90 d"):
            t.add_column(col_name, justify="right")
        for r in rows:
            t.add_row(r["venue"], r["asset"], f"{r['alpha_target']:.3f}", f"{r['kappa14_bps']:.2f}",
                      f"{r['cost_bps']:g}", f"{r['delta_upper']:.3f}",
                      f"{r['alpha_upper']:.3f}" + ("*" if r["clipped"] else ""), f"{r['hit_rate']:.3f}",
                      f"{r['hit_rate_se']:.3f}", *hit_time_cells(r, paths))
        console.print(t)

    @sim.command("lower-grid")
    @handle_errors
    def lower_grid_cmd(
        venues: str = typer.Option(",".join(VENUES), help=VENUES_LIST_HELP),
        assets: str = typer.Option(",".join(DATA_ASSETS), help="Comma-separated assets."),
        asof: str | None = typer.Option(None, help=ASOF_DATA_HELP),
        lookback_days: float = typer.Option(DEFAULT_LOOKBACK_DAYS, help="Calibration window [days]."),
        stress: float = typer.Option(DEFAULT_STRESS, help="Vol multiplier (closed form, MC and bootstrap)."),
        h_liq_hours: float = typer.Option(DEFAULT_H_LIQ_HOURS, help="Solvency horizon [h]."),
        eps_liq: float = typer.Option(DEFAULT_EPS_LIQ, help="Liquidation budget over h_liq."),
        mc_paths: int = typer.Option(DEFAULT_LOWER_MC_PATHS, help="GBM paths checking Pi_liq(alpha_L) = eps_liq."),
        boot_rel_halfwidth: float = typer.Option(0.1, help="Bootstrap CI relative half-width (sizes paths)."),
        demean: bool = typer.Option(True, help="Demean bootstrap returns before stressing."),
        seed: int = typer.Option(0, help="Seed."),
        backend: str = typer.Option("numba", help="numpy | numba | jax (GBM check)."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON."),
    ) -> None:
        """Sec. VIII.B/C: alpha_L closed form, its GBM Monte Carlo check and bootstrap alpha_L^boot per cell."""
        from basisctl.band_grids import lower_grid

        _check_backend(backend)
        vs, as_ = parse_strs(venues), parse_strs(assets)
        from basisctl.calibration.asof import resolve_asof

        asof = resolve_asof(asof, vs, as_, funding=False)  # alpha_L reads candles only
        with _progress(not json_out, len(vs) * len(as_), "lower-grid") as tick:
            grid = lower_grid(vs, as_, asof=asof, lookback_days=lookback_days, stress=stress, h_liq_hours=h_liq_hours,
                              eps_liq=eps_liq, mc_paths=mc_paths, boot_rel_halfwidth=boot_rel_halfwidth, demean=demean,
                              seed=seed, backend=backend, on_cell=tick)
        meta, rows = grid.meta, grid.rows
        if json_out:
            print_json({**meta, "rows": rows})
            return
        t = Table(title=f"solvency band: h_liq {h_liq_hours:g} h, eps_liq {eps_liq:g}, sigma x{stress:g}",
                  caption=f"basisctl simulate lower-grid --seed {seed} --stress {stress:g}")
        for col_name in ("venue", "asset", "sigma", "theta_F", "alpha_liq", "alpha_L", "MC Pi_liq(alpha_L)",
                         "alpha_L^boot", "95% CI", "boot paths"):
            t.add_column(col_name, justify="right")
        for r in rows:
            t.add_row(r["venue"], r["asset"], f"{r['sigma']:.3f}", f"{r['theta_f']:.4f}", f"{r['alpha_liq']:.4f}",
                      f"{r['alpha_lower']:.4f}", f"{r['mc_liq_rate']:.2e} ± {r['mc_liq_rate_se']:.1e}",
                      f"{r['alpha_lower_boot']:.4f}",
                      f"[{r['alpha_lower_boot_ci'][0]:.4f}, {r['alpha_lower_boot_ci'][1]:.4f}]",
                      f"{r['boot_paths']:,}")
        console.print(t)


def _optimal_rows(sigma: float, kappa14: float, floor: float, costs: list[float], fixed_usd: float,
                  capital_usd: float, q_min_usd: float) -> list[dict[str, Any]]:
    """The optimal band per proportional cost [bps of notional, both sides]; kappa14 x 365/14 per year."""
    from basisctl.model.optimal_band import solve_optimal_band

    rows = []
    for c in costs:
        b = solve_optimal_band(sigma, kappa14 * 365.0 / 14.0, floor, buy_cost=c, sell_cost=c, fixed_usd=fixed_usd,
                               capital_usd=capital_usd, q_min_usd=q_min_usd)
        rows.append({"cost_bps": c, **b.to_dict()})
    return rows


def hit_time_cells(row: dict[str, Any], paths: int) -> tuple[str, str]:
    """(median, q90) hit time [days] of an upper-grid cell, ``-`` where fewer than MIN_HITS_FOR_STATS paths hit."""
    if row["hit_rate"] * paths < MIN_HITS_FOR_STATS - 1e-9:
        return "-", "-"
    return _fmt_days(row["median_hit_days"]), _fmt_days(row["hit_days_q90"])


def _fmt_days(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.1f}"

