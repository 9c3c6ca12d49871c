"""The venue registry: one row per venue with its margin rule, funding cadence, downloader and documentation.

A new venue is one row here plus one client module in ``basisctl.data.fetch`` (and its local test server); code
that needs per-venue behaviour looks the row up instead of branching on the venue name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from basisctl.errors import BasisctlError
from basisctl.model.margin import ALL_VENUES, MAINTENANCE_MULTIPLIER
from basisctl.venues.liquidation import RULES as LIQUIDATION_RULES
from basisctl.venues.liquidation import LiquidationRule


@dataclass(frozen=True)
class VenueSpec:
    """One venue.

    ``funding_hours``: documented settlement cadences [h], current first (rows carry their own interval);
    ``margin_rule``: how theta_F is set (see :mod:`basisctl.model.margin`); ``maintenance_multiplier``: c in
    theta_F = c / L_max, None where the venue publishes explicit MMR tiers only; ``downloader``:
    ``module:Class`` of the funding client; ``taker_fee_bps``: base-tier perp taker fee [bps of notional].
    """

    name: str
    display: str
    funding_hours: tuple[float, ...]
    margin_rule: str
    maintenance_multiplier: float | None
    downloader: str
    funding_docs: str
    margin_docs: str
    taker_fee_bps: float

    @property
    def liquidation(self) -> LiquidationRule | None:
        """The venue's documented liquidation procedure (:mod:`basisctl.venues.liquidation`); None if undocumented."""
        return LIQUIDATION_RULES.get(self.name)

    def client(self, **kwargs: Any) -> Any:
        """An instance of the venue's funding client (``kwargs``: base_url, transport, retry, sleep...)."""
        mod, cls = self.downloader.split(":")
        return getattr(importlib.import_module(mod), cls)(**kwargs)


REGISTRY: dict[str, VenueSpec] = {
    s.name: s
    for s in (
        VenueSpec("hyperliquid", "Hyperliquid", (1.0, 8.0), "theta_F = 1/(2 L_max), L_max from the margin table tier",
                  0.5, "basisctl.data.fetch.hyperliquid:HyperliquidInfo",
                  "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals",
                  "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers", 4.5),
        VenueSpec("binance", "Binance USD-M", (8.0, 4.0), "theta_F = 1/L_max (conservative, account-independent)",
                  1.0, "basisctl.data.fetch.binance:BinanceUsdm",
                  "https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/"
                  "Get-Funding-Rate-History",
                  "https://www.binance.com/en/futures/trading-rules/perpetual/leverage-margin", 5.0),
        VenueSpec("bybit", "Bybit linear", (8.0, 4.0, 2.0, 1.0), "theta_F = MMR of the risk-limit tier "
                  "(BTCUSDT tier 1: 0.5% at 100x)", 0.5, "basisctl.data.fetch.bybit:BybitFunding",
                  "https://bybit-exchange.github.io/docs/v5/market/history-fund-rate",
                  "https://www.bybit.com/en/announcement-info/margin-parameters", 5.5),
        VenueSpec("okx", "OKX swap", (8.0, 4.0, 2.0, 1.0), "theta_F = MMR of the position tier (explicit; no rule "
                  "from L_max)", None, "basisctl.data.fetch.okx:OkxFunding",
                  "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-funding-rate-history",
                  "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-position-tiers", 5.0),
        VenueSpec("dydx", "dYdX v4", (1.0,), "theta_F = maintenance_fraction x IMF of the liquidity tier "
                  "(Large-Cap 0.6 x 2% = 1.2%)", 0.6, "basisctl.data.fetch.dydx:DydxFunding",
                  "https://docs.dydx.exchange/api_integration-indexer/indexer_api#gethistoricalfunding",
                  "https://docs.dydx.community/dydx-unlimited/modules/governance/governance-adjustable-parameters/"
                  "markets", 5.0),
        VenueSpec("kraken", "Kraken Futures", (1.0, 4.0), "theta_F = IM/2 of the margin level (level I: 1% at 50x)",
                  0.5, "basisctl.data.fetch.kraken:KrakenFuturesFunding",
                  "https://docs.kraken.com/api-reference/historical-funding-rates/historical-funding-rates",
                  "https://support.kraken.com/hc/en-us/articles/360022632452-Margin-Schedule", 5.0),
    )
}

assert set(REGISTRY) == set(ALL_VENUES)
assert all(REGISTRY[v].maintenance_multiplier == MAINTENANCE_MULTIPLIER.get(v) for v in REGISTRY)


def venue_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get_venue(name: str) -> VenueSpec:
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise BasisctlError(f"unknown venue '{name}': expected one of {', '.join(REGISTRY)}") from None
