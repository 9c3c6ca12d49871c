"""A fresh-interpreter run of `basisctl ARGS` that reports which heavy modules it imported (shared by the
start-up and result-cache import tests)."""

from __future__ import annotations


def probe_source(heavy: tuple[str, ...]) -> str:
    """Python source for ``python -c SRC ARGS_JSON``: runs the CLI with the JSON list of arguments, then prints
    one stderr line ``PROBE {"code": exit code, "heavy": the modules of ``heavy`` loaded}``."""
    return f"""
import json, sys
sys.argv = ["basisctl", *json.loads(sys.argv[1])]
from basisctl.cli.main import app
code = 0
try:
    app()
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("PROBE " + json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""
