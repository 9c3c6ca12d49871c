"""Hyperliquid spot + perp adapter over the documented /info and /exchange HTTP API."""
