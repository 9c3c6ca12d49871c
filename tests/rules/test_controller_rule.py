"""The controller's ``band.rule = "optimal"`` selects the solved band for the same policy function."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from basisctl.live.runner import calibrate_band
from basisctl.model.optimal_band import solve_optimal_band
from tests.live.conftest import fixed_config

ASOF = pd.Timestamp("2026-03-10", tz="UTC")
CALIBRATE = {"mode": "calibrate", "alpha_target": None, "alpha_lower": None, "alpha_upper": None,
             "kappa_fix": None}


@pytest.mark.needs_data
def test_optimal_rule_in_controller_config(tmp_path: Path) -> None:
    paper, pinfo = calibrate_band(fixed_config(tmp_path, band=CALIBRATE), ASOF, 1e6)
    opt, info = calibrate_band(fixed_config(tmp_path, band={**CALIBRATE, "rule": "optimal"}), ASOF, 1e6)
    assert pinfo["rule"] == "paper" and info["rule"] == "optimal"
    assert opt.alpha_lower >= paper.alpha_lower  # the solvency floor is kept
    assert opt.alpha_upper < paper.alpha_upper  # the solved band is narrower than eq. 45's
    assert opt.reset_lower is not None and opt.reset_upper is not None
    assert opt.alpha_lower <= opt.reset_lower <= opt.reset_upper <= opt.alpha_upper
    assert info["optimal_alpha_upper"] == opt.alpha_upper
    # entry at reset_upper, eq. 47 gate off, budgets from K_reb^fix so Q^max does not vanish
    assert opt.alpha_target == opt.reset_upper and opt.k_reb_fix == 0.0 and opt.sell_budget > 0
    # zero carry -> nothing to earn from deploying margin: the solved band is wide (no voluntary trade pays)
    wide = solve_optimal_band(0.5, 1e-6, opt.alpha_lower, 20.0, 20.0)
    assert wide.alpha_upper > opt.alpha_upper
