"""Compatibility re-export: the venue protocol and its value types live in :mod:`basisctl.venues.protocol`
(moved below ``venues/`` in issue 21, so that a venue folder implements it without importing ``live/``)."""

from basisctl.venues.protocol import (
    BookSide,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
    Side,
    Transfer,
    TransferRequest,
    Venue,
    VenueDataError,
    VenueError,
    VenueState,
    VenueUnavailable,
    new_cloid,
)

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
