"""Walk-forward evaluation of funding forecasters and the metrics of ``basisctl forecast-funding``.

Origins are UTC days d; the model sees ``panel.iloc[:d + 1]`` only (refitted on its own cadence) and forecasts the
mean daily funding of days d+1..d+h; the realised value is that mean from the data. Metrics are computed on the
origins where every evaluated model has a forecast and the realised mean is known (the same origins for all, so
they are paired):

* ``mae``: mean |forecast - realised| in APR (decimal per year = daily x 365); ``mae_rolling_mean`` the baseline's;
* ``dm_p_vs_rolling_mean``: two-sided Diebold-Mariano p (absolute loss, HAC with h-1 lags, HLN correction) of the
  model against the rolling mean (None for the rolling mean itself);
* ``smape``: mean 2|f - y| / (|f| + |y|) - unstable near zero funding: reported, never used for a decision;
* ``sign_accuracy``: share of origins with sign(forecast) = sign(realised);
* ``decision_accuracy``: share of origins where sign(net carry(forecast) - alternative yield - hurdle) equals the
  sign of the same quantity with the realised funding (:class:`DecisionSpec`) - what the regime rule uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from basisctl.errors import DataCoverageError, ModelDomainError
from basisctl.forecast.dm import diebold_mariano
from basisctl.forecast.models import FundingModel
from basisctl.forecast.panel import Past, future_mean

#: first origin: at least this many days of history
MIN_HISTORY_DAYS: int = 30


@dataclass(frozen=True)
class DecisionSpec:
    """The carry decision the forecast feeds (same arithmetic as the regime rule).

    net carry [APR] = (1 - alpha) x 365 x kappa_daily - round-trip cost / (holding_days / 365), round-trip cost
    [fraction of capital] = 2 x cost_bps/1e4 x (1 - alpha) (entry + exit on the spot notional) + 2 x
    transfer_fee_bps/1e4. In the trade iff net carry > alt yield + hurdle. alpha [fraction of capital],
    alt/hurdle [APR, decimal per year]."""

    alpha: float = 0.2
    cost_bps: float = 20.0
    transfer_fee_bps: float = 0.0
    hurdle_apr: float = 0.0
    holding_days: float = 90.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ModelDomainError(f"alpha must be in (0, 1) (got {self.alpha})")
        if self.cost_bps < 0 or self.transfer_fee_bps < 0:
            raise ModelDomainError("cost_bps and transfer_fee_bps must be >= 0")
        if not self.holding_days > 0:
            raise ModelDomainError(f"holding_days must be > 0 (got {self.holding_days})")

    @property
    def round_trip_cost(self) -> float:
        """Entry + exit + transfers out and back [fraction of capital]."""
        return 2.0 * self.cost_bps * 1e-4 * (1.0 - self.alpha) + 2.0 * self.transfer_fee_bps * 1e-4

    def net_carry_apr(self, kappa_daily: np.ndarray | float) -> np.ndarray:
        """(1 - alpha) x 365 x kappa_daily - amortised round-trip cost [APR]."""
        k = np.asarray(kappa_daily, float)
        return (1.0 - self.alpha) * 365.0 * k - self.round_trip_cost * 365.0 / self.holding_days

    def margin_apr(self, kappa_daily: np.ndarray | float, alt_apr: np.ndarray | float) -> np.ndarray:
        """net carry - alt yield - hurdle [APR]: > 0 = hold the trade."""
        return self.net_carry_apr(kappa_daily) - np.asarray(alt_apr, float) - self.hurdle_apr


@dataclass(frozen=True)
class WalkForward:
    """Forecasts per model at every origin (NaN where the model had none) and the realised h-day means."""

    days: pd.DatetimeIndex
    realised: np.ndarray
    forecasts: dict[str, np.ndarray]
    horizon_days: int
    fit_seconds: dict[str, float] = field(default_factory=dict)
    n_fits: dict[str, int] = field(default_factory=dict)
    refit_every_days: dict[str, int] = field(default_factory=dict)

    def common(self, names: Sequence[str]) -> np.ndarray:
        """Origins where the realised mean and every named model's forecast are known."""
        ok = np.isfinite(self.realised)
        for n in names:
            ok &= np.isfinite(self.forecasts[n])
        return ok


def walk_forward(panel: pd.DataFrame, models: Sequence[FundingModel], h: int,
                 min_history_days: int = MIN_HISTORY_DAYS) -> WalkForward:
    """Run every model over every origin d >= min_history_days - 1 (each sees rows <= d only, as a :class:`Past`)."""
    if h < 1:
        raise ModelDomainError(f"horizon must be >= 1 day (got {h})")
    n = len(panel)
    if n < min_history_days + h:
        raise DataCoverageError(f"{n} days of funding: too few for {min_history_days} days of history plus a "
                                f"{h}-day horizon")
    fut = future_mean(panel["funding"].to_numpy(float), h)
    out: dict[str, np.ndarray] = {}
    full = Past.of(panel)
    for m in models:
        f = np.full(n, np.nan)
        last_fit = -(10**9)
        for d in range(min_history_days - 1, n):
            past = full.upto(d + 1)
            if d - last_fit >= m.refit_every_days:
                m.fit(past, h)
                last_fit = d
            f[d] = m.predict(past, h)
        out[m.name] = f
    return WalkForward(pd.DatetimeIndex(panel.index), fut, out, h,
                       {m.name: m.fit_seconds for m in models}, {m.name: m.n_fits for m in models},
                       {m.name: m.refit_every_days for m in models})


@dataclass(frozen=True)
class ForecastEval:
    """Metrics of one model on one stream (keys of ``forecast-funding --json``; APR units for MAE)."""

    model: str
    asset: str
    venue: str
    horizon_days: int
    n_origins: int
    mae: float
    mae_rolling_mean: float
    smape: float
    sign_accuracy: float
    decision_accuracy: float
    dm_p_vs_rolling_mean: float | None
    dm_stat_vs_rolling_mean: float | None
    first_origin: str
    last_origin: str
    fit_seconds: float
    n_fits: int
    refit_every_days: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _smape(f: np.ndarray, y: np.ndarray) -> float:
    den = np.abs(f) + np.abs(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, 2.0 * np.abs(f - y) / den, 0.0)
    return float(r.mean())


def evaluate(wf: WalkForward, asset: str, venue: str, spec: DecisionSpec, alt_apr: np.ndarray
             ) -> list[ForecastEval]:
    """Paired metrics of every model in ``wf`` against ``rolling_mean`` (which must be among them).

    ``alt_apr``: the alternative yield known at each origin [APR], aligned to ``wf.days``."""
    if "rolling_mean" not in wf.forecasts:
        raise ModelDomainError("evaluate: the rolling_mean baseline must be among the models")
    names = list(wf.forecasts)
    ok = wf.common(names)
    n = int(ok.sum())
    if n < max(3, 2 * wf.horizon_days):
        raise DataCoverageError(f"{asset} {venue}: only {n} origins with every forecast and a realised "
                                f"{wf.horizon_days}-day mean")
    y = wf.realised[ok]
    alt = np.asarray(alt_apr, float)[ok]
    base_e = wf.forecasts["rolling_mean"][ok] - y
    real_side = np.sign(spec.margin_apr(y, alt))
    days = wf.days[ok]
    out = []
    for name in names:
        f = wf.forecasts[name][ok]
        e = f - y
        dm = None if name == "rolling_mean" else diebold_mariano(e, base_e, wf.horizon_days)
        out.append(ForecastEval(
            model=name, asset=asset, venue=venue, horizon_days=wf.horizon_days, n_origins=n,
            mae=float(np.mean(np.abs(e)) * 365.0), mae_rolling_mean=float(np.mean(np.abs(base_e)) * 365.0),
            smape=_smape(f, y), sign_accuracy=float(np.mean(np.sign(f) == np.sign(y))),
            decision_accuracy=float(np.mean(np.sign(spec.margin_apr(f, alt)) == real_side)),
            dm_p_vs_rolling_mean=None if dm is None else dm.p,
            dm_stat_vs_rolling_mean=None if dm is None else dm.stat,
            first_origin=f"{days[0]:%Y-%m-%d}", last_origin=f"{days[-1]:%Y-%m-%d}",
            fit_seconds=float(wf.fit_seconds.get(name, 0.0)), n_fits=int(wf.n_fits.get(name, 0)),
            refit_every_days=int(wf.refit_every_days.get(name, 1)),
        ))
    return out
