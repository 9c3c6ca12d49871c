"""Funding streams per (venue, asset): the user's files first (``--funding-file``), else the data directory.

Every user file goes through the shared validation (:func:`basisctl.data.io.read_funding`): percent-scaled
rates, bad intervals and the like are refused there with file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from basisctl.data import locator
from basisctl.errors import BasisctlError
from basisctl.venues.registry import get_venue, venue_names


def parse_funding_files(entries: Sequence[str], with_asset: bool = False) -> dict[tuple[str, str], Path]:
    """``VENUE=PATH`` (or ``VENUE:ASSET=PATH`` with ``with_asset``) -> {(venue, ASSET or ''): path}. A second
    entry for the same venue (and asset) is an error, never a silent override."""
    out: dict[tuple[str, str], Path] = {}
    for e in entries:
        key, sep, path = e.partition("=")
        if not sep or not path.strip() or not key.strip():
            form = "VENUE:ASSET=PATH" if with_asset else "VENUE=PATH"
            raise BasisctlError(f"--funding-file '{e}': expected {form}")
        venue, _, asset = key.partition(":")
        venue = get_venue(venue.strip()).name
        asset = asset.strip().upper()
        if with_asset and not asset:
            raise BasisctlError(f"--funding-file '{e}': expected VENUE:ASSET=PATH (which asset is this file?)")
        k = (venue, asset)
        if k in out:
            what = f"{venue} {asset}".strip()
            raise BasisctlError(f"--funding-file: two files for {what} ({out[k]} and {path.strip()}); give one")
        out[k] = Path(path.strip())
    return out


def check_files_used(files: dict[tuple[str, str], Path], assets: Sequence[str],
                     venues: Sequence[str] | None = None) -> None:
    """A ``--funding-file`` for an asset (or venue) the command does not look at is an error, never silently
    ignored: ``--funding-file hyperliquid:XRP=F`` with ``--assets BTC`` would otherwise do nothing."""
    want = {a.upper() for a in assets}
    for (venue, asset), path in files.items():
        if asset and asset not in want:
            raise BasisctlError(f"--funding-file {venue}:{asset}={path}: {asset} is not in --assets "
                                f"({', '.join(sorted(want))}); add it there or drop the file")
        if venues is not None and venue not in venues:
            raise BasisctlError(f"--funding-file {venue}{':' + asset if asset else ''}={path}: {venue} is not in "
                                f"--venues ({', '.join(venues)}); add it there or drop the file")


def load_stream(venue: str, asset: str, files: dict[tuple[str, str], Path]) -> tuple[pd.DataFrame | None, str]:
    """(funding frame or None, where it came from)."""
    from basisctl.data.io import read_funding

    path = files.get((venue, asset.upper())) or files.get((venue, ""))
    if path is not None:
        return read_funding(path), str(path)
    if locator.has_funding(venue, asset):
        return locator.load_funding(venue, asset), f"data dir funding/{venue}/{asset.upper()}"
    return None, "none"


def streams(asset: str, venues: Iterable[str] | None, files: dict[tuple[str, str], Path]
            ) -> dict[str, tuple[pd.DataFrame | None, str]]:
    return {v: load_stream(v, asset, files) for v in (venues or venue_names())}
