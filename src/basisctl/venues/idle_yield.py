"""What a venue pays on idle collateral: USDC/USDT margin and spot held on the venue [APR, decimal per year].

A small self-contained mapping (kept out of the registry rows while they move into per-venue folders). None of
the venues below pays interest on perp margin or on spot balances left in the trading account: Hyperliquid
(perp margin is plain USDC; HLP/vault yield needs a deposit that leaves the margin account), Binance USD-M
(USDT margin earns nothing; BFUSD is a separate product), Bybit (unified account: no interest on collateral),
OKX (Simple Earn is a separate account), dYdX v4 (USDC in a subaccount earns nothing) and Kraken Futures.
Capital moved OFF the venue earns the alternative yield instead (:mod:`basisctl.regime.alt_yield`).
"""

from __future__ import annotations

from basisctl.errors import BasisctlError

#: venue -> APR paid on idle margin and on spot held on the venue [decimal per year]
IDLE_YIELD_APR: dict[str, float] = {
    "hyperliquid": 0.0,
    "binance": 0.0,
    "bybit": 0.0,
    "okx": 0.0,
    "dydx": 0.0,
    "kraken": 0.0,
}


def idle_yield_apr(venue: str) -> float:
    """APR the venue pays on idle margin/spot [decimal per year]; an unknown venue is an error, never 0."""
    try:
        return IDLE_YIELD_APR[venue.lower()]
    except KeyError:
        raise BasisctlError(f"unknown venue '{venue}' for the idle-margin yield: expected one of "
                            f"{', '.join(IDLE_YIELD_APR)}") from None
