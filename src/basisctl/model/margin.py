"""Venue margin rules: maintenance margin fraction theta_F from maximum leverage (paper eqs. 18-21).

Hyperliquid: maintenance margin is half the initial margin at max leverage, theta_F = 1 / (2 L_max), with
L_max taken from the notional tier of the margin table. Binance: conservative account-independent
approximation theta_F = 1 / L_max.

Further venues (sources cited in docs/model.md, "Venue margin rules"):

- Bybit USDT perps: a risk-limit table per symbol with an explicit maintenance margin rate (MMR) per tier;
  BTCUSDT tier 1 (to 2,000,000 USDT) is 100x with MMR 0.5%, i.e. MMR = 1/(2 L_max) at the base tier.
- dYdX v4: per-market liquidity tier with ``initial_margin_ppm`` and ``maintenance_fraction_ppm`` (the MMF as a
  fraction of the IMF); Large-Cap (BTC, ETH): IMF 2%, maintenance fraction 0.6 -> MMF 1.2%.
- Kraken Futures: margin schedule levels with maintenance margin = half the initial margin at every level
  (level I: 50x, IM 2%, MM 1%).
- OKX: position tiers with an explicit MMR per tier and no fixed MMR/IMR ratio, so theta_F needs the tier's
  MMR (``--theta-f``) -- there is no L_max rule to fall back on, and none is invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from basisctl.errors import ModelDomainError

Venue = Literal["binance", "hyperliquid", "bybit", "okx", "dydx", "kraken"]
#: The paper's two venues (defaults of the grid commands).
VENUES: tuple[Venue, ...] = ("binance", "hyperliquid")
#: Every venue with a margin rule (what ``--venue`` accepts).
ALL_VENUES: tuple[Venue, ...] = ("binance", "hyperliquid", "bybit", "okx", "dydx", "kraken")

#: The paper's L_max table (Section VI) used as defaults.
PAPER_L_MAX: dict[tuple[str, str], float] = {
    ("binance", "BTC"): 125.0,
    ("binance", "ETH"): 100.0,
    ("binance", "LINK"): 50.0,
    ("binance", "DOGE"): 50.0,
    ("hyperliquid", "BTC"): 40.0,
    ("hyperliquid", "ETH"): 25.0,
    ("hyperliquid", "LINK"): 10.0,
    ("hyperliquid", "DOGE"): 10.0,
}

#: Documented max leverage of the base tier for the further venues (sources in docs/model.md).
VENUE_L_MAX: dict[tuple[str, str], float] = {
    ("bybit", "BTC"): 100.0,  # BTCUSDT risk limit tier 1 (<= 2,000,000 USDT): 100x
    ("dydx", "BTC"): 50.0,  # Large-Cap liquidity tier: initial_margin_ppm 20000 -> IMF 2%
    ("dydx", "ETH"): 50.0,
    ("kraken", "BTC"): 50.0,  # margin schedule level I: 50x, IM 2%, MM 1%
    ("kraken", "ETH"): 50.0,
}

#: maintenance-to-initial-margin multiplier c in theta_F = c / L_max (eq. 19); OKX has none (explicit MMR tiers).
MAINTENANCE_MULTIPLIER: dict[str, float] = {
    "binance": 1.0,
    "hyperliquid": 0.5,
    "bybit": 0.5,
    "dydx": 0.6,
    "kraken": 0.5,
}


@dataclass(frozen=True)
class MaintenanceTier:
    """A notional tier with an explicit maintenance margin rate: above ``lower_bound_usd`` [USD notional] (the
    previous tier's inclusive risk limit; the first tier starts at 0) the maintenance margin is ``mmr``
    [fraction of notional] and the max leverage ``max_leverage`` [x]."""

    lower_bound_usd: float
    mmr: float
    max_leverage: float


#: Documented MMR tables (venue, asset) -> tiers; theta_F at a notional is the MMR of its tier.
MMR_TIERS: dict[tuple[str, str], tuple[MaintenanceTier, ...]] = {
    # Bybit "Margin Parameters", BTCUSDT (risk limit upper bounds 2.0M / 2.6M / 3.2M / 3.8M USDT)
    ("bybit", "BTC"): (
        MaintenanceTier(0.0, 0.005, 100.0),
        MaintenanceTier(2_000_000.0, 0.0056, 90.0),
        MaintenanceTier(2_600_000.0, 0.0063, 80.0),
        MaintenanceTier(3_200_000.0, 0.0067, 75.0),
    ),
}

#: The last documented risk limit of each MMR table [USD notional, inclusive]: above it the table has no tier
#: in docs/model.md, so theta_F is refused rather than taken from the last tier.
MMR_TABLE_LIMIT_USD: dict[tuple[str, str], float] = {
    ("bybit", "BTC"): 3_800_000.0,
}


@dataclass(frozen=True)
class LeverageTier:
    """A notional tier: from ``lower_bound_usd`` upwards the max leverage is ``max_leverage``."""

    lower_bound_usd: float
    max_leverage: float


def check_venue(venue: str) -> Venue:
    v = venue.lower()
    if v not in ALL_VENUES:
        raise ModelDomainError(f"unknown venue '{venue}': expected one of {', '.join(ALL_VENUES)}")
    return v  # membership checked above


def _multiplier(venue: str) -> float:
    v = check_venue(venue)
    try:
        return MAINTENANCE_MULTIPLIER[v]
    except KeyError:
        raise ModelDomainError(
            f"{v} sets an explicit maintenance margin rate per position tier (no fixed ratio to the initial "
            "margin): pass --theta-f (the tier's MMR)"
        ) from None


def theta_f_from_multiplier(c: float, l_max: float) -> float:
    """theta_F = c / L_max [fraction of notional] for a maintenance-to-initial multiplier ``c`` and max leverage
    ``l_max`` [x] (eq. 19)."""
    if not l_max > 1.0:
        raise ModelDomainError(f"l_max must be > 1 (got {l_max!r})")
    if not 0.0 < c <= 1.0:
        raise ModelDomainError(f"maintenance multiplier must lie in (0, 1] (got {c!r})")
    return c / float(l_max)


def theta_f_from_l_max(venue: str, l_max: float) -> float:
    """theta_F = c / L_max with the venue's documented c (Hyperliquid/Bybit/Kraken 1/2, dYdX 0.6, Binance 1)
    [fraction of notional]."""
    return theta_f_from_multiplier(_multiplier(venue), l_max)


def default_l_max(venue: str, asset: str) -> float:
    """The documented L_max for (venue, asset); a clear error when the pair is not in the tables."""
    v = check_venue(venue)
    key = (v, asset.upper())
    if key in PAPER_L_MAX:
        return PAPER_L_MAX[key]
    if key in VENUE_L_MAX:
        return VENUE_L_MAX[key]
    raise ModelDomainError(f"no documented max leverage for {venue} {asset}: pass --l-max or --theta-f")


def mmr_for_notional(tiers: Sequence[MaintenanceTier], notional_usd: float,
                     limit_usd: float | None = None, name: str = "the maintenance margin table") -> MaintenanceTier:
    """The tier of an explicit-MMR table that contains ``notional_usd`` [USD]. Risk limits are inclusive upper
    bounds (Bybit: "<= 2.0M USDT: MMR 0.5 %"), so a notional exactly at a bound belongs to the lower tier; above
    ``limit_usd`` (the table's last risk limit) there is no documented tier and it is an error."""
    if not tiers:
        raise ModelDomainError("empty maintenance margin table")
    if notional_usd < 0:
        raise ModelDomainError(f"notional must be >= 0 (got {notional_usd!r})")
    if limit_usd is not None and notional_usd > limit_usd:
        raise ModelDomainError(
            f"notional {notional_usd:,.0f} USD is beyond {name}'s last documented tier ({limit_usd:,.0f} USD): no "
            "theta_F is documented for that size; pass --theta-f (the venue's MMR at that size) or a smaller "
            "capital")
    ordered = sorted(tiers, key=lambda t: t.lower_bound_usd)
    out = ordered[0]
    for t in ordered[1:]:
        if notional_usd > t.lower_bound_usd:
            out = t
    return out


def l_max_for_notional(tiers: Sequence[LeverageTier], notional_usd: float) -> float:
    """Max leverage of the tier that contains ``notional_usd`` (tiers sorted by lower bound)."""
    if not tiers:
        raise ModelDomainError("empty margin table")
    if notional_usd < 0:
        raise ModelDomainError(f"notional must be >= 0 (got {notional_usd!r})")
    ordered = sorted(tiers, key=lambda t: t.lower_bound_usd)
    lev = ordered[0].max_leverage
    for t in ordered:
        if notional_usd >= t.lower_bound_usd:
            lev = t.max_leverage
    return float(lev)


def theta_f_for(
    venue: str,
    asset: str,
    l_max: float | None = None,
    theta_f: float | None = None,
    notional_usd: float = 0.0,
    tiers: Sequence[LeverageTier] | None = None,
) -> tuple[float, float]:
    """Resolve (theta_F, L_max) for a venue/asset: explicit theta_f > explicit l_max > tiers > paper table.

    Pure: size tiers are an argument (``tiers``, e.g. Hyperliquid's margin table, read by
    :func:`basisctl.venues.margin.theta_f_for`), never read here. A documented MMR table (Bybit BTC) gives the MMR
    of the notional's tier and refuses sizes beyond its last tier."""
    if theta_f is not None:
        if not 0.0 < theta_f < 1.0:
            raise ModelDomainError(f"theta_f must lie in (0, 1) (got {theta_f!r})")
        v = check_venue(venue)
        lm = l_max if l_max is not None else (
            MAINTENANCE_MULTIPLIER[v] / theta_f if v in MAINTENANCE_MULTIPLIER else float("nan"))  # OKX: no rule
        return float(theta_f), float(lm)
    key = (check_venue(venue), asset.upper())
    if l_max is None and tiers is None and key in MMR_TIERS:
        t = mmr_for_notional(MMR_TIERS[key], notional_usd, MMR_TABLE_LIMIT_USD.get(key),
                             f"the {key[0]} {key[1]} risk-limit table")
        return t.mmr, t.max_leverage
    if l_max is None:
        l_max = l_max_for_notional(tiers, notional_usd) if tiers else default_l_max(venue, asset)
    return theta_f_from_l_max(venue, l_max), float(l_max)


def venue_margin_tiers(venue: str, asset: str) -> tuple[tuple[float, float], ...] | None:
    """Notional tiers ((lower bound [USD notional], theta_F), ...) for the backtest engine's ``margin_tiers``:
    None for Hyperliquid (the engine reads its margin table from the data dir), the documented MMR table where
    there is one (Bybit BTC), else () (no tiers above the base rule)."""
    v = check_venue(venue)
    if v == "hyperliquid":
        return None
    # the engine switches tier once the notional reaches a bound; MMR tables' bounds are inclusive risk limits of
    # the tier below, so each bound is moved to the next float above it (exactly 2.0M stays in tier 1)
    return tuple((float(np.nextafter(t.lower_bound_usd, np.inf)) if t.lower_bound_usd > 0 else 0.0, t.mmr)
                 for t in MMR_TIERS.get((v, asset.upper()), ()))


def check_within_margin_table(venue: str, asset: str, notional_usd: float) -> None:
    """Refuse a position whose largest perp notional [USD] lies beyond the last documented tier of its venue's MMR
    table (the backtest engine would otherwise keep charging the last tier's MMR for any size)."""
    key = (check_venue(venue), asset.upper())
    if key in MMR_TABLE_LIMIT_USD:
        mmr_for_notional(MMR_TIERS[key], notional_usd, MMR_TABLE_LIMIT_USD[key],
                         f"the {key[0]} {key[1]} risk-limit table")
