"""Data layer: canonical schemas, the data locator, readers, validation, Parquet store and downloaders.

Frames are pandas DataFrames in the canonical schemas of :mod:`basisctl.data.schemas` (``ts`` tz-aware UTC;
candles stamped at bar open, funding at settlement; funding ``rate`` a decimal per ``interval_hours``).

The public names are imported on first use (PEP 562): the result cache imports :mod:`basisctl.data.locator`
for its keys, and a cache hit (``basisctl static`` on a warm cache) must not pay for pandas (docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basisctl._lazy import lazy_attributes

if TYPE_CHECKING:
    from basisctl.data.io import check_file, read_candles, read_funding, write_frame
    from basisctl.data.locator import load_candles, load_funding, set_data_dir
    from basisctl.data.store import ParquetStore
    from basisctl.data.validate import ValidationReport, check_candles, check_funding

_LAZY: dict[str, str] = {
    **dict.fromkeys(("check_file", "read_candles", "read_funding", "write_frame"), "basisctl.data.io"),
    **dict.fromkeys(("load_candles", "load_funding", "set_data_dir"), "basisctl.data.locator"),
    "ParquetStore": "basisctl.data.store",
    **dict.fromkeys(("ValidationReport", "check_candles", "check_funding"), "basisctl.data.validate"),
}

__all__ = [
    "ParquetStore",
    "ValidationReport",
    "check_candles",
    "check_file",
    "check_funding",
    "load_candles",
    "load_funding",
    "read_candles",
    "read_funding",
    "set_data_dir",
    "write_frame",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
