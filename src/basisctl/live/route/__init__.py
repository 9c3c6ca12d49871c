"""The aggregator spot route (1inch / 0x quotes, simulated on-chain settlement in paper mode): a live ``Venue``
that composes a perp venue with an aggregator swap route. A router, not a venue, so it is not under ``venues/``."""
