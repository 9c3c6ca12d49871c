"""Issue 10 item 6: `basisctl --help` and argument errors load no numerical stack; CLI defaults mirror the library."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from basisctl.cli import _defaults

from ._cli_probe import probe_source

HEAVY = ("numpy", "pandas", "scipy", "numba", "pyarrow", "matplotlib", "jax")

_PROBE = probe_source(HEAVY)


def _probe(*args: str) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(args))], capture_output=True, text=True,
                       timeout=120)
    line = [x for x in r.stderr.splitlines() if x.startswith("PROBE ")]
    assert line, r.stderr
    return json.loads(line[-1][6:])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],
        ["static", "--help"],
        ["bands", "--help"],
        ["backtest", "--help"],
        ["data", "check", "--help"],
        ["costs", "quote", "--help"],
        ["simulate", "upper-grid", "--help"],
        ["static", "--venue"],  # a usage error
        ["backtest", "--asset"],
        ["nonsense"],
    ],
)
def test_help_and_usage_errors_load_no_numerical_stack(args: list[str]) -> None:
    out = _probe(*args)
    assert out["heavy"] == [], f"basisctl {' '.join(args)} imported {out['heavy']}"
    assert out["code"] in (0, 2)


def test_cli_defaults_mirror_the_library_constants() -> None:
    for name, (mod, attr) in _defaults.MIRRORS.items():
        assert getattr(_defaults, name) == getattr(importlib.import_module(mod), attr), name
    from basisctl.calibration.inputs import DEFAULT_ASOF
    from basisctl.data import locator

    assert f"{DEFAULT_ASOF:%Y-%m-%d}" == _defaults.DEFAULT_ASOF_DATE
    from basisctl.cli import backtest_cmds
    from basisctl.venues.registry import venue_names

    # issue 20 j: --funding-venue accepts every registry venue (its data must exist), not only the shipped three
    assert set(backtest_cmds.FUNDING_VENUES) == set(venue_names()) >= set(locator.FUNDING_VENUES)
    from basisctl.backtest.data import PRICE_MARKETS

    assert set(backtest_cmds.PRICES_VENUES) == set(PRICE_MARKETS)


def test_public_api_still_resolves_lazily() -> None:
    import basisctl

    for name in basisctl.__all__:
        assert getattr(basisctl, name) is not None, name
