"""Warnings and notes under the report section they affect: every substitution, thin sample and informational note
made while building it. Warnings (``--strict`` refuses them) and notes (it does not) are listed apart."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar

from basisctl.warnings import collecting

T = TypeVar("T")


def warnings_html(messages: list[str], notes: list[str] | None = None) -> str:
    """A visible list of the section's warnings, then its notes ('' when there are neither)."""
    out = ""
    if messages:
        items = "".join(f"<li>warning: {html.escape(m)}</li>" for m in messages)
        out += (f"<div class='warnings'><p><b>Warnings for this section</b> (substituted inputs, thin samples, "
                f"missing data; <code>--strict</code> refuses them):</p><ul>{items}</ul></div>")
    if notes:
        items = "".join(f"<li>note: {html.escape(m)}</li>" for m in notes)
        out += (f"<div class='notes'><p><b>Notes for this section</b> (informational: a documented treatment, no "
                f"substituted input; <code>--strict</code> accepts them):</p><ul>{items}</ul></div>")
    return out


def with_warnings(build: Callable[[], T]) -> tuple[T, str]:
    """Run one section builder, collecting its substitutions and notes; returns (result, their HTML)."""
    with collecting() as col:
        out = build()
    return out, warnings_html(col.messages, col.notes)
