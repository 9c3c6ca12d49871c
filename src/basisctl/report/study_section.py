"""Report section "Which rule should you run?": the path study's table and paired differences, read from the
cached study result (:mod:`basisctl.study.store`); the full study is one command (``CMD``)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from basisctl.report._html import PCT, _figure, _table

CMD = "basisctl compare-rules --study --json"


def _rules_table(s: dict[str, Any]) -> pd.DataFrame:
    recs = []
    for r, v in s["rules"].items():
        p = s["paired"].get(r, {})
        recs.append({
            "rule": r, "APY mean": v["apy_mean"], "APY median": v["apy_median"], "P(liq) per path": v["p_liq"],
            "liq / path-yr": v["liq_rate"],
            "liq CI": f"[{v['liq_rate_ci'][0]:.3f}, {v['liq_rate_ci'][1]:.3f}]",
            "DD 5% worst": v["dd_q95"], "turnover / yr": v["turnover"],
            "ΔAPY vs paper": p.get("d_apy_mean", float("nan")),
            "ΔAPY CI": "" if not p else f"[{p['d_apy_ci'][0]:+.2%}, {p['d_apy_ci'][1]:+.2%}]",
            "Wilcoxon p": p.get("wilcoxon_p", float("nan")),
            "Δliq / path-yr": p.get("d_liq_rate", float("nan")),
            "Δliq CI": "" if not p else f"[{p['d_liq_rate_ci'][0]:+.3f}, {p['d_liq_rate_ci'][1]:+.3f}]",
        })
    return pd.DataFrame(recs)


def _paired_figure(rows: pd.DataFrame, names: list[str], kind: str) -> plt.Figure:
    d = rows[rows["kind"] == kind]
    base = d[d["rule"] == "paper"].set_index("path")["apy"]
    others = [r for r in names if r != "paper"]
    fig, ax = plt.subplots(figsize=(8.0, 3.6))
    for i, r in enumerate(others):
        x = d[d["rule"] == r].set_index("path")["apy"]
        diff = (x - base.reindex(x.index)).dropna().to_numpy() * 100
        jitter = np.random.default_rng(i).uniform(-0.25, 0.25, diff.size)
        ax.scatter(np.full(diff.size, i) + jitter, diff, s=4, alpha=0.35)
        ax.plot([i - 0.35, i + 0.35], [np.mean(diff)] * 2, color="k", lw=1.5)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(range(len(others)), others)
    ax.set_ylabel("APY − paper APY [pp], per path")
    ax.set_title(f"Paired differences by path ({kind} paths; bar = mean)", fontsize=9)
    fig.tight_layout()
    return fig


def study_section(directory: Path | None = None) -> str:
    """The section's HTML from the cached result (a note with the command when there is none)."""
    from basisctl.study import store

    got = store.load(directory)
    head = "<h2 id='study'>Which rule should you run?</h2>"
    if got is None:
        return (head + "<p>No study result is cached yet. Run <code>" + html.escape(CMD) + "</code> (about 5 min "
                "on 2 cores); this section then shows its table and figure.</p>")
    s, rows = got
    v = html.escape(s["verdict_text"])
    out = [head, f"<p><b>Verdict: {v}.</b> Decision rule (fixed in the study file before the run): "
                 f"{html.escape(s['decision_rule'])}. Study file {html.escape(s['study_file'])}, SHA-256 "
                 f"<code>{s['study_hash']}</code>; {s['paths_real']} real walk-forward paths (one asset × one "
                 f"window, calibrated before it) and {s['paths_simulated']} simulated one-year paths "
                 f"({', '.join(s['generators'])} generators, blocks of {s['block_days']} days); candidates fixed in "
                 f"advance; holdout from {s['holdout_from']} excluded. SPA p (best candidate vs paper, "
                 f"snooping-adjusted): {s['spa_p']:.3g}. A liquidation is never credited as a gain.</p>"]
    fmt = {"APY mean": PCT, "APY median": PCT, "P(liq) per path": "{:.3f}", "liq / path-yr": "{:.3f}",
           "DD 5% worst": PCT, "turnover / yr": "{:.2f}", "ΔAPY vs paper": "{:+.2%}", "Wilcoxon p": "{:.3g}",
           "Δliq / path-yr": "{:+.3f}"}
    out.append(_table(_rules_table(s), f"Per rule over the {s['sample']} paths; pairs against paper on the same "
                                        "paths (90 % CIs: Garwood for rates, window bootstrap for differences).",
                      CMD, fmt))
    if "real" in s and s["sample"] != "real":
        out.append(_table(_rules_table(s["real"]), "The same on the real walk-forward windows alone (verdict: "
                                                   f"{s['real']['verdict']}).", CMD, fmt))
    if rows is not None and len(rows):
        out.append(_figure(_paired_figure(rows, list(s["rules"]), s["sample"]),
                           "Per-path APY difference to paper (common random numbers).", CMD))
    out.append("<p>The older 12-window comparison below (<i>Rules compared</i>) is a detail: its windows share "
               "prices across funding venues and cannot carry a decision on their own.</p>")
    return "".join(out)
