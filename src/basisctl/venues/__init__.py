"""Venues as rows in a registry (margin rule, funding cadence, downloader) and venue choice."""

from basisctl.venues.registry import REGISTRY, VenueSpec, get_venue, venue_names

__all__ = ["REGISTRY", "VenueSpec", "get_venue", "venue_names"]
