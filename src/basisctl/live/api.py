"""Operating surface on 127.0.0.1: /health, /state (JSON), /metrics (Prometheus text) and the dashboard page.

Exposure rules (DNS rebinding, stray listeners): only loopback host names are answered by default (Starlette's
``TrustedHostMiddleware``: a foreign ``Host:`` header gets 400); binding to anything but loopback requires a
bearer token from ``BASISCTL_API_TOKEN`` on every route (``Bearer`` in any case; a browser opening the
dashboard is asked for it by a Basic challenge - any user name, the token as password); GET routes also
answer HEAD; no /openapi.json or /docs unless asked for (``openapi=True``).

The dashboard is one self-contained HTML page (plain JS, inline SVG, no CDN - works offline) that polls
/state every second: alpha_t against alpha_L / alpha_target / alpha_U (and alpha_liq), leverage, distance to
liquidation, funding carry, PnL, recent decisions with reasons, execution costs against targets, alerts.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import math
import os
import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from basisctl.errors import BasisctlError
from basisctl.live.controller import Controller


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def health(ctl: Controller, max_silence_s: float | None = None) -> tuple[int, dict[str, Any]]:
    """/health: 200 only when every check passes, else 503 with every failing reason (docs/operations.md,
    "Health"). Checks: ``cycle`` - a cycle completed within ``max_silence_s`` (default max(3 x cadence, 30 s),
    wall clock); ``halt`` - new risk is not halted; ``lock`` - every journal/account lock this process took is
    still held and intact (``None`` when the controller was built without locks, e.g. in a library call);
    ``alerts`` - fewer than ``[alerts] health_fail_after`` consecutive failed deliveries (``None`` without
    ``[alerts] urls``)."""
    silence = max_silence_s if max_silence_s is not None else max(3 * ctl.cfg.cadence_seconds, 30.0)
    age = None if ctl.last_cycle_wall is None else time.time() - ctl.last_cycle_wall
    reasons: list[str] = []
    if age is None:
        reasons.append("no cycle yet")
    elif age > silence:
        reasons.append(f"no cycle for {age:.0f}s (limit {silence:.0f}s)")
    if ctl.halted:
        reasons.append("halted: " + ctl.halt_reason)
    locks = getattr(ctl, "held_locks", None)
    lock: dict[str, Any] | None = None
    if locks is not None:
        problems = [p for p in (lk.problem() for lk in locks) if p]
        released = [str(lk.target) for lk in locks if not lk.held]
        lock = {"held": not released and not problems, "files": [str(lk.target) for lk in locks],
                "problem": "; ".join(problems + [f"{r}: not held" for r in released]) or None}
        if not lock["held"]:
            reasons.append("lock: " + str(lock["problem"]))
    delivery = ctl.alerts.delivery()
    if delivery is not None and delivery["failing"]:
        reasons.append(f"alert delivery failing: {delivery['consecutive_failures']} consecutive failures "
                       f"({delivery['last_error']})")
    ok = not reasons
    return (200 if ok else 503), {
        "status": "ok" if ok else "degraded",
        "reason": "ok" if ok else reasons[0],
        "reasons": reasons,
        "cycles": ctl.cycles,
        "last_cycle_age_s": age,
        "max_silence_s": silence,
        "halted": ctl.halted,
        "halt_reason": ctl.halt_reason or None,
        "lock": lock,
        "alert_delivery": None if delivery is None else {
            k: delivery[k] for k in ("delivered", "failed", "consecutive_failures", "dropped", "pending", "failing",
                                     "last_error")},
        "backup": None if getattr(ctl, "backups", None) is None else ctl.backups.status(),
        "mode": ctl.cfg.mode,
    }


def metrics_text(ctl: Controller) -> str:
    """Prometheus exposition format (text 0.0.4)."""
    s = ctl.public_state()
    st = s["state"] or {}
    last = s["last"] or {}
    band = s["band"]
    lines: list[str] = []

    def g(name: str, help_: str, value: Any, labels: str = "", kind: str = "gauge") -> None:
        if not any(ln.startswith(f"# HELP {name} ") for ln in lines):
            lines.append(f"# HELP {name} {help_}")
            lines.append(f"# TYPE {name} {kind}")
        v = float("nan") if value is None else float(value)
        lines.append(f"{name}{labels} {v!r}" if math.isfinite(v) else f"{name}{labels} NaN")

    g("basisctl_alpha", "margin share of capital alpha_t [fraction]", st.get("alpha"))
    for k in ("alpha_lower", "alpha_target", "alpha_upper"):
        g("basisctl_band", "band boundaries [fraction of capital]", band[k], f'{{bound="{k}"}}')
    g("basisctl_equity_usd", "total capital V_t [USD]", st.get("equity"))
    g("basisctl_perp_account_value_usd", "perp margin account value [USD]", st.get("perp_account_value"))
    g("basisctl_leverage", "perp notional / perp account value [x]", st.get("leverage"))
    g("basisctl_liquidation_distance", "liquidation price / mark - 1 [fraction]", last.get("liq_distance"))
    g("basisctl_unhedged_usd", "|spot + perp| x price [USD]", st.get("unhedged_usd"))
    g("basisctl_funding_usd_total", "funding received since genesis [USD]", last.get("funding_usd"))
    g("basisctl_pnl_usd", "equity change since genesis [USD]", last.get("pnl_usd"))
    g("basisctl_cycles_total", "control cycles run by this process", s["cycles"], kind="counter")
    g("basisctl_halted", "1 when new risk is halted (kill switch / escalation)", 1.0 if s["halted"] else 0.0)
    g("basisctl_journal_fills", "fills in the journal", s["journal"]["fills"])
    d = s.get("alert_delivery")
    if d is not None:  # operators' channels ([alerts] urls)
        g("basisctl_alert_deliveries_total", "alerts delivered to operators' channels", d["delivered"], kind="counter")
        g("basisctl_alert_delivery_failures_total", "failed alert deliveries", d["failed"], kind="counter")
        g("basisctl_alert_delivery_failing", "1 when health_fail_after consecutive deliveries failed",
          1.0 if d["failing"] else 0.0)
    for kind, n in sorted(s["alert_counts"].items()):
        g("basisctl_alerts_total", "alerts raised by this process", n, f'{{kind="{kind}"}}', kind="counter")
    return "\n".join(lines) + "\n"


TOKEN_ENV = "BASISCTL_API_TOKEN"
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1", "[::1]"]


def pnl_summary(ctl: Controller) -> dict[str, Any]:
    """P&L attribution of the controller's journal (basisctl.pnl), read-only: the book and each position, or
    ``{"error": ...}`` while there is no priced snapshot yet."""
    from basisctl.errors import BasisctlError
    from basisctl.pnl import attribute
    from basisctl.pnl.reader import JournalReader

    try:
        with JournalReader(ctl.journal.path) as j:
            res = attribute(j)
    except BasisctlError as e:
        return {"error": str(e)}
    return {"book": res.book(), "positions": [p.to_dict() for p in res.positions]}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_ok(authorization: str, token: str) -> bool:
    """``Authorization: Bearer <token>`` (scheme case-insensitive, RFC 7235) or ``Basic`` with the token as
    the password (what a browser sends for the dashboard page); compared in constant time."""
    scheme, _, cred = authorization.strip().partition(" ")
    cred = cred.strip()
    if scheme.lower() == "basic":
        try:
            cred = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(cred.encode(), token.encode())


def allowed_host_names(host: str) -> list[str]:
    """Host header names answered for a loopback bind: the loopback names plus the bound address itself
    (``--host 127.0.0.2`` answers ``Host: 127.0.0.2``)."""
    names = list(LOOPBACK_HOSTS)
    for h in (host, f"[{host}]" if ":" in host and not host.startswith("[") else host):
        if h not in names:
            names.append(h)
    return names


def bind_socket(host: str, port: int) -> socket.socket:
    """Listen on ``host:port`` now (before any trading), so that a port in use is refused with one line
    instead of uvicorn logging it while the controller trades on (and someone else answers /health)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise BasisctlError(f"--host {host} --port {port}: cannot resolve or open a socket ({e})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only; a live listener still fails
        sock.bind(addr)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise BasisctlError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror or e}); another process "
                            "holds the port - stop it or choose another --port") from None
    return sock


def create_app(
    ctl: Controller,
    allowed_hosts: list[str] | None = None,
    token: str | None = None,
    openapi: bool = False,
) -> FastAPI:
    """The API. ``allowed_hosts``: Host header names answered (default loopback names only); ``token``: bearer
    token required on every route (None: none); ``openapi``: serve /openapi.json and /docs."""
    app = FastAPI(
        title="basisctl controller",
        docs_url="/docs" if openapi else None,
        redoc_url=None,
        openapi_url="/openapi.json" if openapi else None,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)
    if token:

        @app.middleware("http")
        async def _bearer(request: Request, call_next: Any) -> Response:
            if not token_ok(request.headers.get("authorization", ""), token):
                # the dashboard page: a Basic challenge makes the browser ask (any user name, the token as
                # password) and then send it on the page's own /state requests; API clients use Bearer
                challenge = 'Basic realm="basisctl", charset="UTF-8"' if request.url.path == "/" else "Bearer"
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": challenge})
            return await call_next(request)

    @app.api_route("/health", methods=["GET", "HEAD"])
    def _health() -> JSONResponse:
        code, body = health(ctl)
        return JSONResponse(_clean(body), status_code=code)

    @app.api_route("/state", methods=["GET", "HEAD"])
    def _state() -> JSONResponse:
        return JSONResponse(_clean(ctl.public_state()))

    @app.api_route("/metrics", methods=["GET", "HEAD"])
    def _metrics() -> PlainTextResponse:
        return PlainTextResponse(metrics_text(ctl), media_type="text/plain; version=0.0.4")

    @app.api_route("/pnl", methods=["GET", "HEAD"])
    def _pnl() -> JSONResponse:
        return JSONResponse(_clean(pnl_summary(ctl)))

    @app.api_route("/", methods=["GET", "HEAD"])
    def _dashboard() -> HTMLResponse:
        return HTMLResponse(DASHBOARD_HTML)

    return app


class ServerThread:
    """uvicorn in a daemon thread; 127.0.0.1 unless ``host`` says otherwise (then a token is required)."""

    def __init__(self, ctl: Controller, port: int, host: str = "127.0.0.1", openapi: bool = False,
                 sock: socket.socket | None = None):
        token = os.environ.get(TOKEN_ENV) or None
        allowed = allowed_host_names(host)
        if not is_loopback(host):
            if not token:
                raise BasisctlError(
                    f"--host {host} is not loopback: set a bearer token in {TOKEN_ENV} (required on every route)"
                )
            allowed = ["*"]  # reachable by address from other machines; the token guards every route
        self.config = uvicorn.Config(
            create_app(ctl, allowed, token, openapi), host=host, port=port, log_level="warning"
        )
        self.server = uvicorn.Server(self.config)
        self.sock = sock if sock is not None else bind_socket(host, port)  # bound here: a busy port is refused
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[self.sock]), daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        t0 = time.time()
        while not self.server.started and time.time() - t0 < 10:
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        if not self.server.started:
            self.server.should_exit = True
            raise BasisctlError(f"dashboard on {self.config.host}:{self.config.port} did not start; refusing to run "
                                "without the requested API")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def serve_in_thread(ctl: Controller, port: int, host: str = "127.0.0.1", openapi: bool = False,
                    sock: socket.socket | None = None) -> ServerThread:
    """Start the API in a daemon thread on ``sock`` (from :func:`bind_socket`) or a socket bound here."""
    return ServerThread(ctl, port, host, openapi, sock).start()


DASHBOARD_HTML = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>basisctl controller</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:0;background:#0f1419;color:#dde3ea}
 header{padding:10px 16px;background:#17202a;display:flex;gap:16px;align-items:center}
 h1{font-size:16px;margin:0} .pill{padding:2px 8px;border-radius:10px;background:#2a3a4a}
 .halted{background:#8b1e1e} .ok{background:#1e6b3a}
 main{display:grid;grid-template-columns:2fr 1fr;gap:12px;padding:12px}
 .card{background:#17202a;border-radius:8px;padding:10px 12px}
 .kpis{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;align-content:start}
 .kpi b{display:block;font-size:18px} .kpi span{color:#8aa0b4;font-size:12px}
 table{width:100%;border-collapse:collapse;font-size:12px}
 td,th{padding:3px 4px;border-bottom:1px solid #26323e;text-align:left}
 svg text{fill:#8aa0b4;font-size:10px}
</style></head><body>
<header><h1>basisctl</h1><span id="mode" class="pill">-</span><span id="asset" class="pill">-</span>
<span id="status" class="pill">connecting</span><span id="cycles" class="pill">cycles 0</span></header>
<main>
<section class="card"><div>alpha<sub>t</sub> against the band</div>
<svg id="chart" viewBox="0 0 640 260" width="100%" role="img" aria-label="alpha chart"></svg>
<div style="font-size:12px;color:#8aa0b4"><span style="color:#4fc3f7">&#9632; alpha_t</span>
<span style="color:#e57373">&#9632; alpha_L</span> <span style="color:#81c784">&#9632; alpha&dagger;</span>
<span style="color:#ffb74d">&#9632; alpha_U</span> <span style="color:#9e9e9e">&#9632; alpha_liq</span></div></section>
<section class="card kpis">
<div class="kpi"><span>alpha_t</span><b id="k-alpha">-</b></div>
<div class="kpi"><span>leverage</span><b id="k-lev">-</b></div>
<div class="kpi"><span>to liquidation</span><b id="k-liq">-</b></div>
<div class="kpi"><span>equity</span><b id="k-eq">-</b></div>
<div class="kpi"><span>PnL</span><b id="k-pnl">-</b></div>
<div class="kpi"><span>funding carry</span><b id="k-fund">-</b></div>
<div class="kpi"><span>unhedged</span><b id="k-unh">-</b></div>
<div class="kpi"><span>band</span><b id="k-band" style="font-size:13px">-</b></div>
<div class="kpi"><span>alerts</span><b id="k-alerts" style="font-size:13px">-</b></div>
</section>
<section class="card"><div>recent decisions</div><table id="decisions"><thead><tr><th>time</th><th>action</th>
<th>reason</th></tr></thead><tbody></tbody></table></section>
<section class="card"><div>execution: realised vs target [bps]</div>
<svg id="costs" viewBox="0 0 300 150" width="100%" role="img" aria-label="execution cost scatter"></svg>
<table id="trades"><thead><tr><th>time</th>
<th>side</th><th>notional</th><th>target</th><th>realised</th></tr></thead><tbody></tbody></table>
<div style="margin-top:8px">alerts</div><table id="alerts"><tbody></tbody></table></section>
<section class="card"><div>P&amp;L attribution (book) [USD]</div><table id="pnl"><tbody></tbody></table></section>
</main>
<script>
const $ = id => document.getElementById(id);
const fmt = (x, d=4) => (x === null || x === undefined) ? '-' : Number(x).toFixed(d);
const usd = x => (x === null || x === undefined) ? '-' : '$' + Math.round(x).toLocaleString('en-US');
const iso = ms => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
function esc(s){return String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function rows(tbody, items, cells){
  tbody.innerHTML = items.map(r => '<tr>' + cells(r).map(c => '<td>' + esc(c) + '</td>').join('') + '</tr>')
    .join('');
}
function chart(s){
  const svg = $('chart'), W = 640, H = 260, P = 34, h = s.history || [], b = s.band;
  if (!h.length) { svg.innerHTML = '<text x="20" y="130">waiting for the first cycle</text>'; return; }
  const lines = [b.alpha_lower, b.alpha_target, b.alpha_upper, b.alpha_liq].filter(v => v !== undefined && v !== null);
  let lo = Math.min(...h.map(p => p.alpha), ...lines), hi = Math.max(...h.map(p => p.alpha), ...lines);
  const pad = (hi - lo) * 0.08 || 0.01; lo -= pad; hi += pad;
  const t0 = h[0].ts_ms, t1 = h[h.length - 1].ts_ms || t0 + 1;
  const x = t => P + (W - P - 8) * (t1 === t0 ? 1 : (t - t0) / (t1 - t0));
  const y = a => H - 20 - (H - 30) * (a - lo) / (hi - lo);
  let out = '';
  for (let k = 0; k <= 4; k++) { const a = lo + (hi - lo) * k / 4;
    out += `<line x1="${P}" x2="${W}" y1="${y(a)}" y2="${y(a)}" stroke="#26323e"/>` +
           `<text x="2" y="${y(a) + 3}">${a.toFixed(3)}</text>`; }
  const hl = (v, c, id) => v === undefined || v === null ? '' :
    `<line id="${id}" x1="${P}" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="${c}" stroke-dasharray="5 3"/>`;
  out += hl(b.alpha_lower, '#e57373', 'l-lower') + hl(b.alpha_target, '#81c784', 'l-target') +
         hl(b.alpha_upper, '#ffb74d', 'l-upper') + hl(b.alpha_liq, '#9e9e9e', 'l-liq');
  const pts = h.map(p => `${x(p.ts_ms).toFixed(1)},${y(p.alpha).toFixed(1)}`).join(' ');
  out += `<polyline id="alpha-line" fill="none" stroke="#4fc3f7" stroke-width="1.6" points="${pts}"/>`;
  out += `<text x="${P}" y="${H - 4}">${iso(t0)}</text><text x="${W - 110}" y="${H - 4}">${iso(t1)}</text>`;
  svg.innerHTML = out;
}
function costs(trades){
  const svg = $('costs'), W = 300, H = 150, P = 26;
  if (!trades.length) { svg.innerHTML = '<text x="10" y="75">no rebalance yet</text>'; return; }
  const v = trades.flatMap(t => [t.target_bps, t.realized_bps]);
  const hi = Math.max(...v, 1) * 1.15, lo = Math.min(0, ...v);
  const x = b => P + (W - P - 6) * (b - lo) / (hi - lo), y = b => H - 16 - (H - 24) * (b - lo) / (hi - lo);
  let out = `<line x1="${x(lo)}" y1="${y(lo)}" x2="${x(hi)}" y2="${y(hi)}" stroke="#555" stroke-dasharray="4 3"/>`;
  out += `<text x="${P}" y="${H - 3}">target ${lo.toFixed(0)}..${hi.toFixed(0)}</text>`;
  out += `<text x="2" y="12">realised</text>`;
  for (const t of trades) {
    const c = t.side === 'sell-basis' ? '#e57373' : '#81c784';
    out += `<circle class="trade-dot" cx="${x(t.target_bps)}" cy="${y(t.realized_bps)}" r="3.5" fill="${c}"/>`;
  }
  svg.innerHTML = out;
}
async function tick(){
  try {
    const r = await fetch('/state', {cache: 'no-store'});
    if (r.status === 401) { $('status').textContent = 'unauthorised: reload and give the API token';
      $('status').className = 'pill halted'; return; }
    const s = await r.json();
    $('mode').textContent = s.mode; $('asset').textContent = s.asset + ' / ' + s.venue;
    $('cycles').textContent = 'cycles ' + s.cycles;
    const st = $('status'); st.textContent = s.halted ? 'HALTED: ' + s.halt_reason : 'running';
    st.className = 'pill ' + (s.halted ? 'halted' : 'ok');
    const q = s.state || {}, l = s.last || {};
    $('k-alpha').textContent = fmt(q.alpha); $('k-lev').textContent = fmt(q.leverage, 2) + 'x';
    $('k-liq').textContent = l.liq_distance === null || l.liq_distance === undefined ? '-'
      : (100 * l.liq_distance).toFixed(1) + '%';
    $('k-eq').textContent = usd(q.equity); $('k-pnl').textContent = usd(l.pnl_usd);
    $('k-fund').textContent = usd(l.funding_usd);
    $('k-unh').textContent = usd(q.unhedged_usd);
    $('k-band').textContent = fmt(s.band.alpha_lower) + ' / ' + fmt(s.band.alpha_target) + ' / ' +
      fmt(s.band.alpha_upper);
    $('k-alerts').textContent = Object.entries(s.alert_counts).map(([k, v]) => k + ' ' + v).join(', ') || 'none';
    chart(s); costs(s.trades);
    rows($('decisions').tBodies[0], s.decisions.slice(0, 12),
      d => [iso(d.ts_ms), d.action + (d.blocked ? ' (' + d.blocked + ')' : ''), d.reason]);
    rows($('trades').tBodies[0], s.trades.slice(0, 12),
      t => [t.timestamp.slice(0, 16), t.side, usd(t.notional_usd), fmt(t.target_bps, 1), fmt(t.realized_bps, 1)]);
    rows($('alerts').tBodies[0], s.alerts.slice(0, 8), a => [iso(a.ts_ms), a.kind, a.message]);
  } catch (e) { $('status').textContent = 'disconnected'; $('status').className = 'pill halted'; }
}
async function pnl(){
  try {
    const p = await (await fetch('/pnl', {cache: 'no-store'})).json();
    if (!p.book) { rows($('pnl').tBodies[0], [p.error || '-'], e => ['-', e]); return; }
    const b = p.book, lines = Object.entries(b.buckets_usd).map(([k, v]) => [k, usd(v)]);
    lines.push(['unexplained', usd(b.unexplained_usd) + ' (bound ' + usd(b.unexplained_bound_usd) + ')'],
      ['P&L', usd(b.pnl_usd)], ['TWR', (100 * b.twr).toFixed(3) + '%']);
    rows($('pnl').tBodies[0], lines, r => r);
  } catch (e) { /* the state poll reports disconnects */ }
}
tick(); setInterval(tick, 1000); pnl(); setInterval(pnl, 10000);
</script></body></html>
"""
