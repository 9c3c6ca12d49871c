"""Run a backtest: frozen rule + cost model + bars/funding -> :class:`BacktestResult`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basisctl.backtest.costs import CostModel
from basisctl.backtest.data import BacktestData
from basisctl.backtest.kernel import LIQ_MODES, backtest_core_nb
from basisctl.backtest.results import BacktestResult
from basisctl.backtest.rule import FrozenRule
from basisctl.data import locator
from basisctl.errors import DataCoverageError, DataNotFoundError, ModelDomainError


def _data_dir_tiers(asset: str) -> tuple[tuple[float, float], ...]:
    """((lower bound [USD], theta_F = 1/(2 L_max)), ...) of the data dir's Hyperliquid table; () if the asset is
    not listed there. A missing margin-table snapshot is an error (DataNotFoundError), never "no tiers"."""
    try:
        return tuple((t.lower_bound_usd, 1.0 / (2.0 * t.max_leverage)) for t in locator.hyperliquid_tiers(asset))
    except DataNotFoundError:
        raise
    except DataCoverageError:
        return ()


@dataclass(frozen=True)
class BacktestConfig:
    """Execution settings. capital_usd [USD]; q_min_usd [USD spot notional]; buffer_bps [bps of notional];
    delay_bars: fill the policy's trade this many bars after the decision (0 = at the deciding bar's close);
    charge_entry: pay the buy-basis cost on the initial position; reenter_after_liquidation: rebuild the basis
    at alpha_target at the liquidation bar's close (else sell the spot and stop); split_legs: charge half the
    cost on each leg's own notional (fractal-defi) instead of the whole cost on the spot notional;
    margin_tiers: ((lower bound [USD notional], theta_F), ...) applied to the whole position once its notional
    reaches a bound (stricter of tier and rule); None = the Hyperliquid margin table in the data dir of the asset.

    Liquidation (issue 17; kernel docstring): ``liquidation_price`` = "barrier" (default: the venue's accounting,
    closed at the barrier or the gap open, fee and backstop rule of ``liquidation_venue``'s documented procedure,
    :mod:`basisctl.venues.liquidation`) | "high" | "close" (the old accounting: whole margin account forfeited at
    the bar high / close); ``rehedge_delay_bars``: the spot leg is naked from the liquidation until the open this
    many bars later (default 1 = the next bar's open, with the re-entry costs; 0 = the liquidation bar's close).
    ``liq_at_high`` (deprecated alias of the old flag): when set, selects "high" (True) / "close" (False) AND
    ``rehedge_delay_bars`` = 0, i.e. the pre-issue-17 kernel bit for bit (the fractal-parity setting).
    """

    capital_usd: float = 1_000_000.0
    q_min_usd: float = 10_000.0
    buffer_bps: float = 10.0
    delay_bars: int = 0
    charge_entry: bool = True
    reenter_after_liquidation: bool = True
    split_legs: bool = False
    liq_at_high: bool | None = None
    margin_tiers: tuple[tuple[float, float], ...] | None = None
    liquidation_price: str = "barrier"
    rehedge_delay_bars: int = 1
    liquidation_venue: str = "hyperliquid"

    @property
    def liq_mode(self) -> str:
        """The liquidation price mode in force (``liq_at_high`` overrides ``liquidation_price``)."""
        if self.liq_at_high is not None:
            return "high" if self.liq_at_high else "close"
        return self.liquidation_price

    @property
    def rehedge_bars(self) -> int:
        """The re-hedge delay in force (0 under the deprecated ``liq_at_high``)."""
        return 0 if self.liq_at_high is not None else self.rehedge_delay_bars

    def liquidation_params(self) -> tuple[int, float, float]:
        """(kernel mode code, fee [fraction of notional], backstop [fraction of maintenance]) for the kernel; the
        fee and backstop apply only in "barrier" mode (the legacy modes forfeit the whole account)."""
        mode = self.liq_mode
        if mode != "barrier":
            return LIQ_MODES[mode], 0.0, 0.0
        from basisctl.venues.liquidation import liquidation_rule

        r = liquidation_rule(self.liquidation_venue)
        return LIQ_MODES[mode], float(r.fee_rate), float(r.backstop_frac)

    def tiers_for(self, asset: str) -> tuple[np.ndarray, np.ndarray]:
        """(lower bound [USD notional], theta_F) of the tiers above the first; None = the data dir's HL table."""
        tiers = self.margin_tiers if self.margin_tiers is not None else _data_dir_tiers(asset.upper())
        sel = [(lo, th) for lo, th in tiers if lo > 0.0]
        return np.array([x[0] for x in sel], dtype=float), np.array([x[1] for x in sel], dtype=float)

    def __post_init__(self) -> None:
        if not self.capital_usd > 0:
            raise ModelDomainError(f"capital_usd must be > 0 (got {self.capital_usd!r})")
        if self.q_min_usd < 0 or self.buffer_bps < 0 or self.delay_bars < 0:
            raise ModelDomainError("q_min_usd, buffer_bps and delay_bars must be >= 0")
        if self.liquidation_price not in LIQ_MODES:
            raise ModelDomainError(f"liquidation_price must be one of {', '.join(LIQ_MODES)} "
                                   f"(got '{self.liquidation_price}')")
        if self.rehedge_delay_bars < 0:
            raise ModelDomainError(f"rehedge_delay_bars must be >= 0 (got {self.rehedge_delay_bars})")


def kernel_args(data: BacktestData, rule: FrozenRule, costs: CostModel, cfg: BacktestConfig) -> tuple:
    """The positional arguments of :func:`backtest_core_nb` for one run."""
    mode, fee, backstop = cfg.liquidation_params()
    return (
        data.p_open, data.p_high, data.p_close, data.s_open, data.s_close, data.funding.rate,
        _rate_in(data),
        float(cfg.capital_usd), float(rule.alpha_target), float(rule.alpha_lower), float(rule.alpha_upper),
        float(rule.kappa_14d), float(rule.k_reb_fix), float(cfg.q_min_usd), float(cfg.buffer_bps),
        costs.sell.notional_usd, costs.sell.cost_bps, float(costs.sell_budget_bps),
        costs.buy.notional_usd, costs.buy.cost_bps, float(costs.buy_budget_bps),
        float(rule.theta_f), int(cfg.delay_bars), bool(cfg.charge_entry), bool(cfg.reenter_after_liquidation),
        bool(cfg.split_legs), int(mode), *cfg.tiers_for(data.asset),
        float(rule.reset_lower_target), float(rule.reset_upper_target), _reset_every_bars(rule, data),
        fee, backstop, int(cfg.rehedge_bars),
    )


def _reset_every_bars(rule: FrozenRule, data: BacktestData) -> int:
    """The periodic reset interval in bars (0 = none); at least one bar."""
    if rule.reset_every_hours <= 0:
        return 0
    return max(1, round(rule.reset_every_hours / data.bar_hours))


def run_kernel(data: BacktestData, rule: FrozenRule, costs: CostModel, cfg: BacktestConfig,
               kernel=backtest_core_nb) -> tuple[np.ndarray, ...]:
    """Call the compiled loop (or ``kernel`` = a twin with the same signature) on prepared arrays: the 12 per-bar
    arrays and the components (n x N_COMP)."""
    return kernel(*kernel_args(data, rule, costs, cfg))


def run_backtest(data: BacktestData, rule: FrozenRule, costs: CostModel | None = None,
                 config: BacktestConfig | None = None) -> BacktestResult:
    """Replay ``data`` under the frozen ``rule``; costs default to the paper's Table VIII schedule."""
    cm = costs or CostModel.paper(data.asset)
    cfg = config or BacktestConfig()
    out = run_kernel(data, rule, cm, cfg)
    return BacktestResult(data=data, rule=rule, costs=cm, config=cfg, arrays=out[:12], components=out[12])


def _rate_in(data: BacktestData) -> np.ndarray:
    """Intra-bar funding per bar [decimal] (zeros when every settlement falls on a bar open)."""
    r = data.funding.rate_in
    return np.zeros_like(data.funding.rate) if r is None else r
