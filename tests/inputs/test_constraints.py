"""Issue 10 item 6: a constraints file pins every base dependency (and basisctl itself is not in it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, ver = line.partition("==")
            assert ver, f"constraints.txt: '{line}' is not name==version"
            pins[re.sub(r"[-_.]+", "-", name.lower())] = ver
    return pins


def test_every_dependency_is_pinned_and_within_its_lower_bound() -> None:
    pins = _pins()
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(proj["dependencies"]) + list(proj["optional-dependencies"]["test"])
    assert "basisctl" not in pins
    for req in reqs:
        m = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)", req)
        assert m, req
        name, lower = re.sub(r"[-_.]+", "-", m.group(1).lower()), m.group(2)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        got = tuple(int(x) for x in re.findall(r"\d+", pins[name])[:3])
        want = tuple(int(x) for x in lower.split("."))
        assert got[: len(want)] >= want, f"{name}=={pins[name]} is below the declared lower bound {lower}"
