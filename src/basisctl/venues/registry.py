"""The venue registry: one row per venue folder with its margin rule, funding cadence, downloader and documentation.

A new venue is one folder ``venues/<name>/`` (its ``SPEC`` row in ``__init__.py``, its downloader in ``fetch.py``)
plus one :func:`register` line below; code that needs per-venue behaviour looks the row up instead of branching
on the venue name. A folder outside the package (a plugin, a test fixture) joins with ``register("pkg.path")``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from basisctl.data.locator import register_downloads
from basisctl.errors import BasisctlError
from basisctl.venues.spec import VenueSpec

REGISTRY: dict[str, VenueSpec] = {}


def register(folder: str | ModuleType) -> VenueSpec:
    """Add the ``SPEC`` row of a venue folder (a package, or its dotted name) to the registry and its
    downloadable kinds to the data locator's ``basisctl data fetch`` hints; registering the same row twice is a
    no-op, a different row under a taken name an error."""
    mod = importlib.import_module(folder) if isinstance(folder, str) else folder
    spec = getattr(mod, "SPEC", None)
    if not isinstance(spec, VenueSpec):
        raise BasisctlError(f"venue folder {mod.__name__}: expected a module-level SPEC = VenueSpec(...)")
    if REGISTRY.get(spec.name, spec) != spec:
        raise BasisctlError(f"venue '{spec.name}' is registered twice with different rows ({mod.__name__})")
    REGISTRY[spec.name] = spec
    register_downloads(spec.name, spec.downloads)
    return spec


# one line per venue folder (order = display order)
register("basisctl.venues.hyperliquid")
register("basisctl.venues.binance")
register("basisctl.venues.bybit")
register("basisctl.venues.okx")
register("basisctl.venues.dydx")
register("basisctl.venues.kraken")


def downloaders(kind: str) -> tuple[str, ...]:
    """Registry venues whose downloader serves ``kind`` (funding | candles | mark | meta), in registry order."""
    return tuple(v for v, s in REGISTRY.items() if kind in s.downloads)


def venue_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get_venue(name: str) -> VenueSpec:
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise BasisctlError(f"unknown venue '{name}': expected one of {', '.join(REGISTRY)}") from None
