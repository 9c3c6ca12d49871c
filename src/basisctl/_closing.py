"""One context-manager protocol for the package's I/O clients: ``with Client(...) as c:`` closes ``c`` on exit."""

from __future__ import annotations

from typing import Self


class Closing:
    """Mixin for a client that holds a connection: ``__enter__`` returns the client, ``__exit__`` calls its
    ``close()`` (which the client defines)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
