"""Config -> :class:`AggregatorRouteVenue` (``[spot_route]`` in the controller TOML)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from basisctl.execution.quotes import OneInchClient, QuoteStore, ZeroExClient
from basisctl.live.config import ControllerConfig
from basisctl.live.route.aggregator import (
    AggregatorQuoter,
    AggregatorRouteVenue,
    PaperSettlement,
    RouteNotImplemented,
    Settlement,
    SlippageModel,
    Wallet,
)
from basisctl.live.venue import Venue


def require_live_settlement(cfg: ControllerConfig, live: bool, settlement: Settlement | None) -> None:
    """Raise RouteNotImplemented when the aggregator route would run live without an injected settlement."""
    if live and cfg.spot_route.kind != "venue" and settlement is None:
        raise RouteNotImplemented(
            f"spot_route.kind = '{cfg.spot_route.kind}' in live mode: broadcasting swaps to a chain is not "
            "implemented in basisctl (and on-chain wallet balances are not read); inject a Settlement with a "
            "Signer and a Broadcaster, or use spot_route.kind = 'venue'"
        )


def build_route_venue(
    cfg: ControllerConfig,
    perp: Venue,
    wallet_seed: tuple[float, float] = (0.0, 0.0),
    *,
    live: bool = False,
    settlement: Settlement | None = None,
    clock: Callable[[], float] = time.time,
) -> AggregatorRouteVenue:
    """Wrap ``perp`` with the configured aggregator spot route.

    wallet_seed: (base [base units], USDC [USD]) the wallet starts with when its file is new (paper mode).
    Paper mode settles with :class:`PaperSettlement`; live mode needs an injected ``settlement`` (e.g.
    :class:`OneInchLiveSettlement` with a signer and a broadcaster) and otherwise raises RouteNotImplemented.
    """
    r = cfg.spot_route
    if r.kind == "venue":
        raise ValueError("spot_route.kind = 'venue' uses the venue's own spot book: nothing to wrap")
    require_live_settlement(cfg, live, settlement)
    cls: type[OneInchClient] | type[ZeroExClient] = OneInchClient if r.kind == "1inch" else ZeroExClient
    key = os.environ.get(r.api_key_env) if r.api_key_env else None
    store = QuoteStore(cfg.resolve(r.quote_store)) if r.quote_store else None
    client = cls(base_url=r.base_url, api_key=key, timeout_s=r.http_timeout_secs, ttl_s=r.max_quote_age_seconds,
                 max_latency_s=r.max_quote_age_seconds, max_retries=r.max_retries, store=store)
    quoter = AggregatorQuoter(client, r.chain_id, (r.base_token, r.base_decimals), (r.usdc_token, r.usdc_decimals),
                              r.max_quote_age_seconds, clock=clock)
    wallet = Wallet(cfg.resolve(r.wallet_file), *wallet_seed)
    s = r.slippage
    settle = settlement or PaperSettlement(SlippageModel(s.mean_bps, s.sd_bps, s.seed), r.gas_usd_per_swap)
    c = cfg.costs
    return AggregatorRouteVenue(
        perp, quoter, wallet, settle,
        sell_budget_bps=c.sell_budget_bps if c.sell_budget_bps is not None else cfg.band.k_reb_fix_bps,
        buy_budget_bps=c.buy_budget_bps if c.buy_budget_bps is not None else cfg.band.k_reb_fix_bps,
        buffer_bps=c.buffer_bps, perp_fee_bps=c.perp_fee_bps, gas_usd=r.gas_usd_per_swap,
    )
