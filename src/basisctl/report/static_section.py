"""Report section: static collateral share alpha* (Variant 2) over venue x asset x lookback x stress."""


from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.report._html import F2, F4, VENUES, _figure, _table
from basisctl.static_grid import static_grid_frame


def static_section(assets: Sequence[str], quick: bool) -> tuple[str, pd.DataFrame]:
    lbs = (30.0, 180.0) if quick else (30.0, 90.0, 180.0, 360.0)
    stresses = (1.0, 1.5, 2.0) if quick else (1.0, 1.25, 1.5, 2.0, 2.5)
    g = static_grid_frame(VENUES, assets, lbs, stresses, DEFAULT_ASOF)
    cmd = (f"basisctl static-grid --venues {','.join(VENUES)} --assets {','.join(assets)} "
           f"--lookbacks {','.join(f'{x:g}' for x in lbs)} --stresses {','.join(f'{x:g}' for x in stresses)} "
           f"--model gbm --asof {DEFAULT_ASOF:%Y-%m-%d}")
    out = ["<h2 id='static'>Static collateral share &alpha;* (Variant 2, the paper's GBM)</h2>",
           f"<p>Calibrated at {DEFAULT_ASOF:%Y-%m-%d} from the data dirs: &epsilon; = 10<sup>-3</sup> over a 1-day "
           "horizon, venue margin rule &theta;<sub>F</sub> from the paper's L<sub>max</sub> table. <b>Model: GBM, "
           "the paper's closed form (eq. 17)</b> with the volatility stress of each column, as in the paper's "
           "grid; one cell is <code>basisctl static --venue V --asset A --lookback-days L --stress S --model gbm"
           f" --asof {DEFAULT_ASOF:%Y-%m-%d}</code>. basisctl's default, <code>fhs</code>, is tail-tested (see Risk "
           "honesty) and unstressed.</p>"]
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
