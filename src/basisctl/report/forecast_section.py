"""Report section "Does carry persist?": walk-forward funding forecasts against the rolling mean (issue 23)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.backtest.costs import paper_cost_bps
from basisctl.data import locator
from basisctl.errors import BasisctlError
from basisctl.forecast import DecisionSpec, evaluate, funding_panel, make_model, walk_forward
from basisctl.regime.alt_yield import AltYield, load_alt_yield
from basisctl.report._html import PCT, _figure, _table

#: models run inside the report (seconds per stream); the boosted model (minutes per stream on 2 cores) is run
#: by ``basisctl forecast-funding --model all`` and its numbers are in docs/forecast.md
REPORT_MODELS: tuple[str, ...] = ("rolling_mean", "ewma", "har")
HORIZON_DAYS = 14
ALT_FALLBACK_APR = 0.04
VENUES: tuple[str, ...] = ("hyperliquid", "binance", "bybit")


def _alt() -> AltYield:
    try:
        return load_alt_yield("aave_v3/USDC_supply", fallback_apr=ALT_FALLBACK_APR)
    except BasisctlError:
        return AltYield.constant(ALT_FALLBACK_APR, f"constant {ALT_FALLBACK_APR:.0%} APR (no Aave series found)")


def forecast_rows(assets: Sequence[str], models: Sequence[str] = REPORT_MODELS, h: int = HORIZON_DAYS
                  ) -> pd.DataFrame:
    """One row per asset x venue x model with the ``forecast-funding`` metrics (streams without funding skipped)."""
    alt = _alt()
    rows = []
    for v in VENUES:
        for a in assets:
            if not locator.has_funding(v, a):
                continue
            try:
                panel = funding_panel(locator.load_funding(v, a))
                wf = walk_forward(panel, [make_model(m) for m in models], h)
                spec = DecisionSpec(cost_bps=paper_cost_bps(a), holding_days=90.0)
                alt_apr = alt.apr_at(pd.DatetimeIndex(wf.days) + pd.Timedelta(days=1))
                rows += [r.to_dict() for r in evaluate(wf, a, v, spec, alt_apr)]
            except BasisctlError as e:
                rows.append({"model": "-", "asset": a, "venue": v, "note": str(e)})
    return pd.DataFrame(rows)


def forecast_section(assets: Sequence[str]) -> str:
    df = forecast_rows(assets)
    cmd = "basisctl forecast-funding --asset ASSET --venue VENUE --model all --horizon 14d " \
          "--alt-yield aave_v3/USDC_supply --alt-yield-fallback-apr 0.04 --json"
    if df.empty or "mae" not in df:
        return "<section id='forecast'><h2>Does carry persist?</h2><p class='warn'>No funding streams.</p></section>"
    ok = df[df["model"] != "-"].copy()
    ok["mae_ratio"] = ok["mae"] / ok["mae_rolling_mean"]
    cols = ["asset", "venue", "model", "n_origins", "first_origin", "last_origin", "mae", "mae_ratio",
            "dm_p_vs_rolling_mean", "smape", "sign_accuracy", "decision_accuracy"]
    fmt = {"mae": PCT, "mae_ratio": "{:.3f}", "dm_p_vs_rolling_mean": "{:.3f}", "smape": "{:.3f}",
           "sign_accuracy": PCT, "decision_accuracy": PCT}
    better = ok[(ok["model"] != "rolling_mean") & (ok["mae_ratio"] < 1) & (ok["dm_p_vs_rolling_mean"] < 0.05)]
    worse = ok[(ok["model"] != "rolling_mean") & (ok["mae_ratio"] > 1) & (ok["dm_p_vs_rolling_mean"] < 0.05)]
    n_cmp = int((ok["model"] != "rolling_mean").sum())
    verdict = (f"Of {n_cmp} model x stream comparisons against the rolling mean (kappa-tilde, 180 days), "
               f"{len(better)} have a significantly smaller MAE (Diebold-Mariano with HLN correction, p < 0.05) "
               f"and {len(worse)} a significantly larger one. SMAPE is shown but never decides (it is unstable "
               "when funding is near zero). Decision accuracy = how often the sign of forecast net carry - "
               "alternative yield (Aave v3 USDC supply; 4% APR before 2025-07-22) matches the realised sign.")
    fig, ax = plt.subplots(figsize=(9.0, 3.2))
    streams = list(dict.fromkeys(zip(ok["asset"], ok["venue"], strict=True)))
    ratio = ok.set_index(["asset", "venue", "model"])["mae_ratio"]
    models = [m for m in REPORT_MODELS if m != "rolling_mean"]
    x = np.arange(len(streams))
    for j, m in enumerate(models):
        vals = [float(ratio.get((a, v, m), np.nan)) for a, v in streams]
        ax.bar(x + (j - 0.5) * 0.35, vals, width=0.35, label=m)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, [f"{a}\n{v}" for a, v in streams], fontsize=7)
    ax.set_ylabel("MAE / MAE of rolling mean")
    ax.set_title(f"{HORIZON_DAYS}-day mean funding, walk-forward: below 1 = better than kappa-tilde")
    ax.legend(fontsize=7)
    notes = df[df["model"] == "-"] if "note" in df else pd.DataFrame()
    note_html = "".join(f"<p class='warn'>{r.asset} {r.venue}: {r.note}</p>" for r in notes.itertuples())
    return ("<section id='forecast'><h2>Does carry persist?</h2>"
            f"<p>{verdict} The boosted-tree model and the full discussion: docs/forecast.md. The regime rule built "
            "on these forecasts is judged by its own pre-registered path study (<code>basisctl compare-rules "
            "--study --study-file regime</code>; verdict and numbers: docs/rules.md, 'The regime candidate').</p>"
            + _figure(fig, "MAE of each model relative to the rolling mean per funding stream.", cmd)
            + _table(ok[cols], "Walk-forward forecasts of the mean daily funding over the next 14 days (MAE in APR).",
                     cmd, fmt)
            + note_html + "</section>")
