"""The report's "Is the liquidation budget honest?" section: the coverage table and breaches over time."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.risk.coverage import StudyConfig
from basisctl.risk.study import run_study

RECOMMENDED = "fhs"
CMD = "basisctl risk-backtest --asset {a} --venue {v} --json"


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def breaches_figure(details: pd.DataFrame, epsilon: float, horizon_hours: float) -> plt.Figure:
    """Cumulative breaches per model over time against the nominal epsilon x origins, one panel per asset."""
    d = details[(details["epsilon"] == epsilon) & (details["horizon_hours"] == horizon_hours)]
    assets = list(dict.fromkeys(d["asset"]))
    fig, axes = plt.subplots(1, max(len(assets), 1), figsize=(4.2 * max(len(assets), 1), 3.2), squeeze=False)
    for ax, a in zip(axes[0], assets, strict=False):
        da = d[d["asset"] == a]
        nominal = None
        for m, g in da.groupby("model", sort=False):
            g = g.sort_values("ts")
            ax.step(g["ts"], np.cumsum(g["breach"].to_numpy()), where="post", label=str(m))
            nominal = g
        if nominal is not None:
            ax.plot(nominal["ts"], epsilon * np.arange(1, len(nominal) + 1), "k--", lw=1, label="nominal ε·n")
        ax.set_title(f"{a}: ε={epsilon:g}, h={horizon_hours:g}h")
        ax.set_ylabel("cumulative breaches")
        ax.tick_params(axis="x", labelrotation=30)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def risk_section_html(rows: pd.DataFrame, details: pd.DataFrame, note: str = "") -> str:
    """HTML of the section from study rows (with ``venue``) and per-origin details."""
    r = rows.copy()
    r["observed_rate"] = r["breaches"] / r["n"].where(r["n"] > 0)
    r["passes"] = (r["kupiec_p"] >= 0.05) & ~(r["christoffersen_p"] < 0.05)
    hl = r[r["venue"] == r["venue"].iloc[0]] if len(r) else r
    cols = ["asset", "model", "epsilon", "horizon_hours", "n", "breaches", "expected_breaches", "observed_rate",
            "kupiec_p", "christoffersen_p", "passes"]
    tab = hl[cols].to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}")
    price = r.pivot_table(index=["asset", "model"], columns=["venue", "epsilon", "horizon_hours"],
                          values="mean_alpha", sort=False)
    keys: list[Any] = list(price.columns)
    price.columns = [f"{v} ε={e:g} h={h:g}h" for v, e, h in keys]
    price_html = price.reset_index().to_html(index=False, border=0, float_format=lambda x: f"{x:.3f}")
    score = r.drop_duplicates(["asset", "model", "epsilon", "horizon_hours"]).groupby("model", sort=False)["passes"]
    summary = ", ".join(f"{m}: {int(v.sum())}/{len(v)}" for m, v in score)
    eps = float(details["epsilon"].min()) if len(details) else 1e-3
    hz = 24.0 if len(details) and (details["horizon_hours"] == 24.0).any() else (
        float(details["horizon_hours"].min()) if len(details) else 24.0)
    fig = (f'<figure><img alt="cumulative breaches" src="data:image/png;base64,'
           f'{_png(breaches_figure(details, eps, hz))}"/><figcaption>Cumulative breaches per model against the '
           f"nominal ε·n (dashed), ε={eps:g}, h={hz:g}h. Regenerate: <code>"
           f"{html.escape(CMD.format(a='BTC', v='hyperliquid'))} --details d.csv</code></figcaption></figure>"
           ) if len(details) else ""
    rec = (f"<p><b>Recommended setting: <code>--model {RECOMMENDED}</code></b> (filtered historical simulation). "
           "It is the model whose α kept its promise in the full study (docs/risk.md). The paper's GBM stays one "
           "flag away (<code>--model gbm</code>, the code default).</p>")
    return (
        "<section id='risk'><h2>Is the liquidation budget honest?</h2>"
        "<p>Rolling daily origins, each model calibrated on the 180 days before the origin. A breach is the next "
        "h hours of bar highs reaching the liquidation barrier of the α sized at ε. Tests use non-overlapping "
        "origins (ceil(h/24) days apart). ✓ = Kupiec and Christoffersen p ≥ 0.05.</p>"
        f"{rec}<p>Cells passing, by model: {html.escape(summary)}. {html.escape(note)}</p>"
        f"<p class='cap'><b>Coverage: observed vs nominal.</b> Regenerate: <code>"
        f"{html.escape(CMD.format(a='A', v='V'))}</code></p>{tab}"
        f"<p class='cap'><b>Price of safety: mean α per venue.</b></p>{price_html}{fig}</section>"
    )


def risk_section(assets: Sequence[str], quick: bool = False) -> str:
    """Run the study (quick: GBM vs FHS on the last 365 days) and render the section."""
    if quick:
        cfg = StudyConfig(models=("gbm", RECOMMENDED), horizons_hours=(1.0, 24.0), fhs_paths=2000)
        rows, det = run_study(assets, cfg, last_days=365)
        note = "Quick report: GBM vs FHS on the last 365 days of origins."
    else:
        rows, det = run_study(assets, StudyConfig(), workers=2)
        note = ""
    return risk_section_html(rows, det, note)
