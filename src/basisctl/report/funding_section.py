"""Report section: funding diagnostics (paper Tables I-III shape)."""


from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.calibration.funding import funding_window_stats, rolling_carry
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.data import locator
from basisctl.errors import BasisctlError
from basisctl.report._html import COLORS, PCT, VENUES, _figure, _table


def funding_section(assets: Sequence[str]) -> str:
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
        ax.set_xlabel("1-day funding x 365")
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
    cmd = f"basisctl funding-stats --venue VENUE --asset ASSET --windows 90,180,360 --asof {DEFAULT_ASOF:%Y-%m-%d}"
    return ("<h2 id='funding'>Funding diagnostics</h2>"
            + _figure(fig, f"Distribution of 1-day cumulative funding x 365 over the 360 days to "
                      f"{DEFAULT_ASOF:%Y-%m-%d} (only fully covered days).", cmd)
            + _table(df, "1-day funding APY per lookback window (shape of the paper's Tables I-III).", cmd, fmt))
