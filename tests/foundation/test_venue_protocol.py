"""The venue protocol lives below ``venues/`` (issue 21): a venue folder runs without importing ``live/``, the old
``basisctl.live.venue`` path re-exports the very same objects, and the import contract needs no exemption."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import basisctl.live.guards as guards
import basisctl.live.venue as old
import basisctl.venues.protocol as protocol

ROOT = Path(__file__).resolve().parents[2]


def test_live_venue_reexports_the_same_objects() -> None:
    assert old.__all__, "the re-export lists its names"
    for name in old.__all__:
        assert getattr(old, name) is getattr(protocol, name), name
    public = {n for n, obj in vars(protocol).items()
              if not n.startswith("_") and getattr(obj, "__module__", None) == protocol.__name__}
    assert public <= set(old.__all__), public - set(old.__all__)
    assert guards.VenueDataError is protocol.VenueDataError
    assert issubclass(protocol.VenueDataError, protocol.VenueUnavailable)


def test_a_venue_folder_imports_nothing_from_live() -> None:
    code = ("import sys, basisctl.venues.hyperliquid.adapter, basisctl.venues.hyperliquid.server, "
            "basisctl.venues.hyperliquid.models; "
            "print(sorted(m for m in sys.modules if m.startswith('basisctl.live')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert res.stdout.strip() == "[]", res.stdout


def test_import_contracts_have_no_exemptions() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    for section in cfg.sections():
        assert "ignore_imports" not in cfg[section], section
