"""The venue protocol the controller speaks, and its plain data types (shared by every venue folder).

It sits below ``venues/`` and ``live/`` alike: a venue adapter implements it without importing the controller's
package, and ``basisctl.live.venue`` re-exports it for older imports (moved here from ``live/venue.py``, issue 21).

Units: sizes in base units of the asset [BTC], prices [USD per base unit], cash and fees [USD(C)],
times [ms since epoch, UTC]. A short perp position has negative ``perp_size``.

Every state-changing call carries an identity chosen by the caller *before* it is sent and journaled:
orders a client order id (``cloid``, 16 bytes hex as on Hyperliquid), transfers a ``nonce``. Every action also
carries ``expires_at_ms``: the venue refuses it after that time, so a request whose fate is unknown (crash,
timeout, disconnect) is either visible on the venue by its identity or provably never executes once the
venue clock has passed ``expires_at_ms``. Reconciliation (``live/reconcile.py``) relies on exactly that.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from basisctl.errors import BasisctlError

__all__ = [
    "BookSide",
    "Fill",
    "FundingPayment",
    "Market",
    "OrderRequest",
    "OrderState",
    "OrderStatus",
    "Side",
    "Transfer",
    "TransferRequest",
    "Venue",
    "VenueDataError",
    "VenueError",
    "VenueState",
    "VenueUnavailable",
    "new_cloid",
]

Market = Literal["spot", "perp"]
Side = Literal["buy", "sell"]


class VenueError(BasisctlError):
    """A venue answered with an error that is certain: the action was NOT executed (e.g. a reject)."""


class VenueUnavailable(BasisctlError):
    """Transport failure or 5xx/429: the action's outcome is UNKNOWN; resolve it by its cloid/nonce."""


class VenueDataError(VenueUnavailable):
    """A venue read lacked a field or held a malformed one: that quantity is UNKNOWN (never read as zero)."""


class OrderState(StrEnum):
    OPEN = "open"  # resting (IOC orders never rest; kept for completeness)
    FILLED = "filled"
    CANCELED = "canceled"  # possibly partially filled, remainder canceled (IOC)
    REJECTED = "rejected"


def new_cloid(prefix: str = "") -> str:
    """A fresh Hyperliquid client order id: '0x' + 32 hex chars (128 bit), the first ones ``prefix`` (the
    journal's: one controller's orders are recognisable on the account)."""
    return "0x" + prefix + secrets.token_hex(16)[len(prefix):]


@dataclass(frozen=True)
class VenueState:
    """One consistent observation of the account and the market.

    spot_base [base units], spot_usdc [USDC on the spot account], perp_size [base units, short < 0],
    perp_cash [USDC]: perp account value minus the position's mark value, so that
    perp_account_value = perp_cash + perp_size * mark_px. Prices [USD]; ts_ms: venue time of the prices.
    """

    ts_ms: int
    spot_mid: float
    mark_px: float
    oracle_px: float
    spot_base: float
    spot_usdc: float
    perp_size: float
    perp_cash: float
    max_leverage: float
    funding_rate: float = 0.0  # current predicted funding per interval [decimal, + = longs pay]

    @property
    def perp_account_value(self) -> float:
        """Perp margin account value [USDC]."""
        return self.perp_cash + self.perp_size * self.mark_px

    @property
    def spot_value(self) -> float:
        """Spot inventory value incl. idle USDC on the spot account [USD]."""
        return self.spot_base * self.spot_mid + self.spot_usdc

    @property
    def equity(self) -> float:
        """Total capital V_t = perp account value + spot value [USD]."""
        return self.perp_account_value + self.spot_value

    @property
    def alpha(self) -> float:
        """alpha_t = perp account value / total capital [fraction of capital]."""
        return self.perp_account_value / self.equity if self.equity > 0 else float("nan")

    @property
    def hedge_gap(self) -> float:
        """spot_base + perp_size [base units]: 0 when fully hedged, > 0 = long delta."""
        return self.spot_base + self.perp_size

    @property
    def unhedged_usd(self) -> float:
        """|hedge gap| valued at the spot mid [USD]."""
        return abs(self.hedge_gap) * self.spot_mid

    @property
    def leverage(self) -> float:
        """Perp notional / perp account value [x]."""
        av = self.perp_account_value
        return abs(self.perp_size) * self.mark_px / av if av > 0 else float("inf")

    @property
    def liquidation_px(self) -> float:
        """Mark price at which account value = maintenance margin (1/(2 L_max) of notional) [USD].

        For a short: cash + s*P = |s| P theta  ->  P = cash / (|s| (1 + theta)). inf when flat.
        """
        s = self.perp_size
        if s >= 0 or self.perp_cash <= 0:
            return float("inf")
        theta = 1.0 / (2.0 * self.max_leverage)
        return self.perp_cash / (abs(s) * (1.0 + theta))

    def to_dict(self) -> dict[str, float | int]:
        d: dict[str, float | int] = asdict(self)
        d.update(
            perp_account_value=self.perp_account_value,
            spot_value=self.spot_value,
            equity=self.equity,
            alpha=self.alpha,
            hedge_gap=self.hedge_gap,
            unhedged_usd=self.unhedged_usd,
            leverage=self.leverage,
            liquidation_px=self.liquidation_px,
        )
        return d


@dataclass(frozen=True)
class OrderRequest:
    """An IOC limit order. size [base units] > 0, limit_px [USD]; ``expires_at_ms`` bounds its life."""

    cloid: str
    market: Market
    side: Side
    size: float
    limit_px: float
    expires_at_ms: int
    reduce_only: bool = False


@dataclass(frozen=True)
class OrderStatus:
    """The venue's view of one order, found by cloid. filled_size [base units], avg_px [USD]."""

    cloid: str
    state: OrderState
    filled_size: float
    avg_px: float
    reason: str = ""


@dataclass(frozen=True)
class Fill:
    """One execution. fill_id is the venue's unique trade id; fee_usd >= 0 is paid by us [USDC]; fee_base >= 0
    is a fee the venue took in the base token instead (Hyperliquid spot buys pay fees in the bought token)."""

    fill_id: str
    cloid: str
    market: Market
    side: Side
    size: float
    px: float
    fee_usd: float
    ts_ms: int
    fee_base: float = 0.0
    external: str = ""  # venue-side cause of a fill we did not order: 'liquidation', 'adl', 'manual' or ''
    liq_mark_px: float | None = None  # a liquidation's mark price as the venue reports it [USD] (P&L attribution)


@dataclass(frozen=True)
class FundingPayment:
    """A funding settlement on the perp. amount_usd > 0 = received [USDC]; rate per interval [decimal]."""

    funding_id: str
    ts_ms: int
    amount_usd: float
    rate: float
    size: float
    n_samples: int = 1  # settlements aggregated in this payment (size and rate their means; amount the sum)


@dataclass(frozen=True)
class Transfer:
    """A spot<->perp USDC transfer as the venue recorded it. amount_usd > 0 [USDC].

    ``transfer_id`` is the venue's unique id of the ledger entry; ``nonce`` the action nonce when the venue
    reports it (None otherwise; reconciliation then matches amount, direction and time).
    """

    transfer_id: str
    nonce: int | None
    amount_usd: float
    to_perp: bool
    ts_ms: int


@dataclass(frozen=True)
class TransferRequest:
    nonce: int
    amount_usd: float
    to_perp: bool
    expires_at_ms: int


@dataclass
class BookSide:
    """Aggregated price levels [(px USD, size base)] best first."""

    levels: list[tuple[float, float]] = field(default_factory=list)


@runtime_checkable
class Venue(Protocol):
    """What the controller needs from a venue (simulated or real)."""

    def now_ms(self) -> int:
        """The venue's clock [ms since epoch]; for a replaying simulator, the replay time."""
        ...

    def state(self) -> VenueState: ...

    def book(self, market: Market, depth: int = 20) -> tuple[BookSide, BookSide]:
        """(bids, asks) of the spot or perp book."""
        ...

    def place_order(self, req: OrderRequest) -> OrderStatus:
        """Send an IOC order. Raises VenueError on a certain reject, VenueUnavailable on unknown outcome."""
        ...

    def order_status(self, cloid: str) -> OrderStatus | None:
        """The order with this cloid, or None if the venue never saw it."""
        ...

    def cancel(self, market: Market, cloid: str) -> None: ...

    def fills(self, since_ms: int) -> list[Fill]: ...

    def funding_payments(self, since_ms: int) -> list[FundingPayment]: ...

    def transfer(self, req: TransferRequest) -> None:
        """Move USDC between spot and perp. Same error semantics as ``place_order``."""
        ...

    def transfers(self, since_ms: int) -> list[Transfer]: ...

    def schedule_cancel(self, at_ms: int | None) -> None:
        """Dead-man's switch: cancel all open orders at ``at_ms`` unless refreshed (None clears it)."""
        ...
