"""Scheduled recalibration of the band with the configured risk model, off the decision path.

Schedule: with ``band.mode = "calibrate"`` and ``risk.recalibrate_every_hours`` = P > 0, a recalibration is due
once per slot of P hours of VENUE time (slots are multiples of P since 1970-01-01 00:00 UTC: P = 24 is daily at
00:00 UTC). Its calibration date is the slot's start, so it sees exactly the bars that closed by then and is
reproducible offline (``basisctl bands --asof <slot start>`` on the same bars).

Off the decision path: at a cycle boundary (``recalibration_tick``, before the cycle reads the venue) a due
recalibration is journaled as ``started`` and handed to a worker thread, which fetches the bars (the venue's own
1h candle endpoint, or the data store) and fits the model (``live/calibration.calibrate_band``, the start-up
calibration). The cycle never waits for it. A later boundary picks the result up and applies it atomically:

1. one journal append (one SQLite transaction, ``kind = 'band'``, status ``applied``) holding the inputs' span,
   the old and the new band (every BandPolicy field); then
2. the in-memory policy is swapped in one assignment.

A kill before (1) leaves the old band, and the next start journals the recalibration as ``interrupted`` (old band
kept); a kill after (1) leaves the new band, which the next start restores from the journal. Never a mix.

Paper replays on the manual clock (the controller steps venue time itself) wait for the fit at the next
boundary instead: no market time passes while it runs, and a replay gives the same band changes every time.

A recalibration that fails (thin data, gaps, a fit that does not converge, the venue's candles unavailable, or
longer than ``risk.timeout_seconds``) is journaled ``failed`` with the reason, keeps the last good band and raises
RECALIBRATION_FAILED; the band is never undefined. A new floor above the current alpha_t is applied like any band
change: the next cycle's ordinary policy decision raises collateral (with its cost budget, or the emergency path
below q_min), and FLOOR_ABOVE_ALPHA is raised. Nothing is traded here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from basisctl.live.controller_base import ControllerBase
from basisctl.live.crashpoint import maybe_crash
from basisctl.model.policy import BandPolicy

HOUR_MS = 3_600_000
#: journal entry kind of every band record (start-up band, recalibration started/applied/failed/interrupted)
BAND_KIND = "band"


@dataclass
class RecalJob:
    """One recalibration in flight (the worker thread fills ``result`` or ``error`` and sets ``done``)."""

    rid: str
    slot: int
    asof_ms: int
    t0_wall: float
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[BandPolicy, dict[str, Any]] | None = None
    error: str | None = None


def band_values(p: BandPolicy) -> dict[str, Any]:
    """Every field of a BandPolicy (what the journal stores as a band)."""
    return dataclasses.asdict(p)


def band_in_force(journal: Any) -> tuple[dict[str, Any] | None, int | None, str | None]:
    """(values, slot, status) of the band the journal says is in force: the newest ``start`` or ``applied`` band
    entry; (None, None, None) before any."""
    return _in_force(_in_force_entry(journal))


def _in_force(e: Any) -> tuple[dict[str, Any] | None, int | None, str | None]:
    """(values, slot, status) of an in-force band entry (``start`` or ``applied``); Nones for None."""
    if e is None:
        return None, None, None
    st = e.payload["status"]
    return e.payload["new" if st == "applied" else "band"], e.payload.get("slot"), st


def _in_force_entry(journal: Any) -> Any:
    for e in journal.entries(BAND_KIND, newest_first=True):
        if e.payload.get("status") in ("applied", "start"):
            return e
    return None


def calibration_inputs(cfg: Any) -> str:
    """Fingerprint of what a calibration depends on in the config ([band], [risk], [costs]): a journaled band is
    restored at start only when it was fitted under the same inputs [hex]."""
    import hashlib
    import json

    d = {k: getattr(cfg, k).model_dump(mode="json") for k in ("band", "risk", "costs")}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


class RecalibrationMixin(ControllerBase):
    """The recalibration seam: schedule, worker, journal and atomic apply (module docstring)."""

    _recal_job: RecalJob | None = None
    _recal_last_slot: int | None = None

    # ------------------------------------------------------------------ schedule
    def _recal_period_ms(self) -> int:
        if self.cfg.band.mode != "calibrate":
            return 0
        return round(self.cfg.risk.recalibrate_every_hours * HOUR_MS)

    def restore_band(self) -> None:
        """At start: journal recalibrations a kill interrupted (old band kept), then put the band the journal
        says is in force in place (the last applied recalibration), or journal the start-up band."""
        period = self._recal_period_ms()
        if self.cfg.band.mode != "calibrate":
            return
        rows = self.journal.entries(BAND_KIND)  # read once (a long run journals a band row per refit)
        ended = {e.payload.get("id") for e in rows if e.payload.get("status") in ("applied", "failed", "interrupted")}
        entry = next((e for e in reversed(rows) if e.payload.get("status") in ("applied", "start")), None)
        values, slot, status = _in_force(entry)
        now = self._now()
        for e in rows:
            p = e.payload
            if p.get("status") == "started" and p.get("id") not in ended:
                kept = values if values is not None else band_values(self.policy)
                self.journal.append(BAND_KIND, f"band:{p['id']}:interrupted",
                                    {"status": "interrupted", "id": p["id"], "slot": p.get("slot"), "kept": kept},
                                    now)
                self.alerts.raise_("RECALIBRATION_INTERRUPTED", f"recalibration {p['id']} was interrupted by a "
                                   "restart: the band in force is unchanged", now)
        fp = calibration_inputs(self.cfg)
        if status == "applied" and values is not None and entry is not None and entry.payload.get("inputs_fp") == fp:
            self.policy = BandPolicy(**values)
            self.band_info = {**self.band_info, "source": "recalibrated", "restored_from_journal": True}
        else:
            cur = band_values(self.policy)
            slot_now = now // period if period > 0 else 0
            if values != cur:
                self.journal.append(BAND_KIND, f"band:start:{uuid.uuid4().hex}",
                                    {"status": "start", "slot": slot_now, "band": cur, "inputs_fp": fp,
                                     "info": _plain(self.band_info)}, now)
                slot = slot_now
        self._recal_last_slot = slot

    def _recal_due(self, now_ms: int) -> int | None:
        """The slot a recalibration is due for, or None."""
        period = self._recal_period_ms()
        if period <= 0 or self._recal_job is not None:
            return None
        slot = now_ms // period
        if self._recal_last_slot is not None and slot <= self._recal_last_slot:
            return None
        return int(slot)

    # ------------------------------------------------------------------ the tick (cycle boundary)
    def recalibration_tick(self) -> None:
        """At a cycle boundary: apply a finished recalibration, abandon one past its time budget, or start a due
        one in a worker thread. Never waits for a fit."""
        if self._recal_period_ms() <= 0:
            return
        job = self._recal_job
        try:
            now = int(self.venue.now_ms())  # venue time decides the schedule; unreadable -> next boundary
        except Exception:
            return
        if job is not None:
            if self._sleep is not time.sleep:  # a replay on the manual clock: no market time passes while the
                job.done.wait(self.cfg.risk.timeout_seconds)  # fit runs, so wait for it (reproducible replays)
            if job.done.is_set():
                self._recal_job = None
                self._recal_finish(job, now)
            elif time.time() - job.t0_wall > self.cfg.risk.timeout_seconds:
                self._recal_job = None  # the thread's late result is dropped with the job
                self._recal_fail(job, f"not finished within risk.timeout_seconds = {self.cfg.risk.timeout_seconds:g}s",
                                 now)
            return
        if self._recal_last_slot is None:  # started without restore_band (tests): the start band covers this slot
            self._recal_last_slot = now // self._recal_period_ms()
        slot = self._recal_due(now)
        if slot is None:
            return
        period = self._recal_period_ms()
        job = RecalJob(uuid.uuid4().hex[:16], slot, slot * period, time.time())
        self.journal.append(BAND_KIND, f"band:{job.rid}:started",
                            {"status": "started", "id": job.rid, "slot": slot, "asof": _iso(job.asof_ms),
                             "model": self.cfg.risk.model, "bars_source": self._recal_source(),
                             "old": band_values(self.policy)}, now)
        self._recal_last_slot = slot
        self._recal_job = job
        maybe_crash("recalibration:started")
        capital = self.last_state.equity if self.last_state is not None and self.last_state.equity > 0 else \
            self.cfg.sim.capital_usd
        threading.Thread(target=self._recal_work, args=(job, capital), name=f"recalibration-{job.rid}",
                         daemon=True).start()

    def _recal_source(self) -> str:
        src = self.cfg.risk.bars
        if src == "auto":
            return "venue" if self.cfg.venue.kind == "hyperliquid" else "store"
        return src

    def recalibration_bars(self, asof_ms: int) -> pd.DataFrame | None:
        """The bars of a recalibration ending at ``asof_ms``: the venue's own 1h candles over the lookback (plus
        one bar), or None for the data store (``band.prices_file``, else the data dir, re-read every time)."""
        if self._recal_source() == "store":
            return None
        fetch = getattr(self.venue, "candles", None)
        if fetch is None:
            raise RuntimeError(f"venue {type(self.venue).__name__} has no candle endpoint (set risk.bars = 'store')")
        start = asof_ms - round(self.cfg.band.lookback_days * 24 * HOUR_MS) - HOUR_MS
        frame = fetch(start, asof_ms)
        if frame is None or len(frame) < 2:
            raise RuntimeError(f"the venue served {0 if frame is None else len(frame)} candles for "
                               f"{_iso(start)} -> {_iso(asof_ms)}")
        return frame

    def _recal_work(self, job: RecalJob, capital_usd: float) -> None:
        """Worker thread: bars -> fit -> band (no journal, no venue writes, no controller state touched)."""
        from basisctl.live.calibration import calibrate_band

        try:
            candles = self.recalibration_bars(job.asof_ms)
            job.result = calibrate_band(self.cfg, pd.Timestamp(job.asof_ms, unit="ms", tz="UTC"), capital_usd,
                                        candles=candles, warn=False)
        except Exception as e:  # any failure keeps the last good band (journaled and alerted by the tick)
            job.error = f"{type(e).__name__}: {e}"
        finally:
            job.done.set()

    # ------------------------------------------------------------------ outcomes
    def _recal_fail(self, job: RecalJob, why: str, now: int) -> None:
        kept = band_values(self.policy)
        self.journal.append(BAND_KIND, f"band:{job.rid}:failed",
                            {"status": "failed", "id": job.rid, "slot": job.slot, "reason": why, "kept": kept}, now)
        self.alerts.raise_("RECALIBRATION_FAILED", f"recalibration as of {_iso(job.asof_ms)} failed ({why}); "
                           f"keeping the last good band [{kept['alpha_lower']:.4f}, {kept['alpha_target']:.4f}, "
                           f"{kept['alpha_upper']:.4f}]", now)

    def _recal_finish(self, job: RecalJob, now: int) -> None:
        if job.error is not None or job.result is None:
            self._recal_fail(job, job.error or "no result", now)
            return
        pol, info = job.result
        old = band_values(self.policy)
        new = band_values(pol)
        alpha_now = self.last_state.alpha if self.last_state is not None else None
        keys = ("risk_model", "risk_calibration", "bars_from", "bars_to", "bars", "asof", "sigma_stressed", "theta_f",
                "kappa_upper_horizon", "vol_bar_hours")
        span: dict[str, Any] = {k: info[k] for k in keys if k in info}
        maybe_crash("recalibration:fitted")
        self.journal.append(BAND_KIND, f"band:{job.rid}:applied",
                            {"status": "applied", "id": job.rid, "slot": job.slot, "bars_source": self._recal_source(),
                             "inputs_fp": calibration_inputs(self.cfg),
                             "inputs": _plain(span), "old": old, "new": new, "alpha_at_apply": alpha_now}, now)
        maybe_crash("recalibration:journaled")
        with self._lock:
            self.policy = pol  # one assignment: a cycle sees the old band or the new one
            self.band_info = {**self.band_info, **_plain(info), "source": "recalibrated", "recalibrated_id": job.rid}
        self.alerts.raise_("RECALIBRATED", f"band as of {_iso(job.asof_ms)} ({self.cfg.risk.model}): alpha_L "
                           f"{old['alpha_lower']:.4f} -> {new['alpha_lower']:.4f}, alpha_target "
                           f"{old['alpha_target']:.4f} -> {new['alpha_target']:.4f}, alpha_U {old['alpha_upper']:.4f} "
                           f"-> {new['alpha_upper']:.4f}", now)
        if alpha_now is not None and alpha_now < new["alpha_lower"]:
            self.alerts.raise_("FLOOR_ABOVE_ALPHA", f"the new floor alpha_L={new['alpha_lower']:.4f} is above "
                               f"alpha_t={alpha_now:.4f}: the ordinary policy raises collateral from the next cycle",
                               now)


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy (numpy scalars to floats, other objects to strings)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, bool | int | float | str) or v is None:
            out[k] = v
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = str(v)
    return out
