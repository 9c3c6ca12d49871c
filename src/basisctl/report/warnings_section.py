"""Warnings under the report section they affect: every substitution and thin sample made while building it."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar

from basisctl.warnings import collecting

T = TypeVar("T")


def warnings_html(messages: list[str]) -> str:
    """A visible list of the section's warnings ('' when there are none)."""
    if not messages:
        return ""
    items = "".join(f"<li>warning: {html.escape(m)}</li>" for m in messages)
    return (f"<div class='warnings'><p><b>Warnings for this section</b> (substituted inputs, thin samples, "
            f"missing data; <code>--strict</code> refuses them):</p><ul>{items}</ul></div>")


def with_warnings(build: Callable[[], T]) -> tuple[T, str]:
    """Run one section builder, collecting its substitutions; returns (result, warnings HTML)."""
    with collecting() as col:
        out = build()
    return out, warnings_html(col.messages)
