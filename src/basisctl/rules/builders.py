"""Rule builders: every rule is a parameter set for the one band policy (``model.policy.decide_nb``).

Each builder takes the frozen paper rule of a window (calibrated on data strictly before the window, see
:func:`basisctl.backtest.rule.calibrate_rule`) and derives its own parameters from it and from nothing else,
so every rule sees exactly the calibration data of ``paper``:

* ``paper``: the frozen rule (alpha_target = alpha_dagger, alpha_L eq. 38, alpha_U eq. 45, eq. 47 gate);
* ``optimal``: the impulse-control band of :mod:`basisctl.model.optimal_band` with sigma = the calibrated
  (unstressed) realised vol, kappa = kappa_14d x 365/14 per year, floor = alpha_L, the window's cost curves
  and q_min; entry at ``reset_upper``; eq. 47 gate off (the solver already priced the trade);
  ``optimal_dagger`` is the same solver with the floor at alpha_dagger (Pi_liq over 1 day <= 1e-3) instead,
  ``optimal_boot`` with the floor at max(alpha_L, alpha_L^boot) (eq. 40 on the 180 days of 1 h returns before
  the window); ``optimal_fhs`` with the floor from filtered historical simulation (the risk layer's recommended
  model, data-dir bars before the window);
* ``paper_fhs``: the paper's band (alpha_target at eps over the review horizon, alpha_L at eps_liq over h_liq,
  alpha_U by eq. 45, eq. 47 gate) with both alphas from filtered historical simulation instead of GBM
  (unstressed, as the coverage study tests it), fitted on the same bars before the window;
* ``hold``: enter at alpha_dagger and never rebalance except below alpha_L (reset to alpha_dagger);
* ``fixed_leverage``: a fractal-style leverage band: hedge leverage L = (1 - alpha)/alpha kept in
  [L_dagger / 2, 1.5 L_dagger] around L_dagger = (1 - alpha_dagger)/alpha_dagger, full reset to alpha_dagger,
  never below alpha_L;
* ``periodic``: reset to alpha_dagger every 168 h (weekly) from wherever alpha is, plus the alpha_L floor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from basisctl.backtest.costs import CostModel
from basisctl.backtest.engine import BacktestConfig
from basisctl.backtest.rule import FrozenRule
from basisctl.errors import ModelDomainError
from basisctl.model.optimal_band import OptimalBand, solve_optimal_band
from basisctl.model.policy import BandPolicy
from basisctl.risk.base import Bars
from basisctl.simulate.bootstrap import alpha_lower_bootstrap

RULES: tuple[str, ...] = ("paper", "optimal", "hold", "fixed_leverage", "periodic")
#: selectable with ``--rules`` but not in the default set
EXTRA_RULES: tuple[str, ...] = ("optimal_dagger", "optimal_boot", "optimal_fhs")
#: rules of the path study (``compare-rules --study``), selectable with ``--rules`` too
STUDY_RULES: tuple[str, ...] = ("paper_fhs",)
#: what ``compare-rules`` and the report run by default: the issue's five plus the bootstrap-floor variant
DEFAULT_RULES: tuple[str, ...] = (*RULES, "optimal_boot")
NEVER_UPPER: float = 1.0  # alpha never exceeds 1 with a long spot leg, so the upper trigger never fires
PERIODIC_HOURS: float = 168.0
OPTIMAL_FLOOR: str = "alpha_lower"
LEVERAGE_BAND: tuple[float, float] = (0.5, 1.5)  # fixed_leverage trigger multiples of L_dagger


def kappa_annual(rule: FrozenRule, upper_horizon_hours: float = 336.0) -> float:
    """kappa_14d [decimal over the horizon] as a rate per year."""
    return rule.kappa_14d * 8760.0 / upper_horizon_hours


def solve_for_rule(rule: FrozenRule, costs: CostModel, cfg: BacktestConfig, fixed_usd: float = 0.0,
                   floor: str | float = OPTIMAL_FLOOR) -> OptimalBand:
    """The optimal band for a frozen rule's calibration (sigma, kappa, floor) and a window's costs.
    floor: ``alpha_target`` (alpha_dagger: Pi_liq over 1 day <= 1e-3), ``alpha_lower`` (alpha_L: 3 h, 1e-4) or
    a number [fraction]."""
    fl = floor if isinstance(floor, float) else rule.alpha_target if floor == "alpha_target" else rule.alpha_lower
    ob = solve_optimal_band(rule.sigma_annual, kappa_annual(rule), fl, buy_cost=costs.buy,
                            sell_cost=costs.sell, fixed_usd=fixed_usd, capital_usd=cfg.capital_usd,
                            q_min_usd=cfg.q_min_usd)
    if not (ob.converged and ob.contiguous):
        raise ModelDomainError(f"optimal band for {rule.asset} (calibrated to {rule.calib_to:%Y-%m-%d}) did not "
                               f"converge to one band (converged={ob.converged}, contiguous={ob.contiguous})")
    return ob


def bootstrap_floor(paper: FrozenRule, returns_1h: NDArray[np.float64], seed: int = 0) -> float:
    """max(alpha_L, alpha_L^boot): eq. 40 on the calibration window's demeaned 1 h returns (x the rule's stress,
    h_liq 3 h, eps_liq 1e-4), never below the GBM alpha_L."""
    b = alpha_lower_bootstrap(returns_1h, paper.theta_f, 3.0, 1e-4, paper.stress, seed=seed)
    return float(max(paper.alpha_lower, b.alpha_lower_boot))


def fhs_floor(paper: FrozenRule, lookback_days: float = 180.0) -> float:
    """max(alpha_L, alpha_L under filtered historical simulation): the risk layer's recommended model
    (docs/risk.md), fitted on the data dir's bars of the ``lookback_days`` before the window, h_liq 3 h,
    eps_liq 1e-4, unstressed as the coverage study tests it."""
    from basisctl.risk.rule import model_band

    b = model_band("fhs", paper.asset, paper.theta_f, paper.calib_to, lookback_days, 1e-3, 24.0, 1e-4, 3.0)
    return float(max(paper.alpha_lower, b["alpha_lower"]))


def model_alphas(model: str, bars: Bars, lo: int, hi: int, theta_f: float, epsilon: float = 1e-3,
                 horizon_hours: float = 24.0, eps_liq: float = 1e-4, h_liq_hours: float = 3.0,
                 seed: int = 0) -> tuple[float, float]:
    """(alpha_target, alpha_lower) [fractions] under risk model ``model`` fitted on bars[lo:hi] (unstressed):
    alpha at ``epsilon`` over ``horizon_hours`` and at ``eps_liq`` over ``h_liq_hours``."""
    import math

    from basisctl.risk.base import alpha_at
    from basisctl.risk.fit import fit_model

    paths = max(20_000, math.ceil(20.0 / min(epsilon, eps_liq)))
    out = []
    for eps, h in ((epsilon, horizon_hours), (eps_liq, h_liq_hours)):
        f = fit_model(model, bars, lo, hi, h, seed=seed, fhs_paths=paths)
        out.append(float(np.asarray(alpha_at(f, eps, theta_f, h)).reshape(-1)[0]))
    return out[0], out[1]


def with_model_alphas(name: str, paper: FrozenRule, costs: CostModel, cfg: BacktestConfig, model_at: float,
                      model_al: float) -> FrozenRule:
    """``paper_fhs`` (the paper's band on the model's alphas) or ``optimal`` with the floor
    max(alpha_L, the model's alpha_L), from alphas computed by the caller (:func:`model_alphas`)."""
    from basisctl.model.bands import alpha_upper

    if name == "paper_fhs":
        al = min(model_al, model_at)
        return replace(paper, alpha_target=model_at, alpha_lower=al,
                       alpha_upper=float(alpha_upper(model_at, paper.k_reb_fix, paper.kappa_14d)), rule=name)
    if name == "optimal":
        ob = solve_for_rule(paper, costs, cfg, floor=float(max(paper.alpha_lower, model_al)))
        return replace(paper, alpha_target=ob.reset_upper, alpha_lower=ob.alpha_lower, alpha_upper=ob.alpha_upper,
                       reset_lower=ob.reset_lower, reset_upper=ob.reset_upper, k_reb_fix=0.0, rule=name)
    raise ModelDomainError(f"rule '{name}' takes no model alphas (only paper_fhs and optimal)")


def build_rule(name: str, paper: FrozenRule, costs: CostModel, cfg: BacktestConfig,
               returns_1h: NDArray[np.float64] | None = None, optimal_model: str = "gbm") -> FrozenRule:
    """The rule ``name`` derived from the window's frozen paper rule (``optimal_boot`` also needs the calibration
    window's 1 h log returns, ``returns_1h``, all before the window). ``optimal_model``: the risk model of the
    ``optimal`` rule's floor (``gbm`` = alpha_L of eq. 38; ``fhs`` = max(alpha_L, FHS alpha_L) on the data dir's
    bars before the window, i.e. ``optimal_fhs``)."""
    at, al = paper.alpha_target, paper.alpha_lower
    if name == "optimal" and optimal_model != "gbm":
        if optimal_model != "fhs":
            raise ModelDomainError(f"the optimal rule's floor model must be gbm or fhs (got '{optimal_model}')")
        name_out = "optimal"
        r = build_rule("optimal_fhs", paper, costs, cfg, returns_1h)
        return replace(r, rule=name_out)
    if name == "paper_fhs":
        from basisctl.risk.fit import load_bars, window

        bars = load_bars(paper.asset)
        lo, hi = window(bars, paper.calib_to, 180.0)
        mat, mal = model_alphas("fhs", bars, lo, hi, paper.theta_f)
        return with_model_alphas("paper_fhs", paper, costs, cfg, mat, mal)
    if name in ("optimal_boot", "optimal_fhs"):
        if name == "optimal_fhs":
            fl = fhs_floor(paper)
        elif returns_1h is None:
            raise ModelDomainError("rule optimal_boot needs the calibration window's 1 h returns")
        else:
            fl = bootstrap_floor(paper, returns_1h)
        ob = solve_for_rule(paper, costs, cfg, floor=fl)
        return replace(paper, alpha_target=ob.reset_upper, alpha_lower=ob.alpha_lower, alpha_upper=ob.alpha_upper,
                       reset_lower=ob.reset_lower, reset_upper=ob.reset_upper, k_reb_fix=0.0, rule=name)
    if name == "paper":
        return replace(paper, rule="paper")
    if name in ("optimal", "optimal_dagger"):
        ob = solve_for_rule(paper, costs, cfg, floor="alpha_target" if name == "optimal_dagger" else OPTIMAL_FLOOR)
        return replace(paper, alpha_target=ob.reset_upper, alpha_lower=ob.alpha_lower, alpha_upper=ob.alpha_upper,
                       reset_lower=ob.reset_lower, reset_upper=ob.reset_upper, k_reb_fix=0.0, rule=name)
    if name == "hold":
        return replace(paper, alpha_upper=NEVER_UPPER, k_reb_fix=0.0, rule="hold")
    if name == "fixed_leverage":
        lev = (1.0 - at) / at
        lo_mult, hi_mult = LEVERAGE_BAND
        a_lo = max(al, 1.0 / (1.0 + hi_mult * lev))
        a_hi = 1.0 / (1.0 + lo_mult * lev)
        return replace(paper, alpha_lower=a_lo, alpha_upper=a_hi, k_reb_fix=0.0, rule="fixed_leverage")
    if name == "periodic":
        return replace(paper, alpha_upper=NEVER_UPPER, k_reb_fix=0.0, reset_every_hours=PERIODIC_HOURS,
                       rule="periodic")
    raise ModelDomainError(f"unknown rule '{name}': expected one of {', '.join(RULES + EXTRA_RULES + STUDY_RULES)}")


def optimal_band_policy(sigma_annual: float, kappa_horizon: float, horizon_days: float, alpha_floor: float,
                        sell_basis_bps: float, buy_basis_bps: float, capital_usd: float, q_min_usd: float,
                        buffer_bps: float, budget_bps: float) -> tuple[BandPolicy, dict[str, float]]:
    """The controller's ``rule = "optimal"``: the solved band as a :class:`BandPolicy` (eq. 47 gate off,
    per-side resets, entry at reset_upper). sigma unstressed [annualised]; kappa_horizon: carry over
    ``horizon_days`` [decimal]; costs [bps of notional]; budget_bps: per-side Q^max budget [bps]."""
    ob = solve_optimal_band(sigma_annual, kappa_horizon * 365.0 / horizon_days, alpha_floor,
                            buy_cost=buy_basis_bps, sell_cost=sell_basis_bps, capital_usd=capital_usd,
                            q_min_usd=q_min_usd)
    if not (ob.converged and ob.contiguous):
        raise ModelDomainError(f"optimal band did not converge to one band (converged={ob.converged}, "
                               f"contiguous={ob.contiguous})")
    pol = BandPolicy(ob.reset_upper, ob.alpha_lower, ob.alpha_upper, kappa_horizon, 0.0, q_min_usd=q_min_usd,
                     buffer_bps=buffer_bps, sell_budget_bps=budget_bps, buy_budget_bps=budget_bps,
                     reset_lower=ob.reset_lower, reset_upper=ob.reset_upper)
    info = {f"optimal_{k}": float(v) for k, v in ob.to_dict().items()
            if k in ("alpha_lower", "reset_lower", "alpha_upper", "reset_upper", "net_carry_apy")}
    return pol, info
