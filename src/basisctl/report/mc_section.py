"""Report section: Monte Carlo evidence for the band (paper Sec. VIII.B-E)."""


import html
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.band_grids import (
    DEFAULT_COSTS_BPS,
    DEFAULT_LOWER_MC_PATHS,
    DEFAULT_MC_HORIZON_DAYS,
    DEFAULT_UPPER_PATHS,
    MIN_HITS_FOR_STATS,
    lower_grid,
    upper_grid,
)
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.errors import BasisctlError
from basisctl.model.bands import DEFAULT_EPS_LIQ
from basisctl.report._html import COLORS, F2, F4, VENUES, Note, _figure, _table

MIN_HITS_FOR_MEDIAN: int = MIN_HITS_FOR_STATS  # basisctl.band_grids (30)


def _upper_cmd(assets: Sequence[str]) -> str:
    return (f"basisctl simulate upper-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
            f"--cost-bps {','.join(f'{c:g}' for c in DEFAULT_COSTS_BPS)} --paths {DEFAULT_UPPER_PATHS} "
            f"--horizon-days {DEFAULT_MC_HORIZON_DAYS:g} --seed 0 --asof {DEFAULT_ASOF:%Y-%m-%d} --json")


def _lower_cmd(assets: Sequence[str]) -> str:
    return (f"basisctl simulate lower-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
            f"--mc-paths {DEFAULT_LOWER_MC_PATHS} --seed 0 --asof {DEFAULT_ASOF:%Y-%m-%d} --json")


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


def one_test_sentence(cells: int) -> str:
    """The section's statement that the GBM check of alpha_L is a single test, whatever the number of cells."""
    return (f"The GBM check of &alpha;<sub>L</sub> over its {cells} venue &times; asset cells is one test, not "
            f"{cells}: the closed form puts the liquidation barrier at the same distance in &sigma;&radic;h units "
            "in every cell and the cells share the seed, so they all report the same hit frequency; read it as one "
            "check of eq. 38 with one standard error.")


def mc_section(assets: Sequence[str], note: Note | None = None) -> str:
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
           "frequency; interval = order-statistic 95% CI, Monte Carlo error only).</p>",
           f"<p>{one_test_sentence(len(VENUES) * len(assets))}</p>"]
    ok_u = ug[ug["hit_rate"].notna()] if "hit_rate" in ug else ug.iloc[0:0]
    ok_l = lg[lg["alpha_lower"].notna()] if "alpha_lower" in lg else lg.iloc[0:0]
    out.append(_mc_findings(ok_u, ok_l))
    cmd_u, cmd_l = _upper_cmd(assets), _lower_cmd(assets)
    if len(ok_u):
        wide = ok_u.pivot_table(index=["venue", "asset"], columns="cost_bps",
                                values=["alpha_upper", "hit_rate", "median_hit_days"], sort=False,
                                dropna=False)
        tab = ok_u.groupby(["venue", "asset"], sort=False)[["alpha_target", "kappa14_bps"]].first()
        # dropna=False gives every venue x asset combination; a cell without data (a note row) has no tab row
        wide = wide.reindex(tab.index)
        fmt: dict[str, str] = {"alpha_target": F4, "kappa14_bps": F2}
        for c in DEFAULT_COSTS_BPS:
            for key, name, f in (("alpha_upper", f"alpha_U {c:g}bps", F4), ("hit_rate", f"hit {c:g}bps", "{:.4f}"),
                                 ("median_hit_days", f"median d {c:g}bps", "{:.1f}")):
                tab[name] = wide[(key, c)]
                fmt[name] = f
            # a median of a handful of hitting paths next to a hit rate that rounds to 0 misleads: blank it
            few = wide[("hit_rate", c)] * DEFAULT_UPPER_PATHS < MIN_HITS_FOR_MEDIAN
            tab.loc[few.to_numpy(), f"median d {c:g}bps"] = np.nan
        se = float(ok_u["hit_rate_se"].max())
        out.append(_table(tab.reset_index(), f"alpha_U hit rate within {DEFAULT_MC_HORIZON_DAYS:g} days and median "
                          f"hit time [days] per venue x asset x cost (Table XIX shape); largest standard error of a "
                          f"hit rate {se:.4f}; the median is left blank where fewer than {MIN_HITS_FOR_MEDIAN} of "
                          f"the {DEFAULT_UPPER_PATHS:,} paths hit.", cmd_u, fmt))
        out.append(_figure(_hit_rate_figure(ok_u), "alpha_U hit rate (top, error bars 2 SE) and median hit time "
                           "(bottom) against the rebalancing cost K_reb.", cmd_u))
    if len(ok_l):
        t = ok_l.copy()
        t["mc_z"] = (t["mc_liq_rate"] - DEFAULT_EPS_LIQ) / t["mc_liq_rate_se"]
        t["boot_ci_low"] = [c[0] for c in t["alpha_lower_boot_ci"]]
        t["boot_ci_high"] = [c[1] for c in t["alpha_lower_boot_ci"]]
        mc_cols = ["mc_liq_rate", "mc_liq_rate_se", "mc_z"]
        one_check = len(t) > 1 and float(t["mc_z"].max() - t["mc_z"].min()) < 1e-6
        cols = ["venue", "asset", "sigma_stressed", "theta_f", "alpha_liq", "alpha_lower",
                *([] if one_check else mc_cols), "alpha_lower_boot", "boot_ci_low", "boot_ci_high", "boot_paths",
                "alpha_target"]
        mc_fmt = {"mc_liq_rate": "{:.2e}", "mc_liq_rate_se": "{:.1e}", "mc_z": "{:+.2f}"}
        if one_check:  # the same barrier distance in sigma sqrt(h) units and the same seed: one test, print it once
            out.append(_table(t[mc_cols].iloc[[0]].assign(cells=len(t), paths=DEFAULT_LOWER_MC_PATHS),
                              f"GBM check of the closed-form alpha_L (one check: alpha_L puts the barrier at the same "
                              f"distance in sigma sqrt(h) units in all {len(t)} cells and the seed is shared, so "
                              "every cell gives this same number; mc_z = (MC - eps_liq) / SE).", cmd_l,
                              {**mc_fmt, "paths": "{:,}"}))
        out.append(_table(t[cols], "Solvency band: alpha_L closed form"
                          + ("" if one_check else " vs its GBM Monte Carlo check (mc_z = (MC - eps_liq) / SE)")
                          + " vs bootstrap alpha_L^boot with its 95% interval.", cmd_l,
                          {"sigma_stressed": F4, "theta_f": F4, "alpha_liq": F4, "alpha_lower": F4, **mc_fmt,
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
