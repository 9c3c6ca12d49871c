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


def _utc_naive(index: pd.Index) -> np.ndarray:
    """Bar times as naive UTC datetime64: matplotlib converts a tz-aware index one timestamp at a time (most of
    the figure's CPU time on a year of hourly bars), a datetime64 array in one vectorised call."""
    dt = pd.DatetimeIndex(index)
    return (dt.tz_convert(None) if dt.tz is not None else dt).to_numpy()


def _per_asset_figure(cmp: CompareResult, venue: str, column: str, ylabel: str) -> plt.Figure | None:
    """One full-width panel per asset (rows), every rule and window of that asset on it; ``column`` of the
    backtest frame ('nav' is divided by the initial capital)."""
    keys = sorted({(a, lab) for lab, a, v, _ in cmp.results if v == venue})
    if not keys:
        return None
    assets = list(dict.fromkeys(a for a, _ in keys))
    rules = list(dict.fromkeys(r for _, _, v, r in cmp.results if v == venue))
    fig, axes = plt.subplots(len(assets), 1, figsize=(10.0, 0.6 + 2.5 * len(assets)), squeeze=False,
                             constrained_layout=True)
    for i, a in enumerate(assets):
        ax = axes[i, 0]
        labels = [lab for a2, lab in keys if a2 == a]
        for lab in labels:
            for r in rules:
                res = cmp.results.get((lab, a, venue, r))
                if res is None:
                    continue
                f = res.to_frame()
                y = f["nav"] / res.config.capital_usd if column == "nav" else f[column]
                ax.plot(_utc_naive(f.index), y.to_numpy(), color=RULE_COLORS.get(r, "k"), lw=0.9,
                        label=r if lab == labels[0] else None)
        ax.set_title(f"{a} ({', '.join(labels)})", fontsize=9, loc="left")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=30)  # as fig.autofmt_xdate, which would hide unshared upper axes' dates
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time [UTC]", fontsize=8)
    h, lab_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(h, lab_, loc="outside upper center", ncol=len(lab_), fontsize=8, frameon=False)
    return fig


def _nav_alpha_figure(cmp: CompareResult, venue: str) -> plt.Figure | None:
    """NAV / initial capital per rule, one panel per asset (the alpha_t panels: ``_alpha_figure``)."""
    return _per_asset_figure(cmp, venue, "nav", "NAV / initial capital")


def _alpha_figure(cmp: CompareResult, venue: str) -> plt.Figure | None:
    """alpha_t (collateral share of equity) per rule, one panel per asset."""
    return _per_asset_figure(cmp, venue, "alpha", "alpha_t [share of equity]")


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
            out.append(_figure(fig, f"NAV / initial capital of every rule, one panel per asset ({v} funding).", CMD))
        fig = _alpha_figure(cmp, v)
        if fig is not None:
            out.append(_figure(fig, f"alpha_t of every rule, one panel per asset ({v} funding).", CMD))
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
