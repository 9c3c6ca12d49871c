"""Secrets never reach a message: anything shaped like a private key (64 hex digits, with or without 0x) is
replaced by ``<redacted>`` in every error, warning and alert line (issue 19, N10). Transaction hashes have the
same shape and are redacted too (harmless: they are never needed in a one-line message)."""

from __future__ import annotations

import re

_KEY = re.compile(r"(?<![0-9a-fA-F])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])")


def looks_like_key(text: str) -> bool:
    """True when ``text`` holds something shaped like a private key."""
    return bool(_KEY.search(text))


def redact(text: str) -> str:
    """``text`` with every key-shaped run of hex digits replaced by ``<redacted>``."""
    return _KEY.sub("<redacted>", text)
