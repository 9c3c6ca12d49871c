"""P&L attribution (``basisctl pnl``): funding, basis, directional, fees, slippage, liquidation and transfer
buckets from their own journal sources, NAV from venue balances, the unexplained remainder on its own line, vault
flows with NAV per share and time-weighted return (:mod:`basisctl.pnl.attribution`)."""

from basisctl.pnl.attribution import BUCKETS, UNEXPLAINED_BOUND, Attribution, AttributionError, PositionPnl, attribute

__all__ = ["BUCKETS", "UNEXPLAINED_BOUND", "Attribution", "AttributionError", "PositionPnl", "attribute"]
