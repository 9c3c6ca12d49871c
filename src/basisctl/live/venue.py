"""Compatibility re-export: the venue protocol and its value types live in :mod:`basisctl.venues.protocol`
(moved below ``venues/`` in issue 21, so that a venue folder implements it without importing ``live/``)."""

from basisctl.venues.protocol import *  # noqa: F403  (every public name, as listed by its __all__)
from basisctl.venues.protocol import __all__ as __all__
