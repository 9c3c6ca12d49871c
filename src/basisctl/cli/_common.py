"""Shared CLI plumbing: one-line errors with non-zero exit, JSON output, rich console, warnings, dates.

Exit codes (one scheme for every command, docs/conventions.md): 0 success; 1 a check ran and its verdict is
negative (``data check`` found issues); 2 bad input: usage errors, malformed dates or numbers, unreadable or
invalid files, inputs outside the model's domain, and any warning under ``--strict``.

Everything here is light: no numpy/pandas at import time (``basisctl --help`` stays fast; a test pins it).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from basisctl.errors import BasisctlError


def _stdout_width() -> int | None:
    """``$COLUMNS`` when set (Rich reads it), the terminal's width on a tty, else 140 (pipes, files)."""
    cols = os.environ.get("COLUMNS", "")
    return None if cols.isdigit() or sys.stdout.isatty() else 140


console = Console(width=_stdout_width())
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors, never wrapped
F = TypeVar("F", bound=Callable[..., Any])

#: Parameter name -> flag of every date option; handle_errors checks them before the command runs.
DATE_OPTIONS: dict[str, str] = {
    "asof": "--asof",
    "date_from": "--from",
    "date_to": "--to",
    "from_": "--from",
    "to": "--to",
    "calib_from": "--calib-from",
    "calib_to": "--calib-to",
}


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if type(o).__module__ == "numpy" and hasattr(o, "item"):  # numpy scalar, without importing numpy
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


def print_json(obj: Any) -> None:
    """Print strict JSON (NaN/inf -> null) to stdout. A dict gets the run's ``warnings`` (substitutions)."""
    from basisctl.warnings import current

    if isinstance(obj, dict):  # the result's own warnings plus every one this command printed
        obj = {**obj, "warnings": list(dict.fromkeys([*(obj.get("warnings") or []), *current()]))}
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> NoReturn:
    """One ``error:`` line on stderr (the message is printed literally: ``[...]`` survives) and exit ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One ``warning:`` line on stderr, printed literally."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def check_date(text: str, flag: str) -> None:
    """Fail with one line unless ``text`` is a date/time pandas can read (UTC assumed when naive)."""
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError) as e:  # DateParseError, OutOfBoundsDatetime
        fail(f"{flag}: cannot read date '{text}': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC) ({e})")
    if ts is pd.NaT:
        fail(f"{flag}: cannot read date '{text}': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")


def handle_errors(fn: F) -> F:
    """Turn expected errors (BasisctlError, bad files, bad dates) into one line on stderr and exit code 2.

    Substitutions made during the command (:mod:`basisctl.warnings`) are printed as ``warning:`` lines on
    stderr after it; with a ``strict=True`` argument (``--strict``) the first one is an error (exit 2).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from basisctl.warnings import collecting

        for name, flag in DATE_OPTIONS.items():
            v = kwargs.get(name)
            if isinstance(v, str) and v.strip():
                check_date(v, flag)
        with collecting(strict=bool(kwargs.get("strict", False))) as col:
            try:
                return fn(*args, **kwargs)
            except BasisctlError as e:
                fail(str(e))
            except (FileNotFoundError, PermissionError, IsADirectoryError, FileExistsError) as e:
                fail(f"{e.filename}: {e.strerror}")
            finally:
                for msg in col.messages:
                    warn(msg)
        return None

    return wrapper  # type: ignore[return-value]


def require(ok: bool, flag: str, expected: str, value: float) -> None:
    """Fail naming the flag the user typed and the value as typed (not a derived one, e.g. stressed sigma)."""
    if not ok:
        fail(f"{flag} must be {expected} (got {value:g})")


def check_model_flags(**flags: float | None) -> None:
    """Check the usual model flags by their CLI names before anything is derived from them."""
    rules: dict[str, tuple[str, Callable[[float], bool]]] = {
        "sigma": ("> 0 [annualised]", lambda v: v > 0 and math.isfinite(v)),
        "stress": ("> 0 [x]", lambda v: v > 0 and math.isfinite(v)),
        "lookback_days": ("> 0 [days]", lambda v: v > 0 and math.isfinite(v)),
        "horizon_days": ("> 0 [days]", lambda v: v > 0 and math.isfinite(v)),
        "h_liq_hours": ("> 0 [h]", lambda v: v > 0 and math.isfinite(v)),
        "epsilon": ("in (0, 1)", lambda v: 0 < v < 1),
        "eps_liq": ("in (0, 1)", lambda v: 0 < v < 1),
        "lgd": ("in (0, 1]", lambda v: 0 < v <= 1),
        "l_max": ("> 0 [x]", lambda v: v > 0 and math.isfinite(v)),
        "theta_f": ("in (0, 1)", lambda v: 0 < v < 1),
    }
    for name, value in flags.items():
        if value is None or name not in rules:
            continue
        expected, ok = rules[name]
        require(ok(value), "--" + name.replace("_", "-"), expected, value)


def full_table(title: str, header: list[str], rows: list[list[str]], **kw: Any) -> Any:
    """A Rich table whose cells are never shortened (no ``0.074…``): each column is at least as wide as its
    longest cell; headers fold to fit ``$COLUMNS``, and a table that still does not fit runs past it."""
    from rich.table import Table

    t = Table(title=title, **kw)
    for j, h in enumerate(header):  # headers may fold onto two lines; the numbers never do
        width = max([min(len(h), 6)] + [len(r[j]) for r in rows])
        t.add_column(h, justify="right", min_width=width, overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def fmt_number(v: Any) -> str:
    """A number as text without losing what matters: ints as ints, floats to 6 significant digits, no -0."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        s = f"{v:.6g}"
        return s[1:] if s.startswith("-") and float(s) == 0 else s
    return str(v)


def parse_floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--{name} expects comma-separated numbers (got '{text}')")
        raise  # unreachable


def parse_strs(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


SPIKES_HELP = ("Leave one-bar price spikes in --prices-file out (a warning lists them) instead of refusing the "
               "file; see `basisctl data check`.")
STRICT_HELP = "Treat every warning (substituted input, thin sample, missing data) as an error: exit 2."
