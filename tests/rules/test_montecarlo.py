"""score_bands (the brute-force band scorer) uses the backtest's liquidation accounting: hand computation of one
barrier liquidation per venue, and liquidations counted by event (a Hyperliquid market liquidation has no fee and
forfeits nothing, so a count of non-zero losses would miss it)."""

from __future__ import annotations

import numpy as np
import pytest

from basisctl.backtest.engine import BacktestConfig
from basisctl.rules.montecarlo import Band, score_bands
from basisctl.units import HOURS_PER_YEAR

D, ALPHA, THETA, JUMP = 1_000_000.0, 0.1, 0.05, 1.2
# flat at 1, one bar from 1 to 1.2 (its high = max(open, close) = 1.2), flat at 1.2 again
PRICES = np.array([[1.0] * 6 + [JUMP] * 6])
BAND = Band(alpha_lower=1e-6, reset_lower=ALPHA, alpha_upper=0.99, reset_upper=ALPHA, alpha_target=ALPHA)


def _expected_nav(fee_rate: float) -> float:
    q = (1.0 - ALPHA) * D  # units short and long (spot = perp = 1 at entry)
    m = ALPHA * D
    p_star = (m + q) / (q * (1.0 + THETA))  # equity m - q (P - 1) = theta q P
    equity = THETA * q * p_star  # = maintenance: a market liquidation (not below 2/3), the rest returned
    # the spot leg keeps its units: hedged up to P*, naked from P* to the close; re-hedged at the next open
    return q * JUMP + equity - fee_rate * q * p_star


@pytest.mark.parametrize(("venue", "fee"), [("hyperliquid", 0.0), ("binance", 0.005)])
def test_one_barrier_liquidation_by_hand(venue: str, fee: float) -> None:
    s = score_bands([BAND], PRICES, 0.0, 0.0, THETA, D, 0.0, BacktestConfig(liquidation_venue=venue))
    years = (PRICES.shape[1] - 1) / HOURS_PER_YEAR
    assert s.growth[0, 0] == pytest.approx(np.log(_expected_nav(fee) / D) / years, rel=1e-12)
    assert s.liquidations[0] == 1  # counted although the Hyperliquid liquidation loses no fee and no margin


def test_legacy_accounting_forfeits_the_whole_margin() -> None:
    """The pre-issue-17 setting (``liq_at_high``) forfeits the margin at the bar high: NAV = spot units x 1.2."""
    s = score_bands([BAND], PRICES, 0.0, 0.0, THETA, D, 0.0, BacktestConfig(liq_at_high=True))
    years = (PRICES.shape[1] - 1) / HOURS_PER_YEAR
    assert s.growth[0, 0] == pytest.approx(np.log((1.0 - ALPHA) * JUMP) / years, rel=1e-12)
    assert s.liquidations[0] == 1
