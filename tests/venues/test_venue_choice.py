"""Venue choice: the rebalancing-cost closed form against Monte Carlo and hand numbers, the venue table's
ranking and refusals, and the `venues` CLI end to end (keys, bad input -> exit 2 with one line)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basisctl.venues.choice import KEYS, rebalance_cost_apy, venue_row, venue_table

ASOF = pd.Timestamp("2026-03-10", tz="UTC")


def hourly(rate: float, days: float, end: pd.Timestamp = ASOF) -> pd.DataFrame:
    ts = pd.date_range(end=end, periods=int(days * 24), freq="h")
    return pd.DataFrame({"ts": ts, "rate": rate, "interval_hours": 1.0})


def test_exit_rate_matches_monte_carlo() -> None:
    sigma, a_t, a_l, a_u = 0.6, 0.2, 0.1, 0.3
    _, per_year = rebalance_cost_apy(sigma, a_t, a_l, a_u, 5.0)
    b_l = math.log(1 + (a_t - a_l) / (1 - a_t))
    b_u = -math.log(1 - (a_u - a_t) / (1 - a_t))
    rng = np.random.default_rng(0)
    dt = 1 / (365 * 24 * 12)  # 5-minute steps
    x = np.zeros(4000)
    t = np.zeros(4000)
    alive = np.ones(4000, bool)
    while alive.any():
        x[alive] += sigma * math.sqrt(dt) * rng.standard_normal(alive.sum())
        t[alive] += dt
        alive &= (x < b_l) & (x > -b_u)
    rate_per_year = 1 / t.mean()
    assert rate_per_year == pytest.approx(per_year, rel=0.05)  # discrete monitoring biases slightly low


def test_rebalance_cost_by_hand() -> None:
    # b_L = ln(1 + 0.1/0.8), b_U = -ln(1 - 0.1/0.8), symmetric phi = 0.1: cost = n * 2 * 5e-4 * 0.1
    cost, n = rebalance_cost_apy(0.5, 0.2, 0.1, 0.3, 5.0)
    b_l, b_u = math.log(1.125), -math.log(0.875)
    assert n == pytest.approx(0.25 / (b_l * b_u))
    assert cost == pytest.approx(n * 2 * 5e-4 * 0.1)


def test_net_carry_definition_and_ranking() -> None:
    f = {"hyperliquid": hourly(2e-5, 200), "dydx": hourly(1e-5, 200), "okx": None}
    tab = venue_table("BTC", f, asof=ASOF, lookback_days=180, sigma_annual=0.5)
    assert list(tab.columns) == list(KEYS)
    assert list(tab["venue"]) == ["hyperliquid", "dydx", "okx"]  # best first; no data last, unranked
    hl = tab.iloc[0]
    assert hl["kappa_bps_day"] == pytest.approx(24 * 2e-5 * 1e4)
    assert hl["share_positive"] == 1.0 and hl["data_days"] == pytest.approx(180)
    assert hl["theta_f"] == pytest.approx(1 / 80)
    assert hl["net_carry_apy"] < (1 - hl["alpha_target"]) * 24 * 2e-5 * 365  # minus a positive rebalancing cost
    assert pd.isna(tab.iloc[2]["net_carry_apy"]) and "no funding data" in tab.iloc[2]["warnings"][0]


def test_thin_data_and_missing_rule_are_stated() -> None:
    thin = venue_row("dydx", "BTC", hourly(1e-5, 20), asof=ASOF, lookback_days=180, sigma_annual=0.5)
    assert thin["net_carry_apy"] is not None and any("thin data: 20 of 180" in w for w in thin["warnings"])
    no_rule = venue_row("okx", "BTC", hourly(1e-5, 200), asof=ASOF, lookback_days=180, sigma_annual=0.5)
    assert no_rule["net_carry_apy"] is None and no_rule["kappa_bps_day"] is not None
    assert "explicit maintenance" in no_rule["warnings"][0] or "no documented" in no_rule["warnings"][0]
    with_rule = venue_row("okx", "BTC", hourly(1e-5, 200), asof=ASOF, lookback_days=180, sigma_annual=0.5,
                          theta_f=0.004)
    assert with_rule["theta_f"] == 0.004 and with_rule["net_carry_apy"] is not None


# ------------------------------------------------------------------------------------------------ CLI
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "basisctl.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=300)


def write_funding(path: Path, rate: float, days: float = 200, scale: float = 1.0) -> Path:
    f = hourly(rate * scale, days)
    pd.DataFrame({"timestamp": f["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "ts_ms": (f["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1),
                  "rate": f["rate"], "interval_hours": 1.0}).to_csv(path, index=False)
    return path


@pytest.mark.needs_data
def test_cli_venues_json_with_a_user_file(tmp_path: Path) -> None:
    p = write_funding(tmp_path / "dydx_btc.csv", 3e-5)
    r = run("venues", "--asset", "BTC", "--funding-file", f"dydx={p}", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["calibration_window"]["lookback_days"] == 180.0 and out["funding_sources"]["dydx"] == str(p)
    rows = out["venues"]
    assert all(list(row) == list(KEYS) for row in rows)
    assert rows[0]["venue"] == "dydx"  # 3e-5 per hour = 26% APR beats every shipped stream in that window
    ranked = [r["net_carry_apy"] for r in rows if r["net_carry_apy"] is not None]
    assert ranked == sorted(ranked, reverse=True)
    assert {r["venue"] for r in rows if r["net_carry_apy"] is None} == {"okx", "kraken"}


@pytest.mark.needs_data
def test_cli_duplicate_funding_file_is_an_error(tmp_path: Path) -> None:
    p = write_funding(tmp_path / "a.csv", 1e-5)
    r = run("venues", "--asset", "BTC", "--funding-file", f"dydx={p}", "--funding-file", f"DYDX={p}")
    assert r.returncode == 2 and "two files for dydx" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.needs_data
def test_cli_percent_scaled_file_is_refused_by_the_shared_validation(tmp_path: Path) -> None:
    p = write_funding(tmp_path / "pct.csv", 2e-5, scale=100.0)  # 0.002 "per hour" = 1752% APR
    r = run("venues", "--asset", "BTC", "--funding-file", f"kraken={p}")
    assert r.returncode == 2 and "pct.csv" in r.stderr and "percent" in r.stderr


@pytest.mark.needs_data
def test_cli_allocate_respects_the_caps(tmp_path: Path) -> None:
    r = run("allocate", "--capital-usd", "1000000", "--assets", "BTC,ETH,XYZ", "--max-venue-share", "0.3",
            "--max-asset-share", "0.5", "--capacity-usd", "hyperliquid:BTC=20000", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    pos = pd.DataFrame(out["positions"])
    assert list(pos.columns) == ["asset", "venue", "capital_usd", "alpha_target", "expected_apy"]
    assert (pos.groupby("venue")["capital_usd"].sum() <= 300_000 + 1e-3).all()
    assert (pos.groupby("asset")["capital_usd"].sum() <= 500_000 + 1e-3).all()
    hl = pos[(pos.asset == "BTC") & (pos.venue == "hyperliquid")]["capital_usd"]
    assert hl.empty or hl.iloc[0] <= 20_000 + 1e-6
    assert out["book_apy"] == pytest.approx((pos["capital_usd"] * pos["expected_apy"]).sum() / 1e6)
    assert any(w.startswith("XYZ: left out: no binance_perp 1h candles XYZ data") for w in out["warnings"])
