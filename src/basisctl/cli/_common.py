"""Shared CLI plumbing: one-line errors with non-zero exit, JSON output, rich console."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import numpy as np
import typer
from rich.console import Console

from basisctl.errors import BasisctlError

console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors, never wrapped
F = TypeVar("F", bound=Callable[..., Any])


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


def print_json(obj: Any) -> None:
    """Print strict JSON (NaN/inf -> null) to stdout."""
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn expected errors (BasisctlError, bad files) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BasisctlError as e:
            fail(str(e))
        except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
            fail(f"{e.filename}: {e.strerror}")
        return None

    return wrapper  # type: ignore[return-value]


def parse_floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--{name} expects comma-separated numbers (got '{text}')")
        raise  # unreachable


def parse_strs(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]
