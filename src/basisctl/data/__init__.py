"""Data layer: canonical schemas, the data locator, readers, validation, Parquet store and downloaders.

Frames are pandas DataFrames in the canonical schemas of :mod:`basisctl.data.schemas` (``ts`` tz-aware UTC;
candles stamped at bar open, funding at settlement; funding ``rate`` a decimal per ``interval_hours``).
"""

from basisctl.data.io import check_file, read_candles, read_funding, write_frame
from basisctl.data.locator import load_candles, load_funding, set_data_dir
from basisctl.data.store import ParquetStore
from basisctl.data.validate import ValidationReport, check_candles, check_funding

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
