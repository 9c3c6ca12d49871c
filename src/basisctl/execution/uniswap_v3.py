"""Uniswap v3 swap simulator over a pool's tick liquidity: exact integer (Q64.96) path plus a float fast path.

The exact path follows the v3-core contracts step by step in Python integers: ``TickMath.getSqrtRatioAtTick``
(the Solidity constants), ``SqrtPriceMath`` (rounding directions as on chain), ``SwapMath.computeSwapStep``
(fee taken from the input) and ``UniswapV3Pool.swap`` (steps bounded by the next initialised tick *within one
bitmap word*, ``liquidityNet`` applied when crossing an initialised tick, negated for zeroForOne). Amounts are
token base units (USDC 6 decimals, WETH 18). The protocol fee is not modelled: it splits the LP fee between LPs
and the protocol and does not change what the trader pays or receives.

The float path (:class:`FloatSwapCurve`) prices many input sizes at once with the closed forms
Δ√P = Δy / L (token1 in) and Δ(1/√P) = Δx / L (token0 in) on precomputed segments between initialised ticks,
with the fee applied as ``net = gross · (1 − fee)``. It agrees with the exact path to float precision plus the
exact path's per-step rounding (a few base units per step); see ``tests/execution/test_uniswap_v3.py``.
"""

from __future__ import annotations

import bisect
import csv
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from basisctl.errors import BasisctlError, DataValidationError, ModelDomainError, ValidationIssue

MIN_TICK: int = -887272
MAX_TICK: int = 887272
MIN_SQRT_RATIO: int = 4295128739
MAX_SQRT_RATIO: int = 1461446703485210103287273052203988822378723970342
Q96: int = 1 << 96
Q128: int = 1 << 128
MAX_UINT256: int = (1 << 256) - 1
MAX_UINT160: int = (1 << 160) - 1
FEE_DENOMINATOR: int = 1_000_000

#: TickMath factors 2^128 / sqrt(1.0001)^(2^i), i = 0..19 (v3-core TickMath.sol).
_TICK_FACTORS: tuple[int, ...] = (
    0xFFFCB933BD6FAD37AA2D162D1A594001,
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)


class SwapError(BasisctlError):
    """A swap that the pool contract would reject (bad limit, zero amount, liquidity underflow)."""


# ----------------------------------------------------------------------------------------------- FullMath
def mul_div(a: int, b: int, d: int) -> int:
    """floor(a·b/d) for non-negative integers (FullMath.mulDiv, no 512-bit overflow in Python)."""
    return (a * b) // d


def mul_div_rounding_up(a: int, b: int, d: int) -> int:
    """ceil(a·b/d) for non-negative integers (FullMath.mulDivRoundingUp)."""
    return -((-(a * b)) // d)


def div_rounding_up(a: int, b: int) -> int:
    """ceil(a/b) for non-negative integers (UnsafeMath.divRoundingUp)."""
    return -((-a) // b)


# ----------------------------------------------------------------------------------------------- TickMath
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) · 2^96 exactly as TickMath.getSqrtRatioAtTick (rounded up from Q128.128)."""
    if not MIN_TICK <= tick <= MAX_TICK:
        raise ModelDomainError(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    abs_tick = -tick if tick < 0 else tick
    ratio = _TICK_FACTORS[0] if abs_tick & 1 else Q128
    for bit in range(1, 20):
        if abs_tick & (1 << bit):
            ratio = (ratio * _TICK_FACTORS[bit]) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Greatest tick t with getSqrtRatioAtTick(t) <= sqrt_price_x96 (TickMath.getTickAtSqrtRatio semantics).

    Solved by bisection on the exact forward map, which defines the same tick as the contract's log2 method.
    """
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise ModelDomainError(f"sqrtPriceX96 {sqrt_price_x96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    lo, hi = MIN_TICK, MAX_TICK  # invariant: ratio(lo) <= s < ratio(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if get_sqrt_ratio_at_tick(mid) <= sqrt_price_x96:
            lo = mid
        else:
            hi = mid
    return lo


# ------------------------------------------------------------------------------------------ SqrtPriceMath
def next_sqrt_price_from_amount0_rounding_up(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """New sqrt price after adding (``add``) or removing token0 ``amount`` at liquidity L, rounded up."""
    if amount == 0:
        return sqrt_p
    numerator1 = liquidity << 96
    product = amount * sqrt_p
    if add:
        if product <= MAX_UINT256:
            denominator = numerator1 + product
            if denominator <= MAX_UINT256:
                return mul_div_rounding_up(numerator1, sqrt_p, denominator)
        return div_rounding_up(numerator1, numerator1 // sqrt_p + amount)
    if product > MAX_UINT256 or numerator1 <= product:
        raise SwapError("token0 output exceeds the virtual reserves of the range")
    return mul_div_rounding_up(numerator1, sqrt_p, numerator1 - product)


def next_sqrt_price_from_amount1_rounding_down(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """New sqrt price after adding (``add``) or removing token1 ``amount`` at liquidity L, rounded down."""
    if add:
        quotient = (amount << 96) // liquidity
        out = sqrt_p + quotient
        if out > MAX_UINT160:
            raise SwapError("sqrt price overflows uint160")
        return out
    quotient = div_rounding_up(amount << 96, liquidity)
    if sqrt_p <= quotient:
        raise SwapError("token1 output exceeds the virtual reserves of the range")
    return sqrt_p - quotient


def next_sqrt_price_from_input(sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise SwapError("next price from input needs sqrt price > 0 and liquidity > 0")
    if zero_for_one:
        return next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_in, True)
    return next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_in, True)


def next_sqrt_price_from_output(sqrt_p: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise SwapError("next price from output needs sqrt price > 0 and liquidity > 0")
    if zero_for_one:
        return next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_out, False)
    return next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_out, False)


def amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """token0 between two sqrt prices: L·(√B − √A)/(√A·√B) [token0 base units]."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if sqrt_a <= 0:
        raise SwapError("sqrt price must be > 0")
    numerator1 = liquidity << 96
    numerator2 = sqrt_b - sqrt_a
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """token1 between two sqrt prices: L·(√B − √A) [token1 base units]."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b - sqrt_a, Q96)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


# ----------------------------------------------------------------------------------------------- SwapMath
def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> tuple[int, int, int, int]:
    """SwapMath.computeSwapStep. ``amount_remaining`` > 0: exact input left; < 0: exact output left.

    Returns (sqrt_next, amount_in, amount_out, fee_amount) [Q64.96, base units of input/output/input].
    """
    zero_for_one = sqrt_current >= sqrt_target
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0
    if exact_in:
        remaining_less_fee = mul_div(amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR)
        amount_in = (amount0_delta(sqrt_target, sqrt_current, liquidity, True) if zero_for_one
                     else amount1_delta(sqrt_current, sqrt_target, liquidity, True))
        if remaining_less_fee >= amount_in:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_input(sqrt_current, liquidity, remaining_less_fee, zero_for_one)
    else:
        amount_out = (amount1_delta(sqrt_target, sqrt_current, liquidity, False) if zero_for_one
                      else amount0_delta(sqrt_current, sqrt_target, liquidity, False))
        if -amount_remaining >= amount_out:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_output(sqrt_current, liquidity, -amount_remaining, zero_for_one)
    reached = sqrt_target == sqrt_next
    if zero_for_one:
        if not (reached and exact_in):
            amount_in = amount0_delta(sqrt_next, sqrt_current, liquidity, True)
        if not (reached and not exact_in):
            amount_out = amount1_delta(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not (reached and exact_in):
            amount_in = amount1_delta(sqrt_current, sqrt_next, liquidity, True)
        if not (reached and not exact_in):
            amount_out = amount0_delta(sqrt_current, sqrt_next, liquidity, False)
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining
    if exact_in and sqrt_next != sqrt_target:
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)
    return sqrt_next, amount_in, amount_out, fee_amount


# ------------------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Token:
    symbol: str
    decimals: int
    address: str = ""


@dataclass(frozen=True)
class SwapResult:
    """Outcome of one simulated swap. Amounts in base units of the input / output token.

    ``amount_in`` includes the LP fee (``fee_paid``). ``complete`` is False when the pool ran out of liquidity
    (or hit the price limit) before the specified amount was filled.
    """

    zero_for_one: bool
    exact_input: bool
    amount_in: int
    amount_out: int
    fee_paid: int
    sqrt_price_before_x96: int
    sqrt_price_after_x96: int
    tick_after: int
    liquidity_after: int
    steps: int
    ticks_crossed: int
    complete: bool


@dataclass
class V3Pool:
    """A Uniswap v3 pool state: price, active liquidity, initialised ticks with their liquidityNet.

    ``ticks`` must be sorted, multiples of ``tick_spacing``, and hold only initialised ticks (liquidityGross > 0).
    ``fee_pips`` is the fee in hundredths of a bp (500 = 0.05%).
    """

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee_pips: int
    tick_spacing: int
    ticks: list[int]
    liquidity_net: dict[int, int]
    token0: Token = field(default_factory=lambda: Token("TOKEN0", 18))
    token1: Token = field(default_factory=lambda: Token("TOKEN1", 18))
    pool_id: str = ""
    source: str = ""
    _compressed: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.fee_pips < FEE_DENOMINATOR:
            raise ModelDomainError(f"fee_pips must be in [0, 1e6) (got {self.fee_pips})")
        if self.tick_spacing <= 0:
            raise ModelDomainError("tick_spacing must be > 0")
        if any(t % self.tick_spacing for t in self.ticks):
            raise ModelDomainError("every initialised tick must be a multiple of tick_spacing")
        if any(b <= a for a, b in zip(self.ticks, self.ticks[1:], strict=False)):
            raise ModelDomainError("initialised ticks must be strictly increasing")
        if self.liquidity < 0:
            raise ModelDomainError("liquidity must be >= 0")
        self._compressed = [t // self.tick_spacing for t in self.ticks]

    # -------------------------------------------------------------------------------- tick bitmap emulation
    def next_initialized_tick_within_one_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        """TickBitmap.nextInitializedTickWithinOneWord over the sorted list of initialised ticks."""
        sp = self.tick_spacing
        compressed = tick // sp  # floor, as the contract's decrement for negative non-multiples
        comp = self._compressed
        if lte:
            word_start = compressed - (compressed & 255)
            i = bisect.bisect_right(comp, compressed) - 1
            if i >= 0 and comp[i] >= word_start:
                return comp[i] * sp, True
            return word_start * sp, False
        c1 = compressed + 1
        word_end = c1 + (255 - (c1 & 255))
        i = bisect.bisect_left(comp, c1)
        if i < len(comp) and comp[i] <= word_end:
            return comp[i] * sp, True
        return word_end * sp, False

    # ---------------------------------------------------------------------------------------------- swap
    def swap(self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int | None = None) -> SwapResult:
        """UniswapV3Pool.swap without state change. ``amount_specified`` > 0: exact input; < 0: exact output.

        Default price limit: the extreme allowed by the contract (MIN_SQRT_RATIO + 1 / MAX_SQRT_RATIO − 1).
        """
        if amount_specified == 0:
            raise SwapError("amount_specified must be non-zero")
        limit = sqrt_price_limit_x96
        if limit is None:
            limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        if zero_for_one and not (MIN_SQRT_RATIO < limit < self.sqrt_price_x96):
            raise SwapError("zeroForOne price limit must lie in (MIN_SQRT_RATIO, current price)")
        if not zero_for_one and not (self.sqrt_price_x96 < limit < MAX_SQRT_RATIO):
            raise SwapError("oneForZero price limit must lie in (current price, MAX_SQRT_RATIO)")
        exact_in = amount_specified > 0
        remaining = amount_specified
        calculated = 0
        sqrt_p, tick, liq = self.sqrt_price_x96, self.tick, self.liquidity
        fee_total = steps = crossed = 0
        while remaining != 0 and sqrt_p != limit:
            start = sqrt_p
            tick_next, initialized = self.next_initialized_tick_within_one_word(tick, zero_for_one)
            tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
            sqrt_next_tick = get_sqrt_ratio_at_tick(tick_next)
            target = limit if (sqrt_next_tick < limit if zero_for_one else sqrt_next_tick > limit) else sqrt_next_tick
            sqrt_p, a_in, a_out, fee = compute_swap_step(sqrt_p, target, liq, remaining, self.fee_pips)
            steps += 1
            fee_total += fee
            if exact_in:
                remaining -= a_in + fee
                calculated -= a_out
            else:
                remaining += a_out
                calculated += a_in + fee
            if sqrt_p == sqrt_next_tick:
                if initialized:
                    net = self.liquidity_net.get(tick_next, 0)
                    liq += -net if zero_for_one else net
                    crossed += 1
                    if liq < 0:
                        raise SwapError(
                            f"liquidity underflow ({liq}) after crossing tick {tick_next}: the snapshot's "
                            "liquidityNet values are inconsistent with its active liquidity")
                tick = tick_next - 1 if zero_for_one else tick_next
            elif sqrt_p != start:
                tick = get_tick_at_sqrt_ratio(sqrt_p)
        if exact_in:
            amount_in, amount_out = amount_specified - remaining, -calculated
        else:
            amount_in, amount_out = calculated, -(amount_specified - remaining)
        return SwapResult(zero_for_one, exact_in, amount_in, amount_out, fee_total, self.sqrt_price_x96, sqrt_p,
                          tick, liq, steps, crossed, remaining == 0)

    def swap_exact_in(self, zero_for_one: bool, amount_in: int) -> SwapResult:
        """Sell exactly ``amount_in`` base units of the input token (fee included)."""
        if amount_in <= 0:
            raise SwapError(f"amount_in must be > 0 (got {amount_in})")
        return self.swap(zero_for_one, int(amount_in))

    def swap_exact_out(self, zero_for_one: bool, amount_out: int) -> SwapResult:
        """Buy exactly ``amount_out`` base units of the output token."""
        if amount_out <= 0:
            raise SwapError(f"amount_out must be > 0 (got {amount_out})")
        return self.swap(zero_for_one, -int(amount_out))

    # ---------------------------------------------------------------------------------------- price views
    def raw_price(self) -> float:
        """token1 per token0 in base units: (sqrtPriceX96 / 2^96)^2."""
        return (self.sqrt_price_x96 / Q96) ** 2

    def price_of(self, base_symbol: str) -> float:
        """Mid price of ``base_symbol`` in units of the other token (decimals applied) [quote per base]."""
        p01 = self.raw_price() * 10.0 ** (self.token0.decimals - self.token1.decimals)  # token1 per token0
        if base_symbol == self.token1.symbol:
            return 1.0 / p01
        if base_symbol == self.token0.symbol:
            return p01
        raise ModelDomainError(f"{base_symbol} is not a token of pool {self.pool_id or '?'}")

    def float_curve(self) -> FloatSwapCurve:
        return FloatSwapCurve.from_pool(self)


# ------------------------------------------------------------------------------------------- float path
@dataclass(frozen=True)
class _Segments:
    sqrt_start: NDArray[np.float64]  # sqrt price (raw, not X96) at the start of each segment
    liquidity: NDArray[np.float64]
    cum_in: NDArray[np.float64]  # net (after-fee) input needed to reach the start of each segment
    cum_out: NDArray[np.float64]


@dataclass(frozen=True)
class FloatSwapCurve:
    """Vectorised float64 exact-input pricing of a v3 pool (the fast path for size sweeps)."""

    fee: float
    down: _Segments  # zeroForOne (token0 in, price falls)
    up: _Segments  # oneForZero (token1 in, price rises)

    @classmethod
    def from_pool(cls, pool: V3Pool) -> FloatSwapCurve:
        s0 = pool.sqrt_price_x96 / Q96
        return cls(pool.fee_pips / FEE_DENOMINATOR, _build(pool, s0, True), _build(pool, s0, False))

    def exact_in(self, zero_for_one: bool, amount_in: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Output [base units] for gross inputs [base units]; second array: filled fully (liquidity sufficed)."""
        a = np.asarray(amount_in, dtype=np.float64)
        net = np.floor(a * (1.0 - self.fee))  # the contract floors the fee-less input to whole base units
        seg = self.down if zero_for_one else self.up
        n_seg = seg.sqrt_start.size
        k = np.clip(np.searchsorted(seg.cum_in[:n_seg], net, side="right") - 1, 0, n_seg - 1)
        rem = net - seg.cum_in[k]
        s, lq = seg.sqrt_start[k], seg.liquidity[k]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if zero_for_one:  # 1/s1 = 1/s + dx/L ; dy = L (s - s1)
                s1 = lq * s / (lq + rem * s)
                out = lq * (s - s1)
            else:  # s1 = s + dy/L ; dx = L (1/s - 1/s1)
                s1 = s + rem / lq
                out = lq * (1.0 / s - 1.0 / s1)
        out = np.where(lq > 0, seg.cum_out[k] + out, seg.cum_out[k])
        complete = net <= seg.cum_in[-1]
        out = np.where(complete, out, seg.cum_out[-1])
        return out, complete


def _build(pool: V3Pool, s0: float, zero_for_one: bool) -> _Segments:
    """Segments between consecutive initialised ticks from the current price to the price extreme.

    ``cum_in``/``cum_out`` have one more entry than segments: the totals at the extreme price.
    """
    liq = pool.liquidity
    if zero_for_one:
        bounds = [t for t in reversed(pool.ticks) if t <= pool.tick]
        extreme = MIN_SQRT_RATIO / Q96
    else:
        bounds = [t for t in pool.ticks if t > pool.tick]
        extreme = MAX_SQRT_RATIO / Q96
    starts, liqs, cin, cout = [s0], [float(liq)], [0.0], [0.0]
    ends = [get_sqrt_ratio_at_tick(t) / Q96 for t in bounds] + [extreme]
    s = s0
    ci = co = 0.0
    for j, sb in enumerate(ends):
        lf = liqs[-1]
        if zero_for_one:
            ci += lf * (1.0 / sb - 1.0 / s)
            co += lf * (s - sb)
        else:
            ci += lf * (sb - s)
            co += lf * (1.0 / s - 1.0 / sb)
        cin.append(ci)
        cout.append(co)
        if j < len(bounds):
            net = pool.liquidity_net.get(bounds[j], 0)
            liq = max(liq + (-net if zero_for_one else net), 0)
            starts.append(sb)
            liqs.append(float(liq))
        s = sb
    return _Segments(np.array(starts), np.array(liqs), np.array(cin), np.array(cout))


# ---------------------------------------------------------------------------------------------- snapshots
def _parse_int(text: str, path: str, row: int, column: str) -> int:
    """Integer from CSV text. Plain integers are exact; scientific notation (the source stored some values as
    float64) is converted from its exact decimal value, e.g. '2.9651014881301328e+19' -> 29651014881301328000."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise DataValidationError(path, [ValidationIssue(row, column, "an integer", repr(text))]) from None
    if not d.is_finite() or d != d.to_integral_value():
        raise DataValidationError(path, [ValidationIssue(row, column, "an integer", repr(text))])
    return int(d)


def load_pool_snapshot(meta_path: str | Path, ticks_path: str | Path | None = None,
                       tick_spacing: int | None = None) -> V3Pool:
    """Load a pool from a subgraph snapshot: ``<name>.meta.json`` and ``<name>_ticks.csv`` (tickIdx,
    liquidityNet, liquidityGross). Checks that currentTick agrees with sqrtPriceX96 and that the active
    liquidity implied by the ticks matches the meta's ``liquidity`` (to the float64 precision of the source)."""
    meta_path = Path(meta_path)
    mp = str(meta_path)
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise DataValidationError(mp, [ValidationIssue(None, None, "valid JSON", str(e))]) from None
    if ticks_path is None:
        name = meta_path.name
        stem = name[: -len(".meta.json")] if name.endswith(".meta.json") else meta_path.stem
        ticks_path = meta_path.with_name(f"{stem}_ticks.csv")
    ticks_path = Path(ticks_path)
    issues: list[ValidationIssue] = []
    for key in ("feeTier", "currentTick", "liquidity", "sqrtPriceX96", "token0", "token1"):
        if key not in meta:
            issues.append(ValidationIssue(None, key, "a field in the pool meta JSON", "missing"))
    if issues:
        raise DataValidationError(mp, issues)
    fee = _parse_int(str(meta["feeTier"]), mp, 0, "feeTier")
    spacing = tick_spacing or {100: 1, 500: 10, 3000: 60, 10000: 200}.get(fee)
    if spacing is None:
        raise DataValidationError(mp, [ValidationIssue(None, "feeTier", "100, 500, 3000 or 10000 "
                                                       "(or pass tick_spacing)", str(fee))])
    sqrt_p = _parse_int(str(meta["sqrtPriceX96"]), mp, 0, "sqrtPriceX96")
    tick = _parse_int(str(meta["currentTick"]), mp, 0, "currentTick")
    liquidity = _parse_int(str(meta["liquidity"]), mp, 0, "liquidity")
    implied = get_tick_at_sqrt_ratio(sqrt_p)
    if implied != tick:
        raise DataValidationError(mp, [ValidationIssue(None, "currentTick",
                                                       f"the tick implied by sqrtPriceX96 ({implied})", str(tick))])
    tp = str(ticks_path)
    ticks: list[int] = []
    nets: dict[int, int] = {}
    with ticks_path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"tickIdx", "liquidityNet", "liquidityGross"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise DataValidationError(tp, [ValidationIssue(None, None, f"columns {sorted(need)}",
                                                           str(reader.fieldnames))])
        for i, r in enumerate(reader):
            t = _parse_int(r["tickIdx"], tp, i, "tickIdx")
            net = _parse_int(r["liquidityNet"], tp, i, "liquidityNet")
            gross = _parse_int(r["liquidityGross"], tp, i, "liquidityGross")
            if t % spacing or not MIN_TICK <= t <= MAX_TICK:
                raise DataValidationError(tp, [ValidationIssue(i, "tickIdx", f"a multiple of {spacing} in range",
                                                               str(t))])
            if abs(net) > gross:
                raise DataValidationError(tp, [ValidationIssue(i, "liquidityNet", "|liquidityNet| <= liquidityGross",
                                                               f"{net} vs {gross}")])
            if ticks and t <= ticks[-1]:
                raise DataValidationError(tp, [ValidationIssue(i, "tickIdx", "strictly increasing", str(t))])
            if gross > 0:
                ticks.append(t)
                nets[t] = net
    if not ticks:
        raise DataValidationError(tp, [ValidationIssue(None, None, "at least one initialised tick", "none")])
    implied_l = sum(n for t, n in nets.items() if t <= tick)
    tol = max(1, int(1e-12 * max(abs(v) for v in nets.values())))
    if abs(implied_l - liquidity) > tol:
        raise DataValidationError(tp, [ValidationIssue(None, "liquidityNet",
                                                       f"cumulative liquidityNet up to currentTick = meta liquidity "
                                                       f"{liquidity} (within {tol})", str(implied_l))])
    t0, t1 = meta["token0"], meta["token1"]
    return V3Pool(sqrt_p, tick, liquidity, fee, spacing, ticks, nets,
                  Token(str(t0.get("symbol", "TOKEN0")), int(t0.get("decimals", 18)), str(t0.get("id", ""))),
                  Token(str(t1.get("symbol", "TOKEN1")), int(t1.get("decimals", 18)), str(t1.get("id", ""))),
                  pool_id=str(meta.get("pool_id", "")), source=mp)
