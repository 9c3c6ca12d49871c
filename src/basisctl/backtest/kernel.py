"""The compiled backtest loop. Arrays and scalars in, arrays out; no pandas, no I/O.

Core step (documented for batched drivers, e.g. a multi-path study): :func:`backtest_core_nb`

    backtest_core_nb(p_open, p_high, p_close, s_open, s_close, fund_rate, fund_rate_in,   # float64[n] each
                     capital, alpha_target, alpha_lower, alpha_upper, kappa_fix, k_reb_fix, q_min_usd,
                     buffer_bps, sell_q, sell_c, sell_budget_bps, buy_q, buy_c, buy_budget_bps,     # curves: f64[k]
                     theta_f, delay_bars, charge_entry, reenter, split_legs, liq_price_mode,        # int / bool
                     tier_lo, tier_theta, reset_lower, reset_upper, reset_every_bars,              # f64[t], f64[t]
                     liq_fee_rate, backstop_frac, rehedge_delay_bars)
      -> (nav, alpha, margin, spot_q, hedge, fund, cost, liq_loss, action(int64), traded, reason(int64),
          alpha_pre, comp)           # float64[n] unless marked; comp: float64[n, N_COMP] (columns C_*)

:func:`backtest_nb` is the pre-issue-17 signature (``liq_at_high`` flag, 12 arrays out): it runs the core in the
legacy mode (``LIQ_HIGH`` / ``LIQ_CLOSE``, whole margin forfeited, re-hedge at the same close), bit for bit the
kernel of commit ab70bf5 (tested against a frozen copy).

One bar i (open time t_i, perp OHLC, spot open/close) is processed in this order:

0. a re-hedge due at this bar (``rehedge_delay_bars`` >= 1 after a liquidation) happens at the bar OPEN, after
   step 1's funding (the new short did not hold the interval that settles at t_i), with the re-entry costs;
1. mark the perp to the bar OPEN (gap from the previous close), then credit the funding settled at t_i
   (``fund_rate[i]``, already aligned by the caller to the bar whose open is the settlement instant) on the
   short carried into the bar: cash = -H * rate * open  (H < 0, positive rate pays the short);
2. liquidation. The trigger is the perp bar HIGH (the short's worst price) for ``LIQ_HIGH`` and ``LIQ_BARRIER``,
   the CLOSE for ``LIQ_CLOSE``: liquidated iff M + H (x - open) <= theta_F(x) |H| x at that price x.
   * ``LIQ_BARRIER`` (venue accounting, the default of :class:`~basisctl.backtest.engine.BacktestConfig`): the
     position is closed at the liquidation price P_L = the barrier P* (the price where equity = maintenance
     margin, theta_F of the notional tier reached), or the bar OPEN when the bar opens beyond P* (a gap). The
     perp's loss is capped at the margin account (equity E = max(M + H (P_L - open), 0)); the venue's fee
     ``liq_fee_rate`` x |H| P_L (capped at E) is paid; if E < ``backstop_frac`` x theta_F |H| P_L the rest is
     forfeited (Hyperliquid backstop liquidation), else it is returned to the account (market liquidation).
   * ``LIQ_HIGH`` / ``LIQ_CLOSE`` (legacy): the whole margin account at the trigger price is forfeited (it may be
     negative after a gap, which the old accounting credited as a gain: kept only for parity).
   The spot leg is naked from the liquidation until the re-hedge: the same bar's close (``rehedge_delay_bars``
   = 0: ``reenter`` re-opens the basis at alpha_target, otherwise the spot is sold and the strategy stays in
   cash) or the open ``rehedge_delay_bars`` bars later. The spot price at the liquidation instant is taken as
   s_open x P_L / p_open (spot moves with the perp inside the bar; the close itself for ``LIQ_CLOSE``);
3. mark the perp to the CLOSE; equity V = Q * spot_close + M, alpha = M / V;
4. the shared Table VI policy :func:`basisctl.model.policy.decide_nb` decides at the close (not while the spot is
   naked); the trade is filled at this close (``delay_bars`` = 0) or at the close ``delay_bars`` bars later, with
   the USD size decided now. While an order is pending no new decision is taken.

Trades keep the hedge delta-neutral in units (|H| = Q): a sell-basis trade of spot notional q sells q / s
spot units, buys back as many perp units and moves q USD into margin; a buy-basis trade does the reverse.
The cost C(q) [bps of notional] of the side is charged to the margin account. EMERGENCY executes q* in full.
With ``split_legs`` (fractal-defi semantics) half the cost is charged on each leg's own notional, and on spot
purchases (entry, buy-basis) the spot half is paid in units (q (1 - C/2) / s units received, the hedge matched
to them) rather than from the margin.

Components (``comp``, USD per bar; the P&L columns sum to the NAV change of the bar, the first bar measured from
the capital D): C_PERP perp mark-to-market (incl. the move to P_L, loss capped at the margin), C_SPOT spot
mark-to-market while hedged, C_UNHEDGED spot mark-to-market while naked (liquidation -> re-hedge), C_FUNDING,
C_TRADE_COST (policy trades and entry, <= 0), C_REHEDGE_COST (re-entry / stop after a liquidation, <= 0),
C_LIQ_FEE (<= 0), C_FORFEIT (margin forfeited, <= 0 in LIQ_BARRIER; legacy modes may show > 0, the old flaw);
informational, not P&L: C_RETURNED (margin returned at the liquidation [USD]), C_LIQ_PRICE (P_L, 0 = none),
C_LIQ_KIND (0 none, 1 market, 2 backstop, 3 legacy forfeit-all).
"""

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
#: a liquidation whose re-hedge is due at a later bar's open (``rehedge_delay_bars`` >= 1)
ACT_LIQUIDATED = 7

# liquidation price modes
LIQ_CLOSE = 0
LIQ_HIGH = 1
LIQ_BARRIER = 2
LIQ_MODES: dict[str, int] = {"close": LIQ_CLOSE, "high": LIQ_HIGH, "barrier": LIQ_BARRIER}

# component columns of ``comp`` (USD per bar)
C_PERP = 0
C_SPOT = 1
C_UNHEDGED = 2
C_FUNDING = 3
C_TRADE_COST = 4
C_REHEDGE_COST = 5
C_LIQ_FEE = 6
C_FORFEIT = 7
C_RETURNED = 8
C_LIQ_PRICE = 9
C_LIQ_KIND = 10
N_COMP = 11
#: the columns that sum to the NAV change
PNL_COLUMNS: tuple[int, ...] = (C_PERP, C_SPOT, C_UNHEDGED, C_FUNDING, C_TRADE_COST, C_REHEDGE_COST, C_LIQ_FEE,
                                C_FORFEIT)
COMPONENT_NAMES: tuple[str, ...] = ("perp_pnl", "spot_pnl_hedged", "unhedged", "funding", "trade_cost",
                                    "rehedge_cost", "liq_fee", "margin_forfeited", "margin_returned",
                                    "liq_price", "liq_kind")
LIQ_KIND_MARKET = 1.0
LIQ_KIND_BACKSTOP = 2.0
LIQ_KIND_LEGACY = 3.0


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
def theta_at_nb(notional: float, theta_f: float, tier_lo: F64, tier_theta: F64) -> float:
    """Maintenance fraction at a perp notional [USD]: the stricter of theta_F and every tier reached."""
    th = theta_f
    for k in range(tier_lo.size):
        if notional >= tier_lo[k] and tier_theta[k] > th:
            th = tier_theta[k]
    return th


@njit
def barrier_price_nb(m: float, units: float, p0: float, theta_f: float, tier_lo: F64, tier_theta: F64) -> float:
    """Smallest price P >= p0 at which a short of ``units`` with margin account ``m`` at price p0 is
    liquidatable: m - units (P - p0) <= theta(units P) units P. Equity falls and the requirement rises with P, so
    the root is unique; a tier bound crossed on the way may be the root itself (the requirement jumps there).
    Returns p0 when the position is already liquidatable at p0."""
    a = m + units * p0  # equity(P) = a - units P
    th = theta_at_nb(units * p0, theta_f, tier_lo, tier_theta)
    if a - units * p0 <= th * units * p0:
        return p0
    lo = p0
    for _ in range(tier_lo.size + 1):
        p_star = a / (units * (1.0 + th))
        # the first tier bound strictly above lo with a stricter theta, if it comes before p_star
        nxt = np.inf
        for k in range(tier_lo.size):
            b = tier_lo[k] / units
            if b > lo and b < nxt and tier_theta[k] > th:
                nxt = b
        if p_star <= nxt:
            return p_star
        th_next = theta_at_nb(units * nxt, theta_f, tier_lo, tier_theta)
        if a - units * nxt <= th_next * units * nxt:
            return nxt
        lo = nxt
        th = th_next
    return a / (units * (1.0 + th))


@njit
def backtest_core_nb(
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
    liq_price_mode: int,
    tier_lo: F64,
    tier_theta: F64,
    reset_lower: float,
    reset_upper: float,
    reset_every_bars: int,
    liq_fee_rate: float,
    backstop_frac: float,
    rehedge_delay_bars: int,
) -> tuple[F64, F64, F64, F64, F64, F64, F64, F64, NDArray[np.int64], F64, NDArray[np.int64], F64, F64]:
    """Run one backtest (the module docstring gives the order of one bar and the components).

    ``tier_lo``/``tier_theta``: notional tiers [USD] above which a stricter maintenance fraction applies to the
    whole position (empty arrays: ``theta_f`` everywhere). ``reset_lower`` / ``reset_upper``: where the policy
    restores alpha after a lower / upper breach; ``reset_every_bars`` > 0: a scheduled reset to alpha_target at
    every positive multiple of that many bars (0 = never). ``liq_price_mode``: LIQ_CLOSE | LIQ_HIGH | LIQ_BARRIER;
    ``liq_fee_rate`` [fraction of the liquidated notional] and ``backstop_frac`` [fraction of maintenance margin;
    0 = never] apply in LIQ_BARRIER only; ``rehedge_delay_bars``: 0 = re-hedge at the liquidation bar's close,
    N >= 1 = at the open N bars later. Returns per-bar arrays (nav [USD], alpha after trades [fraction], margin M
    [USD], spot Q [units], hedge H [units, < 0], funding cash [USD], cost [USD], liquidation loss [USD: margin
    forfeited plus fees], action code, traded spot notional [USD], reason code, alpha observed by the policy
    before trading [fraction], components [USD, n x N_COMP]).
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
    comp = np.zeros((n, N_COMP))

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
    s_prev = s_open[0]
    stopped = False
    naked = False
    rehedge_bar = -1
    pend_bar = -1
    pend_act = 0
    pend_q = 0.0
    pend_reason = 0

    for i in range(n):
        po = p_open[i]
        so = s_open[i]
        c_perp = 0.0
        c_spot = 0.0
        c_unh = 0.0
        c_trade = 0.0
        c_reh = 0.0
        # spot from the previous close to this open on the units carried in
        if naked:
            c_unh += q_units * (so - s_prev)
        else:
            c_spot += q_units * (so - s_prev)
        # 1. mark to the open, then funding settled at this instant on the short carried into the bar
        if h != 0.0:
            d_open = h * (po - p_prev)
            m += d_open
            c_perp += d_open
            f = -h * fund_rate[i] * po
            m += f
            fund[i] = f
        p_prev = po
        # 0. a delayed re-hedge due at this open (after the funding the new short did not earn)
        if naked and rehedge_bar == i:
            naked = False
            v0 = q_units * so + m
            if reenter and v0 > 0.0:
                # alpha_target of equity in margin: the margin returned by the liquidation already counts
                q_sell = max(alpha_target * v0 - m, 0.0)
                u = q_sell / so
                q_units -= u
                m += q_sell
                h = -q_units
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_sell) * 1e-4 * q_sell
                c += 0.5 * cost_at_nb(buy_q, buy_c, q_units * po) * 1e-4 * q_units * po
                m -= c
                cost[i] += c
                c_reh -= c
                traded[i] = q_sell
                action[i] = ACT_REENTRY
            else:
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_units * so) * 1e-4 * q_units * so
                m += q_units * so - c
                cost[i] += c
                c_reh -= c
                traded[i] = q_units * so
                action[i] = ACT_STOP
                q_units = 0.0
                stopped = True
        liquidated = False
        s_liq = so
        q_liq = q_units
        # 2. liquidation at the trigger price (bar high, or the close)
        if h != 0.0:
            ph = p_close[i] if liq_price_mode == LIQ_CLOSE else p_high[i]
            th = theta_at_nb(-h * ph, theta_f, tier_lo, tier_theta)
            if m + h * (ph - po) <= th * (-h) * ph:
                liquidated = True
                units = -h
                if liq_price_mode == LIQ_BARRIER:
                    p_l = barrier_price_nb(m, units, po, theta_f, tier_lo, tier_theta)
                    d_liq = h * (p_l - po)
                    e = m + d_liq
                    if e < 0.0:  # the perp's loss is capped at its margin account
                        d_liq -= e
                        e = 0.0
                    fee = min(liq_fee_rate * units * p_l, e)
                    mm = theta_at_nb(units * p_l, theta_f, tier_lo, tier_theta) * units * p_l
                    if e < backstop_frac * mm:
                        forfeit = e - fee
                        comp[i, C_LIQ_KIND] = LIQ_KIND_BACKSTOP
                    else:
                        forfeit = 0.0
                        comp[i, C_LIQ_KIND] = LIQ_KIND_MARKET
                    c_perp += d_liq
                    comp[i, C_LIQ_FEE] = -fee
                    comp[i, C_FORFEIT] = -forfeit
                    comp[i, C_RETURNED] = e - fee - forfeit
                    liq_loss[i] = fee + forfeit
                    m = e - fee - forfeit
                else:
                    p_l = ph
                    liq_loss[i] = m + h * (ph - po)  # margin equity lost at the liquidation price
                    c_perp += h * (ph - po)
                    comp[i, C_FORFEIT] = -liq_loss[i]
                    comp[i, C_LIQ_KIND] = LIQ_KIND_LEGACY
                    m = 0.0
                comp[i, C_LIQ_PRICE] = p_l
                s_liq = s_close[i] if liq_price_mode == LIQ_CLOSE else so * p_l / po
                h = 0.0
                pend_bar = -1
        # 3. mark to the close; settlements strictly inside the bar (hourly funding on coarser bars) accrue on
        # the position held during the bar, credited at the close before any trade
        pc = p_close[i]
        sc = s_close[i]
        if liquidated:
            c_spot += q_liq * (s_liq - so)
            c_unh += q_liq * (sc - s_liq)
        elif naked:
            c_unh += q_units * (sc - so)
        else:
            c_spot += q_units * (sc - so)
        if h != 0.0:
            d_close = h * (pc - p_prev)
            m += d_close
            c_perp += d_close
            if fund_rate_in[i] != 0.0:
                f_in = -h * fund_rate_in[i] * pc
                m += f_in
                fund[i] += f_in
        p_prev = pc
        s_prev = sc
        v = q_units * sc + m
        alpha_pre[i] = m / v if v > 0.0 else 0.0
        if liquidated and rehedge_delay_bars > 0:
            action[i] = ACT_LIQUIDATED
            naked = True
            rehedge_bar = i + rehedge_delay_bars
        elif liquidated:
            action[i] = ACT_STOP
            if reenter and v > 0.0:
                q_sell = max(alpha_target * v - m, 0.0)  # m = margin returned (0 in the legacy modes)
                u = q_sell / sc
                q_units -= u
                m += q_sell
                h = -q_units
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_sell) * 1e-4 * q_sell
                c += 0.5 * cost_at_nb(buy_q, buy_c, q_units * pc) * 1e-4 * q_units * pc
                m -= c
                cost[i] += c
                c_reh -= c
                traded[i] = q_sell
                action[i] = ACT_REENTRY
            else:
                c = 0.5 * cost_at_nb(sell_q, sell_c, q_units * sc) * 1e-4 * q_units * sc
                m += q_units * sc - c
                cost[i] += c
                c_reh -= c
                traded[i] = q_units * sc
                q_units = 0.0
                stopped = True
        elif not stopped and not naked:
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
                c_trade -= c
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
                c_trade -= c
                traded[i] = q
                action[i] = act
        comp[i, C_PERP] = c_perp
        comp[i, C_SPOT] = c_spot
        comp[i, C_UNHEDGED] = c_unh
        comp[i, C_FUNDING] = fund[i]
        comp[i, C_TRADE_COST] = c_trade
        comp[i, C_REHEDGE_COST] = c_reh
        v = q_units * sc + m
        nav[i] = v
        alpha_out[i] = m / v if v > 0.0 else 0.0
        margin[i] = m
        spot_q[i] = q_units
        hedge[i] = h
    cost[0] += entry_cost
    comp[0, C_TRADE_COST] -= entry_cost
    return nav, alpha_out, margin, spot_q, hedge, fund, cost, liq_loss, action, traded, reason, alpha_pre, comp


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
    """The pre-issue-17 kernel (legacy liquidation accounting: the whole margin account forfeited at the bar high,
    ``liq_at_high``, or at the close; re-hedge at the same close). 12 arrays, as :func:`backtest_core_nb` less
    ``comp``; bit for bit the kernel of commit ab70bf5."""
    mode = LIQ_HIGH if liq_at_high else LIQ_CLOSE
    r = backtest_core_nb(
        p_open, p_high, p_close, s_open, s_close, fund_rate, fund_rate_in, capital, alpha_target, alpha_lower,
        alpha_upper, kappa_fix, k_reb_fix, q_min_usd, buffer_bps, sell_q, sell_c, sell_budget_bps, buy_q, buy_c,
        buy_budget_bps, theta_f, delay_bars, charge_entry, reenter, split_legs, mode, tier_lo, tier_theta,
        reset_lower, reset_upper, reset_every_bars, 0.0, 0.0, 0,
    )
    return r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]
