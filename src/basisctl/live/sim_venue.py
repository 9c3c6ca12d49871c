"""A simulated Hyperliquid-like venue (spot book + perp book + USDC class transfers) for paper trading and chaos.

* Prices replay Hyperliquid perp 1h candles from the data dir: inside bar [open, open+1h) the mid moves linearly
  from the bar's open to its close (the venue's truth; the controller only sees the present). Spot mid = perp mid
  x (1 + basis_bps/1e4); oracle = mark = perp mid.
* Funding settles at every Hyperliquid funding timestamp of the data dir (hourly) on the position held over the
  preceding interval: payment = -perp_size x oracle_px x rate [USDC] (positive rate: shorts receive).
* Orders are IOC limit orders that walk a synthetic book: levels every ``level_bps`` starting ``half_spread_bps``
  from mid, each holding ``depth_usd_per_level`` [USD]. Fees (taker, [bps of notional]) are charged in USDC.
  Optional fault injection: a fraction of orders fill only partly (``partial_fill_prob``) or are rejected.
* Margin: initial margin = notional / max_leverage; maintenance = notional / (2 max_leverage) (Hyperliquid);
  an account below maintenance is liquidated at mark (recorded as an event).
* The whole state lives in one SQLite file, so a controller process can die at any instant and the venue
  keeps its truth (orders by cloid, fills by trade id, transfers by nonce). Duplicate cloids/nonces are
  refused and counted - the chaos suite reads those counts.

Unbounded runs: with ``continue_prices`` the replay continues past its last bar with a seeded random walk
(hourly log returns N(0, sigma_h^2), sigma_h the realised hourly vol of the replay's last 30 days; funding
rates bootstrapped from the same window). Every process that opens the venue derives the same continuation
from the seed, so the chaos suite can run for any number of kills.

External position changes (``external_fill``): a venue liquidation, auto-deleveraging or a manual trade on the
exchange UI - a fill with no client order id, marked with its cause - for the controller's detection tests.

Clock: ``manual`` (paper replay; time advances only through :meth:`SimVenue.advance`) or ``wall``
(sim time = start + wall elapsed x speed, shared by every process that opens the file).
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from basisctl.data import locator
from basisctl.errors import BasisctlError, DataCoverageError
from basisctl.live.venue import (
    BookSide,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
    Transfer,
    TransferRequest,
    VenueError,
    VenueState,
)

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated venue (persisted in its state file)."""

    asset: str = "BTC"
    start: str = "2025-03-07T00:00:00Z"  # replay start [UTC]
    clock: str = "manual"  # 'manual' | 'wall'
    speed: float = 3600.0  # sim seconds per wall second in 'wall' mode
    basis_bps: float = 0.0  # spot mid premium over perp mid [bps]
    spot_taker_fee_bps: float = 7.0  # Hyperliquid base tier spot taker 0.070%
    perp_taker_fee_bps: float = 4.5  # Hyperliquid base tier perp taker 0.045%
    half_spread_bps: float = 0.5
    level_bps: float = 1.0
    spot_depth_usd_per_level: float = 250_000.0
    perp_depth_usd_per_level: float = 1_000_000.0
    levels: int = 40
    max_leverage: float = 40.0
    sz_decimals: int = 5
    initial_spot_base: float = 0.0
    initial_spot_usdc: float = 0.0
    initial_perp_usdc: float = 0.0
    initial_perp_size: float = 0.0
    partial_fill_prob: float = 0.0
    reject_prob: float = 0.0
    hedge_tolerance_usd: float = 50.0  # for the venue-side unhedged statistics
    seed: int = 0
    continue_prices: bool = False  # seeded continuation past the end of the replay (unbounded runs)


def _ms(ts: pd.Series) -> np.ndarray:
    """UTC timestamps -> epoch milliseconds, whatever the stored resolution."""
    return (pd.to_datetime(ts, utc=True).dt.as_unit("ns").astype("int64") // 10**6).to_numpy(np.int64)


class PriceReplay:
    """Mid price and funding settlements from the data dir's Hyperliquid data, as functions of venue time [ms]."""

    def __init__(self, asset: str, candles: pd.DataFrame | None = None, funding: pd.DataFrame | None = None):
        c = candles if candles is not None else locator.load_candles("hyperliquid_perp", asset, "1h")
        f = funding if funding is not None else locator.load_funding("hyperliquid", asset)
        c = c.sort_values("ts")
        self.open_ms = _ms(c["ts"])
        self.open = c["open"].to_numpy(float)
        self.close = c["close"].to_numpy(float)
        # recorded highs/lows where the candles have them (the venue's candle endpoint serves them)
        self.high = (c["high"].to_numpy(float) if "high" in c else np.maximum(self.open, self.close))
        self.low = (c["low"].to_numpy(float) if "low" in c else np.minimum(self.open, self.close))
        f = f.sort_values("ts")
        self.f_ms = _ms(f["ts"])
        self.f_rate = f["rate"].to_numpy(float)
        self.start_ms = int(self.open_ms[0])
        self.end_ms = int(self.open_ms[-1] + HOUR_MS)

    #: continuation chunk [hourly bars]
    CHUNK = 720

    def enable_continuation(self, seed: int) -> None:
        """Continue past the last bar with a seeded random walk (see the module docstring)."""
        self._cont_seed = seed
        k = max(len(self.close) - 720, 0)
        r = np.diff(np.log(self.close[k:]))
        self._sigma_h = float(np.std(r)) if len(r) > 2 else 0.005
        tail = self.f_rate[self.f_ms >= self.f_ms[-1] - 30 * 24 * HOUR_MS]
        self._rate_pool = tail if len(tail) else np.array([0.0])
        self._chunks = 0

    def _extend_to(self, t_ms: int) -> None:
        seed = getattr(self, "_cont_seed", None)
        if seed is None:
            return
        while t_ms >= self.end_ms - HOUR_MS:  # keep one bar of slack so mid(t) never needs the next chunk
            rng = np.random.default_rng([int(seed), self._chunks])
            self._chunks += 1
            n = self.CHUNK
            z = rng.standard_normal(n)
            closes = self.close[-1] * np.exp(np.cumsum(self._sigma_h * z))
            opens = np.concatenate([[self.close[-1]], closes[:-1]])
            t0 = int(self.open_ms[-1]) + HOUR_MS
            self.open_ms = np.concatenate([self.open_ms, t0 + HOUR_MS * np.arange(n, dtype=np.int64)])
            self.open = np.concatenate([self.open, opens])
            self.close = np.concatenate([self.close, closes])
            self.high = np.concatenate([self.high, np.maximum(opens, closes)])
            self.low = np.concatenate([self.low, np.minimum(opens, closes)])
            self.end_ms = int(self.open_ms[-1] + HOUR_MS)
            f0 = int(self.f_ms[-1]) + HOUR_MS
            nf = max((self.end_ms - f0) // HOUR_MS + 1, 0)
            self.f_ms = np.concatenate([self.f_ms, f0 + HOUR_MS * np.arange(nf, dtype=np.int64)])
            self.f_rate = np.concatenate([self.f_rate, rng.choice(self._rate_pool, size=nf)])

    def mid(self, t_ms: int) -> float:
        self._extend_to(t_ms)
        if t_ms < self.start_ms or t_ms >= self.end_ms:
            raise DataCoverageError(
                f"replay has prices from {pd.Timestamp(self.start_ms, unit='ms', tz='UTC')} to "
                f"{pd.Timestamp(self.end_ms, unit='ms', tz='UTC')}; asked for {pd.Timestamp(t_ms, unit='ms', tz='UTC')}"
            )
        i = int(np.searchsorted(self.open_ms, t_ms, side="right") - 1)
        w = (t_ms - self.open_ms[i]) / HOUR_MS
        return float(self.open[i] + min(max(w, 0.0), 1.0) * (self.close[i] - self.open[i]))

    def candles(self, start_ms: int, end_ms: int, now_ms: int) -> pd.DataFrame:
        """Hourly bars opening in [start_ms, end_ms) that closed by ``now_ms`` (venue time): ts (bar open, UTC),
        open/high/low/close [USD], as recorded (continuation bars: high/low = max/min of open and close)."""
        self._extend_to(min(end_ms, now_ms))
        hi_open = min(end_ms, now_ms - HOUR_MS + 1)  # a bar is served once it has closed
        lo = int(np.searchsorted(self.open_ms, start_ms, side="left"))
        hi = int(np.searchsorted(self.open_ms, hi_open, side="left"))
        return pd.DataFrame({
            "ts": pd.to_datetime(self.open_ms[lo:hi], unit="ms", utc=True),
            "open": self.open[lo:hi], "high": self.high[lo:hi], "low": self.low[lo:hi], "close": self.close[lo:hi],
        })

    def settlements(self, after_ms: int, upto_ms: int) -> list[tuple[int, float]]:
        """Funding settlements with after_ms < ts <= upto_ms: [(ts_ms, rate per interval)]."""
        self._extend_to(upto_ms)
        lo = int(np.searchsorted(self.f_ms, after_ms, side="right"))
        hi = int(np.searchsorted(self.f_ms, upto_ms, side="right"))
        return [(int(self.f_ms[k]), float(self.f_rate[k])) for k in range(lo, hi)]

    def rate_at(self, t_ms: int) -> float:
        self._extend_to(t_ms)
        i = int(np.searchsorted(self.f_ms, t_ms, side="right") - 1)
        return float(self.f_rate[max(i, 0)])


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders(cloid TEXT PRIMARY KEY, oid INTEGER, market TEXT, side TEXT, size REAL,
  limit_px REAL, state TEXT, filled REAL, avg_px REAL, ts_ms INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS order_requests(seq INTEGER PRIMARY KEY AUTOINCREMENT, cloid TEXT, ts_ms INTEGER,
  outcome TEXT);
CREATE TABLE IF NOT EXISTS fills(tid INTEGER PRIMARY KEY, oid INTEGER, cloid TEXT, market TEXT, side TEXT,
  size REAL, px REAL, fee REAL, ts_ms INTEGER);
CREATE TABLE IF NOT EXISTS funding(ts_ms INTEGER PRIMARY KEY, amount REAL, rate REAL, size REAL);
CREATE TABLE IF NOT EXISTS transfers(nonce INTEGER PRIMARY KEY, amount REAL, to_perp INTEGER, ts_ms INTEGER);
CREATE TABLE IF NOT EXISTS transfer_requests(seq INTEGER PRIMARY KEY AUTOINCREMENT, nonce INTEGER,
  ts_ms INTEGER, outcome TEXT);
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER, kind TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS fill_causes(tid INTEGER PRIMARY KEY, cause TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unhedged_episodes(start_wall REAL, end_wall REAL, max_gap_usd REAL);
"""


class SimVenue:
    """The simulated venue; implements :class:`basisctl.live.venue.Venue`. Thread-safe; multi-process safe."""

    def __init__(self, path: str | Path, config: SimConfig | None = None, replay: PriceReplay | None = None):
        self.path = str(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            with self._tx():
                row = self._db.execute("SELECT v FROM meta WHERE k='config'").fetchone()
                if row is None:
                    cfg = config or SimConfig()
                    self._put("config", json.dumps(asdict(cfg)))
                    self._init_state(cfg, replay)
                else:
                    known = {f for f in SimConfig.__dataclass_fields__}
                    cfg = SimConfig(**{k: v for k, v in json.loads(row[0]).items() if k in known})
        except (sqlite3.DatabaseError, json.JSONDecodeError) as e:  # not SQLite, corrupt, or a mangled config row
            raise BasisctlError(f"{self.path}: simulated venue state is not readable ({e}); refusing to start "
                                "(restore it, or point sim.state_file at a new file for a new paper account)") from None
        self.config = cfg
        self.replay = replay or PriceReplay(cfg.asset)
        if cfg.continue_prices:
            self.replay.enable_continuation(cfg.seed)
        self._theta = 1.0 / (2.0 * cfg.max_leverage)

    # ------------------------------------------------------------------ plumbing
    def _tx(self) -> _Tx:
        return _Tx(self)

    def _get(self, k: str, default: str | None = None) -> str:
        row = self._db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        if row is None:
            if default is None:
                raise KeyError(k)
            return default
        return str(row[0])

    def _put(self, k: str, v: object) -> None:
        self._db.execute("INSERT INTO meta(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v", (k, str(v)))

    def _f(self, k: str) -> float:
        return float(self._get(k))

    def _init_state(self, cfg: SimConfig, replay: PriceReplay | None) -> None:
        start_ms = int(pd.Timestamp(cfg.start).value // 10**6)
        self._put("spot_base", cfg.initial_spot_base)
        self._put("spot_usdc", cfg.initial_spot_usdc)
        self._put("perp_size", cfg.initial_perp_size)
        self._put("perp_cash", cfg.initial_perp_usdc)
        self._put("sim_t0_ms", start_ms)
        self._put("manual_now_ms", start_ms)
        self._put("wall_t0", repr(time.time()))
        self._put("last_funding_ms", start_ms)
        self._put("seq", 0)
        self._put("unhedged_since_wall", "")
        self._put("max_unhedged_usd", 0.0)
        self._put("max_unhedged_seconds", 0.0)

    # ------------------------------------------------------------------ clock
    def now_ms(self) -> int:
        if self.config.clock == "manual":
            return int(self._get("manual_now_ms"))
        t0 = int(self._get("sim_t0_ms"))
        return int(t0 + (time.time() - float(self._get("wall_t0"))) * self.config.speed * 1000.0)

    def advance(self, seconds: float) -> None:
        """Manual clock: move venue time forward [s] (settling funding on the way)."""
        if self.config.clock != "manual":
            return
        with self._lock, self._tx():
            self._put("manual_now_ms", int(self._get("manual_now_ms")) + int(seconds * 1000))
            self._settle(self.now_ms())

    # ------------------------------------------------------------------ internals
    def _balances(self) -> tuple[float, float, float, float]:
        return self._f("spot_base"), self._f("spot_usdc"), self._f("perp_size"), self._f("perp_cash")

    def _mids(self, t_ms: int) -> tuple[float, float]:
        perp = self.replay.mid(t_ms)
        return perp * (1.0 + self.config.basis_bps / 1e4), perp

    def _settle(self, now: int) -> None:
        """Apply funding settlements up to ``now`` and the liquidation check (inside a transaction)."""
        last = int(self._get("last_funding_ms"))
        if now > last:
            for ts, rate in self.replay.settlements(last, now):
                size = self._f("perp_size")
                if size != 0.0:
                    px = self.replay.mid(min(ts, self.replay.end_ms - 1))
                    amt = -size * px * rate
                    self._db.execute("INSERT OR IGNORE INTO funding VALUES(?,?,?,?)", (ts, amt, rate, size))
                    self._put("perp_cash", self._f("perp_cash") + amt)
            self._put("last_funding_ms", now)
        _, mark = self._mids(now)
        size, cash = self._f("perp_size"), self._f("perp_cash")
        if size != 0.0 and cash + size * mark < abs(size) * mark * self._theta:
            self._db.execute(
                "INSERT INTO events(ts_ms, kind, detail) VALUES(?,?,?)",
                (now, "liquidation", json.dumps({"size": size, "mark": mark, "cash": cash})),
            )
            self._put("perp_cash", cash + size * mark)
            self._put("perp_size", 0.0)
        self._track_hedge(now)

    def _track_hedge(self, now: int) -> None:
        spot_mid, _ = self._mids(now)
        gap_usd = abs(self._f("spot_base") + self._f("perp_size")) * spot_mid
        since = self._get("unhedged_since_wall")
        wall = time.time()
        # unhedged notional x time [USD s]: the previous gap held since the previous observation
        last_wall, last_gap = float(self._get("track_wall", "0") or 0.0), float(self._get("track_gap_usd", "0"))
        if last_wall and last_gap > self.config.hedge_tolerance_usd:
            acc = float(self._get("unhedged_usd_seconds", "0")) + last_gap * max(wall - last_wall, 0.0)
            self._put("unhedged_usd_seconds", acc)
        self._put("track_wall", repr(wall))
        self._put("track_gap_usd", gap_usd)
        if gap_usd > self.config.hedge_tolerance_usd:
            self._put("max_unhedged_usd", max(self._f("max_unhedged_usd"), gap_usd))
            if not since:
                self._put("unhedged_since_wall", repr(wall))
                self._put("episode_max_gap_usd", gap_usd)
            else:
                self._put("max_unhedged_seconds", max(self._f("max_unhedged_seconds"), wall - float(since)))
                self._put("episode_max_gap_usd", max(float(self._get("episode_max_gap_usd", "0")), gap_usd))
        elif since:
            self._put("max_unhedged_seconds", max(self._f("max_unhedged_seconds"), wall - float(since)))
            self._put("unhedged_since_wall", "")
            # each one-legged episode [wall s], for the chaos audit's split of unhedged time (chaos.unhedged_split)
            self._db.execute("INSERT INTO unhedged_episodes VALUES(?,?,?)",
                             (float(since), wall, float(self._get("episode_max_gap_usd", "0"))))

    def _rng(self) -> random.Random:
        seq = int(self._get("seq")) + 1
        self._put("seq", seq)
        return random.Random(f"{self.config.seed}:{seq}")

    def _levels(self, market: Market, mid: float, side: str) -> list[tuple[float, float]]:
        c = self.config
        depth = c.spot_depth_usd_per_level if market == "spot" else c.perp_depth_usd_per_level
        sgn = 1.0 if side == "ask" else -1.0
        return [(mid * (1.0 + sgn * (c.half_spread_bps + k * c.level_bps) / 1e4), depth / mid) for k in range(c.levels)]

    # ------------------------------------------------------------------ protocol
    def state(self, settle: bool = True) -> VenueState:
        """Observe (``settle=False``: balances as last settled, for audits that must not move the venue)."""
        with self._lock, self._tx():
            now = self.now_ms()
            if settle:
                self._settle(now)
            spot_mid, mark = self._mids(now)
            sb, su, ps, pc = self._balances()
        return VenueState(
            ts_ms=now,
            spot_mid=spot_mid,
            mark_px=mark,
            oracle_px=mark,
            spot_base=sb,
            spot_usdc=su,
            perp_size=ps,
            perp_cash=pc,
            max_leverage=self.config.max_leverage,
            funding_rate=self.replay.rate_at(now),
        )

    def book(self, market: Market, depth: int = 20) -> tuple[BookSide, BookSide]:
        now = self.now_ms()
        spot_mid, perp_mid = self._mids(now)
        mid = spot_mid if market == "spot" else perp_mid
        return BookSide(self._levels(market, mid, "bid")[:depth]), BookSide(self._levels(market, mid, "ask")[:depth])

    def place_order(self, req: OrderRequest) -> OrderStatus:
        with self._lock, self._tx():
            now = self.now_ms()
            self._settle(now)
            if self._db.execute("SELECT 1 FROM orders WHERE cloid=?", (req.cloid,)).fetchone():
                self._db.execute(
                    "INSERT INTO order_requests(cloid, ts_ms, outcome) VALUES(?,?,?)", (req.cloid, now, "duplicate")
                )
                outcome = None
            else:
                outcome = self._execute(req, now)
                self._db.execute(
                    "INSERT INTO order_requests(cloid, ts_ms, outcome) VALUES(?,?,?)",
                    (req.cloid, now, outcome.state.value),
                )
                self._track_hedge(now)
        if outcome is None:
            raise VenueError(f"duplicate cloid {req.cloid}")
        if outcome.state is OrderState.REJECTED:
            raise VenueError(f"order {req.cloid} rejected: {outcome.reason}")
        return outcome

    def _record(
        self, req: OrderRequest, oid: int, state: OrderState, filled: float, avg: float, now: int, reason: str
    ) -> OrderStatus:
        self._db.execute(
            "INSERT INTO orders VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (req.cloid, oid, req.market, req.side, req.size, req.limit_px, state.value, filled, avg, now, reason),
        )
        return OrderStatus(req.cloid, state, filled, avg, reason)

    def _execute(self, req: OrderRequest, now: int) -> OrderStatus:
        c = self.config
        oid = int(self._db.execute("SELECT COALESCE(MAX(oid), 0) + 1 FROM orders").fetchone()[0])
        rng = self._rng()
        if now > req.expires_at_ms:
            return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "expired")
        if not (req.size > 0 and math.isfinite(req.size) and req.limit_px > 0):
            return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "invalid size or price")
        if rng.random() < c.reject_prob:
            return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "injected reject")
        spot_mid, perp_mid = self._mids(now)
        mid = spot_mid if req.market == "spot" else perp_mid
        want = round(req.size, c.sz_decimals)
        if rng.random() < c.partial_fill_prob:
            want = round(want * rng.uniform(0.2, 0.9), c.sz_decimals)
        book = self._levels(req.market, mid, "ask" if req.side == "buy" else "bid")
        got, cost = 0.0, 0.0
        for px, sz in book:
            if (req.side == "buy" and px > req.limit_px) or (req.side == "sell" and px < req.limit_px):
                break
            take = min(sz, want - got)
            got += take
            cost += take * px
            if got >= want - 1e-12:
                break
        got = round(got, c.sz_decimals)
        if got <= 0:
            return self._record(req, oid, OrderState.CANCELED, 0.0, 0.0, now, "no match within limit (IOC)")
        avg = cost / got if got else 0.0
        sgn = 1.0 if req.side == "buy" else -1.0
        fee_bps = c.spot_taker_fee_bps if req.market == "spot" else c.perp_taker_fee_bps
        fee = got * avg * fee_bps / 1e4
        sb, su, ps, pc = self._balances()
        if req.market == "spot":
            if req.side == "sell" and got > sb + 1e-12:
                return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "insufficient spot balance")
            if req.side == "buy" and got * avg + fee > su + 1e-9:
                return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "insufficient USDC on spot")
            self._put("spot_base", sb + sgn * got)
            self._put("spot_usdc", su - sgn * got * avg - fee)
        else:
            new_size = ps + sgn * got
            new_cash = pc - sgn * got * avg - fee
            if req.reduce_only and (abs(new_size) > abs(ps) + 1e-12 or new_size * ps < 0):
                return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "reduce only would increase")
            if abs(new_size) > abs(ps) and new_cash + new_size * perp_mid < abs(new_size) * perp_mid / c.max_leverage:
                return self._record(req, oid, OrderState.REJECTED, 0.0, 0.0, now, "insufficient margin")
            self._put("perp_size", new_size)
            self._put("perp_cash", new_cash)
        tid = int(self._db.execute("SELECT COALESCE(MAX(tid), 0) + 1 FROM fills").fetchone()[0])
        self._db.execute(
            "INSERT INTO fills VALUES(?,?,?,?,?,?,?,?,?)",
            (tid, oid, req.cloid, req.market, req.side, got, avg, fee, now),
        )
        state = OrderState.FILLED if got >= round(req.size, c.sz_decimals) - 1e-12 else OrderState.CANCELED
        return self._record(req, oid, state, got, avg, now, "" if state is OrderState.FILLED else "partial (IOC)")

    def order_status(self, cloid: str) -> OrderStatus | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state, filled, avg_px, reason FROM orders WHERE cloid=?", (cloid,)
            ).fetchone()
        if row is None:
            return None
        return OrderStatus(cloid, OrderState(row[0]), float(row[1]), float(row[2]), str(row[3]))

    def order_detail(self, cloid: str) -> dict[str, object] | None:
        """The stored order row (for the local HTTP server's orderStatus / fills shapes)."""
        with self._lock:
            r = self._db.execute(
                "SELECT cloid, oid, market, side, size, limit_px, state, filled, avg_px, ts_ms, reason "
                "FROM orders WHERE cloid=?",
                (cloid,),
            ).fetchone()
        if r is None:
            return None
        keys = ("cloid", "oid", "market", "side", "size", "limit_px", "state", "filled", "avg_px", "ts_ms", "reason")
        return dict(zip(keys, r, strict=True))

    def cancel(self, market: Market, cloid: str) -> None:
        return None  # IOC orders never rest

    def candles(self, start_ms: int, end_ms: int) -> pd.DataFrame:
        """The venue's candle endpoint: recorded hourly bars opening in [start_ms, end_ms) that have closed."""
        with self._lock:  # the replay grows its continuation in place: one thread at a time
            return self.replay.candles(start_ms, end_ms, self.now_ms())

    def fills(self, since_ms: int = 0) -> list[Fill]:
        with self._lock:
            rows = self._db.execute(
                "SELECT f.tid, f.cloid, f.market, f.side, f.size, f.px, f.fee, f.ts_ms, COALESCE(c.cause, '') "
                "FROM fills f LEFT JOIN fill_causes c ON c.tid = f.tid WHERE f.ts_ms >= ? ORDER BY f.tid",
                (since_ms,),
            ).fetchall()
        return [Fill(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], 0.0, r[8]) for r in rows]

    def external_fill(self, market: Market, side: str, size: float, cause: str = "liquidation") -> Fill:
        """A position change no client order explains (venue liquidation, 'adl', or a 'manual' UI trade): one
        fill at mid with no cloid, marked with ``cause``. Liquidations and ADL carry no fee here."""
        with self._lock, self._tx():
            now = self.now_ms()
            self._settle(now)
            spot_mid, perp_mid = self._mids(now)
            px = spot_mid if market == "spot" else perp_mid
            size = round(size, self.config.sz_decimals)
            sgn = 1.0 if side == "buy" else -1.0
            sb, su, ps, pc = self._balances()
            if market == "spot":
                self._put("spot_base", sb + sgn * size)
                self._put("spot_usdc", su - sgn * size * px)
            else:
                self._put("perp_size", ps + sgn * size)
                self._put("perp_cash", pc - sgn * size * px)
            tid = int(self._db.execute("SELECT COALESCE(MAX(tid), 0) + 1 FROM fills").fetchone()[0])
            self._db.execute("INSERT INTO fills VALUES(?,?,?,?,?,?,?,?,?)",
                             (tid, 0, "", market, side, size, px, 0.0, now))
            self._db.execute("INSERT INTO fill_causes VALUES(?,?)", (tid, cause))
            self._db.execute("INSERT INTO events(ts_ms, kind, detail) VALUES(?,?,?)",
                             (now, f"external:{cause}", json.dumps({"tid": tid, "market": market, "size": size})))
            self._track_hedge(now)
        return Fill(str(tid), "", market, side, size, px, 0.0, now, 0.0, cause)  # type: ignore[arg-type]

    def funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        with self._lock:
            rows = self._db.execute(
                "SELECT ts_ms, amount, rate, size FROM funding WHERE ts_ms >= ? ORDER BY ts_ms", (since_ms,)
            ).fetchall()
        return [FundingPayment(f"{r[0]}:{self.config.asset}", r[0], r[1], r[2], r[3]) for r in rows]

    def transfer(self, req: TransferRequest) -> None:
        with self._lock, self._tx():
            now = self.now_ms()
            self._settle(now)
            why = self._transfer(req, now)
            self._db.execute(
                "INSERT INTO transfer_requests(nonce, ts_ms, outcome) VALUES(?,?,?)", (req.nonce, now, why or "ok")
            )
            self._track_hedge(now)
        if why:
            raise VenueError(f"transfer nonce {req.nonce} refused: {why}")

    def _transfer(self, req: TransferRequest, now: int) -> str:
        if self._db.execute("SELECT 1 FROM transfers WHERE nonce=?", (req.nonce,)).fetchone():
            return "duplicate"
        if now > req.expires_at_ms:
            return "expired"
        if not (req.amount_usd > 0 and math.isfinite(req.amount_usd)):
            return "invalid amount"
        _, su, ps, pc = self._balances()
        _, mark = self._mids(now)
        if req.to_perp:
            if req.amount_usd > su + 1e-9:
                return "insufficient USDC on spot"
            self._put("spot_usdc", su - req.amount_usd)
            self._put("perp_cash", pc + req.amount_usd)
        else:
            withdrawable = pc + ps * mark - abs(ps) * mark / self.config.max_leverage
            if req.amount_usd > withdrawable + 1e-9:
                return f"exceeds withdrawable {withdrawable:.2f}"
            self._put("perp_cash", pc - req.amount_usd)
            self._put("spot_usdc", su + req.amount_usd)
        self._db.execute("INSERT INTO transfers VALUES(?,?,?,?)", (req.nonce, req.amount_usd, int(req.to_perp), now))
        return ""

    def transfers(self, since_ms: int = 0) -> list[Transfer]:
        with self._lock:
            rows = self._db.execute(
                "SELECT nonce, amount, to_perp, ts_ms FROM transfers WHERE ts_ms >= ? ORDER BY ts_ms, nonce",
                (since_ms,),
            ).fetchall()
        return [Transfer(f"transfer:{r[0]}", int(r[0]), float(r[1]), bool(r[2]), int(r[3])) for r in rows]

    def schedule_cancel(self, at_ms: int | None) -> None:
        with self._lock, self._tx():
            self._put("dead_man_at_ms", "" if at_ms is None else at_ms)

    # ------------------------------------------------------------------ audit (chaos suite, tests)
    def stats(self) -> dict[str, float | int]:
        """Venue-side truth for audits: duplicate requests, hedge statistics, liquidations."""
        with self._lock, self._tx():
            self._track_hedge(self.now_ms())
            dup_orders = self._db.execute("SELECT COUNT(*) FROM order_requests WHERE outcome='duplicate'").fetchone()[0]
            dup_tr = self._db.execute("SELECT COUNT(*) FROM transfer_requests WHERE outcome='duplicate'").fetchone()[0]
            n_orders = self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            n_fills = self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
            liq = self._db.execute("SELECT COUNT(*) FROM events WHERE kind='liquidation'").fetchone()[0]
            ext = self._db.execute("SELECT COUNT(*) FROM fill_causes").fetchone()[0]
            return {
                "duplicate_order_requests": int(dup_orders),
                "duplicate_transfer_requests": int(dup_tr),
                "orders": int(n_orders),
                "fills": int(n_fills),
                "liquidations": int(liq),
                "max_unhedged_usd": self._f("max_unhedged_usd"),
                "max_unhedged_seconds": self._f("max_unhedged_seconds"),
                "unhedged_usd_seconds": float(self._get("unhedged_usd_seconds", "0")),
                "external_fills": int(ext),
            }

    def unhedged_episodes(self) -> list[tuple[float, float, float]]:
        """The venue's one-legged episodes (|spot + perp| x mid above hedge_tolerance_usd) as (start, end [wall s,
        epoch], max gap [USD]); one still open ends now. Observed at venue requests, like max_unhedged_seconds."""
        with self._lock:
            rows = [(float(a), float(b), float(g)) for a, b, g in
                    self._db.execute("SELECT start_wall, end_wall, max_gap_usd FROM unhedged_episodes ORDER BY 1")]
            since = self._get("unhedged_since_wall")
            if since:
                rows.append((float(since), time.time(), float(self._get("episode_max_gap_usd", "0"))))
            return rows

    def wall_of(self, ts_ms: int) -> float:
        """The wall time [epoch s] at which this venue's clock read ``ts_ms`` ('wall' clock mode)."""
        t0 = int(self._get("sim_t0_ms"))
        return float(self._get("wall_t0")) + (ts_ms - t0) / (self.config.speed * 1000.0)

    def close(self) -> None:
        self._db.close()


@dataclass
class _Tx:
    venue: SimVenue
    depth: list[int] = field(default_factory=list)

    def __enter__(self) -> _Tx:
        db = self.venue._db
        if db.in_transaction:
            self.depth.append(0)
        else:
            db.execute("BEGIN IMMEDIATE")
            self.depth.append(1)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.depth.pop():
            self.venue._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
