"""P&L attribution from a controller journal, per position and for the book.

Each bucket comes from its own source [USD]:

* ``funding``: the venue's funding payments (journal ``funding`` entries, ingested from ``userFunding``);
* ``basis``: q x (dS - dP) on the hedged size q = -perp_size, from the marks (cycle snapshots and the mids each
  rebalance plan recorded): spot against perp moves;
* ``directional``: (spot_base + perp_size) x dS, the unhedged delta's mark moves (a separate line, so that a
  residual delta is never read as basis);
* ``fees``: fees charged on our fills (USDC fees, and base-token fees valued at the spot mark);
* ``slippage``: side x size x (mid - fill px) of our fills against the mid the plan recorded (else the last mark);
* ``liquidation``: fees of venue liquidation / ADL fills (``external`` = liquidation | adl) and their price
  against the venue's liquidation mark where the fill reports one, never a gain: the market is first marked to
  the fill's price (that move is basis / directional), since no mid of ours exists at that instant;
* ``transfers``: spot <-> perp class transfers (journal ``transfer`` entries): value-neutral on Hyperliquid (free),
  so 0 with their volume reported.

NAV comes from the venue's balances in the snapshots (the genesis entry and each cycle record: ``equity_usd``,
balances, ``spot_mid`` / ``mark_px``; attribution starts at the first priced one); the replay re-syncs its holdings to
each snapshot, and whatever the buckets do not explain (a change no journaled event accounts for, an adopted
venue change, a liquidation the venue did not report as a fill) is the ``unexplained`` line: NAV_end - NAV_start
- net flows - sum(buckets), never folded into a bucket. Changes the controller itself adopted as unexplained
(journal ``adopt`` entries) are counted and valued at the marks of their adoption (``counts.adopted_usd``):
information on what the line holds, not a bucket.

Vault flows (journal ``flow`` entries or ``extra_flows``: ts_ms, amount_usd > 0 deposit / < 0 withdrawal) are
not P&L: they buy or redeem shares at the NAV per share of the moment (the replayed NAV just before), so NAV per
share and the time-weighted return (NAV/share end / start - 1) ignore them.

The attribution ends at the last snapshot: events journaled after it (the final ingest of a stopped run) have
no venue NAV to be checked against and are counted (``events_after_last_snapshot``), not attributed.

A book journal (``Journal.scoped``: a position's kinds and keys prefixed ``"<id>/"``) is attributed per
position; so are entries carrying a ``position`` field; the rest are one position named ''. The journal is read
through a read-only connection (:mod:`basisctl.pnl.reader`), whatever object names it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from basisctl.errors import BasisctlError
from basisctl.warnings import note, substitute

BUCKETS = ("funding", "basis", "directional", "fees", "slippage", "liquidation", "transfers")
#: stated bound on |unexplained| of a run whose every venue event is journaled (paper and chaos runs on the
#: simulated venue) [fraction of the mean NAV]; docs/operations.md, "P&L attribution", gives the measured value
UNEXPLAINED_BOUND = 1e-6
_ORDER = {"genesis": -1, "price": 0, "event": 1, "snapshot": 2}


class AttributionError(BasisctlError):
    """The journal cannot be attributed (no priced snapshot, a malformed entry)."""


@dataclass
class PositionPnl:
    """One position's attribution over [start_ms, end_ms] (venue ms). USD throughout; twr [fraction]."""

    position: str
    start_ms: int
    end_ms: int
    nav_start: float
    nav_end: float
    flows: float = 0.0
    buckets: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0.0))
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    shares: float = 0.0
    nav_per_share_start: float = 1.0

    @property
    def unexplained(self) -> float:
        return self.nav_end - self.nav_start - self.flows - sum(self.buckets.values())

    @property
    def nav_per_share_end(self) -> float:
        return self.nav_end / self.shares if self.shares > 0 else math.nan

    @property
    def twr(self) -> float:
        return self.nav_per_share_end / self.nav_per_share_start - 1.0

    def to_dict(self) -> dict[str, Any]:
        mean_nav = 0.5 * (abs(self.nav_start) + abs(self.nav_end))
        return {
            "position": self.position, "start_ms": self.start_ms, "end_ms": self.end_ms,
            "nav_start_usd": self.nav_start, "nav_end_usd": self.nav_end, "net_flows_usd": self.flows,
            "pnl_usd": self.nav_end - self.nav_start - self.flows,
            "buckets_usd": dict(self.buckets), "unexplained_usd": self.unexplained,
            "unexplained_bound_usd": UNEXPLAINED_BOUND * mean_nav,
            "nav_per_share_start": self.nav_per_share_start, "nav_per_share_end": self.nav_per_share_end,
            "shares": self.shares, "twr": self.twr, "counts": dict(self.counts),
        }


@dataclass
class Attribution:
    """Per-position results, the book total and the attributed ledger rows (one per event and bucket)."""

    positions: list[PositionPnl]
    ledger: list[dict[str, Any]]

    def book(self) -> dict[str, Any]:
        """Sum over positions [USD]; the book's NAV per share chains the positions' NAV (shares at NAV)."""
        ps = self.positions
        nav0, nav1, flows = (sum(getattr(p, k) for p in ps) for k in ("nav_start", "nav_end", "flows"))
        buckets = {b: sum(p.buckets[b] for p in ps) for b in BUCKETS}
        unexplained = sum(p.unexplained for p in ps)
        # book TWR: value-weighted by each position's start NAV (positions' flows are share purchases)
        w = [p.nav_start for p in ps]
        twr = sum(wi * p.twr for wi, p in zip(w, ps, strict=True)) / sum(w) if sum(w) > 0 else math.nan
        return {"positions": len(ps), "start_ms": min(p.start_ms for p in ps), "end_ms": max(p.end_ms for p in ps),
                "nav_start_usd": nav0, "nav_end_usd": nav1, "net_flows_usd": flows, "pnl_usd": nav1 - nav0 - flows,
                "buckets_usd": buckets, "unexplained_usd": unexplained,
                "unexplained_bound_usd": UNEXPLAINED_BOUND * 0.5 * (abs(nav0) + abs(nav1)), "twr": twr}


def _pos(p: dict[str, Any]) -> str:
    return str(p.get("position") or "")


def _f(p: dict[str, Any], k: str, where: str) -> float:
    try:
        v = float(p[k])
    except (KeyError, TypeError, ValueError):
        raise AttributionError(f"{where}: field '{k}' missing or not a number (got {p.get(k)!r})") from None
    if not math.isfinite(v):
        raise AttributionError(f"{where}: field '{k}' is not finite ({v})")
    return v


def _opt(p: dict[str, Any], k: str, where: str) -> float:
    """An optional numeric field (absent or null: 0.0), else as :func:`_f`."""
    return 0.0 if p.get(k) is None else _f(p, k, where)


def _split(kind: str, key: str, payload: dict[str, Any]) -> tuple[str, str, str]:
    """(position, kind, key) of a row: a book journal prefixes a position's kinds and keys with ``"<id>/"``
    (``Journal.scoped``); a ``position`` field in the payload names it otherwise; neither: ''."""
    if "/" in kind:
        pos, kind = kind.split("/", 1)
        return pos, kind, key[len(pos) + 1:] if key.startswith(pos + "/") else key
    return _pos(payload), kind, key


_KINDS = ("genesis", "cycle", "plan", "intent", "fill", "funding", "transfer", "flow", "adopt")


def _events(journal: Any, extra_flows: list[dict[str, Any]]) -> dict[str, list[tuple[int, int, int, str, dict]]]:
    """Per position: (ts_ms, order, seq, kind, payload), sorted; a fill under a rebalance plan brings the plan's
    recorded mids as a price event (found through its intent's cloid, within the same position)."""
    from basisctl.pnl.reader import JournalReader

    reader = journal if isinstance(journal, JournalReader) else JournalReader(journal.path)
    try:
        rows = [(*_split(e.kind, e.key, e.payload), e) for e in reader.all_entries(_KINDS)]
    finally:
        if reader is not journal:
            reader.close()
    plan_px = {(pos, e.payload["plan"]): e.payload for pos, kind, _, e in rows if kind == "plan" and "plan" in
               e.payload}
    intent_plan = {(pos, str(e.payload.get("cloid"))): str(e.payload.get("plan")) for pos, kind, _, e in rows
                   if kind == "intent" and e.payload.get("kind") == "order"}
    out: dict[str, list[tuple[int, int, int, str, dict]]] = defaultdict(list)
    for pos, kind, key, e in rows:
        if kind in ("genesis", "cycle") and "spot_mid" in e.payload:
            snap = e.payload if kind == "cycle" else {**e.payload, "equity_usd": e.payload.get("equity")}
            order = _ORDER["snapshot" if kind == "cycle" else "genesis"]  # genesis precedes its instant's events
            out[pos].append((e.ts_ms, order, e.seq, "snapshot", snap))
        elif kind in ("fill", "funding", "transfer", "flow", "adopt"):
            out[pos].append((e.ts_ms, _ORDER["event"], e.seq, kind, {**e.payload, "_key": key}))
            plan = plan_px.get((pos, intent_plan.get((pos, str(e.payload.get("cloid"))), ""))) if kind == "fill" \
                else None
            if plan is not None:
                out[pos].append((int(plan["ts_ms"]), _ORDER["price"], e.seq, "price", plan))
    for i, f in enumerate(extra_flows):
        out[_pos(f)].append((int(f["ts_ms"]), _ORDER["event"], -1 - i, "flow", f))
    for v in out.values():
        v.sort(key=lambda t: (t[0], t[1], t[2]))
    return out


def attribute(journal: Any, extra_flows: list[dict[str, Any]] | None = None) -> Attribution:
    """Attribute the journal's P&L (see the module docstring). AttributionError when no position has a priced
    cycle snapshot (a journal written before snapshots carried balances and prices)."""
    streams = _events(journal, extra_flows or [])
    positions: list[PositionPnl] = []
    ledger: list[dict[str, Any]] = []
    for name in sorted(streams):
        res = _replay(name, streams[name], ledger)
        if res is not None:
            positions.append(res)
        elif any(ev[3] != "price" for ev in streams[name]):
            substitute("missing_data", f"position {name or '(one)'}: journaled events but no priced snapshot "
                       "(genesis / cycle with spot_mid, mark_px): not attributed")
    if not positions:
        raise AttributionError(f"{journal.path}: no cycle snapshot with balances and prices (spot_mid, mark_px): "
                               "the journal predates P&L attribution or never completed a cycle")
    return Attribution(positions, ledger)


def _replay(name: str, events: list[tuple[int, int, int, str, dict]], ledger: list[dict[str, Any]]) -> (
        PositionPnl | None):
    first = next((i for i, ev in enumerate(events) if ev[3] == "snapshot"), None)
    if first is None:
        return None
    t0, snap0 = events[first][0], events[first][4]
    h = {k: _f(snap0, k, f"cycle at {t0}") for k in ("spot_base", "spot_usdc", "perp_size", "perp_cash")}
    S, P = _f(snap0, "spot_mid", f"cycle at {t0}"), _f(snap0, "mark_px", f"cycle at {t0}")
    nav0 = _f(snap0, "equity_usd", f"cycle at {t0}")
    known = {f"{k}:{i}" for k in ("fill", "funding", "transfer") for i in snap0.get(f"known_{k}s", snap0.get(
        f"known_{k}", [])) or []}  # events the genesis balances already hold
    res = PositionPnl(name, t0, t0, nav0, nav0, shares=nav0 if nav0 > 0 else 0.0)

    def book(bucket: str, amount: float, ts: int, source: str) -> None:
        res.buckets[bucket] += amount
        if amount != 0.0:
            ledger.append({"ts_ms": ts, "position": name, "bucket": bucket, "amount_usd": amount, "source": source})

    def move(ts: int, s_new: float, p_new: float, source: str) -> None:
        nonlocal S, P
        q, delta = -h["perp_size"], h["spot_base"] + h["perp_size"]
        book("basis", q * ((s_new - S) - (p_new - P)), ts, source)
        book("directional", delta * (s_new - S), ts, source)
        S, P = s_new, p_new

    last = max(i for i, ev in enumerate(events) if ev[3] == "snapshot")
    res.counts["events_after_last_snapshot"] = sum(1 for ev in events[last + 1:] if ev[3] != "price")
    outside = [ev for ev in events[:first] + events[last + 1:] if ev[3] == "flow"]
    for ev in outside:
        substitute("missing_data", f"position {name or '(one)'}: vault flow of {float(ev[4]['amount_usd']):+,.2f} "
                   f"USD at {ev[0]} lies outside the attributed window [{t0}, {events[last][0]}] (no venue NAV "
                   "around it): not counted")
    if res.counts["events_after_last_snapshot"]:
        note(f"position {name or '(one)'}: {res.counts['events_after_last_snapshot']:g} event(s) after the last "
             "snapshot are not attributed (no venue NAV to end on)")
    for ts, _, seq, kind, p in events[first + 1:last + 1]:  # events after the last snapshot: no NAV to end on
        if p.get("_key") in known:
            continue  # already in the genesis balances (events at later instants sort after their snapshot)
        where = f"{kind} at {ts} (seq {seq})"
        if kind in ("price", "snapshot"):
            move(ts, _f(p, "spot_mid", where), _f(p, "mark_px", where), f"marks:{ts}")
        if kind == "snapshot":
            res.end_ms, res.nav_end = ts, _f(p, "equity_usd", where)
            nav = h["spot_base"] * S + h["spot_usdc"] + h["perp_cash"] + h["perp_size"] * P
            if (jump := res.nav_end - nav) != 0.0:  # what no event explains: its own ledger line
                ledger.append({"ts_ms": ts, "position": name, "bucket": "unexplained", "amount_usd": jump,
                               "source": f"snapshot:{ts}:" + ",".join(
                                   f"{k}{_f(p, k, where) - h[k]:+.6g}" for k in h if _f(p, k, where) != h[k])})
            for k in h:
                h[k] = _f(p, k, where)  # re-sync: what no event explains lands in 'unexplained'
            res.counts["snapshots"] += 1
        elif kind == "fill":
            if str(p.get("external") or "") in ("liquidation", "adl"):
                ref = _liq_ref(p, where)  # no mid of ours at that instant: the market is marked to the venue's
                spot = p.get("market") == "spot"  # liquidation mark (or the fill price), the move being basis /
                move(ts, ref if spot else S, P if spot else ref, f"liquidation-mark:{ts}")  # directional
            _fill(p, where, h, S, P, book, ts, res)
        elif kind == "adopt":
            d = p.get("delta") or {}
            if not isinstance(d, dict):
                raise AttributionError(f"{where}: field 'delta' is not an object (got {d!r})")
            val = (_opt(d, "spot_base", where) * S + _opt(d, "perp_size", where) * P
                   + _opt(d, "spot_usdc", where) + _opt(d, "perp_cash", where))
            res.counts["adopted_changes"] += 1
            res.counts["adopted_usd"] += val  # information: part of 'unexplained' (the re-sync books it there)
        elif kind == "funding":
            amt = _f(p, "amount_usd", where)
            h["perp_cash"] += amt
            book("funding", amt, ts, f"funding:{ts}")
            res.counts["funding_payments"] += 1
        elif kind == "transfer":
            a = _f(p, "amount_usd", where)
            to_perp = bool(p.get("to_perp"))
            h["spot_usdc"] += -a if to_perp else a
            h["perp_cash"] += a if to_perp else -a
            res.counts["transfers"] += 1
            res.counts["transfer_volume_usd"] += a
        elif kind == "flow":
            a = _f(p, "amount_usd", where)
            nav = h["spot_base"] * S + h["spot_usdc"] + h["perp_cash"] + h["perp_size"] * P
            navps = nav / res.shares if res.shares > 0 else 1.0
            res.shares += a / navps
            h["perp_cash" if p.get("account") == "perp" else "spot_usdc"] += a
            res.flows += a
            res.counts["flows"] += 1
            ledger.append({"ts_ms": ts, "position": name, "bucket": "flow", "amount_usd": a, "source": "flow"})
    res.nav_per_share_start = 1.0 if nav0 > 0 else math.nan
    return res


def _liq_ref(p: dict[str, Any], where: str) -> float:
    """The mark a liquidation / ADL fill is measured against: the venue's liquidation mark (``liq_mark_px``)
    where the fill reports one and the fill is no better than it, else the fill price (a liquidation is never
    credited as a gain)."""
    px = _f(p, "px", where)
    ref = p.get("liq_mark_px")
    if ref is None:
        return px
    sgn = 1.0 if p.get("side") == "buy" else -1.0
    ref_px = _f(p, "liq_mark_px", where)
    return ref_px if sgn * (ref_px - px) <= 0 else px


def _fill(p: dict[str, Any], where: str, h: dict[str, float], S: float, P: float, book: Any, ts: int,
          res: PositionPnl) -> None:
    """A fill: holdings move; its price against the mark is slippage, its fee a fee (both 'liquidation' for a
    venue liquidation / ADL fill)."""
    size, px = _f(p, "size", where), _f(p, "px", where)
    fee_usd, fee_base = _opt(p, "fee_usd", where), _opt(p, "fee_base", where)
    sgn = 1.0 if p.get("side") == "buy" else -1.0
    spot = p.get("market") == "spot"
    mid = S if spot else P
    if spot:
        h["spot_base"] += sgn * size - fee_base
        h["spot_usdc"] -= sgn * size * px + fee_usd
    else:
        h["perp_size"] += sgn * size
        h["perp_cash"] -= sgn * size * px + fee_usd
    slip, fee = sgn * size * (mid - px), -fee_usd - fee_base * S
    src = f"fill:{p.get('fill_id', ts)}"
    if str(p.get("external") or "") in ("liquidation", "adl"):
        book("liquidation", slip + fee, ts, src)  # slip <= 0: marked at _liq_ref
        res.counts["liquidation_fills"] += 1
    else:
        book("slippage", slip, ts, src)
        book("fees", fee, ts, src)
        res.counts["fills"] += 1
