"""Backtest results: per-bar frame, trades, funding cash flows and the metrics users expect.

All metrics are fractions (0.0973 = 9.73 %), never percent, except where the name says ``_bps``.

* ``acc_return`` = NAV_end / D - 1; ``apy`` = acc_return * 365 / days (simple annualisation, which is how the
  paper's Table X relates its accumulated return and APY); ``funding_apy`` = funding cash / D * 365 / days
  (only settlements actually present in the data are paid; missing ones are counted in
  ``missing_funding_settlements``);
* ``max_drawdown`` = min_t (NAV_t / max_{s<=t} NAV_s - 1) <= 0, NAV at bar closes with D prepended;
* ``avg_leverage`` = time average over bars of the hedge leverage (1 - alpha_t) / alpha_t (bars with a hedge);
* ``rebalances`` = policy trades (raise + lower + emergency; entry and liquidation re-entries excluded);
  ``turnover_pct`` = sum of their spot notional / D (a fraction despite the name, kept for the CLI contract);
  ``avg_rebalance_pct`` = turnover_pct / rebalances;
* ``apy_simple`` (= ``apy``, the paper's convention) and ``cagr`` = (NAV_end / D)^(365 / days) - 1 (compounded);
  ``short_window`` is True when the window is shorter than 365 days (both annualisations extrapolate);
* ``sharpe`` = mean / std (ddof=1) of daily NAV returns (UTC days, last bar close per day) * sqrt(365); when the
  spot leg is the perp series (``basis_proxy``) the NAV path carries no basis noise, so ``sharpe_caveat`` says
  "spot = perp proxy" and the summary prints the ratio only with that caveat;
* liquidation components [fraction of D] (kernel ``comp``, they sum with funding and costs to ``acc_return``):
  ``ret_perp`` (perp mark-to-market, loss capped at the margin account), ``ret_spot_hedged``, ``ret_unhedged``
  (the spot leg's naked ride from a liquidation to its re-hedge), ``ret_liq_fees`` (<= 0),
  ``ret_margin_forfeited`` (<= 0 under the venue accounting), ``ret_rehedge_cost`` (<= 0), ``ret_trade_costs``;
  ``margin_returned_usd`` (not P&L). ``ret_liquidation`` = ``ret_liq_fees`` + ``ret_margin_forfeited``;
* decomposition [fraction of D]: ``ret_funding`` + ``ret_costs`` (<= 0) + ``ret_mtm`` (spot-perp mark-to-market
  residual, including ``ret_liquidation`` = margin forfeited at liquidations) = ``acc_return``;
  ``ret_basis`` = the spot-perp basis P&L of the hedged book (:meth:`BacktestResult.basis_pnl`), part of
  ``ret_mtm``; the rest of ``ret_mtm`` is the liquidations' loss (forfeited margin plus the intrabar wick). It is
  zero by construction when ``basis_proxy`` (``spot_source`` = "proxy: spot = perp"): only a real spot series
  (``--spot-file``, the Binance spot 1h bars of 2022-23) measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from basisctl.backtest.kernel import (
    ACT_LIQUIDATED,
    ACT_REENTRY,
    ACT_STOP,
    C_FORFEIT,
    C_FUNDING,
    C_LIQ_FEE,
    C_LIQ_KIND,
    C_PERP,
    C_REHEDGE_COST,
    C_RETURNED,
    C_SPOT,
    C_TRADE_COST,
    C_UNHEDGED,
    COMPONENT_NAMES,
    PNL_COLUMNS,
)
from basisctl.model.policy import Reason

if TYPE_CHECKING:
    from basisctl.backtest.costs import CostModel
    from basisctl.backtest.data import BacktestData
    from basisctl.backtest.engine import BacktestConfig
    from basisctl.backtest.rule import FrozenRule

ACTION_NAMES = {0: "none", 1: "raise_collateral", 2: "lower_collateral", 3: "emergency", 4: "entry",
                ACT_REENTRY: "liquidation_reentry", ACT_STOP: "liquidation_stop", ACT_LIQUIDATED: "liquidation"}
#: the caveat attached to a Sharpe ratio computed on the proxy spot leg
SHARPE_PROXY_CAVEAT = ("spot = perp proxy: the NAV path is funding minus costs, no basis noise; the Sharpe ratio "
                       "overstates risk-adjusted return")

#: Keys ``basisctl backtest --json`` promises (issue 4 item 7).
JSON_KEYS: tuple[str, ...] = ("acc_return", "apy", "funding_apy", "max_drawdown", "avg_leverage", "rebalances",
                              "turnover_pct", "liquidations", "sharpe", "alpha_target", "alpha_lower",
                              "alpha_upper", "bars", "start", "end", "ret_basis", "spot_source", "basis_proxy",
                              "apy_simple", "cagr", "short_window", "sharpe_caveat", "ret_liquidation",
                              "ret_unhedged", "liquidation_price", "rehedge_delay_bars",
                              "liquidation_trigger_series")


@dataclass(frozen=True)
class BacktestResult:
    """Output of :func:`basisctl.backtest.run_backtest`: raw kernel arrays plus the inputs that made them."""

    data: BacktestData
    rule: FrozenRule
    costs: CostModel
    config: BacktestConfig
    arrays: tuple[np.ndarray, ...]
    #: kernel components [USD per bar, n x N_COMP] (``basisctl.backtest.kernel`` C_* columns); None = not recorded
    components: np.ndarray | None = None

    # ---- raw series -------------------------------------------------------------------------------------
    @property
    def nav(self) -> np.ndarray:
        """NAV at each bar close [USD]."""
        return self.arrays[0]

    @property
    def alpha(self) -> np.ndarray:
        return self.arrays[1]

    @property
    def leverage(self) -> np.ndarray:
        """Hedge leverage (1 - alpha)/alpha [x]; 0 where no hedge is open."""
        a, h = self.arrays[1], self.arrays[4]
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where((h != 0) & (a > 0), (1.0 - a) / a, 0.0)
        return lev

    def to_frame(self) -> pd.DataFrame:
        """One row per bar (index = bar open, UTC): prices, state, cash flows, action."""
        nav, alpha, m, q, h, fund, cost, liq, act, traded, reason, alpha_pre = self.arrays
        return pd.DataFrame({
            "perp_close": self.data.p_close, "spot_close": self.data.s_close, "nav": nav,
            "alpha_pre_trade": alpha_pre, "alpha": alpha,
            "leverage": self.leverage, "margin_usd": m, "spot_qty": q, "hedge_qty": h,
            "funding_rate": self.data.funding.rate_total, "funding_usd": fund, "cost_usd": cost,
            "liquidation_loss_usd": liq, "action": [ACTION_NAMES[int(x)] for x in act], "traded_usd": traded,
            "reason": [Reason(int(r)).name.lower() if a in (1, 2, 3) else "" for a, r in zip(act, reason, strict=True)],
            **({f"{name}_usd" if k < 9 else name: self.components[:, k] for k, name in enumerate(COMPONENT_NAMES)}
               if self.components is not None else {}),
        }, index=pd.DatetimeIndex(self.data.ts, name="ts"))

    def trades(self) -> pd.DataFrame:
        """Executed trades (policy rebalances, emergencies, liquidation re-entries/stops)."""
        f = self.to_frame()
        return f.loc[f["action"] != "none", ["action", "reason", "alpha_pre_trade", "alpha", "traded_usd",
                                             "cost_usd", "nav", "perp_close"]]

    def funding_flows(self) -> pd.DataFrame:
        """Funding cash credited per bar where a settlement was paid [USD, + = received by the short]."""
        f = self.to_frame()
        return f.loc[f["funding_rate"] != 0.0, ["funding_rate", "funding_usd", "hedge_qty"]]

    # ---- metrics ----------------------------------------------------------------------------------------
    def daily_returns(self) -> pd.Series:
        d = self.data
        close_ts = pd.DatetimeIndex(d.ts) + pd.Timedelta(hours=d.bar_hours)
        s = pd.Series(self.nav, index=close_ts)
        # NAV at the end of each UTC day (a bar closing exactly at midnight belongs to the day it ends)
        day = (close_ts - pd.Timedelta(microseconds=1)).normalize()
        daily = s.groupby(day).last()
        daily = pd.concat([pd.Series([self.config.capital_usd], index=[d.start.normalize() - pd.Timedelta(days=1)]),
                           daily])
        return daily.pct_change().dropna()

    def basis_pnl(self) -> float:
        """Spot-perp basis P&L of the hedged book [USD]: sum over bars of u_i ((s_i - s_{i-1}) - (p_i - p_{i-1}))
        on closes (the first bar from its opens), u_i = the short's units carried into bar i; bars with a
        liquidation are left out (their loss is ``ret_liquidation`` plus the intrabar wick). Exactly 0 when the
        spot leg is the perp series (``basis_proxy``)."""
        d = self.data
        hedge, act = self.arrays[4], self.arrays[8]
        units = -np.r_[hedge[0], hedge[:-1]]
        ds = np.diff(np.r_[d.s_open[0], d.s_close])
        dp = np.diff(np.r_[d.p_open[0], d.p_close])
        keep = ~np.isin(act, (ACT_REENTRY, ACT_STOP, ACT_LIQUIDATED))
        if self.components is not None:  # and every bar of a naked ride (no short carried in)
            keep &= (self.components[:, C_LIQ_KIND] == 0) & (units != 0)
        return float(np.sum((units * (ds - dp))[keep]))

    def metrics(self) -> dict[str, Any]:
        nav, alpha, _m, _q, h, fund, cost, liq, act, traded, _reason, _pre = self.arrays
        d, cap = self.data, self.config.capital_usd
        days = d.days
        acc = nav[-1] / cap - 1.0
        path = np.concatenate([[cap], nav])
        dd = float(np.min(path / np.maximum.accumulate(path) - 1.0))
        reb = np.isin(act, (1, 2, 3))
        n_reb = int(reb.sum())
        turnover = float(traded[reb].sum() / cap)
        hedged = h != 0
        lev = self.leverage
        r = self.daily_returns()
        sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
        sharpe = float(r.mean() / sd * np.sqrt(365.0)) if sd > 0 else float("nan")
        fund_ret = float(fund.sum() / cap)
        cost_ret = float(-cost.sum() / cap)
        return {
            "asset": d.asset,
            "start": d.start.isoformat(),
            "end": d.end.isoformat(),
            "bars": int(nav.size),
            "bar_hours": d.bar_hours,
            "days": days,
            "prices_source": d.prices_source,
            "funding_source": d.funding_source,
            "acc_return": float(acc),
            "apy": float(acc * 365.0 / days),
            "funding_apy": float(fund_ret * 365.0 / days),
            "max_drawdown": dd,
            "avg_leverage": float(lev[hedged].mean()) if hedged.any() else 0.0,
            "max_leverage": float(lev.max()),
            "min_alpha": float(alpha[hedged].min()) if hedged.any() else float("nan"),
            "rebalances": n_reb,
            "raise_collateral": int((act == 1).sum()),
            "lower_collateral": int((act == 2).sum()),
            "emergencies": int((act == 3).sum()),
            "turnover_pct": turnover,
            "avg_rebalance_pct": turnover / n_reb if n_reb else 0.0,
            "liquidations": self._n_liquidations(),
            "sharpe": sharpe,
            "sharpe_caveat": SHARPE_PROXY_CAVEAT if d.basis_proxy else "",
            "apy_simple": float(acc * 365.0 / days),
            "cagr": float((1.0 + acc) ** (365.0 / days) - 1.0) if acc > -1.0 else -1.0,
            "short_window": bool(days < 365.0),
            "ret_funding": fund_ret,
            "ret_costs": cost_ret,
            "ret_liquidation": float(liq.sum() and -liq.sum() / cap),
            **self._component_metrics(),
            "ret_mtm": float(acc - fund_ret - cost_ret),
            "ret_basis": self.basis_pnl() / cap,
            "spot_source": d.spot_source,
            "basis_proxy": d.basis_proxy,
            "funding_settlements": d.funding.n_settlements,
            "missing_funding_settlements": d.funding.missing_settlements,
            "funding_interval_hours": list(d.funding.interval_hours),
            "alpha_target": self.rule.alpha_target,
            "alpha_lower": self.rule.alpha_lower,
            "alpha_upper": self.rule.alpha_upper,
            "leverage_target": self.rule.leverage_target,
            "theta_f": self.rule.theta_f,
            "kappa_14d_bps": self.rule.kappa_14d * 1e4,
            "kappa_source": self.rule.kappa_source,
            "k_reb_fix": self.rule.k_reb_fix,
            "sigma_annual": self.rule.sigma_annual,
            "calib_from": self.rule.calib_from.isoformat(),
            "calib_to": self.rule.calib_to.isoformat(),
            "cost_model": self.costs.label,
            "capital_usd": cap,
            "q_min_usd": self.config.q_min_usd,
            "buffer_bps": self.config.buffer_bps,
            "delay_bars": self.config.delay_bars,
            **self._liquidation_setup(),
            "warnings": list(dict.fromkeys([*self.rule.warnings, *self.data.warnings])),
        }

    def _n_liquidations(self) -> int:
        if self.components is not None:
            return int(np.count_nonzero(self.components[:, C_LIQ_KIND]))
        return int(np.isin(self.arrays[8], (ACT_REENTRY, ACT_STOP)).sum())

    def _component_metrics(self) -> dict[str, Any]:
        """The liquidation-accounting components [fractions of D] (empty without recorded components)."""
        c = self.components
        if c is None:
            return {}
        cap = self.config.capital_usd
        tot = c.sum(axis=0)
        return {
            "ret_perp": float(tot[C_PERP] / cap), "ret_spot_hedged": float(tot[C_SPOT] / cap),
            "ret_unhedged": float(tot[C_UNHEDGED] / cap), "ret_liq_fees": float(tot[C_LIQ_FEE] / cap),
            "ret_margin_forfeited": float(tot[C_FORFEIT] / cap), "ret_rehedge_cost": float(tot[C_REHEDGE_COST] / cap),
            "ret_trade_costs": float(tot[C_TRADE_COST] / cap), "ret_funding_comp": float(tot[C_FUNDING] / cap),
            "margin_returned_usd": float(tot[C_RETURNED]),
            "components_residual": float((self.nav[-1] - cap - sum(tot[k] for k in PNL_COLUMNS)) / cap),
        }

    def _liquidation_setup(self) -> dict[str, Any]:
        """How liquidations were accounted: price mode, re-hedge delay, the venue rule and the trigger series."""
        from basisctl.venues.liquidation import RULES, TRADE_CANDLE_TRIGGER, UNDOCUMENTED

        cfg = self.config
        mode = cfg.liq_mode
        out: dict[str, Any] = {"liquidation_price": mode, "rehedge_delay_bars": cfg.rehedge_bars,
                               "liquidation_trigger_series": (
                                   "perp last-trade bar close (Binance perp candles)" if mode == "close"
                                   else TRADE_CANDLE_TRIGGER)}
        if mode == "barrier":
            r = RULES.get(cfg.liquidation_venue.lower(), UNDOCUMENTED)  # the engine warned once if undocumented
            out["liquidation_rule"] = r.describe()
            out["liquidation_docs"] = list(r.docs)
        else:
            out["liquidation_rule"] = f"legacy: the whole margin account is forfeited at the bar {mode}"
            out["liquidation_docs"] = []
        return out

    def summary(self) -> str:
        k = self.metrics()
        return (
            f"{k['asset']} {k['start'][:10]} -> {k['end'][:10]} ({k['bars']} x {k['bar_hours']:g}h bars, "
            f"funding {k['funding_source']}, {k['missing_funding_settlements']} settlements missing)\n"
            f"  rule: alpha_target={k['alpha_target']:.4f} ({k['leverage_target']:.2f}x) "
            f"band [{k['alpha_lower']:.4f}, {k['alpha_upper']:.4f}] theta_F={k['theta_f']:.4f} "
            f"kappa_14d={k['kappa_14d_bps']:.2f} bps, cost {k['cost_model']}\n"
            f"  acc return {k['acc_return']:.2%}  APY {k['apy']:.2%}  funding APY {k['funding_apy']:.2%}  "
            f"max DD {k['max_drawdown']:.2%}  avg lev {k['avg_leverage']:.2f}x  Sharpe {k['sharpe']:.2f}"
            + (" (spot = perp proxy: no basis noise, overstated)" if k["basis_proxy"] else "")
            + f"\n  CAGR {k['cagr']:.2%} (APY above is simple, the paper's)"
            + (f"  [SHORT WINDOW: {k['days']:.0f} days < 1 year, both annualisations extrapolate]"
               if k["short_window"] else "") + "\n"
            f"  rebalances {k['rebalances']} (raise {k['raise_collateral']}, lower {k['lower_collateral']}, "
            f"emergency {k['emergencies']})  turnover {k['turnover_pct']:.2%}  avg {k['avg_rebalance_pct']:.2%}  "
            f"liquidations {k['liquidations']}\n"
            f"  decomposition: funding {k['ret_funding']:+.2%}  costs {k['ret_costs']:+.2%}  "
            f"spot-perp MTM {k['ret_mtm']:+.2%} (liquidation {k['ret_liquidation']:+.2%}, "
            f"basis {k['ret_basis']:+.2%})\n"
            + (f"  liquidations ({k['liquidation_price']}, re-hedge after {k['rehedge_delay_bars']} bars): "
               f"fees {k['ret_liq_fees']:+.2%}  margin forfeited {k['ret_margin_forfeited']:+.2%}  "
               f"unhedged ride {k['ret_unhedged']:+.2%}  re-hedge cost {k['ret_rehedge_cost']:+.2%}\n"
               if "ret_unhedged" in k and k["liquidations"] else "")
            + f"  spot: {k['spot_source']}"
            + ("  [PROXY: basis P&L is zero by construction]" if k["basis_proxy"] else "")
        )
