"""Shared CLI plumbing: one-line errors with non-zero exit, JSON output, rich console, warnings, dates.

Exit codes (one scheme for every command, docs/conventions.md): 0 success; 1 a check ran and its verdict is
negative (``data check`` found issues); 2 bad input: usage errors, malformed dates or numbers, unreadable or
invalid files, inputs outside the model's domain, and any warning under ``--strict``.

Everything here is light: no numpy/pandas at import time (``basisctl --help`` stays fast; a test pins it).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import os
import re
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
    """Print strict JSON (NaN/inf -> null) to stdout. A dict gets the run's ``warnings`` (substitutions) and,
    when there are any, its informational ``notes``."""
    from basisctl.warnings import current, current_notes

    if isinstance(obj, dict):  # the result's own warnings plus every one this command printed
        obj = {**obj, "warnings": list(dict.fromkeys([*(obj.get("warnings") or []), *current()]))}
        if notes := current_notes():
            obj["notes"] = list(dict.fromkeys([*(obj.get("notes") or []), *notes]))
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> NoReturn:
    """One ``error:`` line on stderr (the message is printed literally: ``[...]`` survives) and exit ``code``."""
    from basisctl.redact import redact

    err_console.print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One ``warning:`` line on stderr, printed literally."""
    from basisctl.redact import redact

    err_console.print(f"[yellow]warning:[/] {escape(redact(message))}", highlight=False)


def inform(message: str) -> None:
    """One ``note:`` line on stderr (informational: ``--strict`` lets it pass), printed literally."""
    from basisctl.redact import redact

    err_console.print(f"[cyan]note:[/] {escape(redact(message))}", highlight=False)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE_HINT = "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
#: day and month first, in either order (01/02/2026, 1.2.26): pandas reads these month-first, a European reader
#: day-first; refused rather than guessed
_AMBIGUOUS_DATE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b")


def check_date(text: str, flag: str) -> None:
    """Fail with one line unless ``text`` is a date/time pandas can read (UTC assumed when naive).

    ISO-shaped text is checked with the standard library (no pandas import for an argument error); other
    shapes pandas may still read (``2025/03/10``) are left to pandas."""
    t = text.strip()
    if _ISO_DATE.match(t):
        try:
            _dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError as e:
            fail(f"{flag}: cannot read date '{text}': {_DATE_HINT} ({e})")
        return
    if _AMBIGUOUS_DATE.match(t):
        fail(f"{flag}: cannot read date '{text}': day/month order is ambiguous; {_DATE_HINT}")
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError) as e:  # DateParseError, OutOfBoundsDatetime
        fail(f"{flag}: cannot read date '{text}': {_DATE_HINT} ({e})")
    if ts is pd.NaT:
        fail(f"{flag}: cannot read date '{text}': {_DATE_HINT}")


def _finite(v: float) -> bool:
    return math.isfinite(v)


def _positive(unit: str) -> tuple[str, Callable[[float], bool]]:
    return f"> 0 {unit}".rstrip(), lambda v: v > 0


def _nonnegative(unit: str) -> tuple[str, Callable[[float], bool]]:
    return f">= 0 {unit}".rstrip(), lambda v: v >= 0


#: Domain of the numeric options by parameter name (the same name means the same thing on every command):
#: name -> (expected, test). Every float option is also checked to be finite (nan/inf) by :func:`handle_errors`.
NUMBER_RULES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "sigma": _positive("[annualised]"),
    **dict.fromkeys(("stress", "gbm_stress", "path_stress"), _positive("[x]")),
    **dict.fromkeys(("lookback_days", "horizon_days"), _positive("[days]")),
    **dict.fromkeys(("horizon_hours", "h_liq_hours", "step_hours"), _positive("[h]")),
    "window_hours": _nonnegative("[h]"),
    **dict.fromkeys(("epsilon", "eps_liq", "theta_f"), ("in (0, 1)", lambda v: 0 < v < 1)),
    "lgd": ("in (0, 1]", lambda v: 0 < v <= 1),
    "l_max": ("> 1 [x]", lambda v: v > 1),
    **dict.fromkeys(("capital_usd", "notional_usd"), _positive("[USD]")),
    **dict.fromkeys(("q_min_usd", "fixed_usd", "gas_usd", "withdrawal_usd"), _nonnegative("[USD]")),
    **dict.fromkeys(("buffer_bps", "budget_bps", "cost_bps", "budget_buy_bps", "budget_sell_bps", "taker_fee_bps",
                     "spread_bps"), _nonnegative("[bps]")),
    "risk_aversion": _nonnegative(""),
    "delay_bars": _nonnegative("[bars]"),
}


#: Options where ``inf`` means "unlimited" (documented in their help); nan is never accepted.
INF_OK: frozenset[str] = frozenset({"budget_bps", "budget_buy_bps", "budget_sell_bps"})

#: List options (comma-separated) that are costs, budgets or sizes: a negative entry is refused.
NONNEGATIVE_LISTS: frozenset[str] = frozenset({"cost-bps", "budget-bps", "buffer-bps", "q-min-usd"})


def _flag(name: str) -> str:
    """The long option the user typed for parameter ``name`` (from the click command), else ``--name``."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        for p in ctx.command.params:
            if p.name == name:
                longs = [o for o in p.opts if o.startswith("--")]
                return longs[0] if longs else p.opts[0]
    return "--" + name.replace("_", "-")


def check_numbers(kwargs: dict[str, Any]) -> None:
    """Every float option finite, and every option named in :data:`NUMBER_RULES` in its domain; one line naming
    the flag and the value as typed, exit 2. Runs before the command imports anything numerical."""
    for name, v in kwargs.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if isinstance(v, float) and (math.isnan(v) or (math.isinf(v) and not (name in INF_OK and v > 0))):
            fail(f"{_flag(name)} must be a finite number (got {v:g})")
        if isinstance(v, int) and not -(2**63) <= v < 2**63:  # the compiled kernels take int64
            fail(f"{_flag(name)} must be an integer below 2**63 (got {v})")
        rule = NUMBER_RULES.get(name)
        if rule is not None and not rule[1](float(v)):
            fail(f"{_flag(name)} must be {rule[0]} (got {v:g})")


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
        for name in ("asset", "assets"):  # `--asset ""` looked for files named "_1h.csv"
            v = kwargs.get(name)
            if isinstance(v, str) and not v.replace(",", "").strip():
                fail(f"--{name} needs a symbol, e.g. BTC (got {v!r})")
        check_numbers(kwargs)
        with collecting(strict=bool(kwargs.get("strict", False))) as col:
            ok = False
            try:
                out = fn(*args, **kwargs)
                ok = True
                return out
            except BasisctlError as e:
                fail(str(e))
            except (FileNotFoundError, PermissionError, IsADirectoryError, FileExistsError) as e:
                fail(f"{e.filename}: {e.strerror}")
            except typer.Exit as e:
                ok = e.exit_code == 0
                raise
            finally:
                # after an error, queued warnings are noise about a result that was never produced: the error
                # line is the last thing printed (issue 20 f)
                for sub in col.items if ok else ():
                    if sub.message not in col.echoed:  # echoed ones were printed when they happened
                        (inform if sub.is_note else warn)(sub.message)
        return None

    return wrapper  # type: ignore[return-value]


def require(ok: bool, flag: str, expected: str, value: float) -> None:
    """Fail naming the flag the user typed and the value as typed (not a derived one, e.g. stressed sigma)."""
    if not ok:
        fail(f"{flag} must be {expected} (got {value:g})")


def check_model_flags(**flags: float | None) -> None:
    """Check the usual model flags by their CLI names before anything is derived from them."""
    for name, value in flags.items():
        if value is None or name not in NUMBER_RULES:
            continue
        expected, ok = NUMBER_RULES[name]
        require(math.isfinite(value) and ok(value), _flag(name), expected, value)


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


def print_table_or_records(title: str, header: list[str], rows: list[list[str]]) -> None:
    """``rows`` as a full table when it fits the terminal (``$COLUMNS``) with whole headers, else one block of
    ``name  value`` lines per row: numbers and names are never shortened or broken mid-word."""
    import textwrap

    width = console.width
    need = sum(max([len(h)] + [len(r[j]) for r in rows]) + 3 for j, h in enumerate(header)) + 1
    if need <= width:
        console.print(full_table(title, header, rows), crop=False)
        return
    for line in textwrap.wrap(title, width=max(width, 20)):
        console.print(line, highlight=False, markup=False, crop=False)
    key_w = max(len(h) for h in header)
    for i, r in enumerate(rows, 1):
        console.print(f"-- {i} of {len(rows)} --", highlight=False, markup=False)
        for h, v in zip(header, r, strict=True):
            console.print(f"{h:<{key_w}}  {v}", highlight=False, markup=False, crop=False)


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


def parse_floats(text: str, name: str, positive: bool = False, allow_inf: bool = False) -> list[float]:
    """Comma-separated finite numbers (``positive``: each > 0; ``allow_inf``: +inf too) for option ``--name``;
    one line naming the option, exit 2 if not."""
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--{name} expects comma-separated numbers (got '{text}')")
        raise  # unreachable
    for x in out:
        if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)) or (positive and x <= 0):
            fail(f"--{name} expects comma-separated finite numbers{' > 0' if positive else ''} (got '{text}')")
        if name in NONNEGATIVE_LISTS and x < 0:
            fail(f"--{name} expects numbers >= 0 (a cost or budget is never negative; got '{text}')")
    return out


def parse_strs(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


SPIKES_HELP = ("Leave one-bar price spikes in --prices-file out (a warning lists them) instead of refusing the "
               "file; see `basisctl data check`.")
STRICT_HELP = "Treat every warning (substituted input, thin sample, missing data) as an error: exit 2."
