"""Model inputs from (data-dir or user) market data: sigma from perp candles, kappa from a venue's funding.

Volatility uses a common perp price series for both venues (paper Section VI: Delta vol = 0). Hourly bars
are used when they cover at least ``MIN_HOURLY_COVERAGE`` of the window; otherwise the gap-free 4-hour
series is used (the 2024-06 -> 2025-03 hourly gap), annualised for 4-hour bars. The choice is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from basisctl.calibration.funding import KappaEstimate, kappa_tilde
from basisctl.calibration.volatility import VolEstimate, realised_vol
from basisctl.data import locator
from basisctl.errors import DataCoverageError

#: Default calibration date: the refreshed layer of the paper (Hyperliquid meta snapshot 2026-03-10).
DEFAULT_ASOF = pd.Timestamp("2026-03-10", tz="UTC")
MIN_HOURLY_COVERAGE: float = 0.9
MIN_4H_COVERAGE: float = 0.9
#: how ``static`` / ``bands`` take the user's own candles (the end of a missing-candles message)
OWN_CANDLES_HINT = "or supply your own with --prices-file (CSV/Parquet: timestamp, open, high, low, close) or --sigma"


def utc(t: pd.Timestamp | str | None) -> pd.Timestamp:
    if t is None:
        return DEFAULT_ASOF
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def calibrate_sigma(
    asset: str,
    asof: pd.Timestamp | str | None = None,
    lookback_days: float = 180.0,
    market: str = locator.VOL_PRICE_MARKET,
    candles_1h: pd.DataFrame | None = None,
    candles_4h: pd.DataFrame | None = None,
    own_hint: str = OWN_CANDLES_HINT,
) -> VolEstimate:
    """Unstressed annualised sigma over the lookback ending at ``asof`` (hourly bars, 4-hour fallback).

    ``own_hint`` ends the missing-data message: how the calling command takes the user's own candles (the
    options differ per command; "" when it reads the data dirs only)."""
    end = utc(asof)
    c1 = candles_1h
    if c1 is None and locator.has_candles(market, asset, "1h"):
        c1 = locator.load_candles(market, asset, "1h")
    hourly_error: DataCoverageError | None = None
    if c1 is not None:
        try:
            return realised_vol(c1, end, lookback_days, 1.0, MIN_HOURLY_COVERAGE)
        except DataCoverageError as e:
            hourly_error = e  # said with the 4h fallback's error if that fails too
    c4 = candles_4h
    if c4 is None and locator.has_candles(market, asset, "4h"):
        c4 = locator.load_candles(market, asset, "4h")
    if c4 is None:
        if c1 is None:
            have = locator.list_assets("prices", market)
            try:
                locator.load_candles(market, asset, "1h")  # the locator's message: where it looked, how to fetch
            except DataCoverageError as e:
                raise type(e)(f"{e}; the data has {market} candles for {_have(have)}"
                              + (f"; {own_hint}" if own_hint else "")) from None
        raise DataCoverageError(f"no {market} candles for {asset} cover the {lookback_days:g}-day window"
                                + (f" ({hourly_error})" if hourly_error else ""))
    try:
        return realised_vol(c4, end, lookback_days, 4.0, MIN_4H_COVERAGE)
    except DataCoverageError as e:
        if hourly_error is None:
            raise
        raise DataCoverageError(f"{hourly_error}; and the 4h fallback: {e}") from None


def calibrate_kappa(
    venue: str,
    asset: str,
    asof: pd.Timestamp | str | None = None,
    lookback_days: float = 180.0,
    horizon_hours: float = 24.0,
    funding: pd.DataFrame | None = None,
) -> KappaEstimate:
    """kappa_h from the venue's own funding stream over the lookback ending at ``asof`` [decimal]."""
    if funding is None and not locator.has_funding(venue, asset):
        try:
            locator.load_funding(venue, asset)  # the locator's message: where it looked, how to fetch it
        except DataCoverageError as e:
            raise type(e)(f"{e}; the data has {venue} funding for {_have(locator.list_assets('funding', venue))}; "
                          "or supply your own with --funding-file (or --kappa-bps)") from None
    f = funding if funding is not None else locator.load_funding(venue, asset)
    label = f"{venue} {asset.upper()}" if funding is None else f"{asset.upper()} funding file"
    return kappa_tilde(f, horizon_hours, utc(asof), lookback_days, label=label)


def margin_for(venue: str, asset: str, l_max: float | None = None,
               theta_f: float | None = None) -> tuple[float, float]:
    """(theta_F, L_max) for a venue/asset: explicit ``theta_f`` > explicit ``l_max`` > the documented tables of
    :mod:`basisctl.model.margin` (the paper's L_max, venue MMR tables) > for Hyperliquid, the first tier of the
    asset's margin table in the data (every asset the venue lists). Otherwise a ModelDomainError that says what
    to pass."""
    from basisctl.errors import ModelDomainError
    from basisctl.model.margin import PAPER_L_MAX, check_venue, theta_f_for

    v = check_venue(venue)
    a = asset.upper()
    if theta_f is not None or l_max is not None or v != "hyperliquid" or (v, a) in PAPER_L_MAX:
        return theta_f_for(v, a, l_max=l_max, theta_f=theta_f)
    try:
        tiers = locator.hyperliquid_tiers(a)
    except DataCoverageError:
        uni = locator.hyperliquid_universe()
        row = uni[uni["name"].astype(str).str.upper() == a]  # mixed-case names such as kPEPE
        if len(row):
            from basisctl.model.margin import LeverageTier

            return theta_f_for(v, a, tiers=[LeverageTier(0.0, float(row["maxLeverage"].iloc[0]))])
        names = sorted(str(n) for n in uni["name"])
        raise ModelDomainError(
            f"no default max leverage for hyperliquid {a}: not in the Hyperliquid margin table of the data "
            f"({len(names)} assets, e.g. {', '.join(names[:8])}, ...); pass --l-max or --theta-f"
        ) from None
    return theta_f_for(v, a, tiers=tiers)


def _have(assets: list[str]) -> str:
    return ", ".join(assets) if assets else "no asset"


@dataclass(frozen=True)
class CellCalibration:
    """Calibrated inputs of one venue/asset/lookback cell with the coverage actually achieved."""

    venue: str
    asset: str
    asof: pd.Timestamp
    lookback_days: float
    vol: VolEstimate
    kappa: KappaEstimate

    def to_dict(self) -> dict[str, object]:
        return {
            "asof": self.asof.isoformat(),
            "lookback_days": self.lookback_days,
            "vol_bar_hours": self.vol.interval_hours,
            "vol_returns": self.vol.n_returns,
            "vol_coverage": self.vol.coverage,
            "funding_windows": self.kappa.n_windows,
            "funding_days_covered": self.kappa.days_covered,
        }


def calibrate_cell(
    venue: str, asset: str, asof: pd.Timestamp | str | None, lookback_days: float, horizon_hours: float = 24.0
) -> CellCalibration:
    end = utc(asof)
    return CellCalibration(
        venue=venue,
        asset=asset.upper(),
        asof=end,
        lookback_days=float(lookback_days),
        vol=calibrate_sigma(asset, end, lookback_days),
        kappa=calibrate_kappa(venue, asset, end, lookback_days, horizon_hours),
    )


@dataclass(frozen=True)
class UserSeries:
    """Validated user candle and/or funding files and the calibration end they imply."""

    candles: pd.DataFrame | None
    funding: pd.DataFrame | None
    asof: pd.Timestamp
    candles_bar_hours: float | None


def user_series(prices_file: str | Path | None, funding_file: str | Path | None,
                asof: pd.Timestamp | str | None, exclude_spikes: bool = False) -> UserSeries:
    """Read and validate user files (errors name file, row, column). Without ``asof`` the calibration ends where
    the given files end (last bar close, last settlement); without files it is ``DEFAULT_ASOF``.
    ``exclude_spikes`` leaves one-bar price spikes out of the candles (with a warning) instead of failing."""
    from basisctl.calibration.gaps import mark_user_file
    from basisctl.calibration.volatility import bar_hours_of
    from basisctl.data.io import read_candles, read_funding

    candles = read_candles(prices_file, exclude_spikes=exclude_spikes) if prices_file is not None else None
    funding = read_funding(funding_file) if funding_file is not None else None
    for frame in (candles, funding):  # their holes in the calibration window are warned about
        if frame is not None:
            mark_user_file(frame)
    bh = bar_hours_of(candles) if candles is not None else None
    if asof is None and (candles is not None or funding is not None):
        ends = []
        if candles is not None and bh is not None:
            ends.append(candles["ts"].max() + pd.Timedelta(hours=bh))
        if funding is not None:
            ends.append(funding["ts"].max() + pd.Timedelta(seconds=1))
        end = min(ends)
    else:
        end = utc(asof)
    return UserSeries(candles, funding, end, bh)
