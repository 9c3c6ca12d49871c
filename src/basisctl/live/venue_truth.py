"""Venue truth: every cycle the model's numbers are checked against what the venue itself reports.

* ``LIQ_PRICE_DRIFT``: the model's liquidation barrier (backing cash c + s P = |s| P theta, theta = 1/(2 L_max),
  the paper's maintenance rule, on the cycle's balances) against the venue-reported ``liquidationPx``
  (Hyperliquid clearinghouseState assetPositions[].position.liquidationPx; isolated mode: the position's own
  margin). Beyond ``venue_truth.liq_drift_max`` (relative to the venue's price) an alert names both prices and
  the likely cause: each candidate (the venue's margin tier for the notional, the closing taker fee, funding
  accrued but not yet in the model's cash) is applied to the model and the one whose barrier lands nearest the
  venue's is named, with the barrier it gives; when none closes half the gap the cause is 'unexplained' and the
  implied cash gap and maintenance rate are given.
* ``FUNDING_MISMATCH``: each funding settlement the venue paid (Hyperliquid ``userFunding``) against
  -szi x px x rate, px the venue's 1h candle open at the settlement hour (the oracle at settlement is not
  published per payment; the candle open is the mark at that instant), within ``funding_tolerance_usd`` +
  ``funding_tolerance_rel`` x |expected|. A payment whose hour has no candle after 3 h stays unchecked and is
  alerted once (FUNDING_UNCHECKED): unknown is never taken as a match. How far rows are concluded is journaled
  (kind ``vt``, a prefix cursor), so a restart resumes there: it neither re-reads the funding history nor alerts a
  settlement twice (the first 500-kill run after this check re-alerted ~800 old settlements at every start, ~3 s
  per start).

A check that cannot read the venue is skipped (counted, noted in /state errors), never raised into the cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from basisctl.live.guards import VenueDataError
from basisctl.live.venue import VenueError, VenueState, VenueUnavailable

HOUR_MS = 3_600_000
#: a settlement whose candle has not appeared this long after it is alerted as unchecked [ms]
UNCHECKED_AFTER_MS = 3 * HOUR_MS


def liq_barrier(cash: float, size: float, theta: float) -> float:
    """Mark price [USD] at which cash + size x P = |size| x P x theta (maintenance); inf when flat or when the
    barrier is not positive (the position cannot be liquidated by price alone)."""
    den = size - abs(size) * theta
    if size == 0 or den == 0:
        return math.inf
    px = -cash / den
    return px if px > 0 else math.inf


@dataclass(frozen=True)
class LiqCheck:
    """One comparison. model_px / venue_px [USD]; drift = model/venue - 1 [fraction]; cause: 'margin tier' |
    'fees' | 'funding accrued' | 'unexplained'; cause_px [USD] the model's barrier with that cause applied;
    candidates: cause -> barrier [USD]; implied_cash_gap [USDC] venue-implied backing cash minus the model's;
    implied_theta [fraction of notional] the maintenance rate that makes the model's cash give the venue's price."""

    model_px: float
    venue_px: float
    drift: float
    cause: str
    cause_px: float
    candidates: dict[str, float]
    implied_cash_gap: float
    implied_theta: float

    def message(self, bound: float) -> str:
        expl = (f"likely cause: {self.cause} (the model with it gives {self.cause_px:,.2f})"
                if self.cause != "unexplained" else "likely cause: unexplained by tier, fees or funding")
        return (f"model liquidation barrier {self.model_px:,.2f} vs venue liquidationPx {self.venue_px:,.2f} "
                f"(drift {self.drift:+.2%}, bound {bound:.2%}); {expl}; implied cash gap "
                f"{self.implied_cash_gap:+,.2f} USDC, implied maintenance rate {self.implied_theta:.4%}")


def explain_liq_gap(cash: float, size: float, mark: float, theta: float, venue_px: float,
                    tier_theta: float | None = None, fee_bps: float = 0.0, funding_usd: float = 0.0) -> LiqCheck:
    """Compare the model's barrier with ``venue_px`` and name the candidate cause whose barrier is nearest.
    cash [USDC] backing the position, size [base, short < 0], mark [USD], theta [fraction]; tier_theta the
    venue's maintenance rate for this notional (None: unknown), fee_bps the closing taker fee [bps],
    funding_usd [USDC] funding the venue has settled that the model's cash lacks (+ = received)."""
    model = liq_barrier(cash, size, theta)
    cands: dict[str, float] = {}
    if tier_theta is not None and tier_theta != theta:
        cands["margin tier"] = liq_barrier(cash, size, tier_theta)
    if fee_bps > 0:
        cands["fees"] = liq_barrier(cash - abs(size) * mark * fee_bps / 1e4, size, theta)
    if funding_usd != 0:
        cands["funding accrued"] = liq_barrier(cash + funding_usd, size, theta)
    gap = abs(model - venue_px)
    cause, cause_px = "unexplained", model
    best = min(((abs(v - venue_px), k, v) for k, v in cands.items() if math.isfinite(v)), default=None)
    if best is not None and best[0] <= 0.5 * gap:
        cause, cause_px = best[1], best[2]
    implied_cash = -venue_px * (size - abs(size) * theta)
    implied_theta = (cash + size * venue_px) / (abs(size) * venue_px) if size else math.nan
    return LiqCheck(model, venue_px, model / venue_px - 1.0, cause, cause_px, cands, implied_cash - cash,
                    implied_theta)


@dataclass(frozen=True)
class FundingCheck:
    """One settlement: paid [USDC, + = received] vs expected = -size x px x rate; px [USD] the candle open."""

    ts_ms: int
    paid: float
    expected: float
    size: float
    px: float
    rate: float

    @property
    def diff(self) -> float:
        return self.paid - self.expected

    def mismatched(self, tol_usd: float, tol_rel: float) -> bool:
        return abs(self.diff) > tol_usd + tol_rel * abs(self.expected)

    def message(self, tol_usd: float, tol_rel: float) -> str:
        implied = -self.paid / (self.size * self.rate) if self.size and self.rate else math.nan
        return (f"funding at {self.ts_ms}: venue paid {self.paid:+,.4f} USDC vs szi {self.size:g} x px "
                f"{self.px:,.2f} x rate {self.rate:.6%} = {self.expected:+,.4f} (diff {self.diff:+,.4f}, tolerance "
                f"{tol_usd:g} USDC + {tol_rel:.2%}); implied px {implied:,.2f}")


def check_funding(payments: list[dict[str, Any]], px_at: Callable[[int], float | None]) -> tuple[
        list[FundingCheck], list[dict[str, Any]]]:
    """(checked settlements, payments whose price is not known yet). ``payments``: dicts with ts_ms, amount_usd,
    size, rate (the journal's funding payload); ``px_at(ts_ms)`` the price at a settlement or None."""
    done: list[FundingCheck] = []
    pending: list[dict[str, Any]] = []
    for p in payments:
        if int(p.get("n_samples") or 1) != 1:
            raise ValueError("aggregated funding rows are not checked per settlement (see aggregated())")
        px = px_at(int(p["ts_ms"]))
        if px is None:
            pending.append(p)
            continue
        size, rate = float(p["size"]), float(p["rate"])
        done.append(FundingCheck(int(p["ts_ms"]), float(p["amount_usd"]), -size * px * rate, size, px, rate))
    return done, pending


def aggregated(payments: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(per-settlement payments, aggregated ones): a row with n_samples > 1 (Hyperliquid userFunding nSamples:
    mean szi and rate over several settlements, summed usdc) has no single settlement price to check against;
    it is counted and alerted as unchecked, never taken as a match."""
    one = [p for p in payments if int(p.get("n_samples") or 1) == 1]
    return one, [p for p in payments if int(p.get("n_samples") or 1) != 1]


@dataclass
class VenueTruthState:
    """Per-controller memory of the checks (counts shown by /state through ``summary``)."""

    funding_after_ms: int | None = None  # journal funding entries up to this ts were taken
    cursor_loaded: bool = False  # the journaled cursor (an earlier process's progress) was read
    journaled_through_ms: int | None = None  # the cursor last journaled (kind ``vt``) [venue ms]
    pending: list[dict[str, Any]] = field(default_factory=list)
    drift_alerted_ms: int | None = None  # venue time of the last LIQ_PRICE_DRIFT (None: not drifting)
    liq_checks: int = 0
    liq_drifts: int = 0
    funding_checked: int = 0
    funding_mismatches: int = 0
    funding_unchecked: int = 0
    read_failures: int = 0
    last: LiqCheck | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in (
            "liq_checks", "liq_drifts", "funding_checked", "funding_mismatches", "funding_unchecked",
            "read_failures")}
        out["pending_funding"] = len(self.pending)
        if self.last is not None:
            out.update(model_liq_px=self.last.model_px, venue_liq_px=self.last.venue_px, liq_drift=self.last.drift)
        return out


def _candle_px(venue: Any, ts_list: list[int], now_ms: int) -> Callable[[int], float | None]:
    """px_at from the venue's own 1h candles (``venue.candles(start_ms, end_ms)``): the open of the bar that
    starts at the settlement hour (ts rounded to the nearest hour)."""
    fn = getattr(venue, "candles", None)
    if fn is None or not ts_list:
        return lambda ts: None
    lo = (min(ts_list) + HOUR_MS // 2) // HOUR_MS * HOUR_MS
    hi = (max(ts_list) + HOUR_MS // 2) // HOUR_MS * HOUR_MS + HOUR_MS
    c = fn(lo, hi)
    opens: dict[int, float] = {}
    if len(c):
        ms = (c["ts"].astype("datetime64[ms, UTC]").astype("int64")).to_numpy()
        opens = {int(t): float(o) for t, o in zip(ms, c["open"].to_numpy(float), strict=True)}
    return lambda ts: opens.get((ts + HOUR_MS // 2) // HOUR_MS * HOUR_MS)


def venue_truth_tick(ctrl: Any, st: VenueState) -> None:
    """Both checks for one cycle on controller ``ctrl`` (its cfg.venue_truth, venue, journal, alerts); never
    raises (a failed read is counted and noted in ``ctrl.errors``)."""
    cfg = getattr(ctrl.cfg, "venue_truth", None)
    if cfg is None or not cfg.enabled:
        return
    vt: VenueTruthState = ctrl.__dict__.setdefault("venue_truth_state", VenueTruthState())
    try:
        _check_liq(ctrl, st, vt, cfg)
        _check_funding(ctrl, st, vt, cfg)
    except (VenueUnavailable, VenueDataError, VenueError) as e:
        vt.read_failures += 1
        ctrl.errors.appendleft(f"venue truth skipped: {e}")


def _tier_theta(asset: str, notional: float) -> float | None:
    """The venue's maintenance rate for this notional from the margin table in the data dir (None when the data
    dir has none: the tier candidate is unknown, not assumed). Only called when a drift needs explaining."""
    try:
        from basisctl.data import locator
        from basisctl.model.margin import theta_f_for

        tiers = locator.hyperliquid_tiers(asset.upper())
        return float(theta_f_for("hyperliquid", asset, notional_usd=notional, tiers=tiers)[0])
    except Exception:  # no / unreadable margin table
        return None


def _check_liq(ctrl: Any, st: VenueState, vt: VenueTruthState, cfg: Any) -> None:
    read = getattr(ctrl.venue, "margin_info", None)
    if read is None:  # the paper venue: the model IS the venue's rule, nothing independent to compare
        return
    mi = read()
    if mi.liquidation_px is None or not math.isfinite(st.perp_size) or st.perp_size == 0:
        return
    theta = 1.0 / (2.0 * st.max_leverage)
    vt.liq_checks += 1
    model = liq_barrier(st.perp_cash, st.perp_size, theta)
    drift = model / mi.liquidation_px - 1.0
    if abs(drift) <= cfg.liq_drift_max:
        vt.last = LiqCheck(model, mi.liquidation_px, drift, "", model, {}, 0.0, theta)
        vt.drift_alerted_ms = None
        return
    funding_unbooked = -st.perp_size * st.oracle_px * st.funding_rate  # the next settlement, accruing now
    chk = explain_liq_gap(st.perp_cash, st.perp_size, st.mark_px, theta, mi.liquidation_px,
                          _tier_theta(ctrl.cfg.venue.asset, abs(st.perp_size) * st.mark_px),
                          ctrl.cfg.costs.perp_fee_bps, funding_unbooked)
    vt.last = chk
    vt.liq_drifts += 1
    last = vt.drift_alerted_ms
    if last is None or st.ts_ms - last >= cfg.realert_seconds * 1000:
        vt.drift_alerted_ms = st.ts_ms
        ctrl.alerts.raise_("LIQ_PRICE_DRIFT", chk.message(cfg.liq_drift_max), st.ts_ms, model_liq_px=chk.model_px,
                           venue_liq_px=chk.venue_px, drift=chk.drift, cause=chk.cause)


def _funding_cursor(journal: Any) -> int | None:
    """The journaled funding-check cursor [venue ms]: every funding row at or before it was concluded (checked,
    mismatched or alerted unchecked) by an earlier process. None: nothing concluded yet."""
    last = journal.entries("vt", limit=1, newest_first=True)
    return int(last[0].payload["through_ms"]) if last else None


def _journal_cursor(ctrl: Any, vt: VenueTruthState, st: VenueState) -> None:
    """Journal how far funding rows are concluded (a prefix: up to the oldest still pending), so a restart
    neither re-reads the whole funding history nor alerts the same settlement again. A failing journal write
    is left to the cycle's storage check (the cursor only saves work and repeated alerts)."""
    if vt.funding_after_ms is None:
        return
    through = min([int(p["ts_ms"]) - 1 for p in vt.pending] + [vt.funding_after_ms])
    if vt.journaled_through_ms is not None and through <= vt.journaled_through_ms:
        return
    try:
        ctrl.journal.append("vt", f"vt:funding-through:{through}", {"through_ms": through}, st.ts_ms)
    except Exception:  # see the docstring
        return
    vt.journaled_through_ms = through


def _check_funding(ctrl: Any, st: VenueState, vt: VenueTruthState, cfg: Any) -> None:
    if not vt.cursor_loaded:  # a (re)started process resumes after what earlier processes concluded
        vt.cursor_loaded = True
        vt.funding_after_ms = vt.journaled_through_ms = _funding_cursor(ctrl.journal)
    try:
        _check_new_funding(ctrl, st, vt, cfg)
    finally:
        _journal_cursor(ctrl, vt, st)


def _check_new_funding(ctrl: Any, st: VenueState, vt: VenueTruthState, cfg: Any) -> None:
    new = ctrl.journal.entries("funding", after_ts_ms=vt.funding_after_ms)  # only the newer rows are read
    if new:
        vt.funding_after_ms = max(e.ts_ms for e in new)
        vt.pending.extend(e.payload | {"ts_ms": e.ts_ms} for e in new)
    vt.pending, multi = aggregated(vt.pending)
    for p in multi:
        vt.funding_unchecked += 1
        ctrl.alerts.raise_("FUNDING_UNCHECKED", f"funding at {p['ts_ms']} ({float(p['amount_usd']):+,.4f} USDC) "
                           f"aggregates {p['n_samples']} settlements: no single price to reconcile it with",
                           st.ts_ms)
    due = [p for p in vt.pending if st.ts_ms >= int(p["ts_ms"]) + HOUR_MS]  # its hour's candle has closed
    if not due:
        return
    px_at = _candle_px(ctrl.venue, [int(p["ts_ms"]) for p in due], st.ts_ms)
    done, pending = check_funding(due, px_at)
    still = [p for p in vt.pending if st.ts_ms < int(p["ts_ms"]) + HOUR_MS]
    for p in pending:
        if st.ts_ms - int(p["ts_ms"]) > UNCHECKED_AFTER_MS:
            vt.funding_unchecked += 1
            ctrl.alerts.raise_("FUNDING_UNCHECKED", f"funding at {p['ts_ms']} ({float(p['amount_usd']):+,.4f} "
                               "USDC): the venue has no candle for its hour, so it cannot be reconciled", st.ts_ms)
        else:
            still.append(p)
    vt.pending = still
    for c in done:
        vt.funding_checked += 1
        if c.mismatched(cfg.funding_tolerance_usd, cfg.funding_tolerance_rel):
            vt.funding_mismatches += 1
            ctrl.alerts.raise_("FUNDING_MISMATCH", c.message(cfg.funding_tolerance_usd, cfg.funding_tolerance_rel),
                               st.ts_ms, paid_usd=c.paid, expected_usd=c.expected, settlement_ms=c.ts_ms)


def margin_mode_check(venue: Any, book: bool) -> tuple[bool, str]:
    """One ``doctor`` line on the venue's margin mode of our position: (ok, 'OK ...' or the fix). A book needs
    each position's margin to be its own (isolated); a single position may run cross (the account is its
    margin). A venue that cannot report its mode (the paper venue) is OK for paper only by construction: its
    rule is the model's. A failed read is not OK (unknown is never fine)."""
    read = getattr(venue, "margin_info", None)
    if read is None:
        return True, "OK margin mode: simulated venue (each position's margin is its own)"
    try:
        mi = read()
    except (VenueUnavailable, VenueDataError, VenueError) as e:
        return False, f"margin mode unknown ({e}): check the venue and the account, then rerun"
    coin = getattr(venue, "perp_coin", "the perp")
    if mi.mode == "isolated":
        return True, f"OK margin mode: {coin} isolated at {mi.leverage:g}x"
    if mi.mode == "none":
        if book and getattr(venue, "margin_config", "cross") != "isolated":
            return False, (f"{coin}: no position yet and venue.margin_mode = 'cross': set margin_mode = 'isolated' "
                           "(a book needs each position's own margin; updateLeverage isCross false before trading)")
        return True, f"OK margin mode: no {coin} position yet (margin_mode {getattr(venue, 'margin_config', 'cross')})"
    if book:
        return False, (f"{coin} is cross-margined: a book needs isolated margin per position (set venue.margin_mode "
                       "= 'isolated' and updateLeverage isCross false; cross makes one position's barrier depend "
                       "on every other's)")
    return True, f"OK margin mode: {coin} cross (single position: the account is its margin)"
