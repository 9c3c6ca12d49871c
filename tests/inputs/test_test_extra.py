"""Issue 20: `pip install '.[test]' && pytest` works on a fresh machine. Every third-party module a test imports
is installed by the base dependencies or the ``test`` extra (optional extras are reached only through
tests/skips.need_extra, which skips with the extra's name), and .ci/run runs the README's command 2 verbatim,
before any constraint or extra is installed."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1].parent
TESTS = ROOT / "tests"
LOCAL = {"basisctl", "tests", "_bt_synth", "conftest"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def _req_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)", req)
    assert m, req
    return _norm(m.group(1))


def _closure(roots: list[str]) -> set[str]:
    """Distributions installed by ``roots`` and, recursively, their unconditional requirements (no extras)."""
    seen: set[str] = set()
    todo = [_req_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_req_name(r) for r in reqs if "extra ==" not in r.replace('"', "").replace("'", "")]
    return seen


def _imported_modules() -> dict[str, str]:
    """Top-level module -> first ``file:line`` that imports it, over every test file (function-level included)."""
    out: dict[str, str] = {}
    for f in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                out.setdefault(n.split(".")[0], f"{f.relative_to(ROOT)}:{node.lineno}")
    return out


def test_every_test_import_is_installed_by_the_test_extra() -> None:
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    allowed = _closure(list(proj["dependencies"]) + list(proj["optional-dependencies"]["test"]))
    dists = metadata.packages_distributions()
    missing = []
    for mod, where in _imported_modules().items():
        if mod in sys.stdlib_module_names or mod in LOCAL:
            continue
        provided_by = {_norm(d) for d in dists.get(mod, [])}
        if not provided_by & allowed:
            missing.append(f"{mod} ({where}; from {sorted(provided_by) or 'nothing installed'})")
    assert missing == [], f"test imports not covered by the [test] extra: {missing}"


def test_yaml_is_in_the_test_extra() -> None:
    """The regression of issue 20: hl_fixtures imports PyYAML, which only ray used to bring in."""
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "pyyaml" in {_req_name(r) for r in proj["optional-dependencies"]["test"]}


def test_ci_runs_readme_command_2_verbatim_first() -> None:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"^(pip install '\.\[test\]' && pytest)\s+# 2\.", readme, re.M)
    assert m, "README quick start lost its command 2"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    code = [ln for ln in ci if ln.strip() and not ln.lstrip().startswith("#")]
    first = next(i for i, ln in enumerate(code) if ln.strip() == m.group(1))
    before = "\n".join(code[:first])
    assert "unset PIP_CONSTRAINT" in before and "pip install" not in before, before
    after = "\n".join(code[first + 1:])
    assert "'.[gpu,ray,study]'" in after and "pytest -m needs_extra" in after
