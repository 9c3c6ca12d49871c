"""Band boundaries under a chosen risk model, for ``bands --risk-model`` and ``backtest --risk-model``.

alpha_target = alpha at epsilon over the review horizon and alpha_L = alpha at eps_liq over h_liq, both under the
model calibrated on the bars before ``asof``. The models are unstressed (the coverage study tests them that way);
alpha_U moves with alpha_target by eq. 45. ``gbm`` leaves the paper's rule untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.risk import fhs as fhs_mod
from basisctl.risk.base import alpha_of_barrier
from basisctl.risk.fit import fit_model, load_bars, window
from basisctl.risk.registry import bar_horizon, check_model, is_stressed
from basisctl.risk.sizing import fitted_alpha, model_barriers


def model_band(model: str, asset: str, theta_f: float, asof: pd.Timestamp | None, lookback_days: float,
               epsilon: float, horizon_hours: float, eps_liq: float, h_liq_hours: float,
               prices_file: str | Path | pd.DataFrame | None = None, seed: int = 0) -> dict[str, Any]:
    """alpha_target and alpha_lower under ``model`` (fractions of capital) with the fitted parameters, and
    ``alpha_target_se`` / ``alpha_lower_se`` (Monte Carlo SE) for simulated models."""
    m = check_model(model)
    bars = load_bars(asset, prices_file)
    lo, hi = window(bars, asof, lookback_days)
    out: dict[str, Any] = {"risk_model": m, "risk_calibration": bars.span_text(lo, hi)}
    for key, eps, h in (("alpha_target", epsilon, horizon_hours), ("alpha_lower", eps_liq, h_liq_hours)):
        h = bar_horizon(m, h, bars.bar_hours)
        f = fit_model(m, bars, lo, hi, h, seed=seed, fhs_paths=fhs_mod.sizing_paths(eps))
        got = fitted_alpha(f, eps, theta_f, h)
        out[key] = got["alpha"]
        if "alpha_se" in got:
            out[f"{key}_se"] = got["alpha_se"]
        out[f"{key}_params"] = f.params()
    return out


def band_risk_fields(model: str, asset: str, theta_f: float, asof: pd.Timestamp | None, lookback_days: float,
                     epsilon: float, eps_liq: float, h_liq_hours: float, alpha_target_gbm: float,
                     alpha_lower_gbm: float, prices_file: str | Path | pd.DataFrame | None = None) -> dict[str, Any]:
    """What ``bands`` prints for ``model``: ``alpha_target``/``alpha_lower`` (the paper's stressed GBM values
    for the paper's model, else the model's own, unstressed), ``risk_model`` and the GBM values for comparison."""
    m = check_model(model)
    gbm = {"alpha_target_gbm": alpha_target_gbm, "alpha_lower_gbm": alpha_lower_gbm}
    if is_stressed(m):
        return {"risk_model": m, "alpha_target": alpha_target_gbm, "alpha_lower": alpha_lower_gbm, **gbm}
    return {**model_band(m, asset, theta_f, asof, lookback_days, epsilon, 24.0, eps_liq, h_liq_hours, prices_file),
            **gbm}


def with_risk_model(rule: Any, model: str, spec: Any, prices_file: str | Path | pd.DataFrame | None = None) -> Any:
    """A FrozenRule whose alpha_target/alpha_L come from ``model`` (alpha_U shifted with alpha_target)."""
    from basisctl.model.bands import alpha_upper

    if is_stressed(model):  # the paper's model: the frozen rule is already its answer
        return rule
    b = model_barriers(model, rule.asset, rule.calib_to, spec.lookback_days, spec.epsilon, spec.horizon_days * 24.0,
                       spec.eps_liq, spec.h_liq_hours, prices_file)
    assert b is not None  # an unstressed model always has barriers
    at = float(alpha_of_barrier(b["target"], rule.theta_f))
    al = min(float(alpha_of_barrier(b["lower"], rule.theta_f)), at)
    return replace(rule, alpha_target=at, alpha_lower=al,
                   alpha_upper=float(alpha_upper(at, rule.k_reb_fix, rule.kappa_14d)))


@dataclass(frozen=True)
class ModelSizer:
    """``backtest.portfolio.Sizer`` for a registered model: barriers at the band's budgets (epsilon = 1e-3 over
    24 h, eps_liq = 1e-4 over 3 h) and the frozen rule re-sized as ``backtest --risk-model`` does."""

    model: str

    def barriers(self, asset: str, asof: pd.Timestamp, lookback_days: float) -> dict[str, float] | None:
        return model_barriers(self.model, asset, asof, lookback_days, 1e-3, 24.0, 1e-4, 3.0)

    def rule(self, rule: Any, spec: Any) -> Any:
        return with_risk_model(rule, self.model, spec)
