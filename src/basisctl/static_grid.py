"""The static grid: both variants for venue x asset x lookback x stress, calibrated from market data.

Volatility is calibrated once per (asset, lookback) from the common perp series and shared by both venues
(paper Section VI); kappa_h per (venue, asset, lookback) from each venue's own funding. Cells whose data do
not cover the window are returned with NaN answers and the reason in ``note`` (never silently filled).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from basisctl.calibration.inputs import calibrate_kappa, calibrate_sigma, margin_for, utc
from basisctl.errors import BasisctlError
from basisctl.model.static import StaticInputs, solve_static_grid

DEFAULT_VENUES: tuple[str, ...] = ("binance", "hyperliquid")
DEFAULT_ASSETS: tuple[str, ...] = ("BTC", "ETH", "LINK", "DOGE")
DEFAULT_LOOKBACKS: tuple[float, ...] = (30.0, 90.0, 180.0, 360.0)
DEFAULT_STRESSES: tuple[float, ...] = (1.0, 1.5, 2.0)

GRID_COLUMNS: tuple[str, ...] = (
    "venue", "asset", "lookback_days", "stress", "sigma_annual", "sigma_stressed", "horizon_days", "theta_f",
    "l_max", "epsilon", "lgd", "mu", "kappa_bps", "alpha_liq", "alpha_risk", "alpha_econ", "leverage_risk",
    "leverage_econ", "pi_liq_at_alpha_risk", "pi_liq_at_alpha_econ", "vol_bar_hours", "vol_coverage",
    "funding_days_covered", "asof", "note",
)


def static_grid_frame(
    venues: Sequence[str] = DEFAULT_VENUES,
    assets: Sequence[str] = DEFAULT_ASSETS,
    lookbacks: Sequence[float] = DEFAULT_LOOKBACKS,
    stresses: Sequence[float] = DEFAULT_STRESSES,
    asof: pd.Timestamp | str | None = None,
    epsilon: float = 1e-3,
    lgd: float = 0.1,
    horizon_days: float = 1.0,
    mu: float = 0.0,
) -> pd.DataFrame:
    """One row per venue x asset x lookback x stress with both variants (columns: ``GRID_COLUMNS``)."""
    end = utc(asof)
    sig_cache: dict[tuple[str, float], tuple[float, float, float] | str] = {}
    cells: list[StaticInputs] = []
    meta: list[dict[str, object]] = []
    failed: list[dict[str, object]] = []
    for venue in venues:
        for asset in (a.upper() for a in assets):
            try:
                theta, l_max = margin_for(venue, asset)
            except BasisctlError as e:  # no margin rule for this venue/asset (binance XRP): a note, not the grid
                why = str(e).replace(": pass --l-max or --theta-f", "").replace("; pass --l-max or --theta-f", "")
                note = (f"margin: {why}; size it with `basisctl static --venue {venue} --asset {asset} "
                        "--l-max L`")
                failed += [{"venue": venue, "asset": asset, "lookback_days": float(lb), "stress": float(s),
                            "epsilon": epsilon, "lgd": lgd, "mu": mu, "horizon_days": horizon_days,
                            "asof": end.isoformat(), "note": note} for lb in lookbacks for s in stresses]
                continue
            for lb in lookbacks:
                key = (asset, float(lb))
                if key not in sig_cache:
                    try:
                        v = calibrate_sigma(asset, end, lb, own_hint="")  # the grid takes no file
                        sig_cache[key] = (v.sigma_annual, v.interval_hours, v.coverage)
                    except BasisctlError as e:
                        sig_cache[key] = f"volatility: {e}"
                note = ""
                sig = sig_cache[key]
                try:
                    k = calibrate_kappa(venue, asset, end, lb, horizon_days * 24.0)
                    kappa, covered = k.kappa, k.days_covered
                    if covered < 0.95 * lb:
                        note = f"funding covers {covered:.0f} of {lb:g} days"
                except BasisctlError as e:
                    kappa, covered, note = float("nan"), 0.0, f"funding: {e}"
                for s in stresses:
                    base = {"venue": venue, "asset": asset, "lookback_days": float(lb), "stress": float(s),
                            "theta_f": theta, "l_max": l_max, "epsilon": epsilon, "lgd": lgd, "mu": mu,
                            "horizon_days": horizon_days, "asof": end.isoformat()}
                    if isinstance(sig, str) or not np.isfinite(kappa):
                        failed.append({**base, "note": sig if isinstance(sig, str) else note,
                                       "kappa_bps": kappa * 1e4, "funding_days_covered": covered})
                        continue
                    cells.append(StaticInputs(venue, asset, sig[0], float(s), theta, l_max, horizon_days,
                                              epsilon, lgd, kappa, mu))
                    meta.append({"lookback_days": float(lb), "vol_bar_hours": sig[1], "vol_coverage": sig[2],
                                 "funding_days_covered": covered, "asof": end.isoformat(), "note": note})
    rows = [{**r.to_dict(), **m} for r, m in zip(solve_static_grid(cells), meta, strict=True)]
    df = pd.DataFrame(rows + failed, columns=list(GRID_COLUMNS))
    order = {v: i for i, v in enumerate(venues)}
    aorder = {a.upper(): i for i, a in enumerate(assets)}
    df = df.sort_values(["venue", "asset", "lookback_days", "stress"],
                        key=lambda c: c.map(order) if c.name == "venue" else
                        (c.map(aorder) if c.name == "asset" else c)).reset_index(drop=True)
    df["note"] = df["note"].fillna("")
    return df
