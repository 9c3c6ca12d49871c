"""The controller's band from its config: fixed values, or calibrated with the configured risk model.

One function, :func:`calibrate_band`, serves the start-up calibration and every scheduled recalibration
(``live/recalibration.py``), so both give the same band on the same bars:

* alpha_target = alpha at ``band.epsilon`` over ``band.horizon_days`` and alpha_L = alpha at ``band.eps_liq`` over
  ``band.h_liq_hours`` (clipped to <= alpha_target), both under ``risk.model``:
  - the paper's stressed closed form (gbm: sigma from the candles x ``band.stress``, ``solve_alpha_risk`` and eq. 38,
    exactly as before the risk model was configurable);
  - any other model (fhs by default) fitted on the same window of bars, unstressed (as the coverage study tests it),
    through the risk layer's ``fit_model`` / ``alpha_at`` - the same calls as ``basisctl bands --risk-model``;
* kappa over ``band.upper_horizon_days`` from funding and alpha_U = eq. 45;
* ``band.rule = "optimal"``: the optimal band with the model's alpha_L as its floor.

The model name is validated against the risk registry (``basisctl.risk.registry``, one place) and never branched
on: the only switch is whether the model is the stressed closed form (the registry's ``is_stressed``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from basisctl.errors import BasisctlError

if TYPE_CHECKING:
    from basisctl.live.config import ControllerConfig
    from basisctl.model.policy import BandPolicy
    from basisctl.risk.base import Bars


def check_risk_model(name: str) -> str:
    """The registered risk-model name for ``name`` (``basisctl.risk.registry``); a ValueError naming the choices
    otherwise (a config field)."""
    from basisctl.risk.registry import check_model

    try:
        return check_model(name)
    except BasisctlError as e:
        raise ValueError(str(e)) from None


def stress_applies(model: str) -> bool:
    """True when ``band.stress`` applies to ``model`` (the paper's stressed closed form, per the registry)."""
    from basisctl.risk.registry import is_stressed

    return bool(is_stressed(model))


def _sizing(model: str, eps: float, horizon_hours: float, bar_hours: float) -> tuple[int, float]:
    """(paths, horizon [h]) for one alpha, as the offline calibration (``risk.rule.model_band``) chooses them:
    ``fhs.sizing_paths`` at the budget, and the horizon in whole bars for bar-based models."""
    from basisctl.risk import fhs as fhs_mod
    from basisctl.risk.registry import bar_horizon

    return int(fhs_mod.sizing_paths(eps)), float(bar_horizon(model, horizon_hours, bar_hours))


def model_alphas(model: str, bars: Bars, asof: pd.Timestamp, lookback_days: float, epsilon: float,
                 horizon_hours: float, eps_liq: float, h_liq_hours: float, theta_f: float,
                 seed: int = 0) -> dict[str, Any]:
    """alpha_target (epsilon over horizon_hours) and alpha_lower (eps_liq over h_liq_hours) under ``model`` fitted,
    unstressed, on the bars of the ``lookback_days`` that closed by ``asof`` [fractions of capital], with the span.
    Raises ModelFitError / DataCoverageError (thin data, gaps, no convergence)."""
    from basisctl.risk.base import alpha_at
    from basisctl.risk.fit import fit_model, window

    lo, hi = window(bars, asof, lookback_days)
    out: dict[str, Any] = {"risk_model": check_risk_model(model), "risk_calibration": bars.span_text(lo, hi),
                           "bars_from": pd.Timestamp(int(bars.ts_ns[lo]), tz="UTC").isoformat(),
                           "bars_to": pd.Timestamp(int(bars.ts_ns[hi - 1]), tz="UTC").isoformat(), "bars": hi - lo}
    for key, eps, h0 in (("alpha_target", epsilon, horizon_hours), ("alpha_lower", eps_liq, h_liq_hours)):
        paths, h = _sizing(model, eps, h0, bars.bar_hours)
        f = fit_model(model, bars, lo, hi, h, seed=seed, fhs_paths=paths)
        out[key] = float(np.asarray(alpha_at(f, eps, theta_f, h)).reshape(-1)[0])
    return out


def calibrate_band(cfg: ControllerConfig, asof: pd.Timestamp, capital_usd: float,
                   candles: pd.DataFrame | None = None, warn: bool = True) -> tuple[BandPolicy, dict[str, Any]]:
    """BandPolicy from config: fixed values, or calibrated with ``risk.model`` on windows ending at ``asof``.

    ``candles``: the price bars to calibrate on (a recalibration passes the venue's own candles); default
    ``band.prices_file``, else the data dir's perp series. ``warn``: print the ``band.stress`` warning (start-up).
    """
    from basisctl.calibration.inputs import calibrate_kappa, calibrate_sigma, user_series
    from basisctl.calibration.volatility import bar_hours_of, realised_vol
    from basisctl.data import locator
    from basisctl.model.bands import alpha_lower, alpha_upper
    from basisctl.model.margin import theta_f_for
    from basisctl.model.policy import BandPolicy
    from basisctl.model.static import solve_alpha_risk
    from basisctl.risk.base import bars_from_frame
    from basisctl.risk.fit import load_bars

    b, c, r = cfg.band, cfg.costs, cfg.risk
    k_reb = b.k_reb_fix_bps / 1e4
    common: dict[str, Any] = {
        "q_min_usd": c.q_min_usd,
        "buffer_bps": c.buffer_bps,
        "sell_budget_bps": c.sell_budget_bps,
        "buy_budget_bps": c.buy_budget_bps,
    }
    if b.mode == "fixed":
        # BandConfig's validator guarantees all four are set in 'fixed' mode
        pol = BandPolicy(
            float(cast(float, b.alpha_target)),
            float(cast(float, b.alpha_lower)),
            float(cast(float, b.alpha_upper)),
            float(cast(float, b.kappa_fix)),
            k_reb,
            **common,
        )
        return pol, {"source": "config"}
    asset = cfg.venue.asset
    stressed = stress_applies(r.model)
    if warn and not stressed and "stress" in b.model_fields_set:
        print(f"warning: band.stress = {b.stress:g} is ignored under risk.model = '{r.model}' (it applies to the "
              "paper's stressed model, gbm, only)", file=sys.stderr, flush=True)
    files = {k: str(cfg.resolve(v)) for k, v in (("prices_file", b.prices_file), ("funding_file", b.funding_file))
             if v is not None}
    us = user_series(files.get("prices_file"), files.get("funding_file"), None) if files else None
    if us is not None and b.asof is None and us.asof < asof and candles is None:
        asof = us.asof  # the given files end before 'now': calibrate on what they hold (reported in info)
    bars_df = candles if candles is not None else (us.candles if us is not None else None)
    bars: Bars
    if bars_df is not None:
        bh = bar_hours_of(bars_df)
        vol = realised_vol(bars_df, asof, b.lookback_days, bh, min_coverage=0.9)
        bars = bars_from_frame(bars_df, bh)
    else:
        vol = calibrate_sigma(asset, asof, b.lookback_days)
        bars = load_bars(asset, None) if not stressed else cast("Bars", None)
    sigma = vol.sigma_annual * b.stress
    tiers = None
    if b.margin_venue == "hyperliquid":  # the size tiers shipped in the data dir
        try:
            tiers = locator.hyperliquid_tiers(asset)
        except BasisctlError:
            tiers = None
    theta, l_max = theta_f_for(b.margin_venue, asset, notional_usd=capital_usd, tiers=tiers)
    risk_info: dict[str, Any] = {"risk_model": r.model, "stressed": stressed}
    if stressed:
        a_t = float(solve_alpha_risk(sigma, theta, b.horizon_days / 365.0, b.epsilon))
        a_l = float(alpha_lower(sigma, theta, b.h_liq_hours, b.eps_liq))
    else:
        got = model_alphas(r.model, bars, asof, b.lookback_days, b.epsilon, b.horizon_days * 24.0, b.eps_liq,
                           b.h_liq_hours, theta, seed=r.seed)
        a_t, a_l = got.pop("alpha_target"), got.pop("alpha_lower")
        risk_info.update(got)
    if not (0.0 < a_l < 1.0 and 0.0 < a_t < 1.0):
        from basisctl.risk.base import ModelFitError

        raise ModelFitError(f"{r.model}: no alpha < 1 meets the budget (alpha_target={a_t:g}, alpha_L={a_l:g})")
    a_l = min(a_l, a_t)
    kap = calibrate_kappa(b.funding_venue, asset, asof, b.lookback_days, b.upper_horizon_days * 24.0,
                          funding=us.funding if us is not None else None).kappa
    a_u = float(alpha_upper(a_t, k_reb, kap))
    pol = BandPolicy(a_t, a_l, max(a_u, a_t), kap, k_reb, **common)
    extra: dict[str, Any] = {"rule": b.rule}
    if b.rule == "optimal":  # one policy function; only its parameters change (basisctl.rules.builders)
        from basisctl.rules.builders import optimal_band_policy

        pol, extra_o = optimal_band_policy(vol.sigma_annual, kap, b.upper_horizon_days, a_l, c.sell_basis_bps,
                                           c.buy_basis_bps, capital_usd, c.q_min_usd, c.buffer_bps,
                                           c.sell_budget_bps if c.sell_budget_bps is not None else b.k_reb_fix_bps)
        extra.update(extra_o, optimal_floor=a_l)
    info = {
        **extra,
        **risk_info,
        "source": "calibrated",
        "asof": asof.isoformat(),
        "sigma_stressed": sigma,
        "theta_f": theta,
        "l_max": l_max,
        "lookback_days": b.lookback_days,
        "vol_bar_hours": vol.interval_hours,
        "kappa_upper_horizon": kap,
        "alpha_liq": theta / (1 + theta),
        **files,
    }
    return pol, info
