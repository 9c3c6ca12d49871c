"""A tour of the Python API (about 10 s): ``BASISCTL_DATA_DIR=../shared/data python examples/api_tour.py``.

Market data comes from the data locator (``--data-dir`` / ``BASISCTL_DATA_DIR`` / the user store that
``basisctl data pull`` fills).

Each step is what a notebook cell would hold; every result is a DataFrame or a result object with ``summary()``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

import basisctl
from basisctl.backtest import BacktestConfig, CostModel, calibrate_rule, prepare, run_backtest
from basisctl.calibration.funding import funding_window_stats
from basisctl.data import load_funding
from basisctl.data.locator import describe
from basisctl.model.bands import alpha_lower, alpha_upper
from basisctl.static_grid import static_grid_frame

pd.set_option("display.width", 140)

# 1. What market data the locator finds (file, format, which data dir it comes from).
print(pd.DataFrame(describe())[["kind", "venue", "asset", "interval", "format", "root"]].head(8))

# 2. Static control: the whole venue x asset grid at the paper's benchmark slice, as a DataFrame.
grid = static_grid_frame(lookbacks=[180], stresses=[1.5])
print(grid[["venue", "asset", "sigma_annual", "kappa_bps", "alpha_risk", "leverage_risk", "alpha_econ"]])

# 3. Bands for Hyperliquid BTC from the grid row: alpha_L (3 h, 1e-4) and alpha_U for a 20 bps cost budget.
row = grid[(grid.venue == "hyperliquid") & (grid.asset == "BTC")].iloc[0]
a_l = float(alpha_lower(row.sigma_stressed, row.theta_f))
a_u = float(alpha_upper(row.alpha_risk, 20e-4, row.kappa_bps * 1e-4 * 14))  # 14-day carry ~ 14 x 1-day carry
print(f"band: alpha_L={a_l:.4f}  alpha_target={row.alpha_risk:.4f}  alpha_U={a_u:.4f}")

# 4. The Table VI policy on one observed state.
policy = basisctl.BandPolicy(row.alpha_risk, a_l, a_u, kappa_fix=row.kappa_bps * 1e-4 * 14, k_reb_fix=20e-4)
print(basisctl.decide(a_l - 0.01, 2_000_000, policy, basisctl.CostCurve.flat(8), basisctl.CostCurve.flat(8)).reason)

# 5. Funding diagnostics (Tables I-III shape).
stats = funding_window_stats(load_funding("hyperliquid", "BTC"), "2026-03-10")
print(pd.DataFrame([s.to_dict() for s in stats]))

# 6. A backtest of the frozen rule, its metrics and its per-bar frame; Parquet out.
rule = calibrate_rule("BTC", "2023-03-10", "2025-03-10", cost_bps=20)
res = run_backtest(prepare("BTC", "2025-03-10", "2026-03-10", funding_venue="hyperliquid"), rule,
                   CostModel.paper("BTC"), BacktestConfig())
print(res.summary())
frame = res.to_frame()
out = Path(tempfile.mkdtemp()) / "btc_backtest.parquet"
frame.to_parquet(out)
print(f"{len(frame)} bars -> {out}")
