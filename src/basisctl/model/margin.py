"""Venue margin rules: maintenance margin fraction theta_F from maximum leverage (paper eqs. 18-21).

Hyperliquid: maintenance margin is half the initial margin at max leverage, theta_F = 1 / (2 L_max), with
L_max taken from the notional tier of the margin table. Binance: conservative account-independent
approximation theta_F = 1 / L_max.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from basisctl.errors import ModelDomainError

Venue = Literal["binance", "hyperliquid"]
VENUES: tuple[Venue, ...] = ("binance", "hyperliquid")

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

#: maintenance-to-initial-margin multiplier c in theta_F = c / L_max (eq. 19)
MAINTENANCE_MULTIPLIER: dict[str, float] = {"binance": 1.0, "hyperliquid": 0.5}


@dataclass(frozen=True)
class LeverageTier:
    """A notional tier: from ``lower_bound_usd`` upwards the max leverage is ``max_leverage``."""

    lower_bound_usd: float
    max_leverage: float


def check_venue(venue: str) -> Venue:
    v = venue.lower()
    if v not in VENUES:
        raise ModelDomainError(f"unknown venue '{venue}': expected one of {', '.join(VENUES)}")
    return v


def theta_f_from_l_max(venue: str, l_max: float) -> float:
    """theta_F = c / L_max with c = 1/2 on Hyperliquid and 1 on Binance [fraction of notional]."""
    v = check_venue(venue)
    if not l_max > 1.0:
        raise ModelDomainError(f"l_max must be > 1 (got {l_max!r})")
    return MAINTENANCE_MULTIPLIER[v] / float(l_max)


def default_l_max(venue: str, asset: str) -> float:
    """The paper's L_max for (venue, asset); a clear error when the pair is not in the table."""
    v = check_venue(venue)
    try:
        return PAPER_L_MAX[(v, asset.upper())]
    except KeyError:
        raise ModelDomainError(
            f"no default max leverage for {venue} {asset}: pass --l-max or --theta-f"
        ) from None


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
    """Resolve (theta_F, L_max) for a venue/asset: explicit theta_f > explicit l_max > tiers > paper table."""
    if theta_f is not None:
        if not 0.0 < theta_f < 1.0:
            raise ModelDomainError(f"theta_f must lie in (0, 1) (got {theta_f!r})")
        lm = l_max if l_max is not None else MAINTENANCE_MULTIPLIER[check_venue(venue)] / theta_f
        return float(theta_f), float(lm)
    if l_max is None:
        l_max = l_max_for_notional(tiers, notional_usd) if tiers else default_l_max(venue, asset)
    return theta_f_from_l_max(venue, l_max), float(l_max)
