"""Funding forecasters behind one small interface.

A model is fitted on the panel rows up to a forecast origin (:mod:`basisctl.forecast.panel`: row d = what is known
at the end of UTC day d) and forecasts the mean daily funding over the next ``h`` days [decimal per day]. The
walk-forward (:mod:`basisctl.forecast.walkforward`) only ever hands a model the rows <= origin (:class:`Past`), so no
model can see the future; models that learn from targets build them from that truncated frame (a target at day d
needs days d+1..d+h, so the last h rows of the past have none).

* ``rolling_mean`` - the paper's kappa-tilde: the mean daily funding of the last ``lookback_days`` (180, the
  static calibration's lookback); the baseline every other model is compared with;
* ``ewma`` - exponentially weighted mean of daily funding (half-life 7 days);
* ``har`` - HAR-style OLS of the h-day-ahead mean on the last day, the 7-day and the 30-day means, refitted at
  every origin on all past origins (expanding window);
* ``gbm`` - scikit-learn HistGradientBoostingRegressor on lagged funding (1-day, 7-day, 30-day means, 7-day
  std), the spot-perp basis and realised volatility; refitted every 7 days (extra ``basisctl[ml]``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

import numpy as np

from basisctl.errors import BasisctlError, ModelDomainError
from basisctl.forecast.panel import Past, future_mean

#: model names accepted by ``forecast-funding --model`` (``all`` = every one)
MODEL_NAMES: tuple[str, ...] = ("rolling_mean", "ewma", "har", "gbm")
#: a model that learns from past targets needs at least this many complete training rows
MIN_TRAIN_ROWS: int = 60


class FundingModel(ABC):
    """Fit on past daily funding, forecast the mean daily funding over the next h days [decimal per day]."""

    name: str = ""
    #: refit cadence in forecast origins (days); 1 = at every origin
    refit_every_days: int = 1

    def __init__(self) -> None:
        self.fit_seconds = 0.0  # wall time spent in fit() [s]
        self.n_fits = 0

    def fit(self, past: Past, h: int) -> None:
        """Learn from ``past`` (panel rows up to the origin). Stateless models need nothing."""
        t0 = time.perf_counter()
        self._fit(past, h)
        self.fit_seconds += time.perf_counter() - t0
        self.n_fits += 1

    def _fit(self, past: Past, h: int) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    def predict(self, past: Past, h: int) -> float:
        """Mean daily funding over days origin+1..origin+h [decimal per day]; NaN when the past cannot say."""


class RollingMean(FundingModel):
    """kappa-tilde: mean daily funding of the last ``lookback_days`` (NaN below 80 % coverage)."""

    name = "rolling_mean"

    def __init__(self, lookback_days: int = 180) -> None:
        super().__init__()
        if lookback_days < 1:
            raise ModelDomainError(f"lookback_days must be >= 1 (got {lookback_days})")
        self.lookback_days = lookback_days

    def predict(self, past: Past, h: int) -> float:
        x = past["funding"][-self.lookback_days:]
        ok = np.isfinite(x)
        if x.size < self.lookback_days or ok.sum() < 0.8 * self.lookback_days:
            return float("nan")
        return float(x[ok].mean())


class Ewma(FundingModel):
    """Exponentially weighted mean of daily funding, half-life ``halflife_days``; unknown days are skipped."""

    name = "ewma"

    def __init__(self, halflife_days: float = 7.0) -> None:
        super().__init__()
        if not halflife_days > 0:
            raise ModelDomainError(f"halflife_days must be > 0 (got {halflife_days})")
        self.halflife_days = halflife_days

    def predict(self, past: Past, h: int) -> float:
        n = int(np.ceil(10 * self.halflife_days))
        x = past["funding"][-n:]
        age = np.arange(x.size)[::-1].astype(float)
        w = 0.5 ** (age / self.halflife_days)
        ok = np.isfinite(x)
        if ok.sum() < min(n, 7):
            return float("nan")
        return float(np.sum(w[ok] * x[ok]) / np.sum(w[ok]))


def _targets(past: Past, h: int) -> np.ndarray:
    return future_mean(past["funding"], h)


class Har(FundingModel):
    """OLS: mean of the next h days ~ 1 + funding_d + m7_d + m30_d, expanding window, refitted every origin."""

    name = "har"
    features: tuple[str, ...] = ("funding", "m7", "m30")

    def __init__(self) -> None:
        super().__init__()
        self.beta: np.ndarray | None = None

    def _fit(self, past: Past, h: int) -> None:
        X = past.matrix(self.features)
        y = _targets(past, h)
        ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
        if ok.sum() < MIN_TRAIN_ROWS:
            self.beta = None
            return
        A = np.column_stack([np.ones(ok.sum()), X[ok]])
        self.beta = np.linalg.lstsq(A, y[ok], rcond=None)[0]

    def predict(self, past: Past, h: int) -> float:
        if self.beta is None:
            return float("nan")
        x = np.array([past[c][-1] for c in self.features])
        if not np.isfinite(x).all():
            return float("nan")
        return float(self.beta[0] + x @ self.beta[1:])


class Gbm(FundingModel):
    """HistGradientBoostingRegressor on lagged funding, basis and volatility; refitted every 7 origins.

    Missing features (no spot series -> no basis) are left NaN: the trees route them natively, nothing is
    filled. Fixed hyper-parameters (never tuned on the evaluation sample): 100 iterations, learning rate 0.1,
    depth 3, 20 samples per leaf, no early stopping, random_state 0."""

    name = "gbm"
    refit_every_days = 7
    features: tuple[str, ...] = ("funding", "m7", "m30", "sd7", "basis_bps", "vol7")

    def __init__(self) -> None:
        super().__init__()
        try:
            from sklearn.ensemble import HistGradientBoostingRegressor
        except ImportError as e:
            raise BasisctlError("the gbm model needs scikit-learn: pip install 'basisctl[ml]'") from e
        self._cls = HistGradientBoostingRegressor
        self.model: object | None = None
        self.used: tuple[int, ...] = ()

    def _fit(self, past: Past, h: int) -> None:
        X = past.matrix(self.features)
        y = _targets(past, h)
        ok = np.isfinite(y) & np.isfinite(X[:, 0])
        if ok.sum() < MIN_TRAIN_ROWS:
            self.model = None
            return
        m = self._cls(max_iter=100, learning_rate=0.1, max_depth=3, min_samples_leaf=20, early_stopping=False,
                      random_state=0)
        # a feature never observed in the training rows (no spot series at all) is left out, not filled
        self.used = tuple(j for j in range(X.shape[1]) if np.isfinite(X[ok, j]).any())
        # one OpenMP thread: a few hundred rows gain nothing from more, and spinning OpenMP workers on a busy
        # machine made each fit orders of magnitude slower (threadpoolctl ships with scikit-learn)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            m.fit(X[ok][:, list(self.used)], y[ok])
        self.model = m

    def predict(self, past: Past, h: int) -> float:
        if self.model is None:
            return float("nan")
        x = np.array([[past[c][-1] for c in self.features]])
        if not np.isfinite(x[0, 0]):
            return float("nan")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return float(self.model.predict(x[:, list(self.used)])[0])  # type: ignore[attr-defined]


def make_model(name: str) -> FundingModel:
    """A fresh model by name (see :data:`MODEL_NAMES`)."""
    makers: dict[str, type[FundingModel]] = {"rolling_mean": RollingMean, "ewma": Ewma, "har": Har, "gbm": Gbm}
    try:
        return makers[name]()
    except KeyError:
        raise ModelDomainError(f"unknown forecast model '{name}': expected one of {', '.join(MODEL_NAMES)}"
                               ) from None
