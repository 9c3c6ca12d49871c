"""FROZEN copy of src/basisctl/backtest/kernel.py at commit ab70bf5 (before issue 17 item 3), kept verbatim so
that the parity mode of the new kernel (``--liquidation-price close|high --rehedge-delay-bars 0``) can be compared
with it bit for bit. Never edit this file; it is the reference, not code in use."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from basisctl._jit import njit
from basisctl.model.policy import cost_at_nb, decide_nb

F64 = NDArray[np.float64]

# action codes recorded per bar (trades); 0..3 are the policy's Action values
ACT_ENTRY = 4
ACT_REENTRY = 5
ACT_STOP = 6


@njit
def _trade_cost_nb(
    q_usd: float, units: float, perp_px: float, side_q: F64, side_c: F64, split_legs: bool
) -> float:
    """Cost [USD] of a basis trade of spot notional q: C(q) q, or half on each leg's own notional."""
    c = cost_at_nb(side_q, side_c, q_usd) * 1e-4
    if split_legs:
        return 0.5 * c * q_usd + 0.5 * c * units * perp_px
    return c * q_usd


@njit
def backtest_nb(
    p_open: F64,
    p_high: F64,
    p_close: F64,
    s_open: F64,
    s_close: F64,
    fund_rate: F64,
    fund_rate_in: F64,
    capital: float,
    alpha_target: float,
    alpha_lower: float,
    alpha_upper: float,
    kappa_fix: float,
    k_reb_fix: float,
    q_min_usd: float,
    buffer_bps: float,
    sell_q: F64,
    sell_c: F64,
    sell_budget_bps: float,
    buy_q: F64,
    buy_c: F64,
    buy_budget_bps: float,
    theta_f: float,
    delay_bars: int,
    charge_entry: bool,
    reenter: bool,
    split_legs: bool,
    liq_at_high: bool,
    tier_lo: F64,
    tier_theta: F64,
    reset_lower: float,
    reset_upper: float,
    reset_every_bars: int,
) -> tuple[F64, F64, F64, F64, F64, F64, F64, F64, NDArray[np.int64], F64, NDArray[np.int64], F64]:
    """Run one backtest. ``tier_lo``/``tier_theta``: notional tiers [USD] above which a stricter maintenance
    fraction applies to the whole position (empty arrays: ``theta_f`` everywhere). ``reset_lower`` /
    ``reset_upper``: where the policy restores alpha after a lower / upper breach (alpha_target for the paper's
    rule); ``reset_every_bars`` > 0: a scheduled reset to alpha_target is due at every positive multiple of that
    many bars (0 = never). Returns per-bar arrays
    (nav [USD], alpha after trades [fraction], margin M [USD], spot Q [units], hedge H [units, < 0],
    funding cash [USD], cost [USD], liquidation loss [USD], action code, traded spot notional [USD], reason code,
    alpha observed by the policy before trading [fraction]).
    """
    n = p_open.size
    nav = np.empty(n)
    alpha_out = np.empty(n)
    margin = np.empty(n)
    spot_q = np.empty(n)
    hedge = np.empty(n)
    fund = np.zeros(n)
    cost = np.zeros(n)
    liq_loss = np.zeros(n)
    action = np.zeros(n, dtype=np.int64)
    traded = np.zeros(n, dtype=np.float64)
    reason = np.zeros(n, dtype=np.int64)
    alpha_pre = np.empty(n)

    # entry at the open of bar 0: alpha_target * D as margin, the rest in spot, short the same units
    q0 = (1.0 - alpha_target) * capital
    q_units = q0 / s_open[0]
    m = alpha_target * capital
    entry_cost = 0.0
    if charge_entry:
        if split_legs:  # spot fee paid in units bought, hedge matched to them, perp fee from margin
            half = 0.5 * cost_at_nb(buy_q, buy_c, q0) * 1e-4
            q_units = q0 * (1.0 - half) / s_open[0]
            entry_cost = half * q0 + half * q_units * p_open[0]
            m -= half * q_units * p_open[0]
        else:
            entry_cost = _trade_cost_nb(q0, q_units, p_open[0], buy_q, buy_c, split_legs)
            m -= entry_cost
    h = -q_units
    p_prev = p_open[0]
    stopped = False
    pend_bar = -1
    pend_act = 0
    pend_q = 0.0
    pend_reason = 0

    for i in range(n):
        po = p_open[i]
        # 1. mark to the open, then funding settled at this instant on the short carried into the bar
        if h != 0.0:
            m += h * (po - p_prev)
            f = -h * fund_rate[i] * po
            m += f
            fund[i] = f
        p_prev = po
        liquidated = False
        # 2. liquidation at the bar high (the short's worst price)
        if h != 0.0:
            ph = p_high[i] if liq_at_high else p_close[i]
            th = theta_f
            for k in range(tier_lo.size):
                if -h * ph >= tier_lo[k] and tier_theta[k] > th:
                    th = tier_theta[k]
            if m + h * (ph - po) <= th * (-h) * ph:
                liquidated = True
                liq_loss[i] = m + h * (ph - po)  # margin equity lost at the liquidation price
                m = 0.0
                h = 0.0
                pend_bar = -1
        # 3. mark to the close; settlements strictly inside the bar (hourly funding on coarser bars) accrue on
        # the position held during the bar, credited at the close before any trade
        pc = p_close[i]
        sc = s_close[i]
        if h != 0.0:
            m += h * (pc - p_prev)
            if fund_rate_in[i] != 0.0:
                f_in = -h * fund_rate_in[i] * pc
                m += f_in
                fund[i] += f_in
        p_prev = pc
        v = q_units * sc + m
        alpha_pre[i] = m / v if v > 0.0 else 0.0
        if liquidated:
            action[i] = ACT_STOP
            if reenter and v > 0.0:
                q_sell = alpha_target * v
                u = q_sell / sc
                q_units -= u
                m += q_sell
                h = -q_units
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_sell) * 1e-4 * q_sell
                c += 0.5 * cost_at_nb(buy_q, buy_c, q_units * pc) * 1e-4 * q_units * pc
                m -= c
                cost[i] += c
                traded[i] = q_sell
                action[i] = ACT_REENTRY
            else:
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_units * sc) * 1e-4 * q_units * sc
                m += q_units * sc - c
                cost[i] += c
                traded[i] = q_units * sc
                q_units = 0.0
                stopped = True
        elif not stopped:
            # 4. policy at the close (or a pending order from an earlier close)
            act = 0
            q = 0.0
            if pend_bar == i:
                act = pend_act
                q = pend_q
                reason[i] = pend_reason
                pend_bar = -1
            elif pend_bar < 0 and v > 0.0:
                a_t = m / v
                a_code, r_code, q_t, _q_max, q_hat = decide_nb(
                    a_t, v, alpha_target, alpha_lower, alpha_upper, kappa_fix, k_reb_fix, q_min_usd,
                    buffer_bps, sell_q, sell_c, sell_budget_bps, buy_q, buy_c, buy_budget_bps,
                    reset_lower, reset_upper, reset_every_bars > 0 and i > 0 and i % reset_every_bars == 0,
                )
                if a_code != 0:
                    qq = q_t if a_code == 3 else q_hat
                    if delay_bars > 0:
                        pend_bar = i + delay_bars
                        pend_act = a_code
                        pend_q = qq
                        pend_reason = r_code
                    else:
                        act = a_code
                        q = qq
                        reason[i] = r_code
                else:
                    reason[i] = r_code
            if act == 1 or act == 3:  # raise collateral: sell-basis
                q = min(q, q_units * sc)
                u = q / sc
                q_units -= u
                h += u
                m += q
                c = _trade_cost_nb(q, u, pc, sell_q, sell_c, split_legs)
                m -= c
                cost[i] += c
                traded[i] = q
                action[i] = act
            elif act == 2:  # lower collateral: buy-basis
                q = min(q, m)
                u = q / sc
                if split_legs:  # the spot fee buys fewer units; the hedge matches the units received
                    half = 0.5 * cost_at_nb(buy_q, buy_c, q) * 1e-4
                    u = q * (1.0 - half) / sc
                    c = half * q + half * u * pc
                    m -= q + half * u * pc
                else:
                    c = _trade_cost_nb(q, u, pc, buy_q, buy_c, split_legs)
                    m -= q + c
                q_units += u
                h -= u
                cost[i] += c
                traded[i] = q
                action[i] = act
        v = q_units * sc + m
        nav[i] = v
        alpha_out[i] = m / v if v > 0.0 else 0.0
        margin[i] = m
        spot_q[i] = q_units
        hedge[i] = h
    cost[0] += entry_cost
    return nav, alpha_out, margin, spot_q, hedge, fund, cost, liq_loss, action, traded, reason, alpha_pre
