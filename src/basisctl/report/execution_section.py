"""Report section: execution costs and capacity (paper Secs. X-XI)."""


import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.band_grids import upper_rows
from basisctl.data.snapshots import default_pool, synthetic_book_from_depth
from basisctl.execution.capacity import CapacityReport, capacity_from_curves
from basisctl.execution.costs import (
    SIDES,
    BasisSide,
    FixedFrictions,
    InstantCost,
    OrderBookPerpLeg,
    UniswapV3SpotLeg,
    build_instant_costs,
)
from basisctl.execution.orderbook import HL_TAKER_FEE_BPS, PerpFees
from basisctl.report._bands import default_alpha_lower, default_band_inputs
from basisctl.report._html import F2, F4, _figure, _table

EXEC_ASSET = "ETH"
EXEC_VENUE = "hyperliquid"
EXEC_SIZES_USD = (1e4, 1e5, 1e6, 1e7)
CAP_BUDGETS_BPS = (20.0, 30.0, 40.0, 60.0)
CAP_BUFFER_BPS = 10.0
CAP_Q_MIN_USD = 1e4
CAP_MAX_NOTIONAL_USD = 5e7
CAP_CURVE_POINTS = 96
WITHDRAWAL_USD = 1.0
BASE_TOKENS = ("WETH", "ETH")


def _exec_costs() -> tuple[UniswapV3SpotLeg, OrderBookPerpLeg, dict[BasisSide, InstantCost]]:
    """The defaults of ``basisctl costs quote|capacity --asset ETH``: Uniswap v3 USDC/WETH 0.05% pool snapshot,
    SYNTHETIC Hyperliquid book from the depth snapshot, taker 4.5 bps, $1 withdrawal, no gas."""
    pool = default_pool(EXEC_ASSET)
    base = next(t.symbol for t in (pool.token0, pool.token1) if t.symbol.upper() in BASE_TOKENS)
    spot = UniswapV3SpotLeg(pool, base)
    perp = OrderBookPerpLeg(synthetic_book_from_depth(EXEC_ASSET, EXEC_VENUE), PerpFees(taker_bps=HL_TAKER_FEE_BPS))
    return spot, perp, dict(build_instant_costs(spot, perp, FixedFrictions(withdrawal_usd=WITHDRAWAL_USD)))


def execution_frames() -> dict[str, pd.DataFrame]:
    """Report tables of the execution section. ``legs``: C_s(q) split into spot / perp / fixed [bps of notional]
    at ``EXEC_SIZES_USD`` (spot leg by the exact Q64.96 swap, as ``costs quote``); ``capacity``: eqs. 65-68 per
    budget K^max [bps] with the CLI's band (Hyperliquid rule, 180 d, 1.5x; alpha_U from eq. 45 with K_reb = the
    buy budget) and its curves (96 geometric points from q_min to $50M, monotone envelope)."""
    spot, _, ic = _exec_costs()
    legs = []
    for side in SIDES:
        for q in EXEC_SIZES_USD:
            b = ic[side].breakdown(q)
            spot_bps = spot.exact(side, q)[0]
            total = spot_bps + b.perp_bps + b.fixed_bps
            legs.append({"side": side, "notional_usd": q, "spot_bps": spot_bps, "perp_bps": b.perp_bps,
                         "fixed_bps": b.fixed_bps, "total_bps": total,
                         "fillable": "yes" if np.isfinite(total) else "no (beyond depth)"})
    inp = default_band_inputs(EXEC_VENUE, EXEC_ASSET)
    at = inp.alpha_target
    al = default_alpha_lower(inp)
    curves = {s: ic[s].to_cost_curve(CAP_MAX_NOTIONAL_USD, CAP_CURVE_POINTS, CAP_Q_MIN_USD) for s in SIDES}
    cap = []
    for k in CAP_BUDGETS_BPS:
        au = upper_rows(inp, at, [k])[0]["alpha_upper"]
        rep: CapacityReport = capacity_from_curves(
            [curves["buy-basis"]], [curves["sell-basis"]], alpha_target=at, alpha_lower=al, alpha_upper=au,
            buy_budget_bps=k, sell_budget_bps=k, buffer_bps=CAP_BUFFER_BPS, q_min_usd=CAP_Q_MIN_USD)
        d = rep.to_dict()
        cap.append({"budget_bps": k, "buffer_bps": CAP_BUFFER_BPS, "alpha_lower": al, "alpha_target": at,
                    "alpha_upper": au, **{c: d[c] for c in ("phi_buy", "phi_sell", "q_max_buy_usd", "q_max_sell_usd",
                                                            "v_max_buy_usd", "v_max_sell_usd", "v_max_usd",
                                                            "v_min_usd")}})
    return {"legs": pd.DataFrame(legs), "capacity": pd.DataFrame(cap)}


def _exec_figure(ic: dict[BasisSide, InstantCost], spot: UniswapV3SpotLeg, perp: OrderBookPerpLeg,
                 cap: pd.DataFrame) -> plt.Figure:
    q = np.geomspace(1e3, CAP_MAX_NOTIONAL_USD, 320)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    side_color = {"buy-basis": "#2a9d55", "sell-basis": "#c0392b"}
    for s in SIDES:
        c = ic[s].cost_bps(q)
        ax.plot(q, np.where(np.isfinite(c), c, np.nan), color=side_color[s], lw=1.6, label=f"C_{s.split('-')[0]}(q) "
                f"total ({s})")
        ax2.plot(q, _finite(spot.cost_bps(s, q)), color=side_color[s], lw=1.3, label=f"spot leg, {s}")
        ax2.plot(q, _finite(perp.cost_bps(s, q)), color=side_color[s], lw=1.1, ls="--",
                 label=f"perp leg (synthetic), {s}")
    ax2.plot(q, ic["buy-basis"].fixed.bps(q), color="#777", lw=1.0, ls=":", label="fixed ($1 withdrawal) / q")
    k0 = float(cap["budget_bps"].iloc[0])
    ax.axhline(k0, color="k", lw=0.9, label=f"budget K^max = {k0:g} bps")
    ax.axhline(k0 - CAP_BUFFER_BPS, color="k", lw=0.9, ls=":", label=f"K^max - buffer = {k0 - CAP_BUFFER_BPS:g} bps")
    for s, key, mk in (("buy-basis", "q_max_buy_usd", "^"), ("sell-basis", "q_max_sell_usd", "v")):
        r = cap[cap[key] > 0]
        if len(r):
            ax.scatter(r[key], r["budget_bps"] - CAP_BUFFER_BPS, marker=mk, color=side_color[s], zorder=3, s=30,
                       label=f"Q^max_{s.split('-')[0]} at K^max = {', '.join(f'{k:g}' for k in r['budget_bps'])} bps")
    for a in (ax, ax2):
        a.axvline(CAP_Q_MIN_USD, color="#1f6fb2", lw=1.0, ls="--", label=f"q_min = ${CAP_Q_MIN_USD:,.0f}")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_ylim(0.05 if a is ax2 else 3, 3000)
        a.set_xlabel("notional q [USD]")
        a.grid(alpha=0.3, which="both")
    ax.set_ylabel("cost [bps of notional]")
    ax.set_title(f"{EXEC_ASSET} executable cost by side (spot: Uniswap v3; perp: SYNTHETIC book)", fontsize=9)
    ax2.set_title("leg decomposition", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left")
    ax2.legend(fontsize=6.5, loc="upper left")
    fig.tight_layout()
    return fig


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.nan)


def _usd(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"${x:,.0f}"


def execution_section() -> str:
    spot, perp, ic = _exec_costs()
    fr = execution_frames()
    legs, cap = fr["legs"], fr["capacity"]
    pool = spot.pool
    src_spot = (f"Uniswap v3 {pool.token0.symbol}/{pool.token1.symbol} {pool.fee_pips / 1e4:g}% mainnet pool snapshot "
                f"({Path(pool.source).name}, mid ${spot.mid_usd:,.2f}), exact tick-by-tick swap, LP fee included")
    out = ["<h2 id='execution'>Execution costs and capacity (paper Secs. X-XI)</h2>",
           f"<p>Side-specific executable cost C<sub>s</sub>(q) = C<sub>spot</sub>(q) + C<sub>perp</sub>(q) + F/q "
           f"(eqs. 55-56) [bps of notional, each leg against its own mid] for {EXEC_ASSET}. buy-basis = buy spot + "
           "sell perp (used to LOWER collateral at &alpha;<sub>U</sub>); sell-basis = sell spot + buy perp (used to "
           f"RAISE collateral at &alpha;<sub>L</sub>, the solvency side). Spot: {html.escape(src_spot)}. Perp: "
           f"taker {HL_TAKER_FEE_BPS:g} bps against a <b>SYNTHETIC</b> book ({html.escape(perp.book.source)}); "
           f"nothing beyond its 20 levels is fillable. Fixed layer: ${WITHDRAWAL_USD:g} withdrawal, no gas.</p>",
           "<p class='note'>Sec. X's trade-log evidence (Tables XIII, XIV, XXV) needs a trade log: "
           "<code>basisctl exec-report --trades FILE --out DIR</code>. No real trade log is in the data, so it is "
           "not in this report. The perp book is synthetic (rebuilt from a top-20 bid-depth snapshot, not a recorded "
           "book) and the two snapshots are about a month apart; the curves illustrate the method on snapshot data, "
           "not a synchronous market state. Pass <code>--pool-file</code> / <code>--book-file</code> to the CLI for "
           "real snapshots.</p>"]
    out.append(_table(legs, "Leg decomposition of C_buy(q) and C_sell(q) [bps of notional] (spot: Uniswap v3 pool "
                      "by the exact Q64.96 swap; perp: SYNTHETIC Hyperliquid book).",
                      f"basisctl costs quote --asset {EXEC_ASSET} --side SIDE --notional-usd Q --json",
                      {"notional_usd": "{:,.0f}", "spot_bps": F2, "perp_bps": F2, "fixed_bps": "{:.3f}",
                       "total_bps": F2}))
    out.append(_figure(_exec_figure(ic, spot, perp, cap),
                       "Executable cost vs notional (log-log): totals by side with the budget, budget-minus-buffer "
                       "and q_min lines (left); spot, perp (synthetic) and fixed legs (right).",
                       f"basisctl costs quote --asset {EXEC_ASSET} --side SIDE --notional-usd Q"))
    cap_t = cap.copy()
    for c in ("q_max_buy_usd", "q_max_sell_usd", "v_max_buy_usd", "v_max_sell_usd", "v_max_usd", "v_min_usd"):
        cap_t[c] = [_usd(x) for x in cap_t[c]]
    out.append(_capacity_findings(cap))
    out.append(_table(cap_t, f"Capacity (eqs. 65-68) per cost budget K^max (both sides), buffer "
                      f"{CAP_BUFFER_BPS:g} bps, q_min ${CAP_Q_MIN_USD:,.0f}; phi_buy = alpha_U - alpha_target, "
                      "phi_sell = alpha_target - alpha_L; V^max = min(V^max_buy, V^max_sell); one snapshot, so "
                      "V^max_safe = V^max.",
                      f"basisctl costs capacity --asset {EXEC_ASSET} --budget-buy-bps K --budget-sell-bps K "
                      f"--buffer-bps {CAP_BUFFER_BPS:g} --json",
                      {"budget_bps": "{:g}", "buffer_bps": "{:g}", "alpha_lower": F4, "alpha_target": F4,
                       "alpha_upper": F4, "phi_buy": F4, "phi_sell": F4}))
    return "\n".join(out)


def _capacity_findings(cap: pd.DataFrame) -> str:
    r0 = cap.iloc[0]
    pos = cap[cap["v_max_usd"] > 0]
    items = [f"At the CLI default budget K^max = {r0['budget_bps']:g} bps with a {r0['buffer_bps']:g} bps buffer "
             f"V^max = {_usd(r0['v_max_usd'])}"
             + (": the cheapest size already costs more than K^max - buffer on at least one side, so no rebalance "
                "is admissible." if r0["v_max_usd"] == 0 else ".")]
    if len(pos):
        r = pos.iloc[0]
        binding = "sell-basis (solvency side)" if r["v_max_sell_usd"] <= r["v_max_buy_usd"] else "buy-basis"
        items.append(f"The first budget in the sweep with positive capacity is {r['budget_bps']:g} bps: V^max = "
                     f"{_usd(r['v_max_usd'])}, bound by {binding}; below V^min = {_usd(r['v_min_usd'])} a triggered "
                     "rebalance is smaller than q_min.")
        if r["v_max_buy_usd"] < r["v_max_sell_usd"] and r["alpha_upper"] >= 0.99 - 1e-12:
            items.append(f"buy-basis binds mostly because &alpha;<sub>U</sub> is clipped at 0.99: a triggered upper "
                         f"rebalance moves phi_buy = {r['phi_buy']:.2f} of equity (phi_sell = {r['phi_sell']:.3f} at "
                         "&alpha;<sub>L</sub>), so V^max_buy = Q^max_buy / phi_buy is small.")
    return "<ul class='find'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
