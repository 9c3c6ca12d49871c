"""Skip reasons use one wording (issue 20, item m): every skip names what it needs and how to get it
(``needs <what>: <how>``), and comes from tests/skips.py or tests/datadir.py, never a test's own string."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import datadir, skips

TESTS = Path(__file__).resolve().parents[1]
HELPERS = {TESTS / "skips.py", TESTS / "datadir.py"}
SKIP_CALLS = {"skip", "importorskip", "skipif"}


def _own_reasons(path: Path) -> list[str]:
    """``file:line`` of every pytest.skip / importorskip / skipif call in ``path`` that is given a string literal
    (a reason of its own) or, for importorskip, no reason at all."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SKIP_CALLS):
            continue
        reason = [k.value for k in node.keywords if k.arg in ("reason", "msg")]
        if node.func.attr == "skip" and node.args:
            reason.append(node.args[0])
        if node.func.attr == "importorskip" and not reason:
            out.append(f"{path.name}:{node.lineno} (importorskip without the extra's name)")
        if any(isinstance(r, ast.Constant | ast.JoinedStr) for r in reason):
            out.append(f"{path.name}:{node.lineno}")
    return out


def test_no_test_writes_its_own_skip_reason() -> None:
    bad = [hit for f in sorted(TESTS.rglob("*.py")) if f not in HELPERS for hit in _own_reasons(f)]
    assert bad == [], f"use tests/skips.py or tests/datadir.py for skip reasons: {bad}"


def test_the_detector_catches_an_own_reason(tmp_path: Path) -> None:
    f = tmp_path / "t.py"
    f.write_text('import pytest\n@pytest.mark.skipif(True, reason="x")\ndef t():\n    pytest.skip(f"y {1}")\n'
                 '    pytest.importorskip("ray")\n    pytest.importorskip("jax", reason=R)\n')
    assert sorted(_own_reasons(f)) == ["t.py:2", "t.py:4", "t.py:5 (importorskip without the extra's name)"]


def test_every_reason_has_one_wording() -> None:
    reasons = [datadir.NO_DATA_REASON, skips.CHROMIUM_REASON, skips.BENCH_REASON, skips.SOURCE_REASON,
               skips.extra_reason("ray"), skips.fixtures_reason(Path("/x"))]
    for r in reasons:
        head, _, how = r.partition(": ")
        assert head.startswith("needs ") and how, r
    assert skips.extra_reason("gpu") == "needs the [gpu] extra: pip install '.[gpu]'"
