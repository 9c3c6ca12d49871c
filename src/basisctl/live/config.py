"""Controller configuration: one TOML file validated by pydantic, with errors naming file, field and expectation.

Paths inside the file (journal, sim state, trade log, kill file) are relative to the config file's folder.
Secrets never live here: the config names the environment variable (or keystore file + password variable)
that holds the key; ``account`` is the public address.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from basisctl.errors import BasisctlError
from basisctl.live.sim_venue import SimConfig
from basisctl.redact import looks_like_key, redact
from basisctl.regime.params import RegimeParams


class ConfigError(BasisctlError):
    pass


#: documented finite upper bound of every numeric key without its own (issue 19, N11: 1e308 switched
#: protections off like inf did, and dead_man_seconds = 1e306 crashed with OverflowError). docs/operations.md
#: lists them; |value| <= bound (basis_bps and kappa_fix may be negative).
UPPER: dict[str, float] = {
    "http_timeout_secs": 300, "rate_limit_weight_per_min": 1e6, "dead_man_seconds": 86_400,
    "speed": 1e7, "capital_usd": 1e12, "basis_bps": 10_000, "spot_taker_fee_bps": 1_000, "perp_taker_fee_bps": 1_000,
    "half_spread_bps": 10_000, "level_bps": 10_000, "spot_depth_usd_per_level": 1e12,
    "perp_depth_usd_per_level": 1e12, "levels": 10_000, "max_leverage": 1_000, "seed": 2**63 - 1,
    "kappa_fix": 10, "k_reb_fix_bps": 10_000, "lookback_days": 36_500, "stress": 100, "horizon_days": 3_650,
    "h_liq_hours": 87_600, "upper_horizon_days": 3_650, "sell_basis_bps": 10_000, "buy_basis_bps": 10_000,
    "q_min_usd": 1e12, "buffer_bps": 10_000, "sell_budget_bps": 10_000, "buy_budget_bps": 10_000,
    "spot_fee_bps": 1_000, "perp_fee_bps": 1_000, "max_order_usd": 1e12, "max_position_usd": 1e12,
    "max_gross_notional_usd": 1e12, "hedge_tolerance_usd": 1e12, "max_unhedged_seconds": 2_592_000,
    "max_unhedged_cycles": 1_000_000, "max_unhedged_usd": 1e12, "single_leg_timeout_s": 2_592_000,
    "max_clock_skew_seconds": 86_400, "stale_after_seconds": 2_592_000, "action_expiry_seconds": 86_400,
    "min_transfer_usd": 1e12, "mean_bps": 10_000, "sd_bps": 10_000, "chain_id": 2**63 - 1,
    "max_quote_age_seconds": 3_600, "max_retries": 100, "gas_usd_per_swap": 1e6, "cadence_seconds": 604_800,
    "max_drawdown_pct": 100, "drawdown_window_s": 31_536_000,
}


class _Strict(BaseModel):
    # allow_inf_nan=False: 'inf' would silently switch a protection off (hedge tolerance, unhedged bound);
    # strict=True: no coercion - `true` is not $1 and "50000" is not a number (issue 19, N11)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    @model_validator(mode="after")
    def _finite_ranges(self) -> _Strict:
        for name in type(self).model_fields:
            v = getattr(self, name)
            if isinstance(v, int | float) and not isinstance(v, bool) and name in UPPER and abs(v) > UPPER[name]:
                raise ValueError(f"{name} = {v!r} is outside its documented range (|value| <= {UPPER[name]:g}; "
                                 "see docs/operations.md)")
        return self


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _checksum(addr: str) -> str | None:
    """EIP-55 checksum form of a 0x address (None when no keccak implementation is installed)."""
    try:
        from eth_utils import to_checksum_address

        return str(to_checksum_address(addr))
    except ImportError:
        pass
    try:
        from Crypto.Hash import keccak
    except ImportError:
        return None
    low = addr[2:].lower()
    h = keccak.new(digest_bits=256, data=low.encode()).hexdigest()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c for i, c in enumerate(low))


def check_account(v: str | None) -> str | None:
    """``account`` must be a 0x address (40 hex digits), EIP-55 checksummed when mixed-case. A value shaped like
    a private key is refused without being shown (it would otherwise be sent to the venue as ``user``)."""
    if v is None:
        return v
    if looks_like_key(v):
        raise ValueError(f"expected a 0x account address (40 hex digits); got a {len(v)}-character value that "
                         "looks like a PRIVATE KEY (not shown) - never put a key in the config")
    if not _ADDRESS.match(v):
        raise ValueError("expected a 0x account address (0x + 40 hex digits)")
    body = v[2:]
    if body != body.lower() and body != body.upper():
        cs = _checksum(v)
        if cs is None:
            raise ValueError("mixed-case address cannot be checksum-verified (install the 'live' extra) - "
                             "write it in lower case")
        if cs != v:
            raise ValueError(f"address checksum (EIP-55) does not match; expected {cs}")
    return v


def check_env_name(v: str) -> str:
    """A setting that NAMES an environment variable: refuse a value that looks like the secret itself."""
    if looks_like_key(v):
        raise ValueError("expected the NAME of an environment variable; the value looks like a private key "
                         "(not shown) - put the key in the environment, never in the config")
    if not _ENV_NAME.match(v):
        raise ValueError("expected an environment variable name (letters, digits, '_')")
    return v


def _utc_timestamp(v: str | None) -> str | None:
    """A date/time the controller can use (UTC); refuses words like 'yesterday' with a clear message."""
    if v is None:
        return v
    try:
        ok = pd.Timestamp(v) is not pd.NaT
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError("expected an ISO date/time such as 2025-03-07T00:00:00Z")
    return v


class VenueConfig(_Strict):
    kind: Literal["sim", "hyperliquid"] = "sim"
    asset: str = "BTC"
    spot_coin: str = Field("UBTC/USDC", description="Hyperliquid spot pair name ('UBTC/USDC' or '@142')")
    base_url: str = "https://api.hyperliquid.xyz"
    sz_decimals: int = Field(5, ge=0, le=8, description="perp lot decimals")
    spot_sz_decimals: int = Field(5, ge=0, le=8, description="spot lot decimals")
    http_timeout_secs: float = Field(5.0, gt=0)
    rate_limit_weight_per_min: float = Field(1200.0, gt=0, description="Hyperliquid: 1200 weight/min per IP")
    secret_env: str = "BASISCTL_HL_SECRET_KEY"
    keystore: str | None = None
    keystore_password_env: str = "BASISCTL_KEYSTORE_PASSWORD"
    dead_man_seconds: float = Field(60.0, ge=0, description="scheduleCancel horizon; 0 disables")
    margin_mode: Literal["cross", "isolated"] = Field(
        "cross", description="Hyperliquid: 'isolated' = the position's own margin is its perp account (alpha from "
        "it; collateral moves through updateIsolatedMargin); 'cross' = the account's (docs/operations.md)")

    @field_validator("secret_env", "keystore_password_env")
    @classmethod
    def _env_names(cls, v: str) -> str:
        return check_env_name(v)


class SimSection(_Strict):
    """The simulated venue (paper mode)."""

    state_file: str = "sim-venue.sqlite"
    start: str = "2025-03-07T00:00:00Z"
    clock: Literal["manual", "wall"] = "manual"
    speed: float = Field(3600.0, gt=0, description="wall clock: sim seconds per wall second")
    capital_usd: float = Field(1_000_000.0, gt=0, description="starting capital, opened hedged at alpha_target")
    basis_bps: float = 0.0
    spot_taker_fee_bps: float = Field(7.0, ge=0)
    perp_taker_fee_bps: float = Field(4.5, ge=0)
    half_spread_bps: float = Field(0.5, ge=0)
    level_bps: float = Field(1.0, gt=0)
    spot_depth_usd_per_level: float = Field(250_000.0, gt=0)
    perp_depth_usd_per_level: float = Field(1_000_000.0, gt=0)
    levels: int = Field(40, ge=1)
    max_leverage: float = Field(40.0, gt=1)
    partial_fill_prob: float = Field(0.0, ge=0, le=1)
    reject_prob: float = Field(0.0, ge=0, le=1)
    seed: int = 0
    continue_prices: StrictBool = Field(
        False, description="past the end of the replay, continue prices with a seeded random walk (chaos suite)")

    @field_validator("start")
    @classmethod
    def _start_is_a_date(cls, v: str) -> str:
        _utc_timestamp(v)
        return v


class BandSection(_Strict):
    """Band parameters: fixed values, or calibrated from the data dir at start (paper Sec. 8 + production table)."""

    mode: Literal["fixed", "calibrate"] = "calibrate"
    rule: Literal["paper", "optimal", "regime"] = Field(
        "paper", description="calibrate mode: the paper's band (eq. 45) or the optimal band (basisctl.rules); "
        "'regime': the paper's band (or the fixed band), held only while the [regime] forecast says so "
        "(basisctl.live.regime_policy)")
    alpha_target: float | None = Field(None, gt=0, lt=1)
    alpha_lower: float | None = Field(None, gt=0, lt=1)
    alpha_upper: float | None = Field(None, gt=0, lt=1)
    kappa_fix: float | None = Field(None, description="carry over the upper-trigger horizon [decimal]")
    k_reb_fix_bps: float = Field(20.0, ge=0, description="K_reb^fix [bps of capital]")
    # calibration inputs
    asof: str | None = Field(None, description="calibration date (UTC); default: replay start or now")
    lookback_days: float = Field(180.0, gt=0)
    stress: float = Field(1.5, gt=0)
    epsilon: float = Field(1e-3, gt=0, lt=1)
    horizon_days: float = Field(1.0, gt=0)
    h_liq_hours: float = Field(3.0, gt=0)
    eps_liq: float = Field(1e-4, gt=0, lt=1)
    upper_horizon_days: float = Field(14.0, gt=0)
    funding_venue: str = "hyperliquid"
    margin_venue: str = Field(
        "hyperliquid", description="whose margin rule gives theta_F (basisctl.venues registry; a book position's "
        "venue)")
    prices_file: str | None = Field(
        None, description="candles (CSV/Parquet, shared schema) for sigma, e.g. a `basisctl data fetch` store file; "
        "relative to the config file; default: the data dir's perp series")
    funding_file: str | None = Field(
        None, description="funding history (CSV/Parquet) for kappa; relative to the config file; default: the data dir")

    @field_validator("asof")
    @classmethod
    def _asof_is_a_date(cls, v: str | None) -> str | None:
        return _utc_timestamp(v)

    @field_validator("margin_venue")
    @classmethod
    def _known_margin_venue(cls, v: str) -> str:
        return known_venue_name(v)

    @model_validator(mode="after")
    def _fixed_needs_values(self) -> BandSection:
        if self.mode == "fixed":
            missing = [
                k for k in ("alpha_target", "alpha_lower", "alpha_upper", "kappa_fix") if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"band.mode = 'fixed' needs {', '.join('band.' + m for m in missing)}")
            if not self.alpha_lower <= self.alpha_target <= self.alpha_upper:  # type: ignore[operator]
                raise ValueError("band needs alpha_lower <= alpha_target <= alpha_upper")
        else:  # calibrate: the calibrated band replaces these; a value here would be silently ignored
            keys = ("alpha_target", "alpha_lower", "alpha_upper", "kappa_fix")
            given = [k for k in keys if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{', '.join('band.' + g for g in given)} would be ignored with band.mode = "
                                 "'calibrate' (the band is calibrated); remove it, or set band.mode = 'fixed'")
        return self


class RiskSection(_Strict):
    """The liquidation-risk model that sizes the calibrated band, and its recalibration schedule.

    The budgets live in ``[band]``: ``band.epsilon`` over ``band.horizon_days`` sizes alpha_target and
    ``band.eps_liq`` over ``band.h_liq_hours`` sizes alpha_L (both probabilities of liquidation). ``band.stress``
    applies to the paper's stressed model (gbm) only; under fhs and the other models it is ignored (a
    ``warning:`` when it is set).
    """

    model: str = Field("fhs", description="risk model (basisctl.risk): fhs (default, tail-tested) | gbm (the paper)")
    recalibrate_every_hours: float = Field(
        24.0, ge=0, description="band.mode = 'calibrate': recalibrate every this many hours of VENUE time, at "
        "multiples of the period since 1970-01-01 00:00 UTC (24 = daily at 00:00 UTC); 0 = never [h]")
    bars: Literal["auto", "venue", "store"] = Field(
        "auto", description="recalibration bars: the venue's own 1h candle endpoint ('venue'), the data store "
        "(band.prices_file, else the data dir's perp series: 'store'); 'auto' = venue on Hyperliquid, store on sim")
    timeout_seconds: float = Field(
        300.0, gt=0, description="a recalibration still running after this long (wall) is abandoned [s]")
    seed: int = Field(0, ge=0, description="Monte Carlo seed of simulated models (fhs)")

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        from basisctl.live.calibration import check_risk_model

        return check_risk_model(v)


class CostSection(_Strict):
    model: Literal["flat", "book"] = "book"
    sell_basis_bps: float = Field(39.0, ge=0, description="flat model: sell-basis cost [bps of notional]")
    buy_basis_bps: float = Field(20.0, ge=0, description="flat model: buy-basis cost [bps of notional]")
    q_min_usd: float = Field(10_000.0, ge=0)
    buffer_bps: float = Field(10.0, ge=0)
    sell_budget_bps: float | None = Field(None, ge=0)
    buy_budget_bps: float | None = Field(None, ge=0)
    spot_fee_bps: float = Field(7.0, ge=0, description="book model: spot taker fee [bps]")
    perp_fee_bps: float = Field(4.5, ge=0, description="book model: perp taker fee [bps]")
    # < 10000 bps: a sell limit at mid x (1 - s) must stay above 0 (at 100 % there is no price protection)
    max_slippage_bps: float = Field(30.0, gt=0, lt=10_000, description="IOC limit offset from mid [bps]")
    emergency_slippage_bps: float = Field(300.0, gt=0, lt=10_000)


class LimitSection(_Strict):
    max_order_usd: float = Field(2_000_000.0, gt=0, description="cap on any one order, repairs included [USD]")
    max_position_usd: float = Field(
        10_000_000.0, gt=0, description="cap on each leg's notional after an order that grows it [USD]")
    max_gross_notional_usd: float = Field(
        20_000_000.0, gt=0, description="cap on |spot| + |perp| notional after an order that grows it [USD]")
    hedge_tolerance_usd: float = Field(50.0, ge=0, description="|spot + perp| x px tolerated [USD]")
    max_unhedged_seconds: float = Field(60.0, gt=0, description="escalate after this long one-legged [s]")
    max_unhedged_cycles: int = Field(3, ge=1, description="... or after this many cycles one-legged")
    max_unhedged_usd: float = Field(500_000.0, gt=0)
    single_leg_timeout_s: float = Field(
        60.0, gt=0, description="one-legged this long (or 2 x max_unhedged_cycles cycles) with the hedge still "
        "failing -> safety.one_legged_action [s]")
    max_clock_skew_seconds: float = Field(5.0, gt=0, description="CLOCK_SKEW alert past this offset to venue [s]")
    stale_after_seconds: float = Field(30.0, gt=0, description="no action on prices older than this [s]")
    action_expiry_seconds: float = Field(15.0, gt=0, description="expiresAfter on every action [s]")
    min_transfer_usd: float = Field(1.0, ge=0)
    max_drawdown_pct: float = Field(
        10.0, gt=0, le=100, description="equity this far below its peak within drawdown_window_s: halt new risk "
        "(DRAWDOWN, until `basisctl ack`) [% of the peak]")
    drawdown_window_s: float = Field(86_400.0, gt=0, description="window of the drawdown peak [s, venue time]")
    fill_lookback_s: float = Field(
        604_800.0, gt=0, le=7_776_000, description="while journal and venue disagree, fills are re-read back to "
        "their last agreement, at most this far [s]")
    max_price_deviation_bps: float = Field(
        300.0, gt=0, le=5_000, description="spot mid further than this from the perp mark or oracle: the read is "
        "unknown (PRICE_INSANE), nothing is sent [bps]")
    max_mid_move_bps: float = Field(
        1_500.0, gt=0, le=10_000, description="spot mid moved this far from the last good mid while the mark moved "
        "less than half as far: unknown (PRICE_INSANE) [bps]")


class SafetySection(_Strict):
    kill_file: str = "basisctl.kill"
    flatten_on_kill: StrictBool = False
    one_legged_action: Literal["unwind", "halt"] = Field(
        "unwind", description="hedge still failing after limits.single_leg_timeout_s: bring spot back to the "
        "hedged size ('unwind') or only halt new risk ('halt')")
    external_change_action: Literal["unwind", "rehedge"] = Field(
        "unwind", description="a position change no journaled order explains (liquidation, ADL, manual trade): "
        "bring spot back to the hedged size ('unwind') or re-open the perp hedge ('rehedge'); both halt new "
        "risk until `basisctl ack`")
    alert_log: str = "alerts.log"
    halt_realert_seconds: float = Field(
        300.0, ge=0, le=86_400, description="a halt reason raised again alerts again, at most once per this [s]")
    adopt_reads: int = Field(
        3, ge=2, le=100, description="K: consecutive complete, price-sane reads that must agree before venue truth "
        "is adopted over the journal's (a balance absent at genesis taken as zero)")
    adopt_seconds: float = Field(
        30.0, ge=0, le=86_400, description="T: those K reads must span at least this long [s]")


class VenueTruthSection(_Strict):
    """Model vs venue checks every cycle (live/venue_truth.py; docs/operations.md, "Venue truth")."""

    enabled: StrictBool = True
    liq_drift_max: float = Field(
        0.01, gt=0, le=0.5, description="LIQ_PRICE_DRIFT when |model barrier / venue liquidationPx - 1| exceeds "
        "this [fraction; range (0, 0.5]]")
    funding_tolerance_usd: float = Field(
        0.01, ge=0, le=1_000, description="FUNDING_MISMATCH when |paid - szi x px x rate| exceeds this [USDC] ...")
    funding_tolerance_rel: float = Field(
        0.01, ge=0, le=1, description="... plus this fraction of |szi x px x rate| [fraction; range [0, 1]]")
    realert_seconds: float = Field(
        3_600.0, ge=0, le=86_400, description="a lasting drift alerts again at most once per this [s, venue time]")


class SlippageSection(_Strict):
    """Paper settlement of aggregator swaps: output worse than quoted by max(0, N(mean, sd)) [bps]."""

    mean_bps: float = Field(0.0, ge=0)
    sd_bps: float = Field(0.0, ge=0)
    seed: int = 0


class SpotRouteSection(_Strict):
    """How the SPOT leg executes: on the venue's spot book ('venue', default) or as a DEX-aggregator swap
    ('1inch' Swap API v6 / '0x' Swap API v2) from an on-chain wallet (docs/operations.md, "Aggregator spot route").
    """

    kind: Literal["venue", "1inch", "0x"] = "venue"
    base_url: str | None = Field(None, description="aggregator API root; default the public one")
    api_key_env: str | None = Field(None, description="env var holding the API key (ONEINCH_API_KEY / ZEROX_API_KEY)")
    chain_id: int = Field(42161, gt=0, description="EVM chain id (42161 = Arbitrum One)")
    base_token: str = "0x2f2a2543B76A4166549F7aaB2e75Bef0aefC5B0f"  # WBTC on Arbitrum
    base_decimals: int = Field(8, ge=0, le=36)
    usdc_token: str = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"  # native USDC on Arbitrum
    usdc_decimals: int = Field(6, ge=0, le=36)
    max_quote_age_seconds: float = Field(10.0, gt=0, description="a quote older than this is refused [s]")
    max_retries: int = Field(2, ge=0, description="HTTP 429 retries (Retry-After) per quote")
    http_timeout_secs: float = Field(10.0, gt=0)
    wallet_file: str = Field("aggregator-wallet.sqlite", description="wallet + swap/bridge ledger (paper chain)")
    quote_store: str | None = Field("quotes.sqlite", description="every quote is appended here (None: off)")
    gas_usd_per_swap: float = Field(0.0, ge=0, description="gas charged per swap [USD]")
    slippage: SlippageSection = SlippageSection()
    from_address: str | None = Field(None, description="live: the wallet address that sends swaps")


class RegimeSection(RegimeParams):
    """``band.rule = "regime"`` (issue 23, :mod:`basisctl.live.regime_policy`): the study file's ``[regime]``
    parameters (:class:`basisctl.regime.RegimeParams`: model in rolling_mean | ewma | har | gbm, horizon_days
    1-365, holding_days > 0, hurdle_apr, hysteresis_apr >= 0, min_hold_hours >= 0, exit_within_hours (H) > 0,
    decide_every_hours in (0, H], transfer fee / delay >= 0 (they enter the carry arithmetic only: the controller
    never moves funds off the venue), min_history_days >= 1) plus the alternative yield: ``alt_yield_apr``
    [APR, in (-1, 1)] and optionally ``alt_yield_series`` (``provider/name`` in the data dir or a CSV/Parquet
    path; the constant applies outside it)."""

    model: str = "ewma"
    alt_yield_apr: float = Field(0.04, gt=-1.0, lt=1.0, description="alternative yield outside the trade [APR]")
    alt_yield_series: str | None = Field(None, description="rate series (provider/name or file) [APY]")


Severity = Literal["critical", "warning", "info"]


def _default_routes() -> dict[Severity, list[str]]:
    return {"critical": ["*"], "warning": ["*"], "info": []}


class AlertsSection(_Strict):
    """Alerts to operators through apprise (docs/operations.md, "Alerts to operators"). Every alert is journaled
    and logged first; delivery runs in a background thread and never blocks or fails a cycle."""

    urls: dict[str, str] = Field(
        default_factory=dict, description="channel name -> apprise URL (tgram://, slack://, discord://, mailto://, "
        "json://...), or 'env:VAR' naming the environment variable that holds the URL (it carries a token)")
    routes: dict[Severity, list[str]] = Field(
        default_factory=_default_routes,
        description="severity -> channel names ('*' = every channel); a severity left out goes nowhere")
    severity: dict[str, Severity] = Field(
        default_factory=dict, description="per-kind override of the default severity table (KIND = 'critical')")
    dedupe_seconds: float = Field(600.0, ge=0, le=86_400, description="same kind + message again within this: "
                                  "not sent again [s]")
    rate_window_seconds: float = Field(3600.0, gt=0, le=86_400, description="window of the two rate limits [s]")
    max_per_kind: int = Field(6, ge=1, le=100_000, description="at most this many per kind per window")
    max_total: int = Field(30, ge=1, le=100_000, description="at most this many in all per window")
    queue_size: int = Field(200, ge=1, le=100_000, description="undelivered alerts held; beyond: dropped, counted")
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="one delivery attempt's HTTP timeout [s]")
    health_fail_after: int = Field(3, ge=1, le=1_000, description="this many consecutive failed deliveries: "
                                   "/health answers 503 (operators can no longer be told)")

    @model_validator(mode="after")
    def _routes_name_channels(self) -> AlertsSection:
        for sev, names in self.routes.items():
            bad = [n for n in names if n != "*" and n not in self.urls]
            if bad:
                raise ValueError(f"alerts.routes.{sev} names channel(s) {', '.join(bad)} not in alerts.urls")
        for name, url in self.urls.items():
            if url.startswith("env:"):
                check_env_name(url[4:])
            elif "://" not in url:
                raise ValueError(f"alerts.urls.{name}: expected an apprise URL (scheme://...) or 'env:VAR'")
        return self


class BackupSection(_Strict):
    """Online journal backups (SQLite backup API) while the controller runs."""

    every_hours: float = Field(0.0, ge=0, le=8_760, description="a backup every this many wall-clock hours; 0 = off")
    keep: int = Field(14, ge=1, le=100_000, description="newest backups kept; older ones are deleted")
    dir: str = Field("backups", description="backup folder, relative to the config file")


class ControllerConfig(_Strict):
    """The whole controller config (see docs/operations.md for every field)."""

    mode: Literal["paper", "live"] = "paper"
    account: str | None = Field(None, description="public address of the trading account (required for live)")
    journal: str = "journal.sqlite"
    trade_log: str = "trades.csv"
    cadence_seconds: float = Field(60.0, gt=0)
    venue: VenueConfig = VenueConfig()
    sim: SimSection = SimSection()
    band: BandSection = BandSection()
    risk: RiskSection = RiskSection()
    costs: CostSection = CostSection()
    limits: LimitSection = LimitSection()
    safety: SafetySection = SafetySection()
    spot_route: SpotRouteSection = SpotRouteSection()
    regime: RegimeSection = RegimeSection()
    venue_truth: VenueTruthSection = VenueTruthSection()
    alerts: AlertsSection = AlertsSection()
    backup: BackupSection = BackupSection()
    base_dir: str = Field(".", description="set by the loader: folder of the config file")

    @field_validator("account")
    @classmethod
    def _account_is_an_address(cls, v: str | None) -> str | None:
        return check_account(v)

    @model_validator(mode="after")
    def _live_rules(self) -> ControllerConfig:
        if self.mode == "live":
            if self.venue.kind == "sim":
                raise ValueError("mode = 'live' needs venue.kind = 'hyperliquid'")
            if not self.account:
                raise ValueError("mode = 'live' needs 'account' (the trading account's public address)")
        return self

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def sim_config(self, alpha0: float, p0: float) -> SimConfig:
        """The sim venue opened hedged at alpha0: spot (1-a)V/p0, short the same size, margin aV [USD]."""
        s = self.sim
        v = s.capital_usd
        spot = math.floor((1.0 - alpha0) * v / p0 * 10**self.venue.spot_sz_decimals) / 10**self.venue.spot_sz_decimals
        base = SimConfig()
        kw = {k: getattr(s, k) for k in asdict(base) if hasattr(s, k)}
        kw.update(
            asset=self.venue.asset,
            sz_decimals=self.venue.sz_decimals,
            hedge_tolerance_usd=self.limits.hedge_tolerance_usd,
            initial_spot_base=spot,
            initial_spot_usdc=v - spot * p0 - alpha0 * v,
            initial_perp_usdc=alpha0 * v + spot * p0,
            initial_perp_size=-spot,
        )
        return SimConfig(**kw)


def _fmt(e: ValidationError, source: str) -> str:
    """One short line per error: file, field, message and the offending value (a whole section or config, the
    input of a cross-field rule, is not repeated: the message names the keys)."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {_short(repr(got))})"
        parts.append(f"{source}: field '{loc}': {err['msg']}{shown}")
    return redact("; ".join(parts))


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def known_venue_name(v: str) -> str:
    """The registry's name of venue ``v`` (a config validator: ValueError naming the known venues otherwise)."""
    from basisctl.venues.registry import get_venue

    try:
        return get_venue(v).name
    except BasisctlError as e:
        raise ValueError(str(e)) from None


M = TypeVar("M", bound=BaseModel)


def validate_file_model(model: type[M], data: dict[str, Any], source: str, base_dir: str | Path) -> M:
    """``model`` validated from a parsed TOML table (with ``base_dir``, where its relative paths resolve);
    ConfigError naming ``source``, the field and the expectation."""
    try:
        return model.model_validate({**data, "base_dir": str(base_dir)})
    except ValidationError as e:
        raise ConfigError(_fmt(e, source)) from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file's table; ConfigError in one line when it is missing, unreadable or not TOML (``what``: "config
    file", "book file")."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the {what}: {e}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def parse_config(data: dict[str, object], source: str = "<config>", base_dir: str | Path = ".") -> ControllerConfig:
    return validate_file_model(ControllerConfig, dict(data), source, base_dir)


def load_config(path: str | Path) -> ControllerConfig:
    """Read and validate a TOML config; ConfigError names the file, the field and the expectation."""
    p = Path(path)
    return parse_config(read_toml(p, "config file"), str(p), p.resolve().parent)


def example_config_path() -> Path:
    """The paper-trading example (BTC on the simulated venue replaying Hyperliquid data from the data dir)."""
    return Path(__file__).resolve().parent.parent / "examples" / "paper_btc.toml"
