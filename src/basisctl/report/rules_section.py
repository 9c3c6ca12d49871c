"""Report section: rules compared walk-forward (paper, optimal, hold, fixed_leverage, periodic)."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.report._html import PCT, _figure, _table
from basisctl.rules.compare import CompareResult

CMD = "basisctl compare-rules --json"
RULE_COLORS = {"paper": "#1f6fb2", "optimal": "#c0392b", "hold": "#777777", "fixed_leverage": "#2a9d55",
               "periodic": "#d08b00", "optimal_dagger": "#8e44ad",
               "optimal_boot": "#e377c2"}
TRADE_ROWS = 60


def _summary_html(cmp: CompareResult) -> str:
    items = []
    for name, s in cmp.summary().items():
        if name == "paper":
            items.append(f"paper: mean APY {s['mean_apy']:.2%} over {s['windows']} windows, {s['liquidations']} "
                         f"liquidation(s), {s['rebalances']} rebalances.")
            continue
        items.append(f"{name}: beats paper in {s['beats_paper']} of {s['windows']} windows; mean APY vs paper "
                     f"{s['mean_apy_vs_paper'] * 100:+.2f} pp; {s['liquidations']} liquidation(s) (paper "
                     f"{cmp.summary()['paper']['liquidations']}); {s['rebalances']} rebalances.")
    df = cmp.frame()
    opt = df[df["rule"] == "optimal"]
    if len(opt):
        worst = opt.iloc[int(np.argmin(opt["apy_vs_paper"].to_numpy()))]
        items.append(f"The optimal rule's worst window is {worst['asset']} {worst['window']} {worst['venue']} "
                     f"({worst['apy_vs_paper'] * 100:+.2f} pp vs paper, {int(worst['liquidations'])} liquidation(s)): "
                     "it keeps alpha near alpha_L, so an hourly wick through the GBM-sized floor costs the whole "
                     "margin; docs/rules.md discusses why.")
    return "<p><b>Findings</b></p><ul class='find'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _nav_alpha_figure(cmp: CompareResult, venue: str) -> plt.Figure | None:
    keys = sorted({(lab, a) for lab, a, v, _ in cmp.results if v == venue})
    if not keys:
        return None
    rules = list(dict.fromkeys(r for _, _, v, r in cmp.results if v == venue))
    fig, axes = plt.subplots(2, len(keys), figsize=(max(4.2 * len(keys), 6.0), 5.6), squeeze=False)
    for j, (lab, a) in enumerate(keys):
        for r in rules:
            res = cmp.results.get((lab, a, venue, r))
            if res is None:
                continue
            f = res.to_frame()
            c = RULE_COLORS.get(r, "k")
            axes[0, j].plot(f.index, f["nav"] / res.config.capital_usd, color=c, lw=1.0, label=r)
            axes[1, j].plot(f.index, f["alpha"], color=c, lw=0.7, label=r)
        axes[0, j].set_title(f"{a} {lab}", fontsize=9)
        axes[0, j].set_ylabel("NAV / initial capital", fontsize=8)
        axes[1, j].set_ylabel("alpha_t [share of equity]", fontsize=8)
        for ax in axes[:, j]:
            ax.tick_params(axis="x", labelsize=7, rotation=30)
            ax.grid(alpha=0.3)
    h, lab_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(h, lab_, loc="lower center", ncol=len(lab_), fontsize=8, frameon=False)
    fig.suptitle(f"NAV (top) and alpha_t (bottom) per rule, {venue} funding")
    fig.tight_layout(rect=(0.0, 0.06, 1.0, 0.95))
    return fig


def _trade_log(cmp: CompareResult, key: tuple[str, str, str]) -> pd.DataFrame:
    frames = []
    for (lab, a, v, r), res in cmp.results.items():
        if (lab, a, v) != key:
            continue
        t = res.trades().reset_index()
        t.insert(0, "rule", r)
        frames.append(t)
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    df["ts"] = df["ts"].dt.strftime("%Y-%m-%d %H:%M")
    return df


def rules_section(cmp: CompareResult) -> str:
    out = ["<h2 id='rules'>Rules compared (walk-forward)</h2>",
           "<p>Every rule is calibrated only on data before its window (the paper rule is frozen at the window "
           "start; the others are derived from that frozen rule alone: docs/rules.md) and replays the same bars, "
           "funding and Table VIII costs. <b>optimal</b>: the impulse-control band (floor alpha_L, per-side resets); "
           "<b>optimal_boot</b>: the same solver with the floor at the bootstrap alpha_L^boot of the calibration "
           "window (eq. 40); "
           "<b>hold</b>: alpha_dagger, never rebalance except below alpha_L; <b>fixed_leverage</b>: rebalance to "
           "L_dagger when leverage leaves [L_dagger/2, 1.5 L_dagger]; <b>periodic</b>: reset to alpha_dagger weekly. "
           "apy_ci90: circular 7-day block bootstrap of daily NAV returns; apy_vs_paper: paired difference on the "
           "same window. time_in_band: share of bars inside the rule's own band; avg_idle_margin: mean of "
           "max(alpha_t - alpha_L, 0), margin beyond what solvency needs. Spot = perp in every window "
           "(basis P&amp;L zero by construction).</p>"]
    df = cmp.frame()
    if df.empty:
        return "\n".join([*out, "<p class='note'>No window could be run.</p>"])
    out.append(_summary_html(cmp))
    t = df[["rule", "asset", "window", "venue", "apy", "apy_ci90", "apy_vs_paper", "apy_vs_paper_ci90",
            "funding_apy", "ret_costs", "rebalances", "liquidations", "max_drawdown", "time_in_band",
            "avg_idle_margin", "alpha_lower", "reset_lower", "reset_upper", "alpha_upper"]].copy()
    for c in ("apy_ci90", "apy_vs_paper_ci90"):
        t[c] = [f"[{lo:.2%}, {hi:.2%}]" for lo, hi in t[c]]
    fmt = {c: PCT for c in ("apy", "apy_vs_paper", "funding_apy", "ret_costs", "max_drawdown", "avg_idle_margin")}
    fmt.update({"time_in_band": "{:.3f}", **{c: "{:.4f}" for c in ("alpha_lower", "reset_lower", "reset_upper",
                                                                     "alpha_upper")}})
    out.append(_table(t, "Walk-forward comparison per rule x asset x window (fractions as %).", CMD, fmt))
    for v in ("hyperliquid", "binance"):
        fig = _nav_alpha_figure(cmp, v)
        if fig is not None:
            out.append(_figure(fig, f"NAV and alpha_t of every rule per asset ({v} funding).", CMD))
    first = next(iter(cmp.results))
    key = (first[0], first[1], first[2])
    log = _trade_log(cmp, key)
    if len(log):
        n = len(log)
        shown = log.groupby("rule", sort=False).head(TRADE_ROWS // max(1, log["rule"].nunique()))
        out.append(_table(shown, f"Per-trade log, {html.escape(' '.join(key))} (first trades of each rule; "
                          f"{len(shown)} of {n} shown).", f"basisctl backtest --asset {key[1]} --out DIR "
                          "(trades.csv)", {"alpha_pre_trade": "{:.4f}", "alpha": "{:.4f}", "traded_usd": "{:,.0f}",
                                           "cost_usd": "{:,.0f}", "nav": "{:,.0f}", "perp_close": "{:,.2f}"}))
    return "\n".join(out)
