"""The alternative yield: what capital earns outside the basis trade (a constant APR or a rate series).

The series layout is the data dir's ``rates/<provider>/<name>.csv`` (e.g. ``rates/aave_v3/USDC_supply.csv``):
``timestamp`` (UTC snapshot time) and ``apy`` (a fraction, compounded per second as Aave displays it). An APY is
turned into the continuously compounded APR ln(1 + apy) (Aave's per-second compounding differs from it by < 1e-9
at these rates); capital outside the trade grows by exp(integral of APR dt), dt in years of 365 days.

Causal: the rate in force at t is the last snapshot at or before t. Before the first snapshot (and more than
``max_stale_days`` after the last) the stated constant ``fallback_apr`` applies, with a ``warning:`` naming the
span it covers; without a fallback such a time is an error, never a silent zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError, DataValidationError, ModelDomainError, ValidationIssue

NS_PER_YEAR: float = 365.0 * 86400e9
#: a snapshot stays in force this long after the last one; later times take the fallback constant
MAX_STALE_DAYS: float = 3.0


@dataclass(frozen=True)
class AltYield:
    """Piecewise-constant alternative yield [APR, continuously compounded, decimal per year]."""

    label: str
    ts_ns: np.ndarray  # snapshot times [ns since epoch, UTC], increasing
    apr: np.ndarray  # APR in force from each snapshot on
    fallback_apr: float | None = None
    max_stale_days: float = MAX_STALE_DAYS

    @classmethod
    def constant(cls, apr: float, label: str | None = None) -> AltYield:
        if not math.isfinite(apr) or apr <= -1:
            raise ModelDomainError(f"alternative yield must be a finite APR > -1 (got {apr!r})")
        return cls(label or f"constant {apr:.2%} APR", np.zeros(0, np.int64), np.zeros(0), float(apr))

    @property
    def is_constant(self) -> bool:
        return self.ts_ns.size == 0

    def _covered(self, t_ns: np.ndarray) -> np.ndarray:
        if self.is_constant:
            return np.zeros(t_ns.shape, bool)
        return (t_ns >= self.ts_ns[0]) & (t_ns <= self.ts_ns[-1] + self.max_stale_days * 86400e9)

    def apr_at(self, t: pd.DatetimeIndex | pd.Timestamp, warn: bool = True) -> np.ndarray:
        """APR in force at each t [decimal per year] (fallback outside the series, with a warning)."""
        idx = pd.DatetimeIndex([t]) if isinstance(t, pd.Timestamp) else pd.DatetimeIndex(t)
        t_ns = idx.as_unit("ns").asi8
        if self.is_constant:
            return np.full(t_ns.shape, float(self.fallback_apr))  # type: ignore[arg-type]
        cov = self._covered(t_ns)
        j = np.clip(np.searchsorted(self.ts_ns, t_ns, side="right") - 1, 0, self.apr.size - 1)
        out = self.apr[j].astype(float)
        if not cov.all():
            self._fallback(t_ns[~cov], warn)
            out[~cov] = float(self.fallback_apr)  # type: ignore[arg-type]
        return out

    def _fallback(self, t_ns: np.ndarray, warn: bool) -> None:
        a = pd.Timestamp(int(t_ns.min()), tz="UTC")
        b = pd.Timestamp(int(t_ns.max()), tz="UTC")
        first = pd.Timestamp(int(self.ts_ns[0]), tz="UTC")
        last = pd.Timestamp(int(self.ts_ns[-1]), tz="UTC")
        if self.fallback_apr is None:
            raise DataCoverageError(f"{self.label} covers {first:%Y-%m-%d}..{last:%Y-%m-%d}, not "
                                    f"{a:%Y-%m-%d}..{b:%Y-%m-%d}: pass a constant for the time outside it "
                                    "(--alt-yield-fallback-apr)")
        if warn:
            from basisctl.warnings import substitute

            substitute("default_input", f"alternative yield: {self.label} covers {first:%Y-%m-%d}.."
                                        f"{last:%Y-%m-%d}; {a:%Y-%m-%d}..{b:%Y-%m-%d} outside it earns the stated "
                                        f"constant {self.fallback_apr:.2%} APR")

    def growth(self, t0: pd.Timestamp, t1: pd.Timestamp, warn: bool = True) -> float:
        """exp(integral of APR over [t0, t1]): the factor capital grows by outside the trade [x]."""
        if t1 <= t0:
            return 1.0
        a, b = pd.Timestamp(t0).value, pd.Timestamp(t1).value
        knots = np.unique(np.concatenate([[a, b], self.ts_ns[(self.ts_ns > a) & (self.ts_ns < b)]]))
        if not self.is_constant:  # the fallback takes over at the stale limit
            stale = int(self.ts_ns[-1] + self.max_stale_days * 86400e9)
            knots = np.unique(np.concatenate([knots, [x for x in (stale + 1,) if a < x < b]]))
        left = knots[:-1]
        r = self.apr_at(pd.DatetimeIndex(left, tz="UTC"), warn=warn)
        return float(np.exp(np.sum(r * np.diff(knots) / NS_PER_YEAR)))


def read_rate_series(path: str | Path, label: str | None = None, fallback_apr: float | None = None) -> AltYield:
    """A ``timestamp, apy`` CSV/Parquet as an :class:`AltYield`; every bad row is a one-line error."""
    p = Path(path)
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except (OSError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataValidationError(str(p), [ValidationIssue(None, None, "a CSV or Parquet rate file", str(e))]
                                  ) from e
    csv = p.suffix != ".parquet"
    for col in ("timestamp", "apy"):
        if col not in df.columns:
            raise DataValidationError(str(p), [ValidationIssue(None, col, "columns timestamp, apy",
                                                               f"columns {', '.join(map(str, df.columns))}")])
    if df.empty:
        raise DataValidationError(str(p), [ValidationIssue(None, None, "at least one rate row", "none")])
    ts = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    apy = pd.to_numeric(df["apy"], errors="coerce")
    issues = []
    for i in np.flatnonzero(ts.isna().to_numpy()):
        issues.append(ValidationIssue(int(i), "timestamp", "an ISO-8601 UTC time", repr(df["timestamp"].iloc[i]),
                                      line=int(i) + 2 if csv else None))
    bad = ~(np.isfinite(apy.to_numpy(float)) & (apy.to_numpy(float) > -1.0) & (apy.to_numpy(float) < 1.0))
    for i in np.flatnonzero(bad):
        issues.append(ValidationIssue(int(i), "apy", "a finite APY fraction in (-1, 1)", repr(df["apy"].iloc[i]),
                                      line=int(i) + 2 if csv else None))
    if not issues:
        d = np.diff(ts.astype("int64").to_numpy())
        for i in np.flatnonzero(d <= 0):
            issues.append(ValidationIssue(int(i) + 1, "timestamp", "strictly increasing times",
                                          f"{ts.iloc[i + 1]} after {ts.iloc[i]}", line=int(i) + 3 if csv else None))
    if issues:
        raise DataValidationError(str(p), issues)
    return AltYield(label or str(p), ts.dt.as_unit("ns").astype("int64").to_numpy(),
                    np.log1p(apy.to_numpy(float)), fallback_apr)


def load_alt_yield(spec: str, fallback_apr: float | None = None) -> AltYield:
    """``provider/name`` in the data dir (e.g. ``aave_v3/USDC_supply``) or a file path, as an :class:`AltYield`."""
    from basisctl.data import locator

    if Path(spec).suffix in (".csv", ".parquet"):
        return read_rate_series(spec, fallback_apr=fallback_apr)
    provider, _, name = spec.partition("/")
    if not name:
        raise ModelDomainError(f"alternative yield series '{spec}': expected provider/name (aave_v3/USDC_supply) "
                               "or a .csv/.parquet path")
    p = locator.find_rates(provider, name)
    return read_rate_series(p, label=f"rates/{provider}/{name}", fallback_apr=fallback_apr)
