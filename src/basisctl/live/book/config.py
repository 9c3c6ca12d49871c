"""The book file (TOML): N positions under one controller process and one journal, with book limits and a kill switch.

A position is (id, asset, venue, capital_usd or weight of the book's capital, band rule, risk model, optional
``overrides`` of any controller-config section). Each position's controller config is derived from a base
controller config (``base_config``, default the shipped paper example) by :func:`position_config`: the book's
journal, per-position trade log / alert log / simulated-venue state, the position's venue margin rule and
funding, and the book's kill file. Errors name the file and the field (``FILE: field 'positions.1.weight': ...``).
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from basisctl.errors import BasisctlError
from basisctl.live.config import (
    ConfigError,
    ControllerConfig,
    _Strict,
    example_config_path,
    known_venue_name,
    parse_config,
    read_toml,
    validate_file_model,
)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
#: controller-config keys a position may not override: they belong to the book
BOOK_OWNED = ("journal", "mode")
#: nested keys the book wires into every position (``section.key``): an override would take the position out of
#: the book's kill switch (``safety.kill_file`` / ``flatten_on_kill``: the operator's book kill switch left it
#: trading), trade another asset than the one its limits are counted under (``venue.asset``) or give it another
#: capital than the book allocates (``sim.capital_usd``: use the position's capital_usd / weight)
BOOK_OWNED_NESTED = ("safety.kill_file", "safety.flatten_on_kill", "venue.asset", "sim.capital_usd")


class PositionSpec(_Strict):
    """One position of the book."""

    id: str = Field(description="unique position id: letters, digits, '_' or '-' (keys its journal rows)")
    asset: str
    venue: str = Field("hyperliquid", description="a venue of basisctl.venues (margin rule, funding, fees)")
    capital_usd: float | None = Field(None, gt=0, le=1e12, description="capital of this position [USD]")
    weight: float | None = Field(None, gt=0, le=1, description="share of the book's capital_usd [fraction]")
    band_rule: Literal["paper", "optimal"] = "paper"
    risk_model: str = Field("fhs", description="risk model of basisctl.risk (fhs, gbm, ...)")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="controller-config overrides: {section = {key = value}} or top-level keys")

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("expected letters, digits, '_' or '-' (at most 32, starting with a letter or digit)")
        return v

    @field_validator("asset")
    @classmethod
    def _asset_upper(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]{1,16}", v):
            raise ValueError("expected an asset symbol such as 'BTC'")
        return v.upper()

    @field_validator("venue")
    @classmethod
    def _venue_known(cls, v: str) -> str:
        return known_venue_name(v)

    @field_validator("risk_model")
    @classmethod
    def _model_known(cls, v: str) -> str:
        from basisctl.live.calibration import check_risk_model

        return check_risk_model(v)

    @field_validator("overrides")
    @classmethod
    def _not_book_owned(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in v if k in BOOK_OWNED]
        bad += [k for k in BOOK_OWNED_NESTED if isinstance(v.get(k.split(".")[0]), dict)
                and k.split(".")[1] in v[k.split(".")[0]]]
        if bad:
            raise ValueError(f"{', '.join(bad)} belong to the book, not to a position")
        return v

    @model_validator(mode="after")
    def _capital_xor_weight(self) -> PositionSpec:
        if (self.capital_usd is None) == (self.weight is None):
            raise ValueError("give exactly one of capital_usd [USD] or weight [fraction of the book's capital_usd]")
        return self


class BookLimits(_Strict):
    """Book-level limits [USD]. They gate NEW risk only (the opening of the book, buy-basis rebalances that grow
    the legs); protective actions (repair, unwind, collateral raise, flatten) are never blocked. None = no limit."""

    max_gross_notional_usd: float | None = Field(None, gt=0, le=1e13, description="sum of |spot| + |perp| [USD]")
    max_venue_notional_usd: dict[str, float] = Field(default_factory=dict, description="venue -> gross cap [USD]")
    max_asset_notional_usd: dict[str, float] = Field(default_factory=dict, description="asset -> gross cap [USD]")
    max_unhedged_usd: float | None = Field(
        None, gt=0, le=1e13, description="sum over positions of |spot + perp| x px above which no position adds risk")

    @field_validator("max_venue_notional_usd", mode="before")
    @classmethod
    def _venue_caps(cls, v: Any) -> Any:
        return {str(k).lower(): _cap(k, x) for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("max_asset_notional_usd", mode="before")
    @classmethod
    def _asset_caps(cls, v: Any) -> Any:
        return {str(k).upper(): _cap(k, x) for k, x in v.items()} if isinstance(v, dict) else v


def _cap(k: object, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or not 0 < x <= 1e13:
        raise ValueError(f"{k}: expected a positive finite USD amount (got {x!r})")
    return float(x)


class KillSection(_Strict):
    file: str = Field("book.kill", description="kill file: present -> every position halts new risk")
    flatten: StrictBool = Field(False, description="on kill, flatten every position (else halt only)")


class BookFile(_Strict):
    """The whole book file (docs/operations.md, "Books")."""

    mode: Literal["paper"] = Field("paper", description="paper only (a live book needs per-position margin)")
    capital_usd: float | None = Field(None, gt=0, le=1e12, description="book capital for weighted positions [USD]")
    journal: str = Field("book.sqlite", description="the ONE journal of every position")
    base_config: str | None = Field(None, description="controller TOML every position starts from; default: "
                                    "the shipped paper example")
    cadence_seconds: float | None = Field(None, gt=0, le=604_800, description="one book cycle every ... [s]")
    start: str | None = Field(None, description="paper: replay start (UTC) of every position")
    limits: BookLimits = BookLimits()
    kill: KillSection = KillSection()
    positions: list[PositionSpec] = Field(min_length=1)
    base_dir: str = "."

    @model_validator(mode="after")
    def _book_rules(self) -> BookFile:
        ids = [p.id for p in self.positions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate position id(s): {', '.join(dup)}")
        weights = [p.weight for p in self.positions if p.weight is not None]
        if weights and self.capital_usd is None:
            raise ValueError("positions with a weight need the book's capital_usd")
        if sum(weights) > 1.0 + 1e-9:
            raise ValueError(f"position weights sum to {sum(weights):.6g} > 1")
        return self

    def capital(self, p: PositionSpec) -> float:
        """Capital of position ``p`` [USD]."""
        if p.capital_usd is not None:
            return float(p.capital_usd)
        assert p.weight is not None and self.capital_usd is not None  # the validators guarantee it
        return float(p.weight) * float(self.capital_usd)

    def resolve(self, rel: str) -> Path:
        q = Path(rel)
        return q if q.is_absolute() else Path(self.base_dir) / q


def parse_book(data: dict[str, Any], source: str = "<book>", base_dir: str | Path = ".") -> BookFile:
    return validate_file_model(BookFile, data, source, base_dir)


def load_book(path: str | Path) -> BookFile:
    """Read and validate a book file; ConfigError names the file, the field and the expectation."""
    p = Path(path)
    return parse_book(read_toml(p, "book file"), str(p), p.resolve().parent)


def _base_dict(book: BookFile) -> tuple[dict[str, Any], str]:
    src = book.resolve(book.base_config) if book.base_config else example_config_path()
    try:
        return tomllib.loads(src.read_text()), str(src)
    except FileNotFoundError:
        raise ConfigError(f"book field 'base_config': {src} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"book field 'base_config': {src} is not valid TOML: {e}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def sim_max_leverage(venue: str, asset: str, capital_usd: float) -> tuple[float, float]:
    """(theta_F [fraction of notional], the simulated venue's max_leverage [x]) for ``venue``'s margin rule.

    The simulated venue's maintenance margin is notional / (2 max_leverage) (Hyperliquid's rule); a venue with
    theta_F = c / L_max is simulated with max_leverage = 1 / (2 theta_F), so its maintenance - hence the
    liquidation price the controller sees - is the venue's. (Its initial margin, 2 theta_F x notional, is then
    conservative for c > 1/2.)"""
    from basisctl.data import locator
    from basisctl.model.margin import theta_f_for

    tiers = None
    if venue == "hyperliquid":
        try:
            tiers = locator.hyperliquid_tiers(asset)
        except BasisctlError:
            tiers = None
    theta, _ = theta_f_for(venue, asset, notional_usd=capital_usd, tiers=tiers)
    return float(theta), 1.0 / (2.0 * float(theta))


def position_config(book: BookFile, p: PositionSpec, source: str = "<book>") -> ControllerConfig:
    """The controller config of position ``p``: the base config + the book's wiring + ``p.overrides``."""
    from basisctl.venues.registry import get_venue

    base, _ = _base_dict(book)
    spec = get_venue(p.venue)
    cap = book.capital(p)
    d = copy.deepcopy(base)
    d["mode"] = book.mode
    d["journal"] = str(book.resolve(book.journal))
    d["trade_log"] = str(book.resolve(f"{p.id}.trades.csv"))
    if book.cadence_seconds is not None:
        d["cadence_seconds"] = book.cadence_seconds
    venue = d.setdefault("venue", {})
    if venue.get("asset", "BTC").upper() != p.asset:
        venue.pop("spot_coin", None)
    venue["asset"] = p.asset
    venue.setdefault("kind", "sim")
    if venue["kind"] == "sim":
        venue["spot_coin"] = f"U{p.asset}/USDC"
        sim = d.setdefault("sim", {})
        sim["state_file"] = str(book.resolve(f"{p.id}.sim.sqlite"))
        sim["capital_usd"] = float(cap)
        sim["perp_taker_fee_bps"] = float(spec.taker_fee_bps)
        if book.start is not None:
            sim["start"] = book.start
        try:
            sim["max_leverage"] = sim_max_leverage(p.venue, p.asset, cap)[1]
        except BasisctlError as e:
            raise ConfigError(f"{source}: position '{p.id}': {e}") from None
    band = d.setdefault("band", {})
    band["rule"] = p.band_rule
    band["funding_venue"] = p.venue
    band["margin_venue"] = p.venue
    d.setdefault("risk", {})["model"] = p.risk_model
    costs = d.setdefault("costs", {})
    costs["perp_fee_bps"] = float(spec.taker_fee_bps)
    safety = d.setdefault("safety", {})
    safety["kill_file"] = str(book.resolve(book.kill.file))
    safety["flatten_on_kill"] = book.kill.flatten
    safety["alert_log"] = str(book.resolve(f"{p.id}.alerts.log"))
    d = _merge(d, p.overrides)
    return parse_config(d, f"{source}: position '{p.id}'", book.base_dir)


def position_configs(book: BookFile, source: str = "<book>") -> dict[str, ControllerConfig]:
    """Every position's controller config, by id (ConfigError on the first bad one, naming it)."""
    return {p.id: position_config(book, p, source) for p in book.positions}
