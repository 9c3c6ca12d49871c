"""Chaos hook: SIGKILL this process at a named point of the controller (``BASISCTL_CRASHPOINT``)."""

from __future__ import annotations

import os
import signal

CRASHPOINT_ENV = "BASISCTL_CRASHPOINT"


def maybe_crash(name: str) -> None:
    """Chaos hook: SIGKILL this process at the named point when ``BASISCTL_CRASHPOINT`` = 'name' or 'name@k'
    (the k-th time the point is reached in this process). No effect otherwise."""
    spec = os.environ.get(CRASHPOINT_ENV)
    if not spec:
        return
    want, _, nth = spec.partition("@")
    if want != name:
        return
    _CRASH_HITS[name] = _CRASH_HITS.get(name, 0) + 1
    if _CRASH_HITS[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_HITS: dict[str, int] = {}
