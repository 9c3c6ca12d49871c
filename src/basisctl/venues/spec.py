"""The row type of the venue registry: one frozen :class:`VenueSpec` per venue folder (``venues/<name>/``)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from basisctl.errors import ModelDomainError
from basisctl.model.margin import theta_f_from_multiplier
from basisctl.venues.liquidation import RULES as LIQUIDATION_RULES
from basisctl.venues.liquidation import LiquidationRule


@dataclass(frozen=True)
class VenueSpec:
    """One venue.

    ``funding_hours``: documented settlement cadences [h], current first (rows carry their own interval);
    ``margin_rule``: how theta_F is set (see :mod:`basisctl.model.margin`); ``maintenance_multiplier``: c in
    theta_F = c / L_max, None where the venue publishes explicit MMR tiers only; ``downloader``:
    ``module:Class`` of the funding client; ``taker_fee_bps``: base-tier perp taker fee [bps of notional];
    ``downloads``: the kinds ``basisctl data fetch`` serves for the venue (funding | candles | mark | meta).
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
    downloads: tuple[str, ...] = ("funding",)

    def theta_f(self, l_max: float) -> float:
        """theta_F [fraction of notional] = c / L_max under the row's margin rule; an error where the venue sets
        explicit MMR tiers only (no c)."""
        if self.maintenance_multiplier is None:
            raise ModelDomainError(f"{self.name} sets an explicit maintenance margin rate per position tier: pass "
                                   "--theta-f (the tier's MMR)")
        return theta_f_from_multiplier(self.maintenance_multiplier, l_max)

    @property
    def liquidation(self) -> LiquidationRule | None:
        """The venue's documented liquidation procedure (:mod:`basisctl.venues.liquidation`); None if undocumented."""
        return LIQUIDATION_RULES.get(self.name)

    def client(self, **kwargs: Any) -> Any:
        """An instance of the venue's funding client (``kwargs``: base_url, transport, retry, sleep...)."""
        mod, cls = self.downloader.split(":")
        return getattr(importlib.import_module(mod), cls)(**kwargs)
