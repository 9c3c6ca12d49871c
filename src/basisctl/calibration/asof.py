"""The default ``--asof``: the end of the last complete UTC day in the data files a command reads.

Definition (issue 20 p). A UTC day D = [D 00:00, D+1 00:00) is *complete*
- in a candle file when every bar of D is present: ``24 / bar_hours`` bars whose OPEN time lies in D;
- in a funding file when its settlements cover all 24 hours of D: the ``interval_hours`` of the settlements
  stamped in (D 00:00, D+1 00:00] sum to at least 24 (a settlement pays for the interval that ENDS at its stamp,
  so the 00:00 settlement of D+1 closes D; a gap is never filled, so a day with a missing settlement is incomplete).

The last complete day of a set of files is the latest day complete in EVERY file of the set; the as-of is the
following midnight, because ``--asof`` is an exclusive calibration end (``--asof 2026-03-10`` calibrates on data
up to 2026-03-09 23:59). New data in the data dir thus moves the default forward without a flag; regression tests
and the paper's report sections pin ``--asof 2026-03-10`` (:data:`basisctl.calibration.inputs.DEFAULT_ASOF`).

Candles are the volatility market's (:data:`basisctl.data.locator.VOL_PRICE_MARKET`) hourly bars (4-hour bars
where an asset has no hourly file), the series :func:`basisctl.calibration.inputs.calibrate_sigma` reads.
Files absent from the data dir are left out (the command then reports them missing in its own words); with no
file at all the as-of is ``DEFAULT_ASOF``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from basisctl.data import locator
from basisctl.errors import DataCoverageError

DAY = pd.Timedelta(days=1)


def complete_candle_days(candles: pd.DataFrame, bar_hours: float) -> set[pd.Timestamp]:
    """UTC days (midnights) on which ``candles`` (``ts`` = bar open) hold all ``24 / bar_hours`` bars."""
    if candles.empty:
        return set()
    need = round(24 / bar_hours)
    days = pd.to_datetime(candles["ts"], utc=True).dt.floor("D")
    counts = days.value_counts()
    return set(counts.index[counts >= need])


def complete_funding_days(funding: pd.DataFrame) -> set[pd.Timestamp]:
    """UTC days whose 24 hours are covered by settlements (``ts`` in (D, D+1], ``interval_hours`` summing to 24)."""
    if funding.empty:
        return set()
    ts = pd.to_datetime(funding["ts"], utc=True)
    day = (ts - pd.Timedelta(microseconds=1)).dt.floor("D")  # the 00:00 settlement closes the previous day
    hours = pd.Series(funding["interval_hours"].to_numpy(dtype=float)).groupby(day.to_numpy()).sum()
    return {pd.Timestamp(d).tz_localize("UTC") if pd.Timestamp(d).tzinfo is None else pd.Timestamp(d)
            for d in hours.index[hours.to_numpy() >= 24.0 - 1e-9]}


def _candle_days(asset: str, market: str) -> tuple[str, set[pd.Timestamp]] | None:
    for interval, hours in (("1h", 1.0), ("4h", 4.0)):
        if locator.has_candles(market, asset, interval):
            return f"{market} {asset.upper()} {interval} candles", complete_candle_days(
                locator.load_candles(market, asset, interval), hours)
    return None


def data_asof(venues: Iterable[str] = (), assets: Iterable[str] = (), *, candles: bool = True,
              funding: bool = True, market: str = locator.VOL_PRICE_MARKET) -> pd.Timestamp:
    """Exclusive calibration end [UTC midnight] after the last day complete in every file read: the candles of
    each asset (if ``candles``) and the funding of each venue x asset (if ``funding``). See the module doc."""
    from basisctl.calibration.inputs import DEFAULT_ASOF

    sets: list[tuple[str, set[pd.Timestamp]]] = []
    assets = [a.upper() for a in assets]
    if candles:
        for a in assets:
            got = _candle_days(a, market)
            if got is not None:
                sets.append(got)
    if funding:
        for v in venues:
            for a in assets:
                if locator.has_funding(v, a):
                    sets.append((f"{v.lower()} {a} funding", complete_funding_days(locator.load_funding(v, a))))
    if not sets:
        return DEFAULT_ASOF
    common = set.intersection(*(s for _, s in sets))
    if not common:
        spans = "; ".join(f"{name}: {_span(s)}" for name, s in sets)
        raise DataCoverageError(f"no UTC day is complete in every file read ({spans}); pass --asof")
    return max(common) + DAY


def _span(days: set[pd.Timestamp]) -> str:
    return f"complete days {min(days):%Y-%m-%d} to {max(days):%Y-%m-%d}" if days else "no complete day"


def resolve_asof(asof: str | None, venues: Iterable[str] = (), assets: Iterable[str] = (), *,
                 candles: bool = True, funding: bool = True) -> str:
    """``asof`` when given, else :func:`data_asof` of the files named, as an ISO date string (CLI helper)."""
    if asof is not None:
        return asof
    return f"{data_asof(venues, assets, candles=candles, funding=funding):%Y-%m-%d}"
