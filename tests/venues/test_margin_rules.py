"""theta_F per venue against hand computations from the cited documentation (docs/model.md)."""

from __future__ import annotations

import pytest

from basisctl.errors import ModelDomainError
from basisctl.model.margin import ALL_VENUES, check_venue, theta_f_for, theta_f_from_l_max
from basisctl.venues import REGISTRY, get_venue


def test_bybit_btc_tiers_from_the_margin_parameters_page() -> None:
    # BTCUSDT: tier 1 up to 2,000,000 USDT at 100x with MMR 0.5%; tier 2 to 2,600,000 at 90x with MMR 0.56%
    assert theta_f_for("bybit", "BTC") == (0.005, 100.0)
    assert theta_f_for("bybit", "BTC", notional_usd=2_500_000) == (0.0056, 90.0)
    assert theta_f_for("bybit", "BTC", notional_usd=3_500_000) == (0.0067, 75.0)
    assert theta_f_from_l_max("bybit", 100.0) == pytest.approx(0.005)  # MMR = IM/2 at the base tier


def test_dydx_large_cap_is_0_6_of_2_percent() -> None:
    theta, lmax = theta_f_for("dydx", "ETH")
    assert theta == pytest.approx(0.6 * 0.02) and lmax == 50.0  # initial_margin_ppm 20000, maintenance 600000


def test_kraken_level_one_is_half_of_initial() -> None:
    assert theta_f_for("kraken", "BTC") == (pytest.approx(0.01), 50.0)  # IM 2%, MM 1%
    assert theta_f_from_l_max("kraken", 25.0) == pytest.approx(0.02)  # level II: IM 4%, MM 2%


def test_okx_needs_the_tier_mmr_and_never_invents_one() -> None:
    with pytest.raises(ModelDomainError, match="explicit maintenance margin rate"):
        theta_f_for("okx", "BTC", l_max=100.0)
    with pytest.raises(ModelDomainError, match="no documented max leverage"):
        theta_f_for("okx", "BTC")
    theta, lmax = theta_f_for("okx", "BTC", theta_f=0.004)
    assert theta == 0.004 and lmax != lmax  # L_max unknown (NaN), not guessed


def test_paper_venues_unchanged() -> None:
    assert theta_f_for("hyperliquid", "BTC") == (pytest.approx(1 / 80), 40.0)
    assert theta_f_for("binance", "BTC") == (pytest.approx(1 / 125), 125.0)


def test_registry_has_one_row_per_venue_with_a_working_downloader() -> None:
    assert set(REGISTRY) == set(ALL_VENUES)
    for name in ALL_VENUES:
        assert check_venue(name.upper()) == name
        spec = get_venue(name)
        c = spec.client(base_url="http://127.0.0.1:9")
        assert hasattr(c, "funding_history")
        c.close()
        assert spec.funding_docs.startswith("https://") and spec.margin_docs.startswith("https://")


@pytest.mark.needs_data
def test_static_bands_and_backtest_accept_the_new_venues(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    import pandas as pd

    ts = pd.date_range("2025-01-01", periods=24 * 400, freq="h", tz="UTC") + pd.Timedelta(hours=1)
    f = tmp_path / "funding.csv"
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "ts_ms": (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1), "rate": 1e-5,
                  "interval_hours": 1.0}).to_csv(f, index=False)
    base = [sys.executable, "-m", "basisctl.cli.main"]
    common = ["--asset", "BTC", "--funding-file", str(f), "--asof", "2026-01-01", "--json"]
    r = subprocess.run([*base, "static", "--venue", "dydx", *common], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["theta_f"] == pytest.approx(0.012)
    r = subprocess.run([*base, "bands", "--venue", "kraken", *common], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["theta_f"] == pytest.approx(0.01)
    r = subprocess.run([*base, "static", "--venue", "okx", *common], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--theta-f" in r.stderr
    r = subprocess.run([*base, "backtest", "--asset", "BTC", "--venue", "dydx", "--from", "2025-06-01", "--to",
                        "2025-07-01", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["theta_f"] == pytest.approx(0.012)
