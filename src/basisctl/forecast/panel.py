"""The daily panel the forecasters see: daily funding plus backward-looking features.

Row d (index = the UTC day's start) holds what is known at the END of day d (00:00 UTC of day d+1):

* ``funding``: sum of the rates settled in (d, d+1] whose accrual lies inside the day [decimal per day]; NaN when
  the settlements of the day do not cover 24 h (missing rows are never filled: unknown is not zero);
* ``m7``, ``m30``: mean daily funding of the last 7 / 30 days ending at d (NaN with fewer than 80 % of the days);
* ``sd7``: standard deviation of daily funding over the last 7 days;
* ``basis_bps``: mean hourly (perp close / spot close - 1) x 1e4 over day d, where both bars exist (NaN else);
* ``vol7``: realised volatility of hourly perp log returns over the last 7 days, annualised with 8760 h/yr.

Every column of row d uses data up to the end of day d only; the walk-forward hands models the rows <= origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError

#: a rolling mean needs at least this share of its window's days
MIN_WINDOW_SHARE: float = 0.8


def daily_funding(funding: pd.DataFrame) -> pd.Series:
    """Funding per UTC day [decimal per day], NaN for days whose settlements do not cover 24 h.

    A row settled at t accrues over (t - interval_hours, t]; it belongs to day d when d < t <= d + 1 day, so a
    settlement exactly at 00:00 closes the previous day. Index: every day from the first to the last row's day.
    """
    if funding.empty:
        raise DataCoverageError("no funding rows to aggregate into days")
    ts = pd.DatetimeIndex(funding["ts"])
    day = (ts - pd.Timedelta(microseconds=1)).floor("D")
    g = pd.DataFrame({"rate": funding["rate"].to_numpy(float),
                      "hours": funding["interval_hours"].to_numpy(float)}, index=day).groupby(level=0).sum()
    gi = pd.DatetimeIndex(g.index)
    full = pd.date_range(gi.min(), gi.max(), freq="D")
    g = g.reindex(full)
    out = g["rate"].where(np.isclose(g["hours"].fillna(0.0), 24.0))
    out.name = "funding"
    out.index.name = "day"
    return out


def _rolling_mean(s: pd.Series, days: int) -> pd.Series:
    return s.rolling(days, min_periods=max(1, int(np.ceil(MIN_WINDOW_SHARE * days)))).mean()


def _hourly_features(perp: pd.DataFrame | None, spot: pd.DataFrame | None, days: pd.DatetimeIndex
                     ) -> pd.DataFrame:
    out = pd.DataFrame(index=days, data={"basis_bps": np.nan, "vol7": np.nan})
    if perp is None or perp.empty:
        return out
    p = perp.set_index("ts")["close"].astype(float).sort_index()
    p = p[~p.index.duplicated()]
    lr = pd.Series(np.log(p.to_numpy()), index=p.index).diff()
    # only consecutive hourly bars count
    lr = lr[p.index.to_series().diff() == pd.Timedelta(hours=1)]
    day = pd.DatetimeIndex(lr.index).floor("D")
    sq = (lr**2).groupby(day).agg(["sum", "count"]).reindex(days)
    s7 = sq["sum"].rolling(7, min_periods=6).sum()
    n7 = sq["count"].rolling(7, min_periods=6).sum()
    out["vol7"] = np.sqrt(s7 / n7 * 8760.0).where(n7 >= 0.8 * 7 * 24)
    if spot is not None and not spot.empty:
        s = spot.set_index("ts")["close"].astype(float).sort_index()
        s = s[~s.index.duplicated()]
        both = pd.concat([p.rename("p"), s.rename("s")], axis=1, join="inner").dropna()
        b = (both["p"] / both["s"] - 1.0) * 1e4
        out["basis_bps"] = b.groupby(pd.DatetimeIndex(b.index).floor("D")).mean().reindex(days)
    return out


def funding_panel(funding: pd.DataFrame, perp: pd.DataFrame | None = None, spot: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """Daily panel (see the module doc) from one funding stream and, optionally, hourly perp/spot candles."""
    f = daily_funding(funding)
    days = pd.DatetimeIndex(f.index)
    panel = pd.DataFrame({"funding": f})
    panel["m7"] = _rolling_mean(f, 7)
    panel["m30"] = _rolling_mean(f, 30)
    panel["sd7"] = f.rolling(7, min_periods=6).std()
    panel = panel.join(_hourly_features(perp, spot, days))
    return panel


class Past:
    """The panel rows 0..n-1 (up to a forecast origin) as read-only numpy views: all a model may see."""

    __slots__ = ("_cols", "n")

    def __init__(self, cols: dict[str, np.ndarray], n: int) -> None:
        self._cols = cols
        self.n = n

    @classmethod
    def of(cls, panel: pd.DataFrame, n: int | None = None) -> Past:
        cols = {c: panel[c].to_numpy(float).copy() for c in panel.columns}
        for v in cols.values():
            v.flags.writeable = False
        return cls(cols, len(panel) if n is None else n)

    def upto(self, n: int) -> Past:
        """The first n rows (n <= self.n)."""
        return Past(self._cols, min(n, self.n))

    def __getitem__(self, col: str) -> np.ndarray:
        return self._cols[col][: self.n]

    def __len__(self) -> int:
        return self.n

    def matrix(self, cols: tuple[str, ...]) -> np.ndarray:
        return np.column_stack([self._cols[c][: self.n] for c in cols])


def future_mean(funding: np.ndarray, h: int) -> np.ndarray:
    """y[d] = mean of funding[d+1 .. d+h] [decimal per day]; NaN if any of those days is unknown or beyond the end."""
    n = funding.size
    y = np.full(n, np.nan)
    if n <= h:
        return y
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(funding))])
    bad = np.concatenate([[0], np.cumsum(np.isnan(funding))])
    idx = np.arange(n - h)
    tot = c[idx + h + 1] - c[idx + 1]
    nbad = bad[idx + h + 1] - bad[idx + 1]
    y[idx] = np.where(nbad == 0, tot / h, np.nan)
    return y
