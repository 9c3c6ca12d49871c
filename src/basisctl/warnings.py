"""Substitutions and thin samples are never silent: one collector, one ``warning:`` line each, ``--strict`` = exit 2.

A second, informational kind, :func:`note` (kind ``"note"``), goes through the same collector: the CLI prints it as
one ``note: ...`` line, the report lists it under its section apart from the warnings, and ``--strict`` never
refuses it. A note is for a documented, conservative treatment that changes no input (e.g. risk-study origins on
4h bars where 1h bars are missing); anything that substitutes an input or calibrates from a thin sample stays a
warning (docs/conventions.md, "Warnings and notes").

Library code calls :func:`substitute` wherever it replaces a missing input (the paper's Table VII kappa, a
default cost model), calibrates from a thin sample, or runs with missing data. What happens then depends on the
active :func:`collecting` context:

- inside ``collecting()`` the :class:`Substitution` is recorded (duplicates once); the CLI prints each as one
  ``warning: ...`` line on stderr after the command, JSON outputs carry them under ``warnings`` and the HTML
  report lists them under the section they affect;
- inside ``collecting(strict=True)`` (``--strict``) it raises :class:`StrictError`, which the CLI turns into
  one ``error:`` line and exit code 2 before any result is printed;
- outside any context it is a Python :class:`SubstitutionWarning` (``warnings.warn``), so notebook users see it.

Contexts nest: what an inner context records is passed on to the outer one when it closes.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import warnings as _py_warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, ParamSpec, TypeVar

from basisctl.errors import BasisctlError

Kind = Literal["paper_input", "default_input", "thin_sample", "missing_data", "suspect_data", "note"]


class SubstitutionWarning(UserWarning):
    """Python warning category for substitutions outside a collector."""


class NoteWarning(UserWarning):
    """Python warning category for informational notes outside a collector (not a substitution)."""


class StrictError(BasisctlError):
    """A substitution or thin sample under ``--strict``."""


@dataclass(frozen=True)
class Substitution:
    """One substituted input or thin sample: ``kind`` classifies it, ``message`` is the one-line text."""

    kind: Kind
    message: str

    def __str__(self) -> str:
        return self.message

    @property
    def is_note(self) -> bool:
        """An informational note (``--strict`` lets it pass), not a warning."""
        return self.kind == "note"

    @property
    def prefix(self) -> str:
        """The line's prefix on stderr: ``note`` or ``warning``."""
        return "note" if self.is_note else "warning"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass
class Collector:
    """The substitutions recorded in one :func:`collecting` context, in order, without duplicates."""

    strict: bool = False
    items: list[Substitution] = field(default_factory=list)
    #: Messages already written to stderr when they happened (``substitute(..., echo=True)``): not printed again.
    echoed: set[str] = field(default_factory=set)

    def add(self, sub: Substitution) -> None:
        if sub not in self.items:
            self.items.append(sub)

    @property
    def messages(self) -> list[str]:
        """The warnings' texts (notes excluded: see :attr:`notes`)."""
        return [s.message for s in self.items if not s.is_note]

    @property
    def notes(self) -> list[str]:
        """The informational notes' texts."""
        return [s.message for s in self.items if s.is_note]


_active: ContextVar[Collector | None] = ContextVar("basisctl_substitutions", default=None)


@contextmanager
def collecting(strict: bool | None = None) -> Iterator[Collector]:
    """Record substitutions made inside the block; ``strict`` (default: inherit) makes each one an error."""
    outer = _active.get()
    col = Collector(strict=bool(outer.strict if (strict is None and outer is not None) else strict))
    token = _active.set(col)
    try:
        yield col
    finally:
        _active.reset(token)
        if outer is not None:
            for s in col.items:
                outer.add(s)
            outer.echoed |= col.echoed


def substitute(kind: Kind, message: str, echo: bool = False) -> Substitution:
    """Report a substitution / thin sample (see the module docstring for where it goes).

    ``echo`` (long computations): inside a collector the ``warning:`` line is also written to stderr now, once,
    and the CLI does not print it again at the end."""
    sub = Substitution(kind, message)
    col = _active.get()
    if col is None:
        _py_warnings.warn(message, NoteWarning if sub.is_note else SubstitutionWarning, stacklevel=2)
    elif col.strict and not sub.is_note:
        raise StrictError(f"{message} (--strict turns every warning into an error)")
    else:
        if echo and sub not in col.items and message not in col.echoed:
            sys.stderr.write(f"{sub.prefix}: {message}\n")
            sys.stderr.flush()
            col.echoed.add(message)
        col.add(sub)
    return sub


def note(message: str, echo: bool = False) -> Substitution:
    """An informational ``note:`` line: recorded like a warning (same collector, report section, JSON), never
    refused by ``--strict``. Use it only for a documented treatment that substitutes no input."""
    return substitute("note", message, echo=echo)


P = ParamSpec("P")
R = TypeVar("R")


def records_warnings(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for functions returning a frozen dataclass with a ``warnings: tuple[str, ...]`` field: the
    substitutions made inside are attached to the result (and still reach the caller's collector)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with collecting() as col:
            out = fn(*args, **kwargs)
        if col.items:
            merged = tuple(dict.fromkeys([*getattr(out, "warnings", ()), *col.messages]))
            out = dataclasses.replace(out, warnings=merged)  # type: ignore[type-var]
        return out

    return wrapper


def current() -> list[str]:
    """Messages recorded so far in the innermost active context ([] outside any)."""
    col = _active.get()
    return col.messages if col is not None else []


def current_notes() -> list[str]:
    """Notes recorded so far in the innermost active context ([] outside any)."""
    col = _active.get()
    return col.notes if col is not None else []


__all__ = [
    "Collector",
    "NoteWarning",
    "StrictError",
    "Substitution",
    "SubstitutionWarning",
    "collecting",
    "current",
    "current_notes",
    "note",
    "records_warnings",
    "substitute",
]
