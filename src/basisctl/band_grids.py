"""Monte Carlo evidence grids for the dynamic band (paper Sec. VIII.B-E), shared by ``basisctl simulate
upper-grid | lower-grid`` and the HTML report (``basisctl report``).

* :func:`upper_grid` (Sec. VIII.E, Table XIX shape): per venue x asset, start at alpha_target (Table IV slice,
  stressed sigma) and measure the first hit of alpha_U(K_reb) = alpha_target + K_reb / kappa14 (eq. 45, cap 0.99)
  for every cost scenario on ONE common path set (common random numbers across the cost columns).
* :func:`lower_grid` (Sec. VIII.B/C): alpha_L in closed form (eq. 38), its GBM Monte Carlo check
  Pi_liq(alpha_L; h_liq) ~= eps_liq, and the bootstrap alpha_L^boot (eq. 40) with its interval.

Inputs not given come from the data dir (:func:`resolve_band_inputs`). Units: sigma annualised (8760 h/yr);
alpha a fraction of capital; K_reb in bps of capital; kappa14 the expected cumulative 14-day funding as a decimal
of notional (``*_bps`` fields: bps); horizons in hours or days as named.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from basisctl.calibration.inputs import calibrate_kappa, calibrate_sigma, margin_for, utc
from basisctl.calibration.volatility import bar_hours_of, log_returns_consecutive, realised_vol
from basisctl.data import locator
from basisctl.errors import DataCoverageError, ModelDomainError
from basisctl.model.bands import (
    ALPHA_UPPER_CAP,
    DEFAULT_EPS_LIQ,
    DEFAULT_H_LIQ_HOURS,
    DEFAULT_UPPER_HORIZON_DAYS,
    alpha_lower,
    alpha_upper,
    upper_delta,
)
from basisctl.model.static import alpha_liq, solve_alpha_risk
from basisctl.simulate.bootstrap import alpha_lower_bootstrap
from basisctl.simulate.engine import simulate_hits
from basisctl.simulate.models import GBM, Bootstrap, FullState, PathModel

DEFAULT_COSTS_BPS: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0)
DEFAULT_STRESS = 1.5
DEFAULT_EPSILON = 1e-3
DEFAULT_LOOKBACK_DAYS = 180.0
DEFAULT_MC_HORIZON_DAYS = 60.0
DEFAULT_UPPER_PATHS = 20_000
#: Fewer hitting paths than this and the hit-time statistics (median, q90) of a cell are left blank: a median of a
#: handful of paths next to a hit rate that rounds to 0 misleads (the report and ``simulate upper-grid`` agree).
MIN_HITS_FOR_STATS = 30
DEFAULT_LOWER_MC_PATHS = 1_000_000
MIN_BOOT_COVERAGE = 0.9

#: Called after each venue x asset cell with a label such as ``"upper-grid binance BTC"``.
CellFn = Callable[[str], None]


@dataclass(frozen=True)
class BandInputs:
    """Everything the band formulas need for one venue/asset, with where each number came from."""

    venue: str
    asset: str
    sigma: float  # unstressed [annualised]
    sigma_source: str
    stress: float
    theta_f: float
    l_max: float
    kappa14: float  # expected cumulative 14-day funding [decimal of notional]
    kappa14_source: str
    epsilon: float

    @property
    def sigma_stressed(self) -> float:
        """sigma x stress [annualised]."""
        return self.sigma * self.stress

    @property
    def alpha_target(self) -> float:
        """Variant 2 static target: 1-day horizon, budget ``epsilon``, stressed sigma (Table IV slice)."""
        return float(solve_alpha_risk(self.sigma_stressed, self.theta_f, 1.0 / 365.0, self.epsilon))


def resolve_band_inputs(venue: str, asset: str, asof: pd.Timestamp | str | None, lookback_days: float,
                        sigma: float | None, stress: float, kappa14_bps: float | None, l_max: float | None,
                        epsilon: float, candles: pd.DataFrame | None = None,
                        funding: pd.DataFrame | None = None) -> BandInputs:
    """Band inputs for one venue/asset: ``sigma`` [annualised] and ``kappa14_bps`` [bps of notional] from the
    arguments when given, else calibrated over ``lookback_days`` to ``asof`` (UTC) on ``candles``/``funding``
    (validated user frames) or the data dir."""
    if stress <= 0 or not math.isfinite(stress):
        raise ModelDomainError(f"--stress must be > 0 (got {stress!r})")
    theta, lm = margin_for(venue, asset, l_max=l_max)
    when = utc(asof)
    if sigma is None and candles is not None:
        bh = bar_hours_of(candles)
        est = realised_vol(candles, when, lookback_days, bh, min_coverage=0.9)
        sig, sig_src = est.sigma_annual, f"prices file {bh:g}h bars, {lookback_days:g}d to {when:%Y-%m-%d}"
    elif sigma is None:
        est = calibrate_sigma(asset, when, lookback_days)
        sig, sig_src = est.sigma_annual, (f"{locator.VOL_PRICE_MARKET} {est.interval_hours:g}h bars, "
                                          f"{lookback_days:g}d to {when:%Y-%m-%d}")
    else:
        if not (math.isfinite(sigma) and sigma > 0):
            raise ModelDomainError(f"--sigma must be > 0 [annualised] (got {sigma!r})")
        sig, sig_src = float(sigma), "--sigma"
    if kappa14_bps is None:
        k = calibrate_kappa(venue, asset, when, lookback_days, horizon_hours=DEFAULT_UPPER_HORIZON_DAYS * 24.0,
                            funding=funding)
        src = "funding file" if funding is not None else f"{venue} funding"
        kap, kap_src = k.kappa, f"{src}, {k.n_windows} 14d windows, {lookback_days:g}d to {when:%Y-%m-%d}"
    else:
        kap, kap_src = float(kappa14_bps) * 1e-4, "--kappa14-bps"
    return BandInputs(venue.lower(), asset.upper(), sig, sig_src, float(stress), theta, lm, kap, kap_src, epsilon)


def hourly_returns(asset: str, asof: pd.Timestamp | str | None, lookback_days: float,
                   candles: pd.DataFrame | None = None) -> NDArray[np.float64]:
    """1-hour log returns of ``candles`` (default: the data dir's perp mark-like series) over [asof - lookback, asof)
    (no look-ahead: the later bar of each return closes by ``asof``); raises when fewer than 90% of the hours
    are present."""
    end = utc(asof)
    c = candles if candles is not None else locator.load_candles(locator.VOL_PRICE_MARKET, asset, "1h")
    r, ts = log_returns_consecutive(c, 1.0)
    step = 3_600_000_000_000
    start = end - pd.Timedelta(days=lookback_days)
    sel = (ts - step >= start.value) & (ts <= end.value - step)
    out = r[sel]
    expected = max(int(lookback_days * 24) - 1, 1)
    if out.size < MIN_BOOT_COVERAGE * expected:
        raise DataCoverageError(
            f"{locator.VOL_PRICE_MARKET} {asset.upper()} 1h returns cover {out.size / expected:.0%} of the "
            f"{lookback_days:g}-day window ending {end:%Y-%m-%d} (bootstrap needs {MIN_BOOT_COVERAGE:.0%}); "
            "choose another --asof")
    return np.asarray(out, dtype=np.float64)


def upper_rows(inp: BandInputs, alpha_t: float, costs_bps: Sequence[float]) -> list[dict[str, Any]]:
    """Delta_U = K_reb / kappa14 and alpha_U (eq. 45, cap 0.99) per cost scenario K_reb [bps of capital]."""
    rows: list[dict[str, Any]] = []
    for c in costs_bps:
        k = c * 1e-4
        d = float(upper_delta(k, inp.kappa14))
        au = float(alpha_upper(alpha_t, k, inp.kappa14))
        rows.append({"cost_bps": c, "delta_upper": d, "alpha_upper": au, "clipped": au >= ALPHA_UPPER_CAP})
    return rows


@dataclass(frozen=True)
class GridResult:
    """One grid: ``meta`` (the run's parameters) and ``rows`` (one dict per cell / cost scenario)."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` payload of the CLI: meta keys plus ``rows``."""
        return {**self.meta, "rows": self.rows}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


def upper_grid(
    venues: Sequence[str],
    assets: Sequence[str],
    costs_bps: Sequence[float] = DEFAULT_COSTS_BPS,
    *,
    asof: pd.Timestamp | str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    stress: float = DEFAULT_STRESS,
    path_stress: float = 1.0,
    horizon_days: float = DEFAULT_MC_HORIZON_DAYS,
    step_hours: float = 1.0,
    paths: int = DEFAULT_UPPER_PATHS,
    seed: int = 0,
    backend: str = "numba",
    funding: bool = False,
    model: str = "gbm",
    on_cell: CellFn | None = None,
) -> GridResult:
    """Sec. VIII.E / Table XIX: hit rate and hit times of alpha_U (14-day funding) per venue x asset x cost.

    alpha_target uses the ``stress``-ed sigma; paths use sigma x ``path_stress`` (1 = calibrated). ``funding``
    accrues kappa14 / 336 per hour into margin (eq. 30). ``model``: gbm | bootstrap (the window's demeaned 1 h
    returns, 1 h steps). Hit times [days] are conditional on a hit within ``horizon_days``.
    """
    if model not in ("gbm", "bootstrap"):
        raise ModelDomainError(f"--model must be gbm or bootstrap (got '{model}')")
    if model == "bootstrap" and step_hours != 1.0:
        raise ModelDomainError("--model bootstrap resamples 1-hour returns: use --step-hours 1")
    rows: list[dict[str, Any]] = []
    for v, a in [(v, a) for v in venues for a in assets]:
        inp = resolve_band_inputs(v, a, asof, lookback_days, None, stress, None, None, DEFAULT_EPSILON)
        a_t = inp.alpha_target
        ups = upper_rows(inp, a_t, costs_bps)
        sig = inp.sigma * path_stress
        f_h = inp.kappa14 / (DEFAULT_UPPER_HORIZON_DAYS * 24.0) if funding else 0.0
        paths_model: PathModel
        if model == "bootstrap":
            paths_model = Bootstrap(hourly_returns(inp.asset, asof, lookback_days), 1.0, path_stress, True, None, f_h)
        else:
            paths_model = FullState(sig, f_h) if funding else GBM(sig)
        res = simulate_hits(paths_model, a_t, [u["alpha_upper"] for u in ups], None,
                            horizon_hours=horizon_days * 24.0, step_hours=step_hours, paths=paths,
                            seed=seed, backend=backend)  # type: ignore[arg-type]
        for u, col in zip(ups, res.columns(), strict=True):
            rows.append({
                "venue": inp.venue, "asset": inp.asset, "sigma_paths": sig, "theta_f": inp.theta_f,
                "alpha_target": a_t, "kappa14_bps": inp.kappa14 * 1e4, **u,
                "hit_rate": col["upper_hit_rate"], "hit_rate_se": col["upper_hit_rate_se"],
                "median_hit_days": col["upper_hit_days_median"], "hit_days_q90": col["upper_hit_days_q90"],
            })
        if on_cell:
            on_cell(f"upper-grid {inp.venue} {inp.asset}")
    meta = {"asof": utc(asof).isoformat(), "lookback_days": lookback_days, "stress_target": stress,
            "path_stress": path_stress, "horizon_days": horizon_days, "step_hours": step_hours,
            "paths": paths, "seed": seed, "backend": backend, "funding_in_margin": funding,
            "model": model, "monitoring": "continuous"}
    return GridResult(meta, rows)


def lower_grid(
    venues: Sequence[str],
    assets: Sequence[str],
    *,
    asof: pd.Timestamp | str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    stress: float = DEFAULT_STRESS,
    h_liq_hours: float = DEFAULT_H_LIQ_HOURS,
    eps_liq: float = DEFAULT_EPS_LIQ,
    mc_paths: int = DEFAULT_LOWER_MC_PATHS,
    boot_rel_halfwidth: float = 0.1,
    demean: bool = True,
    seed: int = 0,
    backend: str = "numba",
    on_cell: CellFn | None = None,
) -> GridResult:
    """Sec. VIII.B/C per venue x asset: alpha_L closed form (eq. 38, sigma x ``stress``, h_liq [h], eps_liq
    [probability]); ``mc_liq_rate`` = GBM Monte Carlo Pi_liq(alpha_L; h_liq) (should be ~eps_liq); bootstrap
    alpha_L^boot (eq. 40) on the lookback window's 1 h returns with its 95% interval [fraction of capital]."""
    rows: list[dict[str, Any]] = []
    returns_cache: dict[str, NDArray[np.float64]] = {}
    for v, a in [(v, a) for v in venues for a in assets]:
        inp = resolve_band_inputs(v, a, asof, lookback_days, None, stress, 0.0, None, DEFAULT_EPSILON)
        a_l = float(alpha_lower(inp.sigma_stressed, inp.theta_f, h_liq_hours, eps_liq))
        # liquidation at alpha_liq seen from alpha_L: a LOWER alpha barrier (price rise) in the engine
        mc = simulate_hits(GBM(inp.sigma_stressed), a_l, [np.nan], [float(alpha_liq(inp.theta_f))],
                           horizon_hours=h_liq_hours, step_hours=min(1.0, h_liq_hours), paths=mc_paths,
                           seed=seed, backend=backend)  # type: ignore[arg-type]
        if inp.asset not in returns_cache:
            returns_cache[inp.asset] = hourly_returns(inp.asset, asof, lookback_days)
        b = alpha_lower_bootstrap(returns_cache[inp.asset], inp.theta_f, h_liq_hours, eps_liq, stress,
                                  demean=demean, rel_halfwidth=boot_rel_halfwidth, seed=seed)
        rows.append({
            "venue": inp.venue, "asset": inp.asset, "sigma": inp.sigma, "sigma_stressed": inp.sigma_stressed,
            "theta_f": inp.theta_f, "alpha_liq": float(alpha_liq(inp.theta_f)),
            "alpha_target": inp.alpha_target, "alpha_lower": a_l,
            "mc_liq_rate": float(mc.lower_hit_rate[0]), "mc_liq_rate_se": float(mc.lower_hit_rate_se[0]),
            "alpha_lower_boot": b.alpha_lower_boot, "alpha_lower_boot_ci": list(b.alpha_ci),
            "boot_hit_freq": b.hit_freq, "boot_hit_freq_ci": list(b.hit_freq_ci), "boot_paths": b.paths,
        })
        if on_cell:
            on_cell(f"lower-grid {inp.venue} {inp.asset}")
    meta = {"asof": utc(asof).isoformat(), "lookback_days": lookback_days, "stress": stress,
            "h_liq_hours": h_liq_hours, "eps_liq": eps_liq, "mc_paths": mc_paths, "seed": seed,
            "demeaned": demean, "backend": backend}
    return GridResult(meta, rows)
