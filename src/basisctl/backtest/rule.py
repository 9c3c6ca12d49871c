"""The frozen control rule: alpha_target, alpha_L, alpha_U calibrated on a window that ends before the test.

Protocol (paper Sec. IX, Table VII):

* alpha_target = Variant 2: smallest alpha with Pi_liq(alpha; 1 day) <= 1e-3, sigma = 180-day realised vol
  (hourly bars, 4-hour fallback) ending at ``calib_to``, stressed x1.5;
* alpha_L (eq. 38/48) = Variant 2 over h_liq = 3 h with eps_liq = 1e-4 on the same stressed sigma;
* alpha_U (eq. 45) = alpha_target + K_reb_fix / kappa_14d, capped at 0.99; K_reb_fix = the fixed cost
  [fraction of capital], kappa_14d = mean 14-day cumulative funding of the *calibration* funding stream
  (Binance, as in the paper) over [calib_from, calib_to];
* theta_F = Hyperliquid rule 1/(2 L_max) with the paper's L_max (BTC 40, ETH 25, LINK/DOGE 10).

Only data strictly before ``calib_to`` enters (vol uses bars that closed by ``calib_to``; kappa uses settlements
<= ``calib_to``). When the calibration funding stream has no complete 14-day window (DOGE and LINK Binance funding
start in 2025), kappa falls back to the paper's own Table VII kappa_1d x 14 and says so in ``kappa_source``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from basisctl.calibration.funding import kappa_tilde
from basisctl.calibration.inputs import calibrate_sigma, margin_for
from basisctl.calibration.volatility import realised_vol
from basisctl.data import locator
from basisctl.errors import DataCoverageError, ModelDomainError
from basisctl.model.bands import ALPHA_UPPER_CAP, alpha_lower, alpha_upper
from basisctl.model.policy import ResetTargets
from basisctl.model.static import hedge_leverage, solve_alpha_risk
from basisctl.warnings import records_warnings

#: Paper Table VII kappa_1d [bps] (Binance 2023-2024), used only when no calibration funding exists.
PAPER_KAPPA_1D_BPS: dict[str, float] = {"BTC": 2.19, "ETH": 2.56, "LINK": 2.63, "DOGE": 2.60}
UPPER_HORIZON_HOURS: float = 336.0


@dataclass(frozen=True)
class RuleSpec:
    """How the rule is calibrated (paper defaults). Units: eps [probability], horizons [days/hours]."""

    epsilon: float = 1e-3
    stress: float = 1.5
    horizon_days: float = 1.0
    lookback_days: float = 180.0
    h_liq_hours: float = 3.0
    eps_liq: float = 1e-4
    upper_horizon_hours: float = UPPER_HORIZON_HOURS
    margin_venue: str = "hyperliquid"
    kappa_venue: str = "binance"
    l_max: float | None = None
    theta_f: float | None = None


@dataclass(frozen=True)
class FrozenRule(ResetTargets):
    """Control parameters frozen at ``calib_to`` [alpha: fraction of capital; kappa: decimal; K: fraction]."""

    asset: str
    calib_from: pd.Timestamp
    calib_to: pd.Timestamp
    sigma_annual: float
    sigma_bar_hours: float
    stress: float
    theta_f: float
    l_max: float
    alpha_target: float
    alpha_lower: float
    alpha_upper: float
    kappa_14d: float
    kappa_windows: int
    kappa_source: str
    k_reb_fix: float
    #: per-side reset targets [fraction]; None = alpha_target (the paper's rule)
    reset_lower: float | None = None
    reset_upper: float | None = None
    #: scheduled reset to alpha_target every this many hours (0 = never; the ``periodic`` baseline)
    reset_every_hours: float = 0.0
    #: which rule builder made it: paper | optimal | hold | fixed_leverage | periodic
    rule: str = "paper"

    #: substitutions and thin samples behind this rule (basisctl.warnings), e.g. the paper's Table VII kappa
    warnings: tuple[str, ...] = ()

    @property
    def leverage_target(self) -> float:
        return float(hedge_leverage(self.alpha_target))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["calib_from"] = self.calib_from.isoformat()
        d["calib_to"] = self.calib_to.isoformat()
        d["leverage_target"] = self.leverage_target
        d["kappa_14d_bps"] = self.kappa_14d * 1e4
        return d

    def scaled(self, alpha_target_mult: float = 1.0, alpha_lower: float | None = None,
               alpha_upper: float | None = None, k_reb_fix: float | None = None) -> FrozenRule:
        """A variant for sweeps: alpha_target x mult (alpha_U moved with it unless given)."""
        at = self.alpha_target * alpha_target_mult
        au_shift = self.alpha_upper - self.alpha_target
        k = self.k_reb_fix if k_reb_fix is None else k_reb_fix
        if alpha_upper is None:
            if k_reb_fix is None:
                au = min(at + au_shift, ALPHA_UPPER_CAP)
            else:
                au = float(np.minimum(at + (k / self.kappa_14d if self.kappa_14d > 0 else np.inf),
                                      ALPHA_UPPER_CAP))
        else:
            au = alpha_upper
        al = self.alpha_lower if alpha_lower is None else alpha_lower
        if not 0.0 < al <= at <= au < 1.0:
            raise ModelDomainError(f"band must satisfy 0 < alpha_L <= alpha_target <= alpha_U < 1 "
                                   f"(got {al:.4f}, {at:.4f}, {au:.4f})")
        return replace(self, alpha_target=at, alpha_lower=al, alpha_upper=au, k_reb_fix=k)


def _utc(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@records_warnings
def calibrate_rule(
    asset: str,
    calib_from: pd.Timestamp | str,
    calib_to: pd.Timestamp | str,
    cost_bps: float,
    spec: RuleSpec | None = None,
    candles: pd.DataFrame | None = None,
    candles_bar_hours: float | None = None,
    funding: pd.DataFrame | None = None,
    kappa_bps_14d: float | None = None,
) -> FrozenRule:
    """Freeze the rule on [calib_from, calib_to). ``candles``/``funding`` replace the data-dir series.

    cost_bps: fixed execution cost [bps of notional] = K_reb_fix in bps of capital (eq. 47).
    kappa_bps_14d: explicit 14-day carry [bps] overriding the estimate.
    """
    sp = spec or RuleSpec()
    c_from, c_to = _utc(calib_from), _utc(calib_to)
    if c_to <= c_from:
        raise DataCoverageError(f"empty calibration window ({c_from:%Y-%m-%d} -> {c_to:%Y-%m-%d})")
    a = asset.upper()
    if candles is not None:
        vol = realised_vol(candles, c_to, sp.lookback_days, candles_bar_hours or 1.0, 0.9)
    else:
        vol = calibrate_sigma(a, c_to, sp.lookback_days, own_hint="or supply your own with --prices-file "
                              "(CSV/Parquet: timestamp, open, high, low, close)")
    theta, l_max = margin_for(sp.margin_venue, a, l_max=sp.l_max, theta_f=sp.theta_f)
    sig_s = vol.sigma_annual * sp.stress
    at = float(solve_alpha_risk(sig_s, theta, sp.horizon_days / 365.0, sp.epsilon))
    al = float(alpha_lower(sig_s, theta, sp.h_liq_hours, sp.eps_liq))
    k_reb = cost_bps * 1e-4
    if kappa_bps_14d is not None:
        kap, n_win, ksrc = kappa_bps_14d * 1e-4, 0, "explicit"
    else:
        lookback = (c_to - c_from).total_seconds() / 86400.0
        try:
            f = funding if funding is not None else locator.load_funding(sp.kappa_venue, a)
            est = kappa_tilde(f, sp.upper_horizon_hours, c_to, lookback,
                              label=f"{sp.kappa_venue} {a}" if funding is None else _kappa_file(sp.kappa_venue, a,
                                                                                               funding))
            kap, n_win = est.kappa, est.n_windows
            ksrc = f"{sp.kappa_venue if funding is None else 'funding file'} {sp.upper_horizon_hours:g}h windows " \
                   f"{est.first_window_end:%Y-%m-%d}..{est.last_window_end:%Y-%m-%d}"
        except (DataCoverageError, FileNotFoundError, KeyError) as e:
            if a not in PAPER_KAPPA_1D_BPS:
                raise DataCoverageError(f"no {sp.upper_horizon_hours:g}h funding windows to calibrate kappa for {a} "
                                        f"in {c_from:%Y-%m-%d}..{c_to:%Y-%m-%d}: pass --kappa-bps "
                                        "(kappa_bps_14d in Python) or a --funding-file that covers it") from e
            kap = PAPER_KAPPA_1D_BPS[a] * 1e-4 * sp.upper_horizon_hours / 24.0
            n_win = 0
            ksrc = "paper Table VII kappa_1d x 14 (no complete 14-day calibration funding windows)"
            from basisctl.warnings import substitute

            substitute("paper_input", f"{_kappa_file(sp.kappa_venue, a, funding)}: kappa_14d = {kap * 1e4:.1f} "
                                      f"bps is the paper's Table VII number ({PAPER_KAPPA_1D_BPS[a]:g} bps/day x "
                                      f"{sp.upper_horizon_hours / 24.0:g}), not data: no complete "
                                      f"{sp.upper_horizon_hours:g}h funding windows in "
                                      f"{c_from:%Y-%m-%d}..{c_to:%Y-%m-%d}{_kappa_hint(funding)}")
    au = float(alpha_upper(at, k_reb, kap))
    return FrozenRule(
        asset=a, calib_from=c_from, calib_to=c_to, sigma_annual=float(vol.sigma_annual),
        sigma_bar_hours=float(vol.interval_hours), stress=sp.stress, theta_f=float(theta), l_max=float(l_max),
        alpha_target=at, alpha_lower=al, alpha_upper=au, kappa_14d=float(kap), kappa_windows=int(n_win),
        kappa_source=ksrc, k_reb_fix=k_reb,
    )


def _kappa_file(venue: str, asset: str, funding: pd.DataFrame | None) -> str:
    """Which funding the kappa warning is about: venue, asset and file (issue 20 g), e.g.
    ``binance DOGE funding (/data/funding/binance/DOGE.csv)``; a user frame names its source file."""
    if funding is not None:
        src = funding.attrs.get("source")
        return f"{asset} funding file" + (f" ({src})" if src else "")
    p = locator.funding_path(venue, asset)
    return f"{venue} {asset} funding" + (f" ({p})" if p is not None else " (no file in the data dirs)")


def _kappa_hint(funding: pd.DataFrame | None) -> str:
    """How to replace the paper's kappa: name the funding file given (its span is too short), else the flags."""
    if funding is None:
        return " (pass --kappa-bps or --funding-file)"
    src = funding.attrs.get("source", "the funding frame")
    span = ""
    if len(funding):
        span = f", which spans {funding['ts'].min():%Y-%m-%d}..{funding['ts'].max():%Y-%m-%d}"
    return f" in {src}{span} (pass --kappa-bps or a funding file covering the calibration window)"
