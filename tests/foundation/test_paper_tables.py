"""Checks against numbers printed in the paper (Table IV, Table II) and the venue margin rule."""

from __future__ import annotations

import pytest
from scipy.optimize import brentq

from basisctl.calibration.funding import funding_window_stats
from basisctl.data import locator
from basisctl.model.margin import PAPER_L_MAX, theta_f_for, theta_f_from_l_max
from basisctl.model.static import hedge_leverage, solve_alpha_risk
from basisctl.static_grid import static_grid_frame

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

H1D = 1 / 365
# Table IV (Variant 2, eps 0.001, 1.5x stress, 180d): alpha*, printed leverage, theta_F
TABLE_IV = {
    ("binance", "BTC"): (0.123, 7.14, 0.0080), ("binance", "ETH"): (0.167, 4.99, 0.0100),
    ("binance", "LINK"): (0.200, 3.99, 0.0200), ("binance", "DOGE"): (0.201, 3.97, 0.0200),
    ("hyperliquid", "BTC"): (0.127, 6.89, 0.0125), ("hyperliquid", "ETH"): (0.176, 4.69, 0.0200),
    ("hyperliquid", "LINK"): (0.223, 3.49, 0.0500), ("hyperliquid", "DOGE"): (0.224, 3.47, 0.0500),
}


@pytest.mark.parametrize(("venue", "asset"), list(TABLE_IV))
def test_venue_rule_reproduces_paper_theta(venue, asset):
    theta, l_max = theta_f_for(venue, asset)
    assert l_max == PAPER_L_MAX[(venue, asset)]
    assert theta == pytest.approx(TABLE_IV[(venue, asset)][2])


@pytest.mark.parametrize("asset", ["BTC", "ETH", "LINK", "DOGE"])
@pytest.mark.parametrize("source", ["binance", "hyperliquid"])
def test_sigma_backed_out_of_one_venue_reproduces_the_other(asset, source):
    """Vol is venue-agnostic in the paper, so sigma implied by one printed cell predicts the other venue."""
    target = "hyperliquid" if source == "binance" else "binance"
    a_src, _, th_src = TABLE_IV[(source, asset)]
    a_tgt, _, th_tgt = TABLE_IV[(target, asset)]
    sig = brentq(lambda s: float(solve_alpha_risk(s, th_src, H1D, 1e-3)) - a_src, 0.05, 5.0, xtol=1e-12)
    assert float(solve_alpha_risk(sig, th_tgt, H1D, 1e-3)) == pytest.approx(a_tgt, abs=0.002)


@pytest.mark.parametrize(("key", "row"), list(TABLE_IV.items()))
def test_printed_leverage_is_one_minus_alpha_over_alpha(key, row):
    a, lev, _ = row
    # the printed alpha is rounded to 3 decimals, so allow the leverage implied by alpha +- 0.0005
    assert float(hedge_leverage(a + 0.0005)) - 0.01 <= lev <= float(hedge_leverage(a - 0.0005)) + 0.01


def test_hyperliquid_tiers_from_shipped_margin_tables():
    tiers = locator.hyperliquid_tiers("BTC")
    assert [(t.lower_bound_usd, t.max_leverage) for t in tiers] == [(0.0, 40.0), (150e6, 20.0)]
    assert theta_f_for("hyperliquid", "BTC", tiers=tiers, notional_usd=1e6)[0] == pytest.approx(1 / 80)
    assert theta_f_for("hyperliquid", "BTC", tiers=tiers, notional_usd=2e8)[0] == pytest.approx(1 / 40)
    assert theta_f_from_l_max("binance", 125) == pytest.approx(0.008)


def test_shipped_calibration_lands_near_table_iv():
    """Empirical: the shipped data at 2026-03-10 is close to the refreshed calibration behind Table IV (the
    paper's exact as-of date is not stated). Tolerance 0.01 in alpha."""
    df = static_grid_frame(lookbacks=[180.0], stresses=[1.5])
    for r in df.itertuples():
        assert r.alpha_risk == pytest.approx(TABLE_IV[(r.venue, r.asset)][0], abs=0.01)
    # the venue ranking of finding 2 holds asset by asset: Hyperliquid needs more collateral
    piv = df.pivot(index="asset", columns="venue", values="alpha_risk")
    assert (piv["hyperliquid"] > piv["binance"]).all()


def test_hyperliquid_btc_360d_funding_window_matches_table_ii():
    """Table II, 360d row (mean 9.13%, median 10.07%, q95 23.22%, share + 90.3%) is reproduced by the rolling
    1-day estimator on the shipped Hyperliquid BTC history ending 2026-03-10 (the 90/180d rows depend on an
    as-of date the paper does not state and are not asserted)."""
    s = funding_window_stats(locator.load_funding("hyperliquid", "BTC"), "2026-03-10", (360.0,))[0]
    assert s.median == pytest.approx(0.1007, abs=0.0005)
    assert s.q95 == pytest.approx(0.2322, abs=0.0005)
    assert s.mean == pytest.approx(0.0913, abs=0.001)
    assert s.share_positive == pytest.approx(0.903, abs=0.005)
