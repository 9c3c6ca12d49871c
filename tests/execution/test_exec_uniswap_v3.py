"""Uniswap v3 simulator: TickMath, hand-computed single-range swaps, tick crossing, invariants, float path."""

from __future__ import annotations

import dataclasses
import json
import math
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basisctl.data.snapshots import default_pool
from basisctl.errors import DataValidationError
from basisctl.execution import uniswap_v3 as v3

pytestmark = pytest.mark.needs_data  # reads market data from the data dir

getcontext().prec = 80
Q96 = 2**96


@pytest.fixture(scope="module")
def eth_pool() -> v3.V3Pool:
    return default_pool("ETH")


def make_pool(positions: list[tuple[int, int, int]], tick: int = 0, fee: int = 3000, spacing: int = 10,
              sqrt_price: int | None = None) -> v3.V3Pool:
    """Pool from (lower, upper, liquidity) positions: liquidityNet +L at lower, -L at upper."""
    nets: dict[int, int] = {}
    for lo, hi, liq in positions:
        nets[lo] = nets.get(lo, 0) + liq
        nets[hi] = nets.get(hi, 0) - liq
    sp = v3.get_sqrt_ratio_at_tick(tick) if sqrt_price is None else sqrt_price
    active = sum(liq for lo, hi, liq in positions if lo <= tick < hi)
    return v3.V3Pool(sp, tick, active, fee, spacing, sorted(nets), nets)


# ------------------------------------------------------------------------------------------------ TickMath
def test_tick_factors_are_rounded_inverse_sqrt_powers() -> None:
    for i, f in enumerate(v3._TICK_FACTORS):
        exact = Decimal(2) ** 128 / (Decimal("1.0001").sqrt() ** (2**i))
        assert abs(Decimal(f) - exact) <= Decimal("0.5"), i


def test_sqrt_ratio_bounds_and_unit() -> None:
    assert v3.get_sqrt_ratio_at_tick(v3.MIN_TICK) == v3.MIN_SQRT_RATIO
    assert v3.get_sqrt_ratio_at_tick(v3.MAX_TICK) == v3.MAX_SQRT_RATIO
    assert v3.get_sqrt_ratio_at_tick(0) == Q96


@given(st.integers(min_value=-800_000, max_value=800_000))
@settings(max_examples=60, deadline=None)
def test_sqrt_ratio_matches_high_precision(t: int) -> None:
    exact = (Decimal("1.0001") ** t).sqrt() * Decimal(2) ** 96
    # rounded up to an integer from a Q128.128 product: within one unit plus 1e-18 relative
    assert abs(Decimal(v3.get_sqrt_ratio_at_tick(t)) - exact) <= 1 + exact * Decimal("1e-18")


@given(st.integers(min_value=v3.MIN_TICK + 1, max_value=v3.MAX_TICK - 1))
@settings(max_examples=40, deadline=None)
def test_tick_at_sqrt_ratio_inverts(t: int) -> None:
    s = v3.get_sqrt_ratio_at_tick(t)
    assert v3.get_tick_at_sqrt_ratio(s) == t
    assert v3.get_tick_at_sqrt_ratio(s - 1) == t - 1


# ------------------------------------------------------------------------------------------ shipped snapshot
def test_shipped_snapshot_consistent(eth_pool: v3.V3Pool) -> None:
    meta = json.loads((v3.Path(eth_pool.source)).read_text())
    s = Decimal(meta["sqrtPriceX96"]) / Decimal(2) ** 96
    raw = s * s  # WETH wei per USDC unit
    usdc_per_eth = Decimal(10) ** 12 / raw
    assert eth_pool.price_of("WETH") == pytest.approx(float(usdc_per_eth), rel=1e-12)
    assert 2900 < float(usdc_per_eth) < 3000  # data README: ~2,949 USDC/ETH
    assert math.floor(math.log(float(raw)) / math.log(1.0001)) == meta["currentTick"] == eth_pool.tick
    assert eth_pool.tick_spacing == 10 and eth_pool.fee_pips == 500
    assert eth_pool.token0.symbol == "USDC" and eth_pool.token1.decimals == 18


def test_scientific_notation_liquidity_parsed_exactly() -> None:
    assert v3._parse_int("2.9651014881301328e+19", "f", 0, "liquidityNet") == 29651014881301328000
    assert v3._parse_int("-18926220937820924", "f", 0, "liquidityNet") == -18926220937820924
    with pytest.raises(DataValidationError, match=r"row 3, column 'liquidityNet'"):
        v3._parse_int("1.5", "f", 3, "liquidityNet")


def test_bad_snapshot_files_name_row_and_column(tmp_path, eth_pool: v3.V3Pool) -> None:
    meta = json.loads(v3.Path(eth_pool.source).read_text())
    bad_meta = dict(meta, currentTick=meta["currentTick"] + 5)
    (tmp_path / "p.meta.json").write_text(json.dumps(bad_meta))
    (tmp_path / "p_ticks.csv").write_text("tickIdx,liquidityNet,liquidityGross\n0,1,1\n")
    with pytest.raises(DataValidationError, match="currentTick"):
        v3.load_pool_snapshot(tmp_path / "p.meta.json")
    (tmp_path / "p.meta.json").write_text(json.dumps(meta))
    (tmp_path / "p_ticks.csv").write_text("tickIdx,liquidityNet,liquidityGross\n-10,5,5\n15,abc,5\n")
    with pytest.raises(DataValidationError, match=r"p_ticks.csv: row 1, column 'liquidityNet'"):
        v3.load_pool_snapshot(tmp_path / "p.meta.json")


# ------------------------------------------------------------------------------------- hand-computed swaps
L = 10**21


def test_single_range_token1_in_matches_closed_form() -> None:
    pool = make_pool([(-6000, 6000, L)])
    dy = 10**20  # moves sqrt price by ~10% of 2^96: stays inside [-6000, 6000)
    r = pool.swap_exact_in(False, dy)
    net = dy * (10**6 - 3000) // 10**6
    s0 = Fraction(pool.sqrt_price_x96, Q96)
    s1 = s0 + Fraction(net, L)  # Δ√P = Δy / L
    dx = L * (1 / s0 - 1 / s1)  # token0 out
    assert r.complete and r.amount_in == dy and r.ticks_crossed == 0
    assert 0 <= math.floor(dx) - r.amount_out <= 1
    assert abs(Fraction(r.sqrt_price_after_x96, Q96) - s1) <= Fraction(1, Q96)
    assert abs(r.fee_paid - dy * 3000 / 10**6) <= 1


def test_single_range_token0_in_matches_closed_form() -> None:
    pool = make_pool([(-6000, 6000, L)])
    dx = 10**20
    r = pool.swap_exact_in(True, dx)
    net = dx * (10**6 - 3000) // 10**6
    s0 = Fraction(pool.sqrt_price_x96, Q96)
    s1 = 1 / (1 / s0 + Fraction(net, L))  # Δ(1/√P) = Δx / L
    dy = L * (s0 - s1)
    assert r.complete and r.amount_in == dx
    assert abs(math.floor(dy) - r.amount_out) <= 1


def test_exact_out_is_consistent_with_exact_in() -> None:
    pool = make_pool([(-6000, 6000, L), (-600, 600, 3 * L)])
    for zfo in (True, False):
        want = 7 * 10**19
        r = pool.swap_exact_out(zfo, want)
        assert r.amount_out == want and r.complete
        back = pool.swap_exact_in(zfo, r.amount_in)
        assert back.amount_out >= want  # paying what exact-out asked buys at least that much
        assert pool.swap_exact_in(zfo, r.amount_in - r.amount_in // 10**6).amount_out < want


def test_crossing_a_tick_equals_two_swaps_split_at_the_tick() -> None:
    pool = make_pool([(-6000, 6000, L), (-600, 600, 3 * L)])  # initialised tick at -600 below price
    amount = 3 * 10**20
    whole = pool.swap_exact_in(True, amount)
    assert whole.ticks_crossed == 1
    tick_sqrt = v3.get_sqrt_ratio_at_tick(-600)
    first = pool.swap(True, amount, sqrt_price_limit_x96=tick_sqrt)
    assert first.sqrt_price_after_x96 == tick_sqrt and first.liquidity_after == L and not first.complete
    rest = dataclasses.replace(pool, sqrt_price_x96=first.sqrt_price_after_x96, tick=first.tick_after,
                               liquidity=first.liquidity_after)
    second = rest.swap_exact_in(True, amount - first.amount_in)
    assert first.amount_out + second.amount_out == whole.amount_out
    assert first.amount_in + second.amount_in == whole.amount_in == amount
    # independent two-range closed form: 4L down to the tick, then L
    f = Fraction(10**6 - 3000, 10**6)
    s0, st_ = Fraction(pool.sqrt_price_x96, Q96), Fraction(tick_sqrt, Q96)
    in1 = 4 * L * (1 / st_ - 1 / s0)
    out1 = 4 * L * (s0 - st_)
    s2 = 1 / (1 / st_ + (amount * f - in1) / L)
    out2 = L * (st_ - s2)
    assert abs(out1 + out2 - whole.amount_out) <= 4


def test_empty_range_is_jumped_and_exhaustion_is_reported() -> None:
    pool = make_pool([(-6000, -3000, L), (0, 600, L)], tick=10)  # gap [-3000, 0) without liquidity
    r = pool.swap_exact_in(True, 10**30)
    assert not r.complete and r.amount_out > 0
    assert r.sqrt_price_after_x96 == v3.MIN_SQRT_RATIO + 1


# ------------------------------------------------------------------------------------------ invariants
amounts_usdc = st.integers(min_value=10**6, max_value=3 * 10**13)  # $1 .. $30M


@given(a=amounts_usdc, d=st.integers(min_value=10**6, max_value=10**12))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_output_monotone_and_concave_in_input(eth_pool: v3.V3Pool, a: int, d: int) -> None:
    o0, o1, o2 = (eth_pool.swap_exact_in(True, a + k * d) for k in range(3))
    assert o0.amount_out <= o1.amount_out <= o2.amount_out
    # concavity up to integer rounding: the net input floor(a(1-fee)) and each step round by a unit of the
    # *input* token, worth up to (out/in at the best price) output units each
    unit_value = o0.amount_out // a + 1
    slack = 4 * unit_value * (o0.steps + o1.steps + o2.steps)
    assert o0.amount_out + o2.amount_out <= 2 * o1.amount_out + slack


@given(a=amounts_usdc, zfo=st.booleans())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_round_trip_never_profitable(eth_pool: v3.V3Pool, a: int, zfo: bool) -> None:
    amt = a if zfo else a * 10**12 // 3000  # ~same USD size in WETH wei when selling ETH first
    if amt <= 0:
        return
    go = eth_pool.swap_exact_in(zfo, amt)
    after = dataclasses.replace(eth_pool, sqrt_price_x96=go.sqrt_price_after_x96, tick=go.tick_after,
                                liquidity=go.liquidity_after)
    back = after.swap_exact_in(not zfo, go.amount_out)
    assert back.amount_out < go.amount_in


# ------------------------------------------------------------------------------------------- float path
@pytest.mark.parametrize("zfo", [True, False])
def test_float_path_agrees_with_exact(eth_pool: v3.V3Pool, zfo: bool) -> None:
    curve = eth_pool.float_curve()
    usd = np.geomspace(100.0, 5e7, 25)
    amounts = [int(u * 1e6) if zfo else int(u / 2948.53 * 1e18) for u in usd]
    flt, ok = curve.exact_in(zfo, np.array(amounts, dtype=float))
    for a, f, c in zip(amounts, flt, ok, strict=True):
        r = eth_pool.swap_exact_in(zfo, a)
        assert bool(c) == r.complete
        # float rounding (1e-9 relative) plus the exact path's per-step rounding of a few *input* base units,
        # each worth out/in output units
        unit_value = r.amount_out // r.amount_in + 1
        assert abs(f - r.amount_out) <= 1e-9 * r.amount_out + 4 * r.steps * unit_value, (a, f, r.amount_out)
