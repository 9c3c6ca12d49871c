"""Venue adapters, one folder per venue (``venues/<venue>/``)."""
