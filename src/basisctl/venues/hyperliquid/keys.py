"""Signing keys: only from an environment variable or an encrypted (Web3 v3) keystore - never from config
files, never logged, never journaled. ``Signer`` hides the key from repr/str/pickling."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from basisctl.errors import BasisctlError

#: a throwaway key for the local test server ONLY (derived from a public string; holds nothing anywhere)
_TEST_KEY_SEED = b"basisctl local test server key - never fund this"


class KeyError_(BasisctlError):
    pass


def _account() -> Any:
    try:
        from eth_account import Account
    except ImportError:  # pragma: no cover - depends on the 'live' extra
        raise KeyError_("signing needs the 'live' extra: pip install 'basisctl[live]'") from None
    return Account


class Signer:
    """Wraps an eth_account LocalAccount; the key never appears in repr, str, logs or exceptions."""

    __slots__ = ("_acct",)

    def __init__(self, acct: Any):
        self._acct = acct

    @property
    def address(self) -> str:
        return str(self._acct.address)

    @property
    def wallet(self) -> Any:
        return self._acct

    def __repr__(self) -> str:
        return f"Signer(address={self.address}, key=<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Signer cannot be pickled (it holds a private key)")


def load_signer(
    secret_env: str, keystore: str | Path | None = None, password_env: str = "BASISCTL_KEYSTORE_PASSWORD"
) -> Signer:
    """From an encrypted keystore (password in ``password_env``) if given, else from ``secret_env``."""
    acct = _account()
    if keystore:
        path = Path(keystore)
        pw = os.environ.get(password_env)
        if pw is None:
            raise KeyError_(f"keystore {path} needs its password in the environment variable {password_env}")
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyError_(f"{path}: keystore file not found") from None
        except json.JSONDecodeError:
            raise KeyError_(f"{path}: not a JSON keystore") from None
        try:
            key = acct.decrypt(data, pw)
        except ValueError:
            raise KeyError_(f"{path}: wrong keystore password (from {password_env})") from None
        return Signer(acct.from_key(key))
    raw = os.environ.get(secret_env)
    if not raw:
        raise KeyError_(f"no signing key: set the environment variable {secret_env} or venue.keystore")
    try:
        return Signer(acct.from_key(raw.strip()))
    except Exception:
        raise KeyError_(f"the value of {secret_env} is not a valid private key (value not shown)") from None


def key_roles(signer: Signer, account: str) -> str:
    """Which key does what (issue 19, N12), as one line; KeyError_ when the key cannot do what the controller
    needs. Hyperliquid: orders, cancels and scheduleCancel are L1 actions an agent (API) key may sign for its
    account; collateral moves between spot and perp (``usdClassTransfer``) are user-signed actions only the
    account's MAIN key can sign - and that key can also withdraw. The controller moves collateral (sell-basis /
    buy-basis rebalances, the idle-USDC sweep), so it needs the main key."""
    if signer.address.lower() == account.lower():
        return (f"keys: {signer.address} is the main key of account {account}: it signs orders and collateral "
                "moves (usdClassTransfer) - and could withdraw: keep it in an encrypted keystore")
    raise KeyError_(
        f"keys: signer {signer.address} is not account {account} (an agent/API key): it can sign orders but not "
        "usdClassTransfer, which every rebalance and the USDC sweep need; give the account's main key "
        "(venue.keystore or venue.secret_env)")


def test_private_key() -> str:
    """The local test server's throwaway key (hex). Not a secret: it is derived from a public string."""
    from eth_utils import keccak

    return "0x" + keccak(_TEST_KEY_SEED).hex()


def test_wallet_address() -> str:
    return str(_account().from_key(test_private_key()).address)
