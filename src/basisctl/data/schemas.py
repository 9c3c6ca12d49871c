"""Canonical column sets for funding and candle frames.

Funding: ``ts`` settlement instant (UTC, tz-aware), ``rate`` realised funding per settlement interval as a
decimal (+ = longs pay shorts), ``interval_hours`` the accrual interval that rate covers [h]; optional
``premium`` and ``source``.

Candles: ``ts`` bar OPEN time (UTC, tz-aware), ``open, high, low, close`` [quote currency], ``volume``
[base units]; optional ``source``.
"""

from __future__ import annotations

FUNDING_REQUIRED: tuple[str, ...] = ("ts", "rate", "interval_hours")
FUNDING_OPTIONAL: tuple[str, ...] = ("premium", "source")
CANDLE_REQUIRED: tuple[str, ...] = ("ts", "open", "high", "low", "close")
CANDLE_OPTIONAL: tuple[str, ...] = ("volume", "source")

#: Interval label -> bar length in hours.
INTERVAL_HOURS: dict[str, float] = {"1h": 1.0, "4h": 4.0, "1d": 24.0}
