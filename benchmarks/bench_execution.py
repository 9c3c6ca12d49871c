"""Execution-layer timings, each against its baseline in the same run.

    .venv/bin/python benchmarks/bench_execution.py

1. Uniswap v3 spot cost sweep (64 sizes, $1k..$20M, both directions, shipped USDC/WETH pool):
   exact integer path (one swap per size) vs the float fast path (one vectorised call).
2. L2 book cost for 2,000 sizes: walk_book in a Python loop vs vectorised impact_cost_bps.
3. exec-report statistics on a 1,924-trade synthetic log (2,000 bootstrap resamples per group).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from basisctl.data.snapshots import default_pool, synthetic_book_from_depth
from basisctl.execution.analytics import execution_report, synthetic_trade_log, validate_trade_log
from basisctl.execution.orderbook import impact_cost_bps, walk_book


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main() -> None:
    pool = default_pool("ETH")
    curve = pool.float_curve()
    mid = pool.price_of("WETH")
    usd = np.geomspace(1e3, 2e7, 64)
    buy_in, sell_in = usd * 1e6, usd / mid * 1e18

    def exact() -> None:
        for a in buy_in:
            pool.swap_exact_in(True, int(a))
        for a in sell_in:
            pool.swap_exact_in(False, int(a))

    def fast() -> None:
        curve.exact_in(True, buy_in)
        curve.exact_in(False, sell_in)

    te, tf = best_of(exact, 3), best_of(fast, 20)
    print(f"v3 sweep 2x64 sizes: exact {te * 1e3:8.2f} ms | float {tf * 1e3:8.3f} ms | speed-up {te / tf:7.0f}x")

    book = synthetic_book_from_depth("ETH")
    q = np.linspace(1e3, 1.3e7, 2000)

    def loop() -> None:
        for x in q:
            walk_book(book, "sell", x / book.mid)

    def vec() -> None:
        impact_cost_bps(book, "sell", q)

    tl, tv = best_of(loop, 3), best_of(vec, 20)
    print(f"L2 walk 2000 sizes: loop {tl * 1e3:8.2f} ms | vectorised {tv * 1e3:8.3f} ms | speed-up {tl / tv:7.0f}x")

    log = validate_trade_log(synthetic_trade_log(675, 1249, seed=0))
    tr = best_of(lambda: execution_report(log, 10_000.0, 2000, 0), 3)
    print(f"exec-report stats, 1924 trades, 2000 bootstrap: {tr * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
