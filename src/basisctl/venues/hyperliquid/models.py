"""Typed models of the Hyperliquid /info responses the adapter reads: the ONE place a venue field is parsed.

Each model names only the fields the controller uses; unknown extra fields are ignored (the venue adds fields
over time). A missing or malformed field is a parse failure: :func:`parse` raises
:class:`~basisctl.venues.protocol.VenueDataError` naming the response type and the field path (e.g.
``userFillsByTime[3].sz: expected a finite number, got None``), so the read is UNKNOWN - the cycle is skipped
and alerted (STATE_UNKNOWN), the process never crashes on venue data.

Numbers: Hyperliquid sends decimals as strings ("89897.0") and integers (times, ids) as JSON numbers; a
``VNum`` accepts a finite decimal string or number and refuses booleans, None, '' and non-finite values.
Documented shapes: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint (and
.../perpetuals, .../spot); checked against the recorded responses in ../shared/fixtures/hyperliquid.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from basisctl.venues.protocol import VenueDataError


def _num(x: Any) -> float:
    if isinstance(x, bool) or x is None or (isinstance(x, str) and not x.strip()):
        raise ValueError(f"expected a finite number, got {x!r}")
    if not isinstance(x, int | float | str):
        raise ValueError(f"expected a finite number, got {type(x).__name__}")
    try:
        v = float(x)
    except ValueError:
        raise ValueError(f"expected a finite number, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {x!r}")
    return v


def finite_number(x: Any) -> float:
    """A venue decimal outside a model (an /exchange answer's fields): ValueError unless finite."""
    return _num(x)


def _int(x: Any) -> int:
    if isinstance(x, bool) or x is None:
        raise ValueError(f"expected an integer, got {x!r}")
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().lstrip("-").isdigit():
        return int(x)
    if isinstance(x, float) and x.is_integer():
        return int(x)
    raise ValueError(f"expected an integer, got {x!r}")


def _pos(x: Any) -> float:
    v = _num(x)
    if v <= 0:
        raise ValueError(f"expected a positive number, got {x!r}")
    return v


def _nonneg(x: Any) -> float:
    v = _num(x)
    if v < 0:
        raise ValueError(f"expected a number >= 0, got {x!r}")
    return v


VNum = Annotated[float, BeforeValidator(_num)]
"""A venue decimal (string or number), finite."""
VPos = Annotated[float, BeforeValidator(_pos)]
"""A venue price (or a fill / book-level size): finite and > 0."""
VNonNeg = Annotated[float, BeforeValidator(_nonneg)]
"""A venue amount that cannot be negative (a spot balance, an order's remaining size, |szi| x mark): finite, >= 0."""
VInt = Annotated[int, BeforeValidator(_int)]
"""A venue integer (times [ms], ids)."""


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ------------------------------------------------------------------ perp account (clearinghouseState)
class Leverage(_M):
    """A position's margin mode: ``cross`` (the account's margin backs it) or ``isolated`` (its own margin,
    ``rawUsd`` = the isolated cash [USDC]: position equity = rawUsd + szi x mark)."""

    type: Literal["cross", "isolated"]
    value: VNum  # leverage setting [x]
    rawUsd: VNum | None = None  # isolated only [USDC]


class Position(_M):
    coin: str
    szi: VNum  # signed size [base units], short < 0
    positionValue: VNonNeg  # |szi| x mark [USD]
    leverage: Leverage | None = None  # absent in the oldest recordings; the margin-mode reader refuses that
    liquidationPx: VNum | None = None  # the venue's liquidation price [USD]; null when it has none
    marginUsed: VNum | None = None  # [USDC]; isolated: the position's equity
    entryPx: VNum | None = None  # [USD]


class ActiveAssetData(_M):
    """activeAssetData: the account's leverage setting for one perp (also without a position)."""

    coin: str
    leverage: Leverage


class AssetPosition(_M):
    position: Position


class MarginSummary(_M):
    accountValue: VNum  # [USDC]
    totalMarginUsed: VNum | None = None  # [USDC]


class ClearinghouseState(_M):
    assetPositions: list[AssetPosition]
    marginSummary: MarginSummary
    crossMaintenanceMarginUsed: VNum | None = None  # [USDC]
    withdrawable: VNum | None = None  # [USDC]


# ------------------------------------------------------------------ spot account (spotClearinghouseState)
class SpotBalance(_M):
    coin: str
    total: VNonNeg  # [token units]; a spot balance is never negative (no borrowing outside portfolio margin)


class SpotClearinghouseState(_M):
    balances: list[SpotBalance]


# ------------------------------------------------------------------ books and contexts
class BookLevel(_M):
    px: VPos  # [USD]
    sz: VPos  # [base units]; a level the venue lists has size (a negative one made the book walk cost negative)


class L2Book(_M):
    coin: str
    time: VInt  # [ms]
    levels: tuple[list[BookLevel], list[BookLevel]]  # (bids best first, asks best first)


class PerpAssetCtx(_M):
    markPx: VPos
    oraclePx: VPos
    funding: VNum  # predicted funding per interval [decimal]


class PerpUniverseAsset(_M):
    name: str
    szDecimals: VInt
    maxLeverage: VNum | None = None  # absent in 2023 recordings; the adapter refuses an asset without it


class Meta(_M):
    universe: list[PerpUniverseAsset]


class SpotToken(_M):
    name: str
    index: VInt
    szDecimals: VInt


class SpotPair(_M):
    name: str
    tokens: tuple[VInt, VInt]
    index: VInt


class SpotMeta(_M):
    tokens: list[SpotToken]
    universe: list[SpotPair]


# ------------------------------------------------------------------ account history
class Liquidation(_M):
    liquidatedUser: str | None = None
    markPx: VNum | None = None
    method: str | None = None


class UserFill(_M):
    """One row of userFills / userFillsByTime."""

    coin: str
    px: VPos
    sz: VPos  # [base units]; the direction is in ``side`` (a negative size flipped the fill)
    side: Literal["B", "A"]
    time: VInt
    fee: VNum | None = None  # absent in the oldest (2023) recordings; the adapter refuses a fill without it
    feeToken: str | None = None
    tid: VInt | None = None
    oid: VInt | None = None
    hash: str | None = None
    cloid: str | None = None
    dir: str | None = None
    liquidation: Liquidation | None = None


class FundingDelta(_M):
    """One userFunding row. Rows aggregating several settlements (nSamples > 1, seen in 2023 recordings of the
    8-hourly era) carry the mean szi and rate and the summed usdc: usdc = -szi x px x rate x nSamples."""

    type: str
    coin: str
    usdc: VNum
    szi: VNum
    fundingRate: VNum
    nSamples: VInt | None = None  # settlements aggregated in this row (None: one)


class UserFunding(_M):
    time: VInt
    delta: FundingDelta


class LedgerDelta(_M):
    """userNonFundingLedgerUpdates delta: many types; the transfer fields are checked where type says so."""

    type: str
    usdc: VNum | None = None
    toPerp: bool | None = None
    nonce: VInt | None = None


class LedgerUpdate(_M):
    time: VInt
    hash: str
    delta: LedgerDelta


class OrderInfo(_M):
    sz: VNonNeg  # remaining size [base units]
    origSz: VNonNeg | None = None
    oid: VInt | None = None
    cloid: str | None = None


class OrderWithStatus(_M):
    order: OrderInfo
    status: str


class OrderStatusResponse(_M):
    status: str
    order: OrderWithStatus | None = None


class ServerTime(_M):
    time: VInt


T = TypeVar("T")


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def parse(model: Any, data: Any, what: str) -> Any:
    """``data`` validated as ``model`` (a model class or a type such as ``list[UserFill]``). VenueDataError
    names ``what`` (the request type) and the first bad field's path, with the offending value."""
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return _adapter(model).validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        got = err.get("input")
        shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
        raise VenueDataError(
            f"malformed {what}{_where(tuple(err['loc']))}: {err['msg']} (got {shown[:60]}); "
            f"{len(e.errors())} bad field(s)"
        ) from None


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    key = repr(tp)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(tp)
    return _ADAPTERS[key]


def parse_meta_and_ctxs(data: Any) -> tuple[Meta, list[Any]]:
    """metaAndAssetCtxs: [meta, [ctx per universe asset]]; contexts are parsed per asset on use."""
    if not isinstance(data, list) or len(data) != 2 or not isinstance(data[1], list):
        raise VenueDataError(f"malformed metaAndAssetCtxs: expected [meta, [ctx...]], got {type(data).__name__}")
    return parse(Meta, data[0], "metaAndAssetCtxs[0]"), data[1]
