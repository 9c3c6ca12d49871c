"""``basisctl report --out DIR``: static grid, bands, funding diagnostics and the funding-environment
backtests on the shipped data, written as one offline, self-contained ``DIR/index.html`` (figures are
matplotlib PNGs embedded as base64; no scripts, fonts or styles are fetched).

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
from basisctl.calibration.inputs import DEFAULT_ASOF, calibrate_kappa, calibrate_sigma
from basisctl.data import shipped
from basisctl.errors import BasisctlError
from basisctl.model.bands import alpha_lower, alpha_upper
from basisctl.model.margin import theta_f_for
from basisctl.model.static import solve_alpha_risk
from basisctl.static_grid import static_grid_frame

Step = Callable[[str, int, int], None]
VENUES = ("binance", "hyperliquid")
COLORS = {"binance": "#d08b00", "hyperliquid": "#1f6fb2"}
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}h1{font-size:1.7em}h2{border-bottom:2px solid #1f6fb2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eef3f8}figure{margin:1em 0}img{max-width:100%}figcaption,.cap{font-size:.85em;color:#444}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px;font-size:.92em}.note{background:#fff8e5;padding:.6em 1em;
border-left:4px solid #d08b00}ul.find li{margin:.3em 0}nav a{margin-right:1em}
"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: plt.Figure, caption: str, cmd: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}"/>'
            f"<figcaption>{html.escape(caption)} Regenerate: <code>{html.escape(cmd)}</code></figcaption></figure>")


def _table(df: pd.DataFrame, caption: str, cmd: str, fmt: dict[str, str] | None = None) -> str:
    d = df.copy()
    for c, f in (fmt or {}).items():
        if c in d:
            d[c] = [("" if (isinstance(v, float) and np.isnan(v)) else f.format(v)) for v in d[c]]
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
           f"<p>Calibrated at {DEFAULT_ASOF:%Y-%m-%d} from the shipped data: &epsilon; = 10<sup>-3</sup> over a 1-day "
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


def _bands_section(assets: Sequence[str]) -> str:
    rows = []
    for v in VENUES:
        for a in assets:
            try:
                sig = calibrate_sigma(a, DEFAULT_ASOF, 180.0).sigma_annual
                th, _ = theta_f_for(v, a)
                at = float(solve_alpha_risk(sig * 1.5, th, 1 / 365, 1e-3))
                al = float(alpha_lower(sig * 1.5, th, 3.0, 1e-4))
                k14 = calibrate_kappa(v, a, DEFAULT_ASOF, 180.0, 336.0).kappa
            except BasisctlError as e:
                rows.append({"venue": v, "asset": a, "note": str(e)})
                continue
            row = {"venue": v, "asset": a, "theta_f": th, "alpha_lower": al, "alpha_target": at,
                   "kappa_14d_bps": k14 * 1e4}
            for k in (10.0, 20.0, 30.0):
                row[f"alpha_upper_{k:g}bps"] = float(alpha_upper(at, k * 1e-4, k14))
            row["note"] = ""
            rows.append(row)
    df = pd.DataFrame(rows)
    fmt = {c: F4 for c in df.columns if c.startswith("alpha") or c == "theta_f"}
    fmt["kappa_14d_bps"] = F2
    return ("<h2 id='bands'>Dynamic band [&alpha;<sub>L</sub>, &alpha;<sub>U</sub>]</h2>"
            "<p>&alpha;<sub>L</sub>: Variant 2 over h<sub>liq</sub> = 3 h with "
            "&epsilon;<sub>liq</sub> = 10<sup>-4</sup> "
            "(eq. 38/48) on the 1.5x-stressed 180-day vol; &alpha;<sub>U</sub> = &alpha;&dagger; + K<sub>reb</sub>/"
            "&kappa;<sub>14d</sub> capped at 0.99 (eq. 45) for three cost budgets.</p>"
            + _table(df, f"Bands at {DEFAULT_ASOF:%Y-%m-%d} per venue and asset.",
                     "basisctl report --out DIR  (python: basisctl.model.bands.alpha_lower / alpha_upper)", fmt))


def _funding_section(assets: Sequence[str]) -> str:
    rows, series = [], {}
    for v in VENUES:
        for a in assets:
            if not shipped.has_funding(v, a):
                continue
            f = shipped.load_funding(v, a)
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
    worst = ix.loc[ix["d_apy_minus_d_funding_apy"].abs().idxmax()]
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
                 on_step: Step | None = None) -> Path:
    """Write ``out/index.html`` and return its path. ``quick`` = one period per asset and a smaller grid."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = [a.upper() for a in assets]
    periods = [p for p in DEFAULT_PERIODS if p.asset in assets]
    if quick:
        seen: set[str] = set()
        periods = [p for p in periods if not (p.asset in seen or seen.add(p.asset))]  # type: ignore[func-returns-value]
    total = 3 + 2 * len(periods) + 1
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if on_step:
            on_step(label, done, total)

    static_html, _ = _static_section(assets, quick)
    step("static grid")
    bands_html = _bands_section(assets)
    step("bands")
    funding_html = _funding_section(assets)
    step("funding diagnostics")
    exp = run_experiment(periods, on_step=lambda s: step(f"backtest {s}"))
    bt_html = _backtest_section(exp, periods)
    step("figures")
    nav = ("<nav><a href='#backtest'>Backtests</a><a href='#static'>Static &alpha;*</a><a href='#bands'>Bands</a>"
           "<a href='#funding'>Funding</a></nav>")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>basisctl report</title>"
           f"<style>{CSS}</style></head><body><h1>basisctl report</h1>"
           f"<p>basisctl {__version__}; shipped data; static layer calibrated at {DEFAULT_ASOF:%Y-%m-%d}. "
           "All returns are fractions of initial capital shown as %. Generated offline by "
           f"<code>basisctl report --out {html.escape(str(out_dir))}{' --quick' if quick else ''}</code>.</p>{nav}"
           f"{bt_html}{static_html}{bands_html}{funding_html}</body></html>")
    path = out_dir / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
