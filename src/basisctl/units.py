"""Unit constants and conversions. Volatility is annualised with 8760 hours per year."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_Hours = TypeVar("_Hours", float, "NDArray[np.float64]")  # scalar or elementwise over an array

HOURS_PER_YEAR: float = 8760.0
DAYS_PER_YEAR: float = 365.0
BPS: float = 1e-4
MS_PER_HOUR: int = 3_600_000


def hours_to_years(hours: _Hours) -> _Hours:
    """Convert a horizon in hours to years (8760 h/yr), the time unit of annualised sigma."""
    return hours / HOURS_PER_YEAR


def days_to_years(days: float) -> float:
    """Convert a horizon in days to years (365 d/yr = 8760 h/yr)."""
    return days * 24.0 / HOURS_PER_YEAR


def bps_to_decimal(bps: float) -> float:
    return bps * BPS


def decimal_to_bps(x: float) -> float:
    return x / BPS
