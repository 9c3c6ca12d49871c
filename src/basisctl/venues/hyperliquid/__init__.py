"""Hyperliquid, one folder: the live spot + perp adapter over the documented /info and /exchange HTTP API
(``adapter.py``), signing keys (``keys.py``) and the local test server that speaks the same API on 127.0.0.1
(``server.py``). The shared venue protocol stays in ``basisctl.live.venue``."""
