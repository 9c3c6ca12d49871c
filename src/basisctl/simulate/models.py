"""Path models for the band Monte Carlo: GBM (eq. 31), full state with funding (eq. 30), historical bootstrap.

State convention (D = 1, p_0 = 1, zeta = 1; zeta cancels, Remark 1): x_t = ln(p_t / p_0) [log price ratio],
F_t = cumulative funding received by the short perp [fraction of capital D],
y_t = x_t - ln(1 + F_t). Then alpha_t = 1 - (1 - alpha_0) exp(y_t) exactly:

* without funding (eq. 31) y_t = x_t, alpha_t = 1 - (1 - alpha_0) p_t / p_0;
* with funding (eq. 30): margin M_t = alpha_0 - (1 - alpha_0)(p_t - 1) + F_t, equity V_t = 1 + F_t, so
  alpha_t = M_t / V_t = 1 - (1 - alpha_0) p_t / (1 + F_t).

Funding accrues per step on the perp notional at the start of the step: F_{k+1} = F_k + (1 - alpha_0) p_k f_k,
f_k = funding rate over the step [decimal, + = longs pay, so the short earns].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import ModelDomainError
from basisctl.units import HOURS_PER_YEAR

KIND_GAUSS: int = 0
KIND_BOOTSTRAP: int = 1


@dataclass(frozen=True)
class StepParams:
    """What a kernel needs per step: all scalars/arrays, no Python objects (see ``PathModel.step_params``)."""

    kind: int
    drift: float  # mean log-price increment per step [log]
    vol: float  # std of the log-price increment per step [log]
    bridge_var: float  # variance per step used by the Brownian-bridge correction [log^2]
    returns: NDArray[np.float64]  # bootstrap pool of per-step log returns (stressed, demeaned as asked)
    funding: NDArray[np.float64]  # per-step funding paired with ``returns`` (empty: use ``funding_const``)
    funding_const: float  # constant funding per step [decimal of perp notional]
    model: str

    @property
    def has_funding(self) -> bool:
        return self.funding.size > 0 or self.funding_const != 0.0


class PathModel:
    """Common interface: ``step_params(step_hours)`` turns a model into kernel inputs."""

    name: str = "model"

    def step_params(self, step_hours: float) -> StepParams:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict[str, object]:  # pragma: no cover - interface
        raise NotImplementedError


def bootstrap_pool(returns: NDArray[np.float64], stress: float, demean: bool) -> NDArray[np.float64]:
    """The resampled pool [log]: with ``demean``, stress * (r - mean(r)) shifted to mean -v/2 (v its variance,
    ddof 0), so that resampled *prices* have zero drift, like the mu = 0 GBM of the closed forms; without,
    stress * r as observed (the sample's trend is kept and scaled)."""
    r = np.asarray(returns, dtype=np.float64)
    if not demean:
        return np.ascontiguousarray(stress * r)
    x = stress * (r - r.mean())
    return np.ascontiguousarray(x - 0.5 * float(np.mean(x * x)))


def _check_sigma(sigma: float) -> None:
    if not (np.isfinite(sigma) and sigma > 0):
        raise ModelDomainError(f"sigma must be finite and > 0 [annualised] (got {sigma!r})")


@dataclass(frozen=True)
class GBM(PathModel):
    """Spot GBM dp = mu p dt + sigma p dW (eq. 3), no funding: alpha follows eq. 31.

    sigma [annualised, 8760 h/yr] is used as given (apply any stress before); mu [per year].
    """

    sigma: float
    mu: float = 0.0
    name: str = field(default="gbm", init=False)

    def __post_init__(self) -> None:
        _check_sigma(self.sigma)

    def step_params(self, step_hours: float) -> StepParams:
        dt = step_hours / HOURS_PER_YEAR
        return StepParams(KIND_GAUSS, (self.mu - 0.5 * self.sigma**2) * dt, self.sigma * np.sqrt(dt),
                          self.sigma**2 * dt, np.zeros(0), np.zeros(0), 0.0, self.name)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "sigma": self.sigma, "mu": self.mu}


@dataclass(frozen=True)
class FullState(PathModel):
    """GBM spot plus funding accrued into the margin account (eq. 30) at a constant rate.

    funding_per_hour: funding rate [decimal of perp notional per hour, + = short earns], e.g. kappa_14d / 336.
    """

    sigma: float
    funding_per_hour: float
    mu: float = 0.0
    name: str = field(default="full_state", init=False)

    def __post_init__(self) -> None:
        _check_sigma(self.sigma)
        if not np.isfinite(self.funding_per_hour) or abs(self.funding_per_hour) >= 0.04:
            raise ModelDomainError(
                f"funding_per_hour must be finite and below 4%/h in size (got {self.funding_per_hour!r})")

    def step_params(self, step_hours: float) -> StepParams:
        g = GBM(self.sigma, self.mu).step_params(step_hours)
        return StepParams(KIND_GAUSS, g.drift, g.vol, g.bridge_var, g.returns, g.funding,
                          self.funding_per_hour * step_hours, self.name)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "sigma": self.sigma, "mu": self.mu, "funding_per_hour": self.funding_per_hour}


@dataclass(frozen=True, eq=False)
class Bootstrap(PathModel):
    """i.i.d. resampling (with replacement) of historical log returns of one bar each (eq. 40's design).

    returns: log returns of consecutive ``interval_hours`` bars [log]; stress multiplies the (demeaned when
    ``demean``) returns; funding (optional): per-bar funding paired index by index with ``returns`` [decimal
    of notional per bar, + = short earns], resampled jointly so contemporaneous return/funding dependence
    is kept; or funding_per_hour, a constant rate [decimal per hour] used when ``funding`` is None.
    The simulation step must equal ``interval_hours``.
    """

    returns: NDArray[np.float64]
    interval_hours: float = 1.0
    stress: float = 1.0
    demean: bool = True
    funding: NDArray[np.float64] | None = None
    funding_per_hour: float = 0.0
    name: str = field(default="bootstrap", init=False)

    def __post_init__(self) -> None:
        r = np.ascontiguousarray(self.returns, dtype=np.float64)
        if r.ndim != 1 or r.size < 2:
            raise ModelDomainError("bootstrap needs a 1-D array of at least 2 returns")
        bad = np.flatnonzero(~np.isfinite(r))
        if bad.size:
            raise ModelDomainError(f"bootstrap returns: row {bad[0]} is not finite (got {r[bad[0]]!r})")
        if not (np.isfinite(self.stress) and self.stress > 0):
            raise ModelDomainError(f"stress must be > 0 (got {self.stress!r})")
        if not np.isfinite(self.funding_per_hour) or abs(self.funding_per_hour) >= 0.04:
            raise ModelDomainError(f"funding_per_hour must be finite and below 4%/h (got {self.funding_per_hour!r})")
        object.__setattr__(self, "returns", r)
        if self.funding is not None:
            f = np.ascontiguousarray(self.funding, dtype=np.float64)
            if f.shape != r.shape:
                raise ModelDomainError(f"bootstrap funding needs one value per return ({f.size} != {r.size})")
            if not np.all(np.isfinite(f)):
                raise ModelDomainError("bootstrap funding values must be finite")
            object.__setattr__(self, "funding", f)

    @property
    def pool(self) -> NDArray[np.float64]:
        """The resampled pool [log], see :func:`bootstrap_pool`."""
        return bootstrap_pool(self.returns, self.stress, self.demean)

    def step_params(self, step_hours: float) -> StepParams:
        if abs(step_hours - self.interval_hours) > 1e-9:
            raise ModelDomainError(
                f"bootstrap step must equal the bar interval ({self.interval_hours:g} h), got {step_hours:g} h")
        pool = self.pool
        f = self.funding if self.funding is not None else np.zeros(0)
        const = self.funding_per_hour * self.interval_hours if self.funding is None else 0.0
        return StepParams(KIND_BOOTSTRAP, 0.0, 0.0, float(np.var(pool, ddof=1)), pool, f, const, self.name)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "n_returns": int(self.returns.size), "interval_hours": self.interval_hours,
                "stress": self.stress, "demean": self.demean, "paired_funding": self.funding is not None,
                "funding_per_hour": self.funding_per_hour,
                "sigma_pool_annual": float(np.std(self.pool, ddof=1) * np.sqrt(HOURS_PER_YEAR / self.interval_hours))}


def log_barriers(alpha0: float, alpha_upper: ArrayLike, alpha_lower: ArrayLike | None
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Map alpha barriers to the log state y: upper alpha_U -> y <= ln((1-alpha_U)/(1-alpha_0)) (a price
    fall), lower alpha_L -> y >= ln((1-alpha_L)/(1-alpha_0)) (a rise). NaN means "no barrier" (-inf / +inf)."""
    if not 0.0 < alpha0 < 1.0:
        raise ModelDomainError(f"alpha_target must lie in (0, 1) (got {alpha0!r})")
    au = np.atleast_1d(np.asarray(alpha_upper, dtype=float))
    al = np.full_like(au, np.nan) if alpha_lower is None else np.atleast_1d(np.asarray(alpha_lower, dtype=float))
    if au.ndim != 1 or au.shape != al.shape:
        raise ModelDomainError("alpha_upper and alpha_lower need one value per column (same length)")
    for name, a in (("alpha_upper", au), ("alpha_lower", al)):
        bad = ~np.isnan(a) & ~((a >= 0.0) & (a < 1.0))
        if bad.any():
            raise ModelDomainError(f"{name}[{int(np.flatnonzero(bad)[0])}] must lie in [0, 1) or be NaN "
                                   f"(got {a[bad][0]!r})")
    with np.errstate(divide="ignore"):
        bu = np.where(np.isnan(au), -np.inf, np.log((1.0 - np.nan_to_num(au)) / (1.0 - alpha0)))
        bl = np.where(np.isnan(al), np.inf, np.log((1.0 - np.nan_to_num(al)) / (1.0 - alpha0)))
    return np.ascontiguousarray(bu), np.ascontiguousarray(bl)
