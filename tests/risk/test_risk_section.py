"""The report section renders the coverage table, the price of safety and a decodable figure."""

from __future__ import annotations

import base64
import re

import pandas as pd

from basisctl.report.risk_section import risk_section_html
from basisctl.risk.coverage import StudyConfig, compute_barriers, coverage_table
from tests.risk.synth import candles


def test_risk_section_from_a_small_study() -> None:
    bt = compute_barriers(candles(24 * 120, 0.5, seed=5, lam_up=80.0),
                          StudyConfig(models=("gbm", "kou"), epsilons=(0.01,), horizons_hours=(1.0, 24.0),
                                      lookback_days=60))
    rows, dets = [], []
    for v, th in (("binance", 0.01), ("hyperliquid", 0.0125)):
        r, d = coverage_table(bt, "X", th)
        rows += [{**x, "venue": v} for x in r]
        dets.append(d.assign(asset="X"))
    out = risk_section_html(pd.DataFrame(rows), dets[0])
    assert "<section id='risk'><h2>Is the liquidation budget honest?</h2>" in out
    assert "--model fhs" in out and "kupiec_p" in out and "binance ε=0.01 h=24h" in out
    png = re.search(r'src="data:image/png;base64,([^"]+)"', out)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
