"""A venue whose process 'dies' right after the first order reached it: the order executes on the venue, its
result is never returned or journaled (what a SIGKILL between send and journal leaves behind)."""

from __future__ import annotations

from typing import Any

from basisctl.live.venue import OrderRequest, OrderStatus


class Crash(BaseException):
    """Stands in for SIGKILL inside one process (a BaseException: no handler of the controller catches it)."""


class DiesAfterOrder:
    """Every call goes to ``inner``; ``place_order`` places the order there, then raises :class:`Crash`."""

    def __init__(self, inner: Any):
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def place_order(self, req: OrderRequest) -> OrderStatus:
        self.inner.place_order(req)
        raise Crash
