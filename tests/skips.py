"""One wording for every skip reason in the suite: ``needs <what>: <how to get it>``.

Tests skip through these helpers (or through :func:`tests.datadir.require` for market data) rather than with
their own strings, so that a skipped run reads the same everywhere and names the extra or file to install
(tests/foundation/test_skip_reasons.py checks that no test writes its own reason).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

CHROMIUM = "/usr/bin/chromium"


def extra_reason(extra: str) -> str:
    """The skip reason of a test that needs the optional ``[extra]`` (not part of the ``test`` extra)."""
    return f"needs the [{extra}] extra: pip install '.[{extra}]'"


def need_extra(module: str, extra: str) -> ModuleType:
    """Import ``module`` from the optional ``[extra]``, or skip with the extra's name. Tests that call this are
    marked ``needs_extra`` (CI runs them after installing the extras)."""
    return pytest.importorskip(module, reason=extra_reason(extra))


BENCH_REASON = "needs the fractal-defi bench venv (.venv-bench): see docs/parity.md"
SOURCE_REASON = "needs the source checkout (examples/ is not part of an installed package): run from a git clone"
CHROMIUM_REASON = f"needs Debian chromium at {CHROMIUM}: bash .ci/system-deps.sh"


def fixtures_reason(root: Path) -> str:
    """The skip reason of a test that replays the recorded Hyperliquid API responses."""
    return (f"needs the recorded Hyperliquid fixtures at {root}: set BASISCTL_HL_FIXTURES to the "
            "fixtures/hyperliquid folder of the shared inputs")


def need_fixtures(root: Path) -> None:
    pytest.skip(fixtures_reason(root))
