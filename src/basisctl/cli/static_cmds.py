"""Static control commands: static, static-grid, funding-stats (filled in below)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
