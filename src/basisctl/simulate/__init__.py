"""Monte Carlo of the collateral share alpha_t against band candidates (paper Section VIII).

``simulate_hits`` scores many (alpha_U, alpha_L) columns on one common path set; ``alpha_lower_bootstrap``
implements eq. 40 with a path count sized from the binomial confidence interval. The Sec. VIII.B-E grids behind
``basisctl simulate upper-grid | lower-grid`` read the data dir, so they live above this pure package, in
:mod:`basisctl.band_grids`.
"""

from basisctl.simulate.bootstrap import BootstrapLower, alpha_lower_bootstrap, required_paths
from basisctl.simulate.engine import BACKENDS, HitResult, simulate_hits, warm_up
from basisctl.simulate.models import GBM, Bootstrap, FullState, PathModel, log_barriers

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
