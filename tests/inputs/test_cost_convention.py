"""Issue 10 item 5: one cost convention on both sides, C_s(q) [bps] = USD lost vs mid / USD notional q.

The reference is an independent walk of the real Uniswap v3 USDC/WETH 0.05 % snapshot in ../shared/data (meta +
ticks CSV read here with the stdlib, Decimal arithmetic, the whitepaper's in-range formulas
Δ(1/√P) = Δx / L and Δ√P = Δy / L, fee taken from the input, liquidityNet added when a tick is crossed).
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

from basisctl.execution.costs import UniswapV3SpotLeg
from basisctl.execution.uniswap_v3 import load_pool_snapshot

getcontext().prec = 60
pytestmark = pytest.mark.needs_data
Q = 10_000_000.0  # $10M


def _snapshot(real: Path) -> tuple[dict, list[tuple[int, int]]]:
    d = real / "liquidity" / "uniswap_v3"
    meta = json.loads((d / "USDC_WETH_0p05_mainnet.meta.json").read_text())
    with open(d / "USDC_WETH_0p05_mainnet_ticks.csv") as f:
        ticks = [(int(r["tickIdx"]), int(Decimal(r["liquidityNet"]))) for r in csv.DictReader(f)
                 if int(Decimal(r["liquidityGross"])) > 0]
    return meta, sorted(ticks)


def _sqrt_at(tick: int) -> Decimal:
    return Decimal("1.0001") ** (Decimal(tick) / 2)


def _walk(meta: dict, ticks: list[tuple[int, int]], amount_in: Decimal, zero_for_one: bool) -> Decimal:
    """Output amount [raw units] of an exact-in swap, walking initialised ticks in Decimal."""
    s = Decimal(int(meta["sqrtPriceX96"])) / Decimal(2) ** 96
    liq = Decimal(int(meta["liquidity"]))
    rem = amount_in * (1 - Decimal(int(meta["feeTier"])) / Decimal(1_000_000))
    cur = int(meta["currentTick"])
    out = Decimal(0)
    path = [t for t in reversed(ticks) if t[0] <= cur] if zero_for_one else [t for t in ticks if t[0] > cur]
    for tick, net in path:
        s_next = _sqrt_at(tick)
        if zero_for_one:  # token0 in, sqrtP falls
            need = liq * (1 / s_next - 1 / s)
            if rem <= need:
                s_new = 1 / (1 / s + rem / liq)
                return out + liq * (s - s_new)
            out += liq * (s - s_next)
            liq -= net
        else:  # token1 in, sqrtP rises
            need = liq * (s_next - s)
            if rem <= need:
                s_new = s + rem / liq
                return out + liq * (1 / s - 1 / s_new)
            out += liq * (1 / s - 1 / s_next)
            liq += net
        rem -= need
        s = s_next
    raise AssertionError("the pool cannot fill the trade")


@pytest.fixture(scope="module")
def pool(real: Path):  # type: ignore[no-untyped-def]
    d = real / "liquidity" / "uniswap_v3"
    return load_pool_snapshot(d / "USDC_WETH_0p05_mainnet.meta.json", d / "USDC_WETH_0p05_mainnet_ticks.csv")


def test_ten_million_both_sides_are_usd_lost_over_notional(real: Path, pool) -> None:  # type: ignore[no-untyped-def]
    meta, ticks = _snapshot(real)
    s0 = Decimal(int(meta["sqrtPriceX96"])) / Decimal(2) ** 96
    mid_usd = 1 / (s0 * s0 * Decimal(10) ** (6 - 18))  # USDC per WETH (USDC = token0, 6 decimals)
    # buy-basis: $10M of USDC in, WETH out; USD lost = q - WETH received x mid
    weth = _walk(meta, ticks, Decimal(Q) * 10**6, zero_for_one=True) / Decimal(10) ** 18
    buy_bps = float((Decimal(Q) - weth * mid_usd) / Decimal(Q) * 10_000)
    # sell-basis: WETH worth $10M at mid in, USDC out; USD lost = q - USDC received
    usdc = _walk(meta, ticks, Decimal(Q) / mid_usd * 10**18, zero_for_one=False) / Decimal(10) ** 6
    sell_bps = float((Decimal(Q) - usdc) / Decimal(Q) * 10_000)

    leg = UniswapV3SpotLeg(pool, "WETH")
    assert float(leg.mid_usd) == pytest.approx(float(mid_usd), rel=1e-12)
    assert float(leg.cost_bps("buy-basis", Q)[0]) == pytest.approx(buy_bps, abs=0.05)
    assert float(leg.cost_bps("sell-basis", Q)[0]) == pytest.approx(sell_bps, abs=0.05)
    assert leg.exact("buy-basis", Q)[0] == pytest.approx(buy_bps, abs=0.05)
    assert leg.exact("sell-basis", Q)[0] == pytest.approx(sell_bps, abs=0.05)
    # the old buy-side reading (average price / mid - 1) differs: 1 / (1 - c) - 1, about 1004 vs 912 bps
    old = (1 / (1 - buy_bps / 1e4) - 1) * 1e4
    assert old - buy_bps > 50
    # cost x q is the USD that leaves the book on both sides
    assert buy_bps / 1e4 * Q == pytest.approx(Q - float(weth * mid_usd), rel=1e-6)
    assert sell_bps / 1e4 * Q == pytest.approx(Q - float(usdc), rel=1e-6)
