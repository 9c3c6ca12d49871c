"""Execution commands: ``costs quote``, ``costs capacity`` and ``exec-report`` (paper Secs. X-XI)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from basisctl.cli._common import console, fail, handle_errors, print_json
from basisctl.errors import DataValidationError, ValidationIssue

if TYPE_CHECKING:
    import pandas as pd

costs_app = typer.Typer(rich_markup_mode=None,
                        help="Side-specific execution costs [bps of notional] and capacity (paper Sec. XI).",
                        no_args_is_help=True)


class Side(StrEnum):
    buy = "buy-basis"
    sell = "sell-basis"


class Smooth(StrEnum):
    median = "median"
    quantile = "quantile"
    parametric = "parametric"


_BASE_TOKENS = {"ETH": ("WETH", "ETH"), "BTC": ("WBTC", "BTC", "cbBTC", "tBTC")}


def _spot_leg(asset: str, pool_file: Path | None, fee_bps: float | None, impact_bps: float | None) -> Any:
    from basisctl.data.snapshots import default_pool
    from basisctl.execution.costs import ParametricSpotLeg, UniswapV3SpotLeg
    from basisctl.execution.uniswap_v3 import load_pool_snapshot

    a = asset.upper()
    if fee_bps is not None or impact_bps is not None:
        if pool_file is not None:
            fail("give either --pool-file or the parametric spot model (--spot-fee-bps/--spot-impact-bps-at-1m)")
        return ParametricSpotLeg(fee_bps or 0.0, impact_bps or 0.0)
    if pool_file is None and a != "ETH":
        fail(f"no spot pool snapshot for {a}: pass --pool-file META_JSON (Uniswap v3 snapshot with its _ticks.csv) "
             "or a parametric spot model with --spot-fee-bps and --spot-impact-bps-at-1m")
    pool = load_pool_snapshot(pool_file) if pool_file is not None else default_pool(a)
    candidates = _BASE_TOKENS.get(a, (a, f"W{a}"))
    base = next((t.symbol for t in (pool.token0, pool.token1) if t.symbol.upper() in
                 {c.upper() for c in candidates}), None)
    if base is None:
        fail(f"pool {pool.token0.symbol}/{pool.token1.symbol} has no token for {a} "
             f"(looked for {', '.join(candidates)})")
    return UniswapV3SpotLeg(pool, str(base))


def _perp_leg(asset: str, book_file: Path | None, venue: str, taker_bps: float) -> Any:
    from basisctl.data.snapshots import synthetic_book_from_depth
    from basisctl.execution.costs import OrderBookPerpLeg
    from basisctl.execution.orderbook import L2Book, PerpFees

    book = L2Book.from_file(book_file) if book_file is not None else synthetic_book_from_depth(asset, venue)
    if book.coin.upper() != asset.upper():
        fail(f"{book_file}: book is for {book.coin}, not {asset.upper()}")
    return OrderBookPerpLeg(book, PerpFees(taker_bps=taker_bps))


def _spot_source(leg: Any) -> str:
    pool = getattr(leg, "pool", None)
    if pool is not None:
        return (f"uniswap_v3 {pool.token0.symbol}/{pool.token1.symbol} fee {pool.fee_pips / 1e4:g}% "
                f"({Path(pool.source).name})")
    return (f"parametric: fee {leg.fee_bps} bps + {leg.impact_bps_at_1m} bps x (q/$1M)^{leg.exponent} "
            "(user-supplied model)")


_POOL_HELP = "Uniswap v3 snapshot <name>.meta.json (ticks read from <name>_ticks.csv). Default for ETH: data-dir " \
             "USDC/WETH 0.05% mainnet pool."
_BOOK_HELP = "A Hyperliquid l2Book JSON response. Default: SYNTHETIC book rebuilt from the data dir's " \
             "top-20 bid-depth snapshot (2026-03)."


@costs_app.command("quote")
@handle_errors
def quote_cmd(
    asset: str = typer.Option(..., "--asset", help="Asset, e.g. ETH."),
    side: Side = typer.Option(..., "--side", help="buy-basis (buy spot, sell perp) or sell-basis."),
    notional_usd: float = typer.Option(..., "--notional-usd", help="Spot notional [USD]."),
    pool_file: Path | None = typer.Option(None, "--pool-file", help=_POOL_HELP),
    book_file: Path | None = typer.Option(None, "--book-file", help=_BOOK_HELP),
    venue: str = typer.Option("hyperliquid", help="Venue of the depth snapshot (hyperliquid, lighter)."),
    taker_fee_bps: float = typer.Option(4.5, help="Perp taker fee [bps] (Hyperliquid base tier 4.5)."),
    gas_usd: float = typer.Option(0.0, help="Fixed gas per trade [USD]."),
    withdrawal_usd: float = typer.Option(1.0, help="Fixed withdrawal/bridge charge per trade [USD]."),
    spot_fee_bps: float | None = typer.Option(None, help="Parametric spot model: fee + spread [bps]."),
    spot_impact_bps_at_1m: float | None = typer.Option(None, help="Parametric spot model: impact at $1M [bps], "
                                                       "square-root law."),
    as_json: bool = typer.Option(False, "--json", help="Strict JSON on stdout."),
) -> None:
    """All-in cost of one basis trade: each leg against its own mid (LP / venue fees included) plus fixed
    frictions / notional. Spot on the pool uses the exact integer Uniswap v3 simulation."""
    import numpy as np

    from basisctl.execution.costs import FixedFrictions, InstantCost

    if not np.isfinite(notional_usd) or notional_usd <= 0:
        fail("--notional-usd must be > 0")
    spot = _spot_leg(asset, pool_file, spot_fee_bps, spot_impact_bps_at_1m)
    perp = _perp_leg(asset, book_file, venue, taker_fee_bps)
    s = side.value
    ic = InstantCost(s, spot, perp, FixedFrictions(gas_usd=gas_usd, withdrawal_usd=withdrawal_usd))  # type: ignore[arg-type]
    b = ic.breakdown(notional_usd)
    out: dict[str, Any] = b.to_dict()
    out["asset"] = asset.upper()
    spot_info: dict[str, Any] = {"source": _spot_source(spot)}
    if hasattr(spot, "exact"):
        cost, r = spot.exact(s, notional_usd)
        out["spot_bps"] = cost
        spot_info.update({"mid_usd": spot.mid_usd, "amount_in": str(r.amount_in), "amount_out": str(r.amount_out),
                          "fee_paid": str(r.fee_paid), "steps": r.steps, "ticks_crossed": r.ticks_crossed,
                          "complete": r.complete, "method": "exact Q64.96"})
    out["total_bps"] = out["spot_bps"] + out["perp_bps"] + out["fixed_bps"]
    from basisctl.execution.orderbook import walk_book

    book = perp.book
    w = walk_book(book, "sell" if s == "buy-basis" else "buy", notional_usd / book.mid, perp.fees)
    out["spot"] = spot_info
    out["perp"] = {"source": book.source or "l2Book", "mid_usd": w.mid, "avg_px": w.avg_px, "impact_bps": w.impact_bps,
                   "fee_bps": w.fee_bps, "levels_used": w.levels_used, "complete": w.complete,
                   "depth_usd": book.depth_usd("sell" if s == "buy-basis" else "buy")}
    out["fixed_usd"] = ic.fixed.total_usd
    out["fillable"] = bool(np.isfinite(out["total_bps"]))
    if as_json:
        print_json(out)
        return
    t = Table(title=f"{asset.upper()} {s} ${notional_usd:,.0f}: executable cost [bps of notional]")
    for c in ("spot_bps", "perp_bps", "fixed_bps", "total_bps"):
        t.add_column(c, justify="right")
    t.add_row(*(f"{out[c]:.2f}" for c in ("spot_bps", "perp_bps", "fixed_bps", "total_bps")))
    console.print(t)
    console.print(f"spot: {spot_info['source']}\nperp: {out['perp']['source']}", highlight=False, markup=False)
    if not out["fillable"]:
        console.print("[yellow]size exceeds the available depth of at least one leg[/]")


def _calibrated_band(asset: str, venue: str, k_reb_bps: float) -> dict[str, float]:
    """alpha_target, alpha_L, alpha_U at the default as-of from the data dir (venue's margin rule and funding)."""
    from basisctl.calibration.inputs import DEFAULT_ASOF, calibrate_kappa, calibrate_sigma, margin_for
    from basisctl.model.bands import alpha_lower as _alpha_lower
    from basisctl.model.bands import alpha_upper as _alpha_upper
    from basisctl.model.margin import check_venue
    from basisctl.model.static import solve_alpha_risk

    v = check_venue(venue)
    theta, _ = margin_for(v, asset)
    sig = calibrate_sigma(asset, DEFAULT_ASOF, 180.0).sigma_annual * 1.5
    at = float(solve_alpha_risk(sig, theta, 1 / 365, 1e-3))
    kap = calibrate_kappa(v, asset, DEFAULT_ASOF, 180.0, 336.0).kappa
    return {"alpha_target": at, "alpha_lower": float(_alpha_lower(sig, theta)),
            "alpha_upper": float(_alpha_upper(at, k_reb_bps * 1e-4, kap))}


@costs_app.command("capacity")
@handle_errors
def capacity_cmd(
    asset: str = typer.Option(..., "--asset", help="Asset, e.g. ETH."),
    alpha_target: float | None = typer.Option(None, help="Reset target alpha† [fraction of capital]. Default: "
                                               "calibrated from the data dir (Hyperliquid rule, 180d, 1.5x stress)."),
    alpha_lower: float | None = typer.Option(None, help="Lower band alpha_L [fraction of capital]. Default: "
                                              "calibrated (h_liq 3 h, eps_liq 1e-4)."),
    alpha_upper: float | None = typer.Option(None, help="Upper band alpha_U [fraction of capital]. Default: "
                                              "calibrated (eq. 45 with K_reb = --budget-buy-bps, 14-day kappa)."),
    budget_buy_bps: float = typer.Option(20.0, help="K^max for buy-basis [bps of notional]."),
    budget_sell_bps: float = typer.Option(20.0, help="K^max for sell-basis [bps of notional]."),
    buffer_bps: float = typer.Option(10.0, help="Execution buffer b [bps] taken off each budget."),
    q_min_usd: float = typer.Option(10_000.0, help="Minimum effective rebalance [USD]."),
    quantile: float = typer.Option(0.25, help="p of V^max_safe = Quantile_p(V^max(t)) (eq. 68)."),
    max_notional_usd: float = typer.Option(5e7, help="Largest size sampled on the cost curves [USD]."),
    curves: Path | None = typer.Option(None, help="History of cost curves (CSV/Parquet: ts, side, notional_usd, "
                                       "cost_bps). Default: one curve per side from the liquidity snapshots."),
    smooth: Smooth = typer.Option(Smooth.median, help="Estimator for Ĉ_s over the window (eq. 58)."),
    window_hours: float = typer.Option(0.0, help="Smoothing window Δ [hours] for --curves (0: instantaneous)."),
    pool_file: Path | None = typer.Option(None, "--pool-file", help=_POOL_HELP),
    book_file: Path | None = typer.Option(None, "--book-file", help=_BOOK_HELP),
    venue: str = typer.Option("hyperliquid", help="Venue of the depth snapshot: hyperliquid, lighter (lighter "
                                                 "only with --alpha-target, --alpha-lower and --alpha-upper: it has "
                                                 "no margin rule to calibrate the band)."),
    taker_fee_bps: float = typer.Option(4.5, help="Perp taker fee [bps]."),
    gas_usd: float = typer.Option(0.0, help="Fixed gas per trade [USD]."),
    withdrawal_usd: float = typer.Option(1.0, help="Fixed withdrawal/bridge charge per trade [USD]."),
    as_json: bool = typer.Option(False, "--json", help="Strict JSON on stdout."),
) -> None:
    """q*_s, phi_s, Q^max_s, V^max_s, V^max and V^max_safe (eqs. 65-68); phi_sell at alpha_L, phi_buy at
    alpha_U."""
    import numpy as np

    from basisctl.execution.capacity import capacity_from_curves
    from basisctl.execution.costs import CostHistory, FixedFrictions, build_instant_costs, smoothed_cost

    if alpha_target is None or alpha_lower is None or alpha_upper is None:
        band = _calibrated_band(asset, venue, budget_buy_bps)
        alpha_target = band["alpha_target"] if alpha_target is None else alpha_target
        alpha_lower = band["alpha_lower"] if alpha_lower is None else alpha_lower
        alpha_upper = band["alpha_upper"] if alpha_upper is None else alpha_upper

    ts: list[int] | None
    if curves is not None:
        df = _read_table(curves)
        hist = {s: CostHistory.from_frame(df, s, str(curves)) for s in ("buy-basis", "sell-basis")}
        if not np.array_equal(hist["buy-basis"].ts_ms, hist["sell-basis"].ts_ms):
            raise DataValidationError(str(curves), [ValidationIssue(None, "ts", "the same timestamps for both sides",
                                                                    "they differ")])
        ts = [int(t) for t in hist["buy-basis"].ts_ms]
        w = int(window_hours * 3.6e6)
        bc = [smoothed_cost(hist["buy-basis"], t, w, smooth.value) for t in ts]
        sc = [smoothed_cost(hist["sell-basis"], t, w, smooth.value) for t in ts]
        source = f"{curves} ({len(ts)} timestamps, {smooth.value} over {window_hours:g} h)"
    else:
        spot = _spot_leg(asset, pool_file, None, None)
        perp = _perp_leg(asset, book_file, venue, taker_fee_bps)
        ic = build_instant_costs(spot, perp, FixedFrictions(gas_usd=gas_usd, withdrawal_usd=withdrawal_usd))
        qlo = q_min_usd if q_min_usd > 0 else 0.0
        bc = [ic["buy-basis"].to_cost_curve(max_notional_usd, 96, qlo)]
        sc = [ic["sell-basis"].to_cost_curve(max_notional_usd, 96, qlo)]
        ts = None
        source = f"spot: {_spot_source(spot)}; perp: {perp.book.source or 'l2Book'} (1 snapshot)"
    rep = capacity_from_curves(bc, sc, alpha_target=alpha_target, alpha_lower=alpha_lower, alpha_upper=alpha_upper,
                               buy_budget_bps=budget_buy_bps, sell_budget_bps=budget_sell_bps, buffer_bps=buffer_bps,
                               q_min_usd=q_min_usd, p=quantile, ts_ms=ts)
    out: dict[str, Any] = {"asset": asset.upper(), "source": source, **rep.to_dict(),
                           "budget_buy_bps": budget_buy_bps, "budget_sell_bps": budget_sell_bps,
                           "buffer_bps": buffer_bps,
                           "alpha": {"target": alpha_target, "lower": alpha_lower, "upper": alpha_upper}}
    if as_json:
        print_json(out)
        return
    t = Table(title=f"{asset.upper()} capacity (eqs. 65-68)")
    t.add_column("side")
    for c in ("phi", "Q^max [USD]", "V^max [USD]"):
        t.add_column(c, justify="right")
    t.add_row("buy-basis (alpha_U)", f"{rep.phi_buy:.4f}", f"{out['q_max_buy_usd']:,.0f}",
              f"{out['v_max_buy_usd']:,.0f}")
    t.add_row("sell-basis (alpha_L)", f"{rep.phi_sell:.4f}", f"{out['q_max_sell_usd']:,.0f}",
              f"{out['v_max_sell_usd']:,.0f}")
    console.print(t)
    console.print(rep.summary() + f"\nV^min (triggered rebalances >= q_min) = ${rep.v_min_usd:,.0f}\n{source}",
                  highlight=False)
    if out["v_max_usd"] < rep.v_min_usd:
        console.print("[yellow]V^max < V^min: no equity level gives rebalances that are both >= q_min and "
                      "within budget on both sides[/]")


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        return pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except (ValueError, OSError) as e:
        raise DataValidationError(str(path), [ValidationIssue(None, None, "a readable CSV/Parquet table",
                                                              str(e).splitlines()[0][:120])]) from None


@handle_errors
def exec_report_cmd(
    trades: Path = typer.Option(..., "--trades", help="Trade log CSV/Parquet: timestamp, side (buy-basis|sell-basis), "
                                "notional_usd [USD], target_bps, realized_bps [bps of notional]."),
    q_min_usd: float = typer.Option(10_000.0, "--q-min-usd",
                                    help="Post-filter keeps trades with notional >= this [USD]."),
    as_json: bool = typer.Option(False, "--json", help="Strict JSON on stdout."),
    out: Path | None = typer.Option(None, "--out", help="Directory for figures (PNG) and the summary table (CSV)."),
    n_boot: int = typer.Option(2000, help="Bootstrap resamples for the median CIs."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    max_buffer_bps: float | None = typer.Option(None, help="Report buffers above this as unreachable (null)."),
) -> None:
    """Execution evidence from a trade log: Table XIII (volume, median |spread|), Table XIV (raw vs post-filter
    win rates WR(0), WR$(0)), Table XXV (minimum extra buffer for 90/95/98% capital-weighted success), bootstrap
    CIs of per-side medians, and figures."""
    from basisctl.execution.analytics import execution_report, load_trade_log, write_figures

    df = load_trade_log(trades)
    rep = execution_report(df, q_min_usd, n_boot, seed, max_buffer_bps, str(trades))
    d = rep.to_dict()
    if out is not None:
        d["figures"] = write_figures(rep, out)
        rep.to_frame().to_csv(Path(out) / "execution_summary.csv", index=False)
        d["summary_csv"] = str(Path(out) / "execution_summary.csv")
    if as_json:
        print_json(d)
        return
    t = Table(title=f"Execution report: {trades} (q_min ${q_min_usd:,.0f})")
    for c in ("sample", "side", "trades", "volume $", "median |bps|", "median bps [95% CI]", "WR(0)", "WR$(0)",
              "b@90%", "b@95%", "b@98%"):
        t.add_column(c, justify="right" if c not in ("sample", "side") else "left")
    for sample in ("raw", "filtered"):
        for g, st in d[sample].items():
            ci = st["median_bps_ci95"]

            def f(x: Any, fmt: str = "{:.1f}") -> str:
                return "-" if x is None else fmt.format(x)

            t.add_row(sample, g, str(st["trades"]), f"{st['volume_usd']:,.0f}", f(st["median_abs_bps"]),
                      f(st["median_bps"]) + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""),
                      f(st["win_rate"], "{:.1%}"), f(st["win_rate_weighted"], "{:.1%}"),
                      *(f(st["buffer_bps_for"][k]) for k in ("0.90", "0.95", "0.98")))
    console.print(t)
    if out is not None:
        console.print("figures: " + ", ".join(d["figures"]), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(costs_app, name="costs")
    app.command("exec-report")(exec_report_cmd)
