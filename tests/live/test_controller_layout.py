"""The controller split into one mixin per seam (issue 21) keeps the Controller's API: every method it had as one
class, and every cross-mixin call the type checker was told about exists at runtime."""

from __future__ import annotations

import ast
import inspect

from basisctl.live import controller_base
from basisctl.live.controller import Controller

#: Controller's methods before the split (live/controller.py as one 1.1k-line class)
METHODS = {
    "__init__", "_check_ack", "_claimed", "_ensure_genesis", "_expiry", "_external_fill", "_halt",
    "_interruptible_sleep", "_journal_plan", "_known_ids", "_limit", "_measure_skew", "_now",
    "_resolve_unknown_order", "_restore_halt", "_route_ok", "_trade_row", "check_positions", "cycle",
    "cycle_record", "execute", "flatten", "handle_external", "ingest", "install_signal_handlers",
    "pending_external", "public_state", "read_state", "reconcile_intents", "record_trades", "refresh_dead_man",
    "repair_hedge", "run", "safe_cycle", "send_order", "send_transfer", "start", "sweep_spot_usdc",
    "sync_trade_log", "unwind_spot",
}
#: added since by issue 19 (fail closed, second audit): genesis/price sanity (observe), sign-aware repair guards
#: (repair), the drawdown breaker (cycle), unexplained-change escalation (unexplained)
METHODS |= {
    "_adopt", "_check_drawdown", "_check_prices", "_genesis_read", "_read_in_repair", "_wrong_direction",
    "active_adoptions", "explained_by_late_fill", "fill_floor_ms", "track_mismatch", "_load_episode",
    "break_episode",
}
#: added since: the recalibration seam (issue 17, live/recalibration.py)
METHODS |= {"_recal_due", "_recal_fail", "_recal_finish", "_recal_period_ms", "_recal_source", "_recal_work",
            "recalibration_bars", "recalibration_tick", "restore_band"}
#: added since: the unwind of both legs split from flatten (issue 23: band.rule = "regime" goes flat through it)
METHODS |= {"close_legs"}
#: added since by issue 19 (s19: adoption bookkeeping, absent-perp reads); main's list missed them after that merge
METHODS |= {"_adoption_left", "_absent_read"}
#: added since: the hostile-operator review (a price time ahead of the venue clock is an insane read, observe)
METHODS |= {"_price_ahead_s"}


def test_controller_has_exactly_the_methods_it_had_before_the_split() -> None:
    assert {n for n, _ in inspect.getmembers(Controller, inspect.isfunction)} == METHODS


def test_each_type_checking_stub_is_a_real_method_of_exactly_one_mixin() -> None:
    tree = ast.parse(inspect.getsource(controller_base))
    stubs = {f.name for n in ast.walk(tree) if isinstance(n, ast.If)
             for f in n.body if isinstance(f, ast.FunctionDef)}
    assert len(stubs) > 20
    for name in stubs:
        assert name not in vars(controller_base.ControllerBase), name  # stubs exist for mypy only
        owners = [k.__name__ for k in Controller.__mro__ if name in vars(k)]
        assert len(owners) == 1, (name, owners)
