"""Lazy module attributes (PEP 562): a package re-exports names that are imported on first use.

``basisctl --help`` and ``basisctl static`` must not pay for numpy/scipy/numba imports they never use, so the
package ``__init__`` modules map each public name to the module that defines it and import it on first access.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    ``where`` maps a public name to the dotted module that defines it; ``namespace`` is the package's
    ``globals()``, where a resolved name is cached so later lookups skip ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        mod = where.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(mod), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
