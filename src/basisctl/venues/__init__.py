"""Venues as rows in a registry (margin rule, funding cadence, downloader) and venue choice (DataFrames)."""

from basisctl.venues.choice import KEYS, rebalance_cost_apy, venue_table
from basisctl.venues.registry import REGISTRY, VenueSpec, get_venue, venue_names

__all__ = ["KEYS", "REGISTRY", "VenueSpec", "get_venue", "rebalance_cost_apy", "venue_names", "venue_table"]
