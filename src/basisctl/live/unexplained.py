"""Unexplained journal/venue disagreements escalate instead of freezing (issue 19, N4).

A position change with no usable fill (a silent change, an ADL fill the venue publishes late) left the controller
refusing repairs (REPAIR_REFUSED) for ever: the one-legged timeout only acted while journal and venue agreed.
Now, per disagreement episode:

* every cycle the POSITION_MISMATCH halt is re-alerted (rate-limited, ``safety.halt_realert_seconds``);
* fill ingestion reads back to the last time journal and venue agreed (at most ``limits.fill_lookback_s``);
* past ``limits.single_leg_timeout_s`` the venue's balances are ADOPTED - only after K consecutive complete,
  price-sane reads that agree, spanning at least T s (``safety.adopt_reads`` / ``adopt_seconds``). The adoption
  is journaled (kind ``adopt``: the delta per balance and those reads), handled as an external change
  (``safety.external_change_action``: unwind spot or re-hedge) and halts new risk (UNEXPLAINED_CHANGE, until
  `basisctl ack`);
* a late fill that explains an adopted change reverses the adoption (journaled) and lifts the halt it caused;
  journal and venue agreeing again lifts POSITION_MISMATCH.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from basisctl.live.controller_base import ControllerBase
from basisctl.live.guards import BALANCE_FIELDS
from basisctl.live.venue import VenueState

SIZE_TOL = 1e-9  # [base units]


class UnexplainedMixin(ControllerBase):
    """Disagreement episodes: tracking, adoption of venue truth, reversal by a late fill."""

    def _load_episode(self) -> None:
        """Restore the open disagreement episode from the journal (kind ``mm``): the K agreeing reads count across
        restarts (a controller killed every few seconds must still get there)."""
        self._mm_loaded = True
        reads: list[dict[str, Any]] = []
        since_ts: int | None = None
        last: dict[str, Any] | None = None
        for e in self.journal.entries("mm"):
            if e.key.startswith("mm:read:"):
                since_ts = int(e.payload["ts_ms"]) if since_ts is None else since_ts
                reads.append(dict(e.payload))
                last = e.payload.get("mismatch")
            elif e.key.startswith("mm:end:"):
                reads, since_ts = [], None
            else:  # mm:break: the episode goes on, but the reads are no longer consecutive
                reads = []
        if since_ts is not None:
            self._mm_reads = reads
            self._mm_since = (time.monotonic(), since_ts)
            self._mm_last = {k: (float(v[0]), float(v[1])) for k, v in (last or {}).items()}

    def break_episode(self) -> None:
        """A failed read during a disagreement: the next K reads must be consecutive again (journaled)."""
        if self._mm_reads:
            self._mm_reads = []
            with contextlib.suppress(Exception):  # a failing journal is handled by the cycle (STORAGE_FAILED)
                self.journal.append("mm", f"mm:break:{uuid.uuid4().hex}", {"episode_open": True}, self._now())

    def track_mismatch(self, st: VenueState, mism: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """Called once per cycle with the position check's result; returns the mismatch still standing (empty
        after an adoption). Each disagreeing read is journaled (kind ``mm``) so the episode survives restarts."""
        if not self._mm_loaded:
            self._load_episode()
        now = time.monotonic()
        if getattr(self, "unstable_read", False):  # the comparison was skipped (UNSTABLE_READ): no evidence
            # either way. An open episode stays open with its last disagreement standing (halted, no repair on
            # it); it used to END here as if journal and venue agreed, and its K agreeing reads began again.
            return dict(self._mm_last) if self._mm_since is not None else {}
        if not mism:
            if self._mm_since is not None or self._mm_reads:
                self.silent_changes_resolved += 1
                self.journal.append("mm", f"mm:end:{uuid.uuid4().hex}", {"by": "agreement"}, st.ts_ms)
            self._mm_since, self._mm_reads = None, []
            self.last_agree_ms = st.ts_ms
            if self.halt_kind == "POSITION_MISMATCH" and not self.ack_required:
                self.halted, self.halt_reason, self.halt_kind = False, "", ""
                self.alerts.raise_("MISMATCH_RESOLVED", "journal and venue agree again: new risk allowed", st.ts_ms)
            return mism
        if self._mm_since is None:
            self._mm_since = (now, st.ts_ms)
            self.silent_changes += 1
        self._mm_last = dict(mism)
        venue = {k: float(getattr(st, k)) for k in BALANCE_FIELDS}
        delta = {k: v - j for k, (j, v) in mism.items()}
        if self._mm_reads and _moved(self._mm_reads[-1].get("mismatch", {}), delta):
            self._mm_reads = []  # the disagreement changed: the K reads must agree with each other
            self.journal.append("mm", f"mm:break:{uuid.uuid4().hex}", {"episode_open": True}, st.ts_ms)
        read = {"venue": venue, "ts_ms": st.ts_ms, "spot_mid": st.spot_mid, "mark_px": st.mark_px,
                "mismatch": {k: list(v) for k, v in mism.items()}}
        self.journal.append("mm", f"mm:read:{uuid.uuid4().hex}", read, st.ts_ms)
        self._mm_reads.append({**read, "mono_s": now})
        first_ts = int(self._mm_reads[0]["ts_ms"]) if self._mm_reads else st.ts_ms
        lasted = max(now - self._mm_since[0], (st.ts_ms - min(self._mm_since[1], first_ts)) / 1e3)
        if lasted <= self.cfg.limits.single_leg_timeout_s:
            return mism
        k, t = self.cfg.safety.adopt_reads, self.cfg.safety.adopt_seconds
        r = self._mm_reads
        monos = [x["mono_s"] for x in r if x.get("mono_s") is not None]
        span = max(monos[-1] - monos[0] if len(monos) > 1 else 0.0, (r[-1]["ts_ms"] - r[0]["ts_ms"]) / 1e3)
        if len(r) < k or span < t:
            self._halt("UNEXPLAINED_CHANGE_PENDING", f"journal vs venue differ for {lasted:.0f}s "
                       f"(> single_leg_timeout_s): adopting venue truth after {k} agreeing reads over {t:g}s "
                       f"(have {len(r)} over {span:.0f}s): {mism}")
            return mism
        self._adopt(st, mism, lasted)
        return {}

    def _adopt(self, st: VenueState, mism: dict[str, tuple[float, float]], lasted: float) -> None:
        aid = uuid.uuid4().hex[:16]
        delta = {k: v - j for k, (j, v) in mism.items()}
        venue_now = self._now()  # every fill timestamped up to here is in the adopted read (explained_by_late_fill)
        assert self._mm_since is not None
        rec: dict[str, Any] = {"delta": delta, "reads": self._mm_reads[-self.cfg.safety.adopt_reads:],
                               "action": self.cfg.safety.external_change_action, "lasted_s": lasted,
                               "ts_ms": st.ts_ms, "last_agree_ms": self.last_agree_ms,
                               "since_ms": self._mm_since[1], "venue_now_ms": max(venue_now, st.ts_ms)}
        rec["reads"] = [{k: v for k, v in x.items() if k != "mono_s"} for x in rec["reads"]]
        self.journal.append("adopt", f"adopt:{aid}", rec, st.ts_ms)
        self.journal.append("mm", f"mm:end:{uuid.uuid4().hex}", {"by": f"adopt:{aid}"}, st.ts_ms)
        self.journal.append("external", f"external:adopt:{aid}", {
            "fill_id": f"adopt:{aid}", "market": "perp" if "perp_size" in delta else "spot", "side": "",
            "size": delta.get("perp_size", delta.get("spot_base", 0.0)), "px": st.mark_px,
            "cause": "unexplained change adopted", "ts_ms": st.ts_ms}, st.ts_ms)
        self._mm_since, self._mm_reads = None, []
        self.silent_changes_resolved += 1
        self._mismatch = False
        if self.halt_kind == "POSITION_MISMATCH":
            self.halted, self.halt_reason, self.halt_kind = False, "", ""
        self._halt("UNEXPLAINED_CHANGE", f"venue balances adopted after {lasted:.0f}s of disagreement with no "
                   f"explaining fill: {delta}; {self.cfg.safety.external_change_action} to the hedged size, no "
                   "new risk until `basisctl ack`", persist=True)

    def active_adoptions(self) -> list[Any]:
        """Adoptions no late fill has explained (reversed) yet."""
        return active_adoptions(self.journal)

    def fill_floor_ms(self) -> int | None:
        """How far back fills must be re-read [venue ms] while journal and venue disagree or an adoption awaits
        its explaining fill: the last agreement before it (genesis when unknown), at most
        ``limits.fill_lookback_s`` back. None: the ordinary cursor suffices."""
        backs = [int(e.payload.get("last_agree_ms") or e.payload.get("since_ms") or 0)
                 for e in self.active_adoptions()]
        if self._mm_since is not None:
            backs.append(self.last_agree_ms if self.last_agree_ms is not None else 0)
        if not backs:
            return None
        floor = self._now() - int(self.cfg.limits.fill_lookback_s * 1000)
        return max(min(backs), floor)

    def explained_by_late_fill(self, f: Any) -> bool:
        """A fill journaled for the first time AFTER an adoption, timestamped at or before that adoption's read
        (``venue_now_ms``): the venue's balances then already held it, so the adopted delta holds it too. Its
        effect is netted out of the EARLIEST such active adoption (journal ``adopt-net:<aid>:<fill>``, the negated
        balance change of the fill), so the fill - ours, external or foreign - is counted once, never twice (our
        own fill published late after an adoption used to be counted twice: a mismatch of its size in the other
        direction, itself adopted later or standing at the end of the chaos run). The fill is not handled as an
        external change a second time (the adoption already was). When an adoption is fully explained by late
        fills it is reversed (``adopt-reversal:<aid>``, journaled with no further delta) and the
        UNEXPLAINED_CHANGE halt it caused is lifted (an automatic ack entry). True when the fill was netted."""
        fill_ts = int(f.ts_ms)
        intent = self.journal.get(f"intent:{f.cloid}") if f.cloid else None
        for e in self.active_adoptions():
            if fill_ts > int(e.payload.get("venue_now_ms", e.payload.get("ts_ms", 0))):
                continue  # this adoption's read did not hold the fill yet
            if intent is not None and intent.seq > e.seq:
                continue  # our order sent after the adoption (its unwind, say): not in the adopted read
            aid = e.key[6:]
            contrib = fill_delta(f)
            self.journal.append("adopt", f"adopt-net:{aid}:{f.fill_id}", {
                "delta": {k: -v for k, v in contrib.items()}, "explained_by": f.fill_id, "ts_ms": fill_ts}, fill_ts)
            if intent is None:  # an external / foreign fill: the adoption's own re-hedge covered it
                self.journal.append("external", f"rehedged:{f.fill_id}", {"fill_id": f.fill_id, "gap": 0.0,
                                                                           "via": f"adopt:{aid}"}, fill_ts)
            left = self._adoption_left(aid, e.payload["delta"])
            if any(abs(v) > _tol(k, v) * 1e3 for k, v in left.items()):
                self.alerts.raise_("UNEXPLAINED_CHANGE_PARTLY_EXPLAINED", f"late fill {f.fill_id} ({f.market} "
                                   f"{f.side} {f.size}) explains part of adopted change {aid}; unexplained: {left}",
                                   fill_ts)
                return True
            self.journal.append("adopt", f"adopt-reversal:{aid}", {"delta": {}, "explained_by": f.fill_id,
                                                                  "ts_ms": fill_ts}, fill_ts)
            if self.halt_kind == "UNEXPLAINED_CHANGE":
                self.journal.append("control", f"ack:late-fill-{aid}", {"by": "late fill " + f.fill_id}, self._now())
            self.alerts.raise_("UNEXPLAINED_CHANGE_EXPLAINED", f"late fill {f.fill_id} ({f.market} {f.side} "
                               f"{f.size}) explains adopted change {aid}: adoption reversed, its halt lifted",
                               fill_ts)
            return True
        return False

    def _adoption_left(self, aid: str, delta: dict[str, Any]) -> dict[str, float]:
        """The part of adoption ``aid``'s delta no late fill explains yet (per balance)."""
        return adoption_left(self.journal, aid, delta)


def active_adoptions(journal: Any) -> list[Any]:
    """The journal's venue-truth adoptions (``adopt:<aid>`` entries) no late fill has explained (reversed) yet,
    in journal order."""
    return [e for e in journal.entries("adopt")
            if e.key.startswith("adopt:") and not journal.has(f"adopt-reversal:{e.key[6:]}")]


def adoption_left(journal: Any, aid: str, delta: dict[str, Any]) -> dict[str, float]:
    """The part of adoption ``aid``'s ``delta`` no late fill explains yet: the delta plus its ``adopt-net``
    entries (per balance: base units / USDC)."""
    left = {k: float(v) for k, v in delta.items()}
    for e in journal.entries("adopt"):
        if e.key.startswith(f"adopt-net:{aid}:"):
            for k, v in e.payload["delta"].items():
                left[k] = left.get(k, 0.0) + float(v)
    return left


def fill_delta(f: Any) -> dict[str, float]:
    """A fill's change to the journal's balances (as ``Journal.derived_position`` books it)."""
    sgn = 1.0 if f.side == "buy" else -1.0
    fee_usd, fee_base = float(getattr(f, "fee_usd", 0.0) or 0.0), float(getattr(f, "fee_base", 0.0) or 0.0)
    if f.market == "spot":
        return {"spot_base": sgn * f.size - fee_base, "spot_usdc": -(sgn * f.size * f.px + fee_usd)}
    return {"perp_size": sgn * f.size, "perp_cash": -(sgn * f.size * f.px + fee_usd)}


def _moved(prev: dict[str, Any], delta: dict[str, float]) -> bool:
    """Did the disagreement (venue - journal per balance) change between two reads? (Funding and fills move both
    sides alike; only the unexplained part must stay the same.)"""
    before = {k: float(v[1]) - float(v[0]) for k, v in prev.items()}
    if set(before) != set(delta):
        return True
    return any(abs(before[k] - delta[k]) > _tol(k, delta[k]) * 1e3 for k in delta)


def _tol(k: str, v: float) -> float:
    return SIZE_TOL if k.endswith(("base", "size")) else 1e-6 * max(1.0, abs(v))
