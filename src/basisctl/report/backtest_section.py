"""Report section: the funding-environment experiment (paper Sec. IX, Tables VII, IX-XI)."""


from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist

from basisctl.backtest.experiment import ExperimentResult, Period
from basisctl.report._html import COLORS, F2, F4, PCT, VENUES, _figure, _table


def _bt_cmd(p: Period, venue: str) -> str:
    return (f"basisctl backtest --asset {p.asset} --funding-venue {venue} --from {p.start} --to {p.end} "
            f"--spot auto")


INTRO = ("<p>Same Binance perp bars (spot leg: Binance spot 1h bars where the data dir covers the window, else the "
         "flagged proxy spot = perp; see each row's spot_source), same rule frozen on the 2 years before each test "
         "window "
         "(Binance data, Hyperliquid margin rule), costs from Table VIII with unlimited liquidity at that cost; "
         "only the funding stream credited to the short changes.</p>")


def _fig_legend(fig: plt.Figure, axes: np.ndarray, ncol: int = 6) -> None:
    """One legend for the whole grid, below the panels, so that no legend covers a series."""
    seen: dict[str, Artist] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(ncol, len(seen)), fontsize=7,
                   frameon=False)
    bottom = min(0.3, 0.55 / fig.get_figheight()) if seen else 0.0  # about 0.55 in for two legend rows
    fig.tight_layout(rect=(0.0, bottom, 1.0, 1.0 - min(0.15, 0.35 / fig.get_figheight())))


def backtest_section(exp: ExperimentResult, periods: Sequence[Period], anchor: str = "backtest",
                     title: str = "Funding-environment experiment (paper Sec. IX, Tables VII, IX-XI)",
                     intro: str = INTRO) -> str:
    out = [f"<h2 id='{anchor}'>{title}</h2>", intro]
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
            ax_nav[k].plot(f.index, nav, ls, color=COLORS[v], lw=1.1, label=f"{v} funding")
            ax_dd[k].plot(f.index, nav / nav.cummax() - 1, ls, color=COLORS[v], lw=1.0, label=f"{v} funding")
            ax_lev[k].plot(f.index, f["leverage"], ls, color=COLORS[v], lw=0.8, label=f"{v} funding")
            if v == "hyperliquid":
                ax = ax_al[k]
                ax.plot(f.index, f["alpha"], color="k", lw=0.7, label="alpha_t")
                for y, c, name in ((r.rule.alpha_lower, "r", "alpha_L"), (r.rule.alpha_target, "g", "alpha_target"),
                                   (r.rule.alpha_upper, "b", "alpha_U")):
                    ax.axhline(y, color=c, lw=0.9, ls=":", label=name)
                for act, mk, c in (("raise_collateral", "^", "r"), ("lower_collateral", "v", "b"),
                                   ("emergency", "X", "m"), ("liquidation_reentry", "X", "k")):
                    sel = f[f["action"] == act]
                    if len(sel):
                        ax.scatter(sel.index, sel["alpha_pre_trade"], marker=mk, color=c, s=28, zorder=3, label=act)
                ax.set_ylim(0, min(1.0, r.rule.alpha_upper + 0.05))
                ax.set_title(f"{a} {lab}: L {r.rule.alpha_lower:.3f}, target {r.rule.alpha_target:.3f}, "
                             f"U {r.rule.alpha_upper:.3f}", fontsize=8)
        for axs, ylab in ((ax_nav, "NAV / initial capital"), (ax_dd, "drawdown"), (ax_lev, "leverage [x]"),
                          (ax_al, "alpha_t [share of equity]")):
            if axs is not ax_al or not ax_al[k].get_title():
                axs[k].set_title(f"{a} {lab}", fontsize=9)
            axs[k].set_ylabel(ylab, fontsize=8)
            axs[k].tick_params(axis="x", labelsize=7, rotation=30)
            axs[k].grid(alpha=0.3)
        ax_dd[k].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    for fig, axs in ((fig_nav, ax_nav), (fig_dd, ax_dd), (fig_lev, ax_lev), (fig_al, ax_al)):
        _fig_legend(fig, axs)
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
    ax.set_ylabel("share of initial capital")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    out.append(_figure(fig, "Return decomposition [fraction of initial capital] (paper Fig. 8); BI = Binance, "
                       "HY = Hyperliquid funding.", cmd_all))
    pct = {c: PCT for c in ("acc_return", "apy", "cagr", "funding_apy", "max_drawdown", "turnover_pct",
                            "avg_rebalance_pct", "d_apy", "d_funding_apy", "d_apy_minus_d_funding_apy")}
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
