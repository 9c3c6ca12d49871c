"""Monte Carlo of the collateral share alpha_t against band candidates (paper Section VIII).

``simulate_hits`` scores many (alpha_U, alpha_L) columns on one common path set; ``alpha_lower_bootstrap``
implements eq. 40 with a path count sized from the binomial confidence interval. The Sec. VIII.B-E grids behind
``basisctl simulate upper-grid | lower-grid`` read the data dir, so they live above this pure package, in
:mod:`basisctl.band_grids`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basisctl._lazy import lazy_attributes

if TYPE_CHECKING:  # imported on first use: the FHS sizing kernel needs only ``simulate._rng`` (PEP 562)
    from basisctl.simulate.bootstrap import BootstrapLower, alpha_lower_bootstrap, required_paths
    from basisctl.simulate.engine import BACKENDS, HitResult, simulate_hits, warm_up
    from basisctl.simulate.models import GBM, Bootstrap, FullState, PathModel, log_barriers

_LAZY: dict[str, str] = {
    **dict.fromkeys(("BootstrapLower", "alpha_lower_bootstrap", "required_paths"), "basisctl.simulate.bootstrap"),
    **dict.fromkeys(("BACKENDS", "HitResult", "simulate_hits", "warm_up"), "basisctl.simulate.engine"),
    **dict.fromkeys(("GBM", "Bootstrap", "FullState", "PathModel", "log_barriers"), "basisctl.simulate.models"),
}

__all__ = [
    "BACKENDS",
    "GBM",
    "Bootstrap",
    "BootstrapLower",
    "FullState",
    "HitResult",
    "PathModel",
    "alpha_lower_bootstrap",
    "log_barriers",
    "required_paths",
    "simulate_hits",
    "warm_up",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
