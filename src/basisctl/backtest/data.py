"""Backtest inputs: the bar series of one test window and the funding stream aligned to it.

Bars: ``ts`` = bar OPEN (UTC). A test window [start, end) takes the bars whose open lies in it; the bars must
be contiguous at the series' own interval (a gap is refused with a clear error, never bridged). With the
data-dir data, ``bar="auto"`` uses the 1-hour Binance perp series and falls back to the gap-free 4-hour series
when the hourly one has a gap inside the window (2024-06-16 -> 2025-03-06, LINK to 2025-09-13).

Funding: a row settled at instant t accrues to the position carried into t. It is credited at the open of the
first bar whose open is >= t, priced at that open (for hourly bars and hourly/8-hourly settlements this is
exactly the bar whose OPEN is t, as in the fractal-defi reference). Settlements in (start, last bar open] count;
the one at ``start`` itself belongs to the interval before the position existed. Missing settlements are counted
from each row's own ``interval_hours`` and reported, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.calibration.volatility import bar_hours_of
from basisctl.data import locator
from basisctl.data.validate import EXCLUDED_ATTR
from basisctl.errors import DataCoverageError
from basisctl.warnings import records_warnings

PRICE_MARKETS: dict[str, str] = {"binance": "binance_perp", "hyperliquid": "hyperliquid_perp", "bybit": "bybit_perp"}


def utc(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclass(frozen=True)
class FundingAlignment:
    """Funding rates per bar and coverage.

    ``rate[i]``: settlements at bar i's open instant, credited at that open on the position carried into the bar
    [decimal]. ``rate_in[i]``: settlements strictly inside bar i (hourly funding on 4-hour bars), credited at bar
    i's close on the position held during the bar, before the close trade [decimal].
    """

    rate: np.ndarray
    n_settlements: int
    missing_settlements: int
    off_grid: int
    hours_covered: float
    hours_window: float
    interval_hours: tuple[float, ...]
    rate_in: np.ndarray | None = None

    @property
    def rate_total(self) -> np.ndarray:
        """All funding credited in bar i (at its open and inside it) [decimal]."""
        return self.rate if self.rate_in is None else self.rate + self.rate_in


@dataclass(frozen=True)
class BacktestData:
    """Everything the kernel needs for one asset and window (arrays aligned to ``ts``)."""

    asset: str
    ts: pd.DatetimeIndex
    bar_hours: float
    p_open: np.ndarray
    p_high: np.ndarray
    p_close: np.ndarray
    s_open: np.ndarray
    s_close: np.ndarray
    funding: FundingAlignment
    prices_source: str
    funding_source: str
    #: where the spot leg's prices came from; SPOT_PROXY when spot = the perp series (basis P&L zero by construction)
    spot_source: str = "proxy: spot = perp"

    @property
    def basis_proxy(self) -> bool:
        """True when the spot leg is valued at the perp prices (no real basis)."""
        return self.spot_source == SPOT_PROXY
    #: substitutions behind these inputs (basisctl.warnings), e.g. funding settlements missing in the window
    warnings: tuple[str, ...] = ()

    @property
    def start(self) -> pd.Timestamp:
        return self.ts[0]

    @property
    def end(self) -> pd.Timestamp:
        """End of the last bar [UTC]."""
        return self.ts[-1] + pd.Timedelta(hours=self.bar_hours)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400.0

    @records_warnings
    def with_funding(self, funding: pd.DataFrame, source: str, allow_missing_funding: bool = False) -> BacktestData:
        """Same bars, another funding stream (the funding-environment experiment)."""
        al = align_funding(funding, self.ts, self.bar_hours)
        check_missing_funding(al, source, allow_missing_funding)
        return BacktestData(self.asset, self.ts, self.bar_hours, self.p_open, self.p_high, self.p_close,
                            self.s_open, self.s_close, al, self.prices_source, source, self.spot_source)


SPOT_PROXY = "proxy: spot = perp"
SPOT_MODES = ("auto", "perp", "binance_spot", "hl_premium")
#: at most this share of the window's spot bars may be missing (each filled with the previous spot close)
MAX_SPOT_FILL = 0.005


def premium_spot(asset: str, ts: pd.DatetimeIndex, p_close: np.ndarray, strict: bool
                 ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Spot implied by the premium component of Hyperliquid funding: s_i = p_i / (1 + premium_i), premium_i the
    hourly average premium of the perp over the oracle settled at the close of 1 h bar i (the settlement at
    t_i + 1 h covers [t_i, t_i + 1 h)). Only for Hyperliquid perp bars (the premium is that venue's). An
    approximation: an hourly average premium stands in for the premium at the bar close."""
    a = asset.upper()
    if len(ts) < 2 or float((ts[1] - ts[0]).total_seconds()) != 3600.0 or not locator.has_funding("hyperliquid", a):
        if strict:
            raise DataCoverageError(f"no Hyperliquid funding premium for {a} on this window's 1h grid")
        return None
    f = locator.load_funding("hyperliquid", a)
    if "premium" not in f:
        if strict:
            raise DataCoverageError(f"Hyperliquid funding for {a} has no premium column")
        return None
    prem = f.set_index("ts")["premium"]
    prem = prem[~prem.index.duplicated()].reindex(ts + pd.Timedelta(hours=1))
    miss = int(prem.isna().sum())
    if miss > MAX_SPOT_FILL * len(ts) or pd.isna(prem.iloc[0]):
        if strict:
            raise DataCoverageError(f"Hyperliquid premium for {a} misses {miss} of {len(ts)} bars of the window "
                                    f"{ts[0]:%Y-%m-%d} -> {ts[-1]:%Y-%m-%d} "
                                    f"(at most {MAX_SPOT_FILL:.1%} may be filled)")
        return None
    close = p_close / (1.0 + prem.ffill().to_numpy(float))
    op = np.r_[close[0], close[:-1]]
    label = f"hyperliquid premium/{a} (spot = perp / (1 + hourly premium))" + (
        f" ({miss} missing hours filled with the previous premium)" if miss else "")
    return op, close, label


def load_spot(asset: str, ts: pd.DatetimeIndex, mode: str, prices_market: str = "binance_perp",
              p_close: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Spot open/close aligned to the perp bars ``ts``, or None (proxy).

    ``auto``: the Binance spot 1h series when it covers the window (missing bars <= MAX_SPOT_FILL of the window,
    each filled with the previous spot close and counted in the source label); for Hyperliquid perp bars the
    premium-implied spot (:func:`premium_spot`); else None. ``binance_spot`` / ``hl_premium``: that source, and a
    source that does not cover the window is an error. ``perp``: None."""
    if mode not in SPOT_MODES:
        raise DataCoverageError(f"spot must be one of {', '.join(SPOT_MODES)} (got '{mode}')")
    if mode == "perp":
        return None
    if mode == "hl_premium" or (mode == "auto" and prices_market == "hyperliquid_perp"):
        if p_close is None:
            raise DataCoverageError("the premium-implied spot needs the perp closes")
        got = premium_spot(asset, ts, p_close, strict=mode == "hl_premium")
        if got is not None or mode == "hl_premium":
            return got
    a = asset.upper()
    if len(ts) < 2 or float((ts[1] - ts[0]).total_seconds()) != 3600.0 or not locator.has_candles("binance_spot", a,
                                                                                                     "1h"):
        if mode == "binance_spot":
            raise DataCoverageError(f"no Binance spot 1h bars for {a} on this window's 1h grid")
        return None
    sp = locator.load_candles("binance_spot", a, "1h").set_index("ts")
    sp = sp[~sp.index.duplicated()].reindex(ts)
    miss = int(sp["close"].isna().sum())
    if miss > MAX_SPOT_FILL * len(ts) or pd.isna(sp["close"].iloc[0]):
        if mode == "binance_spot":
            raise DataCoverageError(f"Binance spot 1h bars for {a} miss {miss} of {len(ts)} bars of the window "
                                    f"{ts[0]:%Y-%m-%d} -> {ts[-1]:%Y-%m-%d} "
                                    f"(at most {MAX_SPOT_FILL:.1%} may be filled)")
        return None
    close = sp["close"].ffill()
    op = sp["open"].fillna(close.shift(1)).fillna(close)
    label = f"binance_spot/{a}_1h" + (f" ({miss} missing bars filled with the previous spot close)" if miss else "")
    return op.to_numpy(float), close.to_numpy(float), label


#: Missing settlements above this share of a backtest window's expected settlements are an error [decimal].
MAX_MISSING_FUNDING_SHARE: float = 0.02
#: At most this share of a window's expected settlements missing is an informational ``note:`` (not refused by
#: ``--strict``); above it, up to MAX_MISSING_FUNDING_SHARE, a ``warning:`` [decimal] (docs/conventions.md).
NOTE_MISSING_FUNDING_SHARE: float = 0.001


def check_missing_funding(al: FundingAlignment, source: str, allow: bool = False) -> None:
    """Missing settlements are never paid: above ``MAX_MISSING_FUNDING_SHARE`` of the window refuse (unless
    ``allow``, the CLI's ``--allow-missing-funding``); otherwise say how many with a ``note:`` when they are at
    most ``NOTE_MISSING_FUNDING_SHARE`` of the window, else with a ``warning:``."""
    missing = al.missing_settlements
    if missing <= 0:
        return
    expected = missing + al.n_settlements
    share = missing / expected
    what = (f"{source}: {missing:,} of {expected:,} funding settlements ({share:.2%}) missing in the backtest "
            "window; they are not paid")
    if share > MAX_MISSING_FUNDING_SHARE and not allow:
        raise DataCoverageError(f"{what} - above {MAX_MISSING_FUNDING_SHARE:.0%}: choose a covered window, supply "
                                "--funding-file, or pass --allow-missing-funding")
    from basisctl.warnings import note, substitute

    if share <= NOTE_MISSING_FUNDING_SHARE:
        note(f"{what} (at most {NOTE_MISSING_FUNDING_SHARE:.1%}: informational)")
    else:
        substitute("missing_data", what)


def _bar_hours(candles: pd.DataFrame) -> float:
    """Most common spacing of the bar opens [h]."""
    return bar_hours_of(candles)


def select_window(candles: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, bar_hours: float,
                  label: str) -> pd.DataFrame:
    """Bars with open in [start, end); contiguous and covering the window, else DataCoverageError."""
    c = candles.sort_values("ts")
    c = c[(c["ts"] >= start) & (c["ts"] < end)]
    step = pd.Timedelta(hours=bar_hours)
    if len(c) < 2:
        raise DataCoverageError(f"{label}: fewer than 2 bars in [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M})")
    all_ts = candles["ts"]
    if c["ts"].iloc[0] - start >= step:
        why = "gap in the data" if (all_ts < start).any() else "data starts later"
        raise DataCoverageError(f"{label}: first bar in the window opens {c['ts'].iloc[0]:%Y-%m-%d %H:%M}, "
                                f"after the requested start {start:%Y-%m-%d %H:%M} ({why})")
    if end - c["ts"].iloc[-1] > step:  # the last bar must open within one step of the end
        why = "gap in the data" if (all_ts >= end).any() else "data ends earlier"
        raise DataCoverageError(f"{label}: last bar opens {c['ts'].iloc[-1]:%Y-%m-%d %H:%M}, before the "
                                f"requested end {end:%Y-%m-%d %H:%M} ({why})")
    gaps = np.flatnonzero(c["ts"].diff().iloc[1:].to_numpy() != np.timedelta64(step))
    excluded = set(candles.attrs.get(EXCLUDED_ATTR, ()))
    if gaps.size and excluded:  # bars the user asked to leave out (spikes): held over, never filled
        held = [int(k) + 1 for k in gaps if _only_excluded(c["ts"].iloc[int(k)], c["ts"].iloc[int(k) + 1], step,
                                                            excluded)]
        gaps = np.setdiff1d(gaps, np.asarray(held, dtype=np.int64) - 1)
        if held and not gaps.size:
            from basisctl.warnings import substitute

            first = c["ts"].iloc[held[0] - 1]
            substitute("missing_data", f"backtest window: {len(held)} bar(s) left out on request; the "
                       f"position is held over each hole without a decision (first: the bar after "
                       f"{first:%Y-%m-%d %H:%M}); nothing is filled")
    if gaps.size:
        k = int(gaps[0]) + 1
        a, b = c["ts"].iloc[k - 1], c["ts"].iloc[k]
        raise DataCoverageError(f"{label}: {gaps.size} gap(s) in the {bar_hours:g}h bars, first after "
                                f"{a:%Y-%m-%d %H:%M} (next bar {b:%Y-%m-%d %H:%M}); gaps are never bridged")
    return c


def _only_excluded(a: pd.Timestamp, b: pd.Timestamp, step: pd.Timedelta, excluded: set[pd.Timestamp]) -> bool:
    """True when every bar open strictly between ``a`` and ``b`` was left out on request."""
    k = round((b - a) / step)
    return k > 1 and all(a + j * step in excluded for j in range(1, k))


def align_funding(funding: pd.DataFrame, bar_ts: pd.DatetimeIndex, bar_hours: float) -> FundingAlignment:
    """Credit each settlement in (start, last open]: at the bar whose open is the settlement instant, or, for a
    settlement strictly inside a bar, at that bar's close (see :class:`FundingAlignment`) [decimal/bar]."""
    start, last_open = bar_ts[0], bar_ts[-1]
    f = funding.sort_values("ts")
    f = f[(f["ts"] > start) & (f["ts"] <= last_open)]
    hours_window = (last_open - start).total_seconds() / 3600.0
    n = len(bar_ts)
    rate = np.zeros(n)
    if f.empty:
        raise DataCoverageError(
            f"no funding settlements in ({start:%Y-%m-%d %H:%M}, {last_open:%Y-%m-%d %H:%M}]: refusing to run "
            "with zero funding (supply --funding-file or choose a covered window)")
    fts = pd.DatetimeIndex(f["ts"]).as_unit("ns")
    bts = bar_ts.as_unit("ns")
    idx = np.searchsorted(bts.asi8, fts.asi8, side="left")
    on_grid = bts.asi8[idx] == fts.asi8
    r = f["rate"].to_numpy(dtype=float)
    np.add.at(rate, idx[on_grid], r[on_grid])
    # a settlement strictly inside bar i (i = idx - 1) accrues on the position held during that bar
    rate_in = np.zeros(n)
    np.add.at(rate_in, idx[~on_grid] - 1, r[~on_grid])
    off_grid = int(np.sum(~on_grid))
    ih = f["interval_hours"].to_numpy(dtype=float)
    t_h = (fts.asi8 - start.value) / 3.6e12
    # missing settlements: leading, between rows (each gap measured in the later row's cadence), trailing
    lead = int(np.floor(t_h[0] / ih[0] - 1e-9))
    between = np.maximum(np.rint(np.diff(t_h) / ih[1:]) - 1, 0).sum() if t_h.size > 1 else 0
    trail = int(np.floor((hours_window - t_h[-1]) / ih[-1] + 1e-9))
    return FundingAlignment(
        rate=rate,
        n_settlements=len(f),
        missing_settlements=int(lead + between + trail),
        off_grid=off_grid,
        hours_covered=float(ih.sum()),
        hours_window=float(hours_window),
        interval_hours=tuple(sorted({float(x) for x in ih})),
        rate_in=rate_in,
    )


def load_prices(asset: str, venue: str, start: pd.Timestamp, end: pd.Timestamp, bar: str = "auto",
                prices_file: str | Path | None = None) -> tuple[pd.DataFrame, float, str]:
    """Bars of the window from a user file or the data dir (1h, 4h fallback). Returns (bars, h, source)."""
    if prices_file is not None:
        from basisctl.data.io import read_candles

        c = read_candles(prices_file)
        bh = _bar_hours(c)
        return select_window(c, start, end, bh, str(prices_file)), bh, str(prices_file)
    market = PRICE_MARKETS.get(venue.lower())
    if market is None:
        raise DataCoverageError(f"unknown prices venue '{venue}': expected one of {', '.join(PRICE_MARKETS)}")
    intervals = ["1h", "4h"] if bar == "auto" else [bar]
    if not any(locator.has_candles(market, asset, iv) for iv in intervals):
        locator.load_candles(market, asset, intervals[0])  # raises: where it looked and how to fetch it
    errors = []
    for iv in intervals:
        if not locator.has_candles(market, asset, iv):
            errors.append(f"no {market} {asset} {iv} bars in the data dirs")
            continue
        bh = {"1h": 1.0, "4h": 4.0, "1d": 24.0}[iv]
        try:
            c = locator.load_candles(market, asset, iv)
            return select_window(c, start, end, bh, f"{market}/{asset}_{iv}"), bh, f"{market}/{asset}_{iv}"
        except DataCoverageError as e:
            errors.append(str(e))
    raise DataCoverageError("; ".join(errors))


def load_funding_stream(asset: str, venue: str, funding_file: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """Full funding history from a user file or the data dir's stream of ``venue``."""
    if funding_file is not None:
        from basisctl.data.io import read_funding

        return read_funding(funding_file), str(funding_file)
    return locator.load_funding(venue, asset), f"{venue}/{asset}"  # missing: where it looked, how to fetch


@records_warnings
def prepare(
    asset: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    prices_venue: str = "binance",
    funding_venue: str = "hyperliquid",
    prices_file: str | Path | None = None,
    funding_file: str | Path | None = None,
    spot_file: str | Path | None = None,
    bar: str = "auto",
    prices: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    spot: str = "perp",
    allow_missing_funding: bool = False,
) -> BacktestData:
    """Bars + aligned funding for one asset over [start, end). The spot leg: ``spot_file``, else ``spot``
    (``perp`` = the perp series, the flagged proxy; ``auto`` / ``binance_spot``: see :func:`load_spot`).

    More than 2 % of the window's funding settlements missing is an error unless ``allow_missing_funding``
    (any missing settlement is a warning, see :func:`check_missing_funding`)."""
    s, e = utc(start), utc(end)
    if e <= s:
        raise DataCoverageError(f"empty test window: end {e:%Y-%m-%d} <= start {s:%Y-%m-%d}")
    if prices is not None:
        bh = _bar_hours(prices)
        src = str(prices.attrs.get("source", "frame"))  # read_candles names the file it read
        bars = select_window(prices, s, e, bh, "prices frame" if src == "frame" else src)
    else:
        bars, bh, src = load_prices(asset, prices_venue, s, e, bar, prices_file)
    ts = pd.DatetimeIndex(bars["ts"])
    if spot_file is not None:
        from basisctl.data.io import read_candles

        sp = read_candles(spot_file).set_index("ts").reindex(ts)
        if sp["close"].isna().any():
            first = sp.index[sp["close"].isna()][0]
            raise DataCoverageError(f"{spot_file}: no spot bar at {first:%Y-%m-%d %H:%M} (needed for every perp bar)")
        s_open, s_close = sp["open"].to_numpy(float), sp["close"].to_numpy(float)
        spot_src = str(spot_file)
    else:
        got = load_spot(asset, ts, spot, PRICE_MARKETS.get(prices_venue.lower(), "") if prices is None
                        and prices_file is None else "file", bars["close"].to_numpy(float))
        if got is None:
            s_open, s_close, spot_src = bars["open"].to_numpy(float), bars["close"].to_numpy(float), SPOT_PROXY
        else:
            s_open, s_close, spot_src = got
    if funding is not None:
        fsrc = str(funding.attrs.get("source", "frame"))  # read_funding names the file it read
    else:
        funding, fsrc = load_funding_stream(asset, funding_venue, funding_file)
    al = align_funding(funding, ts, bh)
    check_missing_funding(al, str(funding_file) if funding_file is not None else fsrc, allow_missing_funding)
    return BacktestData(
        asset=asset.upper(), ts=ts, bar_hours=bh,
        p_open=bars["open"].to_numpy(float), p_high=bars["high"].to_numpy(float),
        p_close=bars["close"].to_numpy(float), s_open=s_open, s_close=s_close,
        funding=al, prices_source=src, funding_source=fsrc, spot_source=spot_src,
    )
