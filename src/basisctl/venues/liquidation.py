"""Each venue's documented liquidation procedure, as the backtest kernel applies it (issue 17 item 3).

One :class:`LiquidationRule` per venue whose procedure is documented; the registry row carries it
(``VenueSpec.liquidation``) and :func:`liquidation_rule` looks it up. Parameters are fractions, not percent.

Model used by the kernel (``LIQ_BARRIER``): the whole position is closed at the liquidation price (the barrier,
or the bar open after a gap); ``fee_rate`` x notional is paid from the remaining equity; if the equity at that
price is below ``backstop_frac`` x maintenance margin the rest is forfeited, else it is returned. The perp's loss
never exceeds its margin account (the venue's insurance fund / backstop vault absorbs the rest).

Hyperliquid's partial liquidation (positions above ``partial_above_usd``: 20 % first, then a 30 s cooldown after
which the whole remaining position is sent) is NOT modelled at bar resolution: a 1 h bar whose price stays
beyond the barrier for more than 30 s liquidates the rest, so the model closes everything at P_L. A price that
reverts within 30 s would leave 80 % hedged; the model is conservative there (more naked spot, one more
re-hedge cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from basisctl.errors import BasisctlError


@dataclass(frozen=True)
class LiquidationRule:
    """A venue's documented liquidation procedure.

    ``trigger_price``: the price series the venue liquidates on (what the backtest should read; the shipped data
    has only last-trade candles, see :data:`TRADE_CANDLE_TRIGGER`); ``fee_rate``: liquidation / clearance fee
    [fraction of the liquidated notional], paid from the remaining margin (capped at it); ``backstop_frac``:
    below this fraction of maintenance margin the remaining collateral is forfeited (0 = never);
    ``partial_above_usd`` / ``partial_fraction`` / ``partial_cooldown_s``: documented partial liquidation (not
    modelled, see the module docstring); ``docs``: the pages the parameters come from.
    """

    venue: str
    trigger_price: str
    fee_rate: float
    backstop_frac: float
    remaining_collateral: str
    partial_above_usd: float | None
    partial_fraction: float | None
    partial_cooldown_s: float | None
    docs: tuple[str, ...]

    def describe(self) -> str:
        fee = f"fee {self.fee_rate:.2%} of notional" if self.fee_rate else "no liquidation fee"
        if self.backstop_frac == float("inf"):
            back = "whole remaining margin forfeited"
        elif self.backstop_frac:
            back = f"backstop below {self.backstop_frac:.4g} x maintenance forfeits the rest"
        else:
            back = "no backstop forfeit"
        return f"{self.venue}: triggered on {self.trigger_price}; {fee}; {back}; {self.remaining_collateral}"


#: what the backtest actually triggers on: the shipped data has no mark / oracle series
TRADE_CANDLE_TRIGGER = ("perp last-trade bar high (Binance perp candles): only trade candles exist in the data "
                        "dir, no mark or oracle price history, so they stand in for the venue's mark price")

HYPERLIQUID = LiquidationRule(
    venue="hyperliquid",
    trigger_price="mark price (oracle-anchored, from CEX spot prices and the book)",
    fee_rate=0.0,
    backstop_frac=2.0 / 3.0,
    remaining_collateral="market liquidation (orders to the book) returns the remaining collateral to the trader; "
                         "backstop liquidation (equity < 2/3 maintenance) transfers position and margin to the "
                         "liquidator vault",
    partial_above_usd=100_000.0,
    partial_fraction=0.2,
    partial_cooldown_s=30.0,
    docs=("https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
          "https://hyperliquid-co.gitbook.io/wiki/architecture/hypercore/dex/clearinghouse/liquidations",
          "https://docs.tings.xyz/core-mechanics/liquidations (HIP-3 copy of the Liquidations page: partial "
          "liquidation 20 % above 100k USDC, 30 s cooldown)"),
)

BINANCE = LiquidationRule(
    venue="binance",
    trigger_price="mark price",
    fee_rate=0.005,
    backstop_frac=0.0,
    remaining_collateral="remaining margin after the liquidation clearance fee stays with the trader; a bankrupt "
                         "account (negative balance) is reset to 0 by the insurance fund",
    partial_above_usd=None,
    partial_fraction=None,
    partial_cooldown_s=None,
    docs=("https://www.binance.com/en/support/faq/360033525371 (Insurance Fund: the fund collects up to 0.5 % fees "
          "from liquidations that do not end in bankruptcy; accounts below 0 are balanced back to 0)",
          "https://docs.traderwagon.com/faq/futures-trading-introduction/liquidation-protocol (Binance's "
          "Liquidation Protocol as reproduced for its copy-trading venue: liquidation fee on the amount "
          "liquidated, position closed at the bankruptcy price if still deficient)"),
)

RULES: dict[str, LiquidationRule] = {r.venue: r for r in (HYPERLIQUID, BINANCE)}

#: used (with a warning) for a venue without a documented procedure: the conservative reading, the whole
#: remaining margin at the liquidation price is forfeited (backstop_frac = inf: every liquidation is a backstop)
UNDOCUMENTED = LiquidationRule(
    venue="undocumented", trigger_price="mark price (assumed)", fee_rate=0.0, backstop_frac=float("inf"),
    remaining_collateral="no documented procedure in the registry: the whole remaining margin is assumed forfeited "
                         "(conservative)", partial_above_usd=None, partial_fraction=None, partial_cooldown_s=None,
    docs=())


class UnknownLiquidationRule(BasisctlError):
    """No documented liquidation procedure for this venue in the registry."""


def liquidation_rule(venue: str, strict: bool = False) -> LiquidationRule:
    """The documented rule of ``venue``. Without one: :data:`UNDOCUMENTED` (whole remaining margin forfeited) with
    a ``warning:`` (``strict``: an error naming the venues that have one)."""
    v = venue.lower()
    if v in RULES:
        return RULES[v]
    msg = (f"no documented liquidation procedure for venue '{venue}' in the registry (documented: "
           f"{', '.join(RULES)}): the whole remaining margin at the liquidation price is assumed forfeited")
    if strict:
        raise UnknownLiquidationRule(msg)
    from basisctl.warnings import substitute

    substitute("default_input", msg)
    return UNDOCUMENTED
