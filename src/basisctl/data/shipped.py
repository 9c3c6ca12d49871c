"""Access to the compact Parquet datasets shipped inside the package (``basisctl/datasets``).

They are converted from ``../shared/data`` by ``scripts/build_datasets.py`` without filling or editing
values; provenance (source, span, caveats) is in ``datasets/provenance.json``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from basisctl.errors import DataCoverageError
from basisctl.model.margin import LeverageTier

ASSETS: tuple[str, ...] = ("BTC", "ETH", "LINK", "DOGE")
FUNDING_VENUES: tuple[str, ...] = ("binance", "hyperliquid", "bybit")
#: Price series used for volatility: a common mark-like perp series for both venues (paper Section VI).
VOL_PRICE_MARKET: str = "binance_perp"


def dataset_root() -> Path:
    return Path(str(resources.files("basisctl") / "datasets"))


@lru_cache(maxsize=1)
def provenance() -> list[dict[str, object]]:
    return json.loads((dataset_root() / "provenance.json").read_text())


def list_datasets() -> pd.DataFrame:
    """One row per shipped dataset: kind, venue, asset, interval, rows, first, last, sources, notes."""
    return pd.DataFrame(provenance())


def _path(rel: str) -> Path:
    p = dataset_root() / rel
    if not p.exists():
        raise DataCoverageError(f"no shipped dataset at {rel} (see `basisctl data list`)")
    return p


@lru_cache(maxsize=64)
def _read_parquet(rel: str) -> pd.DataFrame:
    return pd.read_parquet(_path(rel))


def load_funding(venue: str, asset: str) -> pd.DataFrame:
    """Shipped funding history: ts (settlement, UTC), rate (decimal per interval), interval_hours, source."""
    return _read_parquet(f"funding/{venue.lower()}/{asset.upper()}.parquet").copy()


def load_candles(market: str, asset: str, interval: str = "1h") -> pd.DataFrame:
    """Shipped candles: ts (bar open, UTC), open, high, low, close, volume, source."""
    return _read_parquet(f"prices/{market.lower()}/{asset.upper()}_{interval}.parquet").copy()


def has_candles(market: str, asset: str, interval: str) -> bool:
    return (dataset_root() / f"prices/{market.lower()}/{asset.upper()}_{interval}.parquet").exists()


def has_funding(venue: str, asset: str) -> bool:
    return (dataset_root() / f"funding/{venue.lower()}/{asset.upper()}.parquet").exists()


@lru_cache(maxsize=1)
def hyperliquid_universe() -> pd.DataFrame:
    return pd.read_parquet(_path("hyperliquid/universe_2026-03-10.parquet"))


@lru_cache(maxsize=1)
def hyperliquid_margin_tables() -> pd.DataFrame:
    return pd.read_parquet(_path("hyperliquid/margin_tables_2026-03-10.parquet"))


def hyperliquid_tiers(asset: str) -> list[LeverageTier]:
    """Hyperliquid leverage tiers for ``asset`` from the shipped margin tables (snapshot 2026-03-10)."""
    uni = hyperliquid_universe()
    row = uni[uni["name"] == asset.upper()]
    if row.empty:
        raise DataCoverageError(f"{asset} is not in the shipped Hyperliquid universe")
    table_id = int(row["marginTableId"].iloc[0])
    mt = hyperliquid_margin_tables()
    tiers = mt[mt["margin_table_id"] == table_id].sort_values("lower_bound_usd")
    if tiers.empty:  # single-tier tables are implicit in the API: max leverage from the universe
        return [LeverageTier(0.0, float(row["maxLeverage"].iloc[0]))]
    # pandas-stubs types itertuples() fields as any Scalar (incl. NaT/Period); these columns are float
    return [
        LeverageTier(float(r.lower_bound_usd), float(r.max_leverage))  # type: ignore[arg-type]
        for r in tiers.itertuples()
    ]
