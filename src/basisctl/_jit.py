"""Optional numba: kernels are written once in plain Python and jitted by wrapping.

Set ``BASISCTL_DISABLE_JIT=1`` to run every kernel as plain Python (for debugging and twin tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

DISABLE_JIT = os.environ.get("BASISCTL_DISABLE_JIT", "0") == "1"

_numba: Any  # the numba module, or None without it
try:  # pragma: no cover - exercised implicitly
    import numba as _numba

    HAVE_NUMBA = not DISABLE_JIT
except ImportError:  # pragma: no cover
    _numba = None
    HAVE_NUMBA = False


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` when available (cache=True by default), identity otherwise."""
    kwargs.setdefault("cache", True)

    def wrap(fn: F) -> F:
        if not HAVE_NUMBA:
            return fn
        return cast(F, _numba.njit(**kwargs)(fn))

    if args and callable(args[0]):
        return wrap(args[0])
    return wrap
