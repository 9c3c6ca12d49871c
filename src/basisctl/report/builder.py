"""``basisctl report --out DIR``: static grid, bands, Monte Carlo evidence for the band (Sec. VIII.B-E),
execution costs and capacity (Secs. X-XI), funding diagnostics and the funding-environment backtests on the
data-dir data, written as one offline, self-contained ``DIR/index.html`` (figures are matplotlib PNGs embedded as
base64; no scripts, fonts or styles are fetched).

Every table and figure caption prints the CLI command that regenerates its numbers.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl import __version__
from basisctl.backtest.experiment import DEFAULT_PERIODS, ExperimentResult, Period, run_experiment
from basisctl.calibration.funding import funding_window_stats, rolling_carry
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.data import locator
from basisctl.errors import BasisctlError, DataNotFoundError
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
from basisctl.execution.orderbook import HL_TAKER_FEE_BPS, PerpFees, synthetic_book_from_depth
from basisctl.execution.uniswap_v3 import default_pool
from basisctl.model.bands import DEFAULT_EPS_LIQ, DEFAULT_H_LIQ_HOURS, alpha_lower
from basisctl.report.data_section import data_section
from basisctl.report.warnings_section import with_warnings
from basisctl.simulate.grids import (
    DEFAULT_COSTS_BPS,
    DEFAULT_EPSILON,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_LOWER_MC_PATHS,
    DEFAULT_MC_HORIZON_DAYS,
    DEFAULT_STRESS,
    DEFAULT_UPPER_PATHS,
    lower_grid,
    resolve_band_inputs,
    upper_grid,
    upper_rows,
)
from basisctl.static_grid import static_grid_frame

Step = Callable[[str, int, int], None]
Note = Callable[[str], None]
VENUES = ("binance", "hyperliquid")
COLORS = {"binance": "#d08b00", "hyperliquid": "#1f6fb2"}
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}h1{font-size:1.7em}h2{border-bottom:2px solid #1f6fb2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eef3f8}figure{margin:1em 0}img{max-width:100%}figcaption,.cap{font-size:.85em;color:#444}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px;font-size:.92em}.note{background:#fff8e5;padding:.6em 1em;
border-left:4px solid #d08b00}.warnings{background:#fdecea;padding:.4em 1em;border-left:4px solid #c0392b;
font-size:.88em}ul.find li{margin:.3em 0}nav a{margin-right:1em}
"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: plt.Figure, caption: str, cmd: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}"/>'
            f"<figcaption>{html.escape(caption)} Regenerate: <code>{html.escape(cmd)}</code></figcaption></figure>")


def _no_negative_zero(text: str) -> str:
    """'-0.00%' -> '0.00%': a value that rounds to zero has no sign."""
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def _table(df: pd.DataFrame, caption: str, cmd: str, fmt: dict[str, str] | None = None) -> str:
    d = df.copy()
    for c, f in (fmt or {}).items():
        if c in d:
            d[c] = [("" if (isinstance(v, float) and np.isnan(v)) else _no_negative_zero(f.format(v))) for v in d[c]]
    for c in d.columns:  # counts stored as float (a NaN in the column) print as counts: 268, not 268.0
        if c in (fmt or {}) or not pd.api.types.is_float_dtype(d[c]):
            continue
        vals = d[c].to_numpy(dtype=float)
        fin = vals[np.isfinite(vals)]
        if fin.size and np.all(fin == np.round(fin)):
            d[c] = ["" if not np.isfinite(v) else str(int(v)) for v in vals]
    body = d.to_html(index=False, escape=True, border=0)
    return (f'<p class="cap"><b>{html.escape(caption)}</b> Regenerate: <code>{html.escape(cmd)}</code></p>'
            f"{body}")


PCT = "{:.2%}"
F4 = "{:.4f}"
F2 = "{:.2f}"


# ---------------------------------------------------------------------------------------------------------
def _static_section(assets: Sequence[str], quick: bool) -> tuple[str, pd.DataFrame]:
    lbs = (30.0, 180.0) if quick else (30.0, 90.0, 180.0, 360.0)
    stresses = (1.0, 1.5, 2.0) if quick else (1.0, 1.25, 1.5, 2.0, 2.5)
    g = static_grid_frame(VENUES, assets, lbs, stresses, DEFAULT_ASOF)
    cmd = (f"basisctl static-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
           f"--lookbacks {','.join(f'{x:g}' for x in lbs)} --stresses {','.join(f'{x:g}' for x in stresses)}")
    out = ["<h2 id='static'>Static collateral share &alpha;* (Variant 2)</h2>",
           f"<p>Calibrated at {DEFAULT_ASOF:%Y-%m-%d} from the data dirs: &epsilon; = 10<sup>-3</sup> over a 1-day "
           "horizon, venue margin rule &theta;<sub>F</sub> from the paper's L<sub>max</sub> table.</p>"]
    s15 = g[np.isclose(g["stress"], 1.5)]
    # heat map venue x asset (rows) vs lookback (columns)
    piv = s15.pivot_table(index=["venue", "asset"], columns="lookback_days", values="alpha_risk")
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * piv.shape[1], 0.5 + 0.42 * piv.shape[0]))
    im = ax.imshow(piv.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(range(piv.shape[1]), [f"{c:g}d" for c in piv.columns])
    ax.set_yticks(range(piv.shape[0]), [f"{v} {a}" for v, a in piv.index])
    for (i, j), v in np.ndenumerate(piv.to_numpy()):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="w" if v < np.nanmean(piv.to_numpy()) else "k",
                    fontsize=8)
    ax.set_xlabel("volatility lookback")
    ax.set_title("alpha* (Variant 2, stress 1.5x)")
    fig.colorbar(im, ax=ax, fraction=0.04)
    out.append(_figure(fig, "Heat map of alpha* over venue x asset x lookback (stress 1.5x).", cmd))
    # stress sensitivity
    s180 = g[np.isclose(g["lookback_days"], 180.0)]
    fig, axes = plt.subplots(1, len(VENUES), figsize=(10, 3.4), sharey=True)
    for ax, v in zip(np.atleast_1d(axes), VENUES, strict=True):
        for a in assets:
            r = s180[(s180.venue == v) & (s180.asset == a)].sort_values("stress")
            ax.plot(r["stress"], r["alpha_risk"], marker="o", label=a)
        ax.set_title(f"{v}: alpha* vs volatility stress (180d)")
        ax.set_xlabel("stress multiplier")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("alpha*")
    np.atleast_1d(axes)[0].legend()
    out.append(_figure(fig, "Stress sensitivity of alpha* (180-day lookback).", cmd))
    cols = ["venue", "asset", "lookback_days", "sigma_annual", "sigma_stressed", "theta_f", "l_max", "kappa_bps",
            "alpha_risk", "leverage_risk", "pi_liq_at_alpha_risk", "alpha_econ", "note"]
    t = s15[[c for c in cols if c in s15]]
    out.append(_table(t, "Static grid slice, stress 1.5x.", cmd,
                      {"sigma_annual": F4, "sigma_stressed": F4, "theta_f": F4, "kappa_bps": F2, "alpha_risk": F4,
                       "leverage_risk": F2, "pi_liq_at_alpha_risk": "{:.2e}", "alpha_econ": F4, "lookback_days": "{:g}",
                       "l_max": "{:g}"}))
    return "\n".join(out), g


BAND_COSTS_BPS = (10.0, 20.0, 30.0)


def _bands_section(assets: Sequence[str]) -> str:
    rows: list[dict[str, object]] = []
    for v in VENUES:
        for a in assets:
            try:
                inp = resolve_band_inputs(v, a, DEFAULT_ASOF, DEFAULT_LOOKBACK_DAYS, None, DEFAULT_STRESS, None, None,
                                          DEFAULT_EPSILON)
            except BasisctlError as e:
                rows.append({"venue": v, "asset": a, "note": str(e)})
                continue
            at = inp.alpha_target
            row = {"venue": v, "asset": a, "theta_f": inp.theta_f,
                   "alpha_lower": float(alpha_lower(inp.sigma_stressed, inp.theta_f, DEFAULT_H_LIQ_HOURS,
                                                    DEFAULT_EPS_LIQ)),
                   "alpha_target": at, "kappa_14d_bps": inp.kappa14 * 1e4}
            for u in upper_rows(inp, at, BAND_COSTS_BPS):
                row[f"alpha_upper_{u['cost_bps']:g}bps"] = u["alpha_upper"]
            row["note"] = ""
            rows.append(row)
    df = pd.DataFrame(rows)
    fmt = {c: F4 for c in df.columns if c.startswith("alpha") or c == "theta_f"}
    fmt["kappa_14d_bps"] = F2
    cmd = f"basisctl bands --venue V --asset A --cost-bps {','.join(f'{c:g}' for c in BAND_COSTS_BPS)} --json"
    return ("<h2 id='bands'>Dynamic band [&alpha;<sub>L</sub>, &alpha;<sub>U</sub>]</h2>"
            "<p>&alpha;<sub>L</sub>: Variant 2 over h<sub>liq</sub> = 3 h with "
            "&epsilon;<sub>liq</sub> = 10<sup>-4</sup> "
            "(eq. 38/48) on the 1.5x-stressed 180-day vol; &alpha;<sub>U</sub> = &alpha;&dagger; + K<sub>reb</sub>/"
            "&kappa;<sub>14d</sub> capped at 0.99 (eq. 45) for three cost budgets.</p>"
            + _table(df, f"Bands at {DEFAULT_ASOF:%Y-%m-%d} per venue and asset "
                     "(keys alpha_lower, alpha_target, kappa14_bps, upper[].alpha_upper).", cmd, fmt))


# ---------------------------------------------------------------------------------------------------------
def _upper_cmd(assets: Sequence[str]) -> str:
    return (f"basisctl simulate upper-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
            f"--cost-bps {','.join(f'{c:g}' for c in DEFAULT_COSTS_BPS)} --paths {DEFAULT_UPPER_PATHS} "
            f"--horizon-days {DEFAULT_MC_HORIZON_DAYS:g} --seed 0 --json")


def _lower_cmd(assets: Sequence[str]) -> str:
    return (f"basisctl simulate lower-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
            f"--mc-paths {DEFAULT_LOWER_MC_PATHS} --seed 0 --json")


def mc_grids(assets: Sequence[str], note: Note | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The upper-band and lower-band Monte Carlo grids of the report (CLI defaults, seed 0), one venue x asset
    cell at a time so that a cell without data becomes a ``note`` row instead of failing the report. Each cell
    reuses the seed, exactly as ``basisctl simulate upper-grid | lower-grid`` do, so the numbers are theirs."""
    up, lo = [], []
    for v in VENUES:
        for a in assets:
            try:
                up += upper_grid([v], [a], DEFAULT_COSTS_BPS, asof=DEFAULT_ASOF, on_cell=note).rows
            except BasisctlError as e:
                up.append({"venue": v, "asset": a, "note": str(e)})
            try:
                lo += lower_grid([v], [a], asof=DEFAULT_ASOF, on_cell=note).rows
            except BasisctlError as e:
                lo.append({"venue": v, "asset": a, "note": str(e)})
    return pd.DataFrame(up), pd.DataFrame(lo)


def _mc_section(assets: Sequence[str], note: Note | None = None) -> str:
    ug, lg = mc_grids(assets, note)
    out = ["<h2 id='mc'>Monte Carlo evidence for the band (paper Sec. VIII.B-E)</h2>",
           "<p><b>Upper band.</b> GBM paths at the calibrated (unstressed) 180-day vol start at &alpha;&dagger; "
           "(Table IV slice, 1.5x stress, &epsilon; = 10<sup>-3</sup>) and run "
           f"{DEFAULT_MC_HORIZON_DAYS:g} days in 1 h steps with Brownian-bridge (continuous) monitoring; "
           "&alpha;<sub>U</sub> = &alpha;&dagger; + K<sub>reb</sub>/"
           "&kappa;<sub>14d</sub> (cap 0.99) for K<sub>reb</sub> = "
           f"{', '.join(f'{c:g}' for c in DEFAULT_COSTS_BPS)} bps, all scored on one path set per cell (common random "
           f"numbers), {DEFAULT_UPPER_PATHS:,} paths. Hit times are medians of the paths that hit. "
           "<b>Lower band.</b> &alpha;<sub>L</sub> in closed form (eq. 38: h<sub>liq</sub> = 3 h, "
           "&epsilon;<sub>liq</sub> = 10<sup>-4</sup>, 1.5x-stressed vol), its GBM check "
           f"&Pi;<sub>liq</sub>(&alpha;<sub>L</sub>) on {DEFAULT_LOWER_MC_PATHS:,} paths (should equal "
           "10<sup>-4</sup>), and the bootstrap &alpha;<sub>L</sub><sup>boot</sup> (eq. 40: the window's demeaned 1 h "
           "returns resampled into 3 h paths, x1.5, bar-end monitoring; paths sized for a &plusmn;10% CI of the hit "
           "frequency; interval = order-statistic 95% CI, Monte Carlo error only).</p>"]
    ok_u = ug[ug["hit_rate"].notna()] if "hit_rate" in ug else ug.iloc[0:0]
    ok_l = lg[lg["alpha_lower"].notna()] if "alpha_lower" in lg else lg.iloc[0:0]
    out.append(_mc_findings(ok_u, ok_l))
    cmd_u, cmd_l = _upper_cmd(assets), _lower_cmd(assets)
    if len(ok_u):
        wide = ok_u.pivot_table(index=["venue", "asset"], columns="cost_bps",
                                values=["alpha_upper", "hit_rate", "median_hit_days"], sort=False,
                                dropna=False)
        tab = ok_u.groupby(["venue", "asset"], sort=False)[["alpha_target", "kappa14_bps"]].first()
        fmt: dict[str, str] = {"alpha_target": F4, "kappa14_bps": F2}
        for c in DEFAULT_COSTS_BPS:
            for key, name, f in (("alpha_upper", f"alpha_U {c:g}bps", F4), ("hit_rate", f"hit {c:g}bps", "{:.3f}"),
                                 ("median_hit_days", f"median d {c:g}bps", "{:.1f}")):
                tab[name] = wide[(key, c)]
                fmt[name] = f
        se = float(ok_u["hit_rate_se"].max())
        out.append(_table(tab.reset_index(), f"alpha_U hit rate within {DEFAULT_MC_HORIZON_DAYS:g} days and median "
                          f"hit time [days] per venue x asset x cost (Table XIX shape); largest standard error of a "
                          f"hit rate {se:.4f}.", cmd_u, fmt))
        out.append(_figure(_hit_rate_figure(ok_u), "alpha_U hit rate (top, error bars 2 SE) and median hit time "
                           "(bottom) against the rebalancing cost K_reb.", cmd_u))
    if len(ok_l):
        t = ok_l.copy()
        t["mc_z"] = (t["mc_liq_rate"] - DEFAULT_EPS_LIQ) / t["mc_liq_rate_se"]
        t["boot_ci_low"] = [c[0] for c in t["alpha_lower_boot_ci"]]
        t["boot_ci_high"] = [c[1] for c in t["alpha_lower_boot_ci"]]
        cols = ["venue", "asset", "sigma_stressed", "theta_f", "alpha_liq", "alpha_lower", "mc_liq_rate",
                "mc_liq_rate_se", "mc_z", "alpha_lower_boot", "boot_ci_low", "boot_ci_high", "boot_paths",
                "alpha_target"]
        out.append(_table(t[cols], "Solvency band: alpha_L closed form vs its GBM Monte Carlo check "
                          "(mc_z = (MC - eps_liq) / SE) vs bootstrap alpha_L^boot with its 95% interval.", cmd_l,
                          {"sigma_stressed": F4, "theta_f": F4, "alpha_liq": F4, "alpha_lower": F4,
                           "mc_liq_rate": "{:.2e}", "mc_liq_rate_se": "{:.1e}", "mc_z": "{:+.2f}",
                           "alpha_lower_boot": F4, "boot_ci_low": F4, "boot_ci_high": F4, "boot_paths": "{:,}",
                           "alpha_target": F4}))
        out.append(_figure(_lower_figure(t), "alpha_liq < alpha_L (closed form) vs alpha_L^boot (95% interval) "
                           "< alpha_target per venue and asset.", cmd_l))
    notes = [r for df in (ug, lg) if "note" in df for r in df["note"].dropna().unique() if r]
    out += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    return "\n".join(out)


def _mc_findings(ug: pd.DataFrame, lg: pd.DataFrame) -> str:
    items = []
    if len(lg):
        z = (lg["mc_liq_rate"] - DEFAULT_EPS_LIQ) / lg["mc_liq_rate_se"]
        same = len(lg) > 1 and float(z.max() - z.min()) < 1e-6
        items.append(f"The GBM check of the closed form lies within 3 SE of &epsilon;<sub>liq</sub> = 10<sup>-4</sup> "
                     f"in {int((z.abs() <= 3).sum())} of {len(lg)} cells (|z| at most {float(z.abs().max()):.2f})"
                     + ("; z is the same in every cell because alpha_L puts the barrier at the same distance in "
                        "&sigma;&radic;h units and the seed is shared, so this is one check, not independent ones."
                        if same else "."))
        d = lg["alpha_lower_boot"] - lg["alpha_lower"]
        items.append(f"&alpha;<sub>L</sub><sup>boot</sup> is above the GBM &alpha;<sub>L</sub> in "
                     f"{int((d > 0).sum())} of {len(lg)} cells (by {float(d.min()):+.4f} to {float(d.max()):+.4f}): "
                     + ("the historical hourly returns have fatter 3-hour tails than GBM at the same vol, so the "
                        "solvency floor from the closed form is the less conservative one."
                        if (d > 0).all() else "the closed form is not uniformly the less conservative floor."))
    if len(ug):
        for c in (min(DEFAULT_COSTS_BPS), max(DEFAULT_COSTS_BPS)):
            r = ug[np.isclose(ug["cost_bps"], c)]
            items.append(f"At K<sub>reb</sub> = {c:g} bps the {DEFAULT_MC_HORIZON_DAYS:g}-day hit rate of "
                         f"&alpha;<sub>U</sub> ranges {r['hit_rate'].min():.1%} to {r['hit_rate'].max():.1%}"
                         f"; &alpha;<sub>U</sub> is clipped at 0.99 in {int(r['clipped'].sum())} of {len(r)} cells.")
    if not items:
        return ""
    return "<p><b>Findings</b></p><ul class='find'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _hit_rate_figure(ug: pd.DataFrame) -> plt.Figure:
    assets = list(dict.fromkeys(ug["asset"]))
    fig, axes = plt.subplots(2, len(assets), figsize=(max(3.3 * len(assets) + 0.6, 5.5), 5.4), squeeze=False,
                             sharex=True)
    for j, a in enumerate(assets):
        for v in VENUES:
            r = ug[(ug.asset == a) & (ug.venue == v)].sort_values("cost_bps")
            if not len(r):
                continue
            axes[0, j].errorbar(r["cost_bps"], r["hit_rate"], yerr=2 * r["hit_rate_se"], marker="o", capsize=2,
                                color=COLORS[v], label=v)
            axes[1, j].plot(r["cost_bps"], r["median_hit_days"], marker="s", color=COLORS[v], label=v)
        axes[0, j].set_title(f"{a}: alpha_U hit within {DEFAULT_MC_HORIZON_DAYS:g} d", fontsize=9)
        axes[0, j].set_ylim(0, 1)
        axes[0, j].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        axes[1, j].set_xlabel("K_reb [bps of capital]")
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("hit rate")
    axes[1, 0].set_ylabel("median hit time [days]")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _lower_figure(t: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.36 * len(t)))
    y = np.arange(len(t))[::-1]
    ax.scatter(t["alpha_liq"], y, marker="x", color="k", label="alpha_liq")
    ax.scatter(t["alpha_lower"], y, marker="o", color="#1f6fb2", label="alpha_L (closed form)")
    ax.errorbar(t["alpha_lower_boot"], y, xerr=[t["alpha_lower_boot"] - t["boot_ci_low"],
                                                t["boot_ci_high"] - t["alpha_lower_boot"]],
                fmt="D", color="#c0392b", capsize=3, label="alpha_L^boot (95% CI)")
    ax.scatter(t["alpha_target"], y, marker="|", s=150, color="#2a9d55", label="alpha_target")
    ax.set_yticks(y, [f"{v} {a}" for v, a in zip(t["venue"], t["asset"], strict=True)])
    ax.set_ylim(-0.6, len(t) - 0.4)
    ax.set_xlim(0, float(t["alpha_target"].max()) * 1.08)
    ax.set_xlabel("collateral share alpha")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# ---------------------------------------------------------------------------------------------------------
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
    inp = resolve_band_inputs(EXEC_VENUE, EXEC_ASSET, DEFAULT_ASOF, DEFAULT_LOOKBACK_DAYS, None, DEFAULT_STRESS, None,
                              None, DEFAULT_EPSILON)
    at = inp.alpha_target
    al = float(alpha_lower(inp.sigma_stressed, inp.theta_f, DEFAULT_H_LIQ_HOURS, DEFAULT_EPS_LIQ))
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


def _execution_section() -> str:
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


def _funding_section(assets: Sequence[str]) -> str:
    rows, series = [], {}
    for v in VENUES:
        for a in assets:
            if not locator.has_funding(v, a):
                continue
            f = locator.load_funding(v, a)
            try:
                for s in funding_window_stats(f, DEFAULT_ASOF):
                    rows.append({"venue": v, "asset": a, **s.to_dict()})
            except BasisctlError as e:
                rows.append({"venue": v, "asset": a, "note": str(e)})
            inside = f[(f.ts > DEFAULT_ASOF - pd.Timedelta(days=360)) & (f.ts <= DEFAULT_ASOF)]
            c = rolling_carry(inside, 24.0) if len(inside) else pd.Series(dtype=float)
            series[(v, a)] = c.to_numpy() * 365.0
    df = pd.DataFrame(rows)
    fmt = {c: PCT for c in ("mean", "median", "std", "q05", "q95", "share_positive")}
    fmt.update({"window_days": "{:g}", "days_covered": "{:.0f}"})
    fig, axes = plt.subplots(1, len(assets), figsize=(3.2 * len(assets), 3.0), squeeze=False)
    for ax, a in zip(axes[0], assets, strict=True):
        vals = [series.get((v, a)) for v in VENUES]
        present = [x for x in vals if x is not None and x.size]
        if not present:
            ax.set_title(f"{a}: no data")
            continue
        lo, hi = np.quantile(np.concatenate(present), [0.005, 0.995])
        bins = np.linspace(lo, hi, 50)
        for v, x in zip(VENUES, vals, strict=True):
            if x is not None and x.size:
                ax.hist(np.clip(x, lo, hi), bins=bins, alpha=0.55, color=COLORS[v], density=True,
                        label=f"{v} (mean {x.mean():.1%})")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(f"{a}: 1-day funding as APY")
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend(fontsize=7)
    cmd = "basisctl funding-stats --venue VENUE --asset ASSET --windows 90,180,360"
    return ("<h2 id='funding'>Funding diagnostics</h2>"
            + _figure(fig, f"Distribution of 1-day cumulative funding x 365 over the 360 days to "
                      f"{DEFAULT_ASOF:%Y-%m-%d} (only fully covered days).", cmd)
            + _table(df, "1-day funding APY per lookback window (shape of the paper's Tables I-III).", cmd, fmt))


def _bt_cmd(p: Period, venue: str) -> str:
    return f"basisctl backtest --asset {p.asset} --funding-venue {venue} --from {p.start} --to {p.end}"


def _backtest_section(exp: ExperimentResult, periods: Sequence[Period]) -> str:
    out = ["<h2 id='backtest'>Funding-environment experiment (paper Sec. IX, Tables VII, IX-XI)</h2>",
           "<p>Same Binance perp bars (spot = perp), same rule frozen on the 2 years before each test window "
           "(Binance data, Hyperliquid margin rule), costs from Table VIII with unlimited liquidity at that cost; "
           "only the funding stream credited to the short changes.</p>"]
    rules = exp.rules_frame()
    out.append(_table(rules, "Frozen rule per asset and period (Table VII shape).",
                      "basisctl backtest --asset ASSET --from START --json  (keys alpha_target, alpha_lower, ...)",
                      {"alpha_target": F4, "leverage": F2, "alpha_lower": F4, "alpha_upper": F4, "kappa_1d_bps": F2,
                       "theta_f": F4, "l_max": "{:g}", "sigma_annual": F4, "sigma_bar_hours": "{:g}"}))
    out.append(_findings(exp))
    keys = [(p.label, p.asset) for p in periods if (p.label, p.asset) in exp.rules]
    n = len(keys)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))

    def grid(title: str) -> tuple[plt.Figure, np.ndarray]:
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.0 * ncol, 2.9 * nrow), squeeze=False)
        for ax in axes.ravel()[n:]:
            ax.axis("off")
        fig.suptitle(title)
        return fig, axes.ravel()

    fig_nav, ax_nav = grid("Normalised NAV: solid = Binance funding, dashed = Hyperliquid funding")
    fig_dd, ax_dd = grid("Drawdown")
    fig_lev, ax_lev = grid("Hedge leverage (1 - alpha)/alpha")
    fig_al, ax_al = grid("alpha_t against its band (Hyperliquid funding run); markers = rebalances")
    for k, (lab, a) in enumerate(keys):
        for v in VENUES:
            r = exp.results.get((lab, a, v))
            if r is None:
                continue
            f = r.to_frame()
            nav = f["nav"] / r.config.capital_usd
            ls = "-" if v == "binance" else "--"
            ax_nav[k].plot(f.index, nav, ls, color=COLORS[v], lw=1.1, label=v)
            ax_dd[k].plot(f.index, nav / nav.cummax() - 1, ls, color=COLORS[v], lw=1.0, label=v)
            ax_lev[k].plot(f.index, f["leverage"], ls, color=COLORS[v], lw=0.8, label=v)
            if v == "hyperliquid":
                ax = ax_al[k]
                ax.plot(f.index, f["alpha"], color="k", lw=0.7)
                for y, c, name in ((r.rule.alpha_lower, "r", "alpha_L"), (r.rule.alpha_target, "g", "alpha_target"),
                                   (r.rule.alpha_upper, "b", "alpha_U")):
                    ax.axhline(y, color=c, lw=0.9, ls=":", label=f"{name} {y:.3f}")
                for act, mk, c in (("raise_collateral", "^", "r"), ("lower_collateral", "v", "b"),
                                   ("emergency", "X", "m"), ("liquidation_reentry", "X", "k")):
                    sel = f[f["action"] == act]
                    if len(sel):
                        ax.scatter(sel.index, sel["alpha_pre_trade"], marker=mk, color=c, s=28, zorder=3, label=act)
                ax.set_ylim(0, min(1.0, r.rule.alpha_upper + 0.05))
        for axs in (ax_nav, ax_dd, ax_lev, ax_al):
            axs[k].set_title(f"{a} {lab}", fontsize=9)
            axs[k].tick_params(axis="x", labelsize=7, rotation=30)
            axs[k].grid(alpha=0.3)
        ax_dd[k].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
        ax_al[k].legend(fontsize=6, loc="upper right")
        ax_nav[k].legend(fontsize=7)
    fig_nav.tight_layout()
    fig_dd.tight_layout()
    fig_lev.tight_layout()
    fig_al.tight_layout()
    cmd_all = "basisctl backtest --asset ASSET --funding-venue {binance|hyperliquid} --from START --to END --out DIR"
    out.append(_figure(fig_nav, "NAV per asset under both funding streams (paper Figs. 7/14).", cmd_all))
    out.append(_figure(fig_al, "alpha_t against [alpha_L, alpha_U] with rebalance markers.", cmd_all))
    out.append(_figure(fig_lev, "Hedge leverage per asset.", cmd_all))
    out.append(_figure(fig_dd, "Drawdown per asset.", cmd_all))
    # return decomposition (paper Fig. 8)
    m = exp.metrics_frame()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(m)), 3.4))
    x = np.arange(len(m))
    ax.bar(x, m["ret_funding"], color="#2a9d55", label="funding")
    ax.bar(x, m["ret_costs"], color="#c0392b", label="costs")
    ax.bar(x, m["ret_mtm"], bottom=np.where(m["ret_mtm"] < 0, m["ret_costs"], m["ret_funding"]), color="#777",
           label="spot-perp MTM (incl. liquidation)")
    ax.scatter(x, m["acc_return"], color="k", zorder=3, label="accumulated return")
    ax.set_xticks(x, [f"{t}\n{p}\n{f[:2].upper()}" for t, p, f in zip(m.ticker, m.period, m.funding, strict=True)],
                  fontsize=7)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    out.append(_figure(fig, "Return decomposition [fraction of initial capital] (paper Fig. 8); BI = Binance, "
                       "HY = Hyperliquid funding.", cmd_all))
    pct = {c: PCT for c in ("acc_return", "apy", "funding_apy", "max_drawdown", "turnover_pct", "avg_rebalance_pct",
                            "d_apy", "d_funding_apy", "d_apy_minus_d_funding_apy")}
    pct.update({"avg_leverage": F2, "sharpe": F2, "d_avg_leverage": F2})
    tx = exp.table_x()
    tx["start"], tx["end"] = tx["start"].str[:10], tx["end"].str[:10]
    out.append(_table(tx, "Historical backtest summary (Table X shape).", cmd_all, pct))
    out.append(_table(exp.table_xi(), "Rebalancing diagnostics, % of initial capital (Table XI shape).", cmd_all, pct))
    out.append(_table(exp.table_ix(), "Change from Binance to Hyperliquid funding, same frozen rule (Table IX shape).",
                      cmd_all, pct))
    return "\n".join(out)


def _findings(exp: ExperimentResult) -> str:
    ix = exp.table_ix()
    m = exp.metrics_frame()
    if ix.empty:
        return ""
    up = int((ix["d_apy"] > 0).sum())
    gap = float(ix["d_apy_minus_d_funding_apy"].abs().max())
    # pandas-stubs types idxmax() as Hashable, which no .loc overload accepts; it is a row label
    worst = ix.loc[ix["d_apy_minus_d_funding_apy"].abs().idxmax()]  # type: ignore[call-overload]
    items = [
        f"Hyperliquid funding raised APY in {up} of {len(ix)} asset-periods (range {ix['d_apy'].min():+.2%} to "
        f"{ix['d_apy'].max():+.2%}).",
        f"|&Delta;APY - &Delta;funding APY| is at most {gap:.2%} ({worst['ticker']} {worst['period']}); "
        "where it is near zero the cross-venue gap is funding, not cost drag or path.",
        f"Max drawdown ranges {m['max_drawdown'].min():.2%} to {m['max_drawdown'].max():.2%}; rebalances per run "
        f"{int(m['rebalances'].min())}-{int(m['rebalances'].max())}; liquidations in total: "
        f"{int(m['liquidations'].sum())}"
        f"; emergencies: {int(m['emergencies'].sum())}.",
        f"APY - funding APY ranges {(m['apy'] - m['funding_apy']).min():+.2%} to "
        f"{(m['apy'] - m['funding_apy']).max():+.2%} (costs and mark-to-market).",
    ]
    liq = m[m["liquidations"] > 0]
    for _, r in liq.iterrows():
        items.append(f"<b>{r['ticker']} {r['period']} under {r['funding']} funding was liquidated "
                     f"{int(r['liquidations'])}x</b> by the conservative bar-high check (an hourly wick through "
                     "the barrier); see docs/backtest.md.")
    return "<p><b>Findings on this data</b></p><ul class='find'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def build_report(out: str | Path, assets: Sequence[str] = ("BTC", "ETH", "LINK", "DOGE"), quick: bool = False,
                 on_step: Step | None = None, allow_missing_funding: bool = False) -> Path:
    """Write ``out/index.html`` and return its path. ``quick`` = one period per asset and a smaller grid.

    Each section lists the warnings (substitutions, thin samples, missing funding) made while building it."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = [a.upper() for a in assets]
    periods = [p for p in DEFAULT_PERIODS if p.asset in assets]
    if quick:
        seen: set[str] = set()
        periods = [p for p in periods if not (p.asset in seen or seen.add(p.asset))]  # type: ignore[func-returns-value]
    total = 3 + 2 * len(periods) + 1 + 2 + 1
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if on_step:
            on_step(label, done, total)

    def note(label: str) -> None:  # progress inside a step (per Monte Carlo cell)
        if on_step:
            on_step(label, done, total)

    (static_html, _), w = with_warnings(lambda: _static_section(assets, quick))
    static_html += w
    step("static grid")
    bands_html, w = with_warnings(lambda: _bands_section(assets))
    bands_html += w
    step("bands")
    mc_html, w = with_warnings(lambda: _mc_section(assets, note))
    mc_html += w
    step("Monte Carlo grids")
    def execution() -> str:
        try:
            return _execution_section()
        except DataNotFoundError as e:  # liquidity snapshots are optional inputs: say what is missing, go on
            from basisctl.warnings import substitute

            substitute("missing_data", f"report: execution section skipped: {e}")
            return ("<section id='execution'><h2>Execution</h2><p class='warn'>Not computed: "
                    f"{html.escape(str(e))}</p></section>")

    exec_html, w = with_warnings(execution)
    exec_html += w
    step("execution costs and capacity")
    funding_html, w = with_warnings(lambda: _funding_section(assets))
    funding_html += w
    step("funding diagnostics")
    from basisctl.report.risk_section import risk_section

    risk_html, w = with_warnings(lambda: risk_section(assets, quick))
    risk_html += w
    def backtests() -> ExperimentResult:  # the flag only when set: stubs of run_experiment keep working
        if allow_missing_funding:
            return run_experiment(periods, on_step=lambda s: step(f"backtest {s}"), allow_missing_funding=True)
        return run_experiment(periods, on_step=lambda s: step(f"backtest {s}"))

    exp, w = with_warnings(backtests)
    bt_html = _backtest_section(exp, periods) + w
    step("figures")
    from basisctl.report.portfolio_section import report_section  # issue 14: the book across venues

    portfolio_html, w = with_warnings(lambda: report_section(assets, quick))
    portfolio_html += w
    step("portfolio")
    nav = ("<nav><a href='#backtest'>Backtests</a><a href='#static'>Static &alpha;*</a><a href='#bands'>Bands</a>"
           "<a href='#mc'>Monte Carlo</a><a href='#execution'>Execution</a><a href='#funding'>Funding</a>"
           "<a href='#portfolio'>Portfolio</a><a href='#risk'>Risk honesty</a><a href='#data'>Data</a></nav>")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>basisctl report</title>"
           f"<style>{CSS}</style></head><body><h1>basisctl report</h1>"
           f"<p>basisctl {__version__}; market data from the data dirs listed under <a href='#data'>Data</a>; "
           f"static layer calibrated at {DEFAULT_ASOF:%Y-%m-%d}. "
           "All returns are fractions of initial capital shown as %. Generated offline by "
           f"<code>basisctl report --out {html.escape(str(out_dir))}{' --quick' if quick else ''}</code>.</p>{nav}"
           f"{bt_html}{static_html}{bands_html}{mc_html}{exec_html}{funding_html}{portfolio_html}{risk_html}"
           f"{data_section()}</body></html>")
    path = out_dir / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
