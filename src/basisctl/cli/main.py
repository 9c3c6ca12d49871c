"""basisctl entry point: registers every command group."""

from __future__ import annotations

import types
from typing import Any

import click
import typer
from typer.core import TyperGroup

try:  # typer >= 0.22 vendors click; its usage errors are not click's
    from typer._click.exceptions import UsageError as _TyperUsageError
except ImportError:  # pragma: no cover - older typer runs on click itself
    _TyperUsageError = click.UsageError  # type: ignore[misc, assignment]

_USAGE_ERRORS: tuple[type[Exception], ...] = (click.UsageError, _TyperUsageError)


def _show_one_line(self: Any, file: Any = None) -> None:
    """A usage error as one ``error:`` line (no 4-line usage block), exit 2, like every other error."""
    from basisctl.cli._common import err_console

    where = self.ctx.command_path if getattr(self, "ctx", None) is not None else "basisctl"
    msg = self.format_message()
    if "No such option: --data-dir" in msg:  # README: `basisctl --data-dir DIR report`; users type it after
        cmd = where.split(" ", 1)[1] if " " in where else "COMMAND"
        msg += f"; it is a global option, before the command: basisctl --data-dir DIR {cmd} ..."
    err_console.print(f"error: {msg} (see {where} --help)", highlight=False, markup=False)


class OneLineErrorsGroup(TyperGroup):
    """The root group: option values refused by the CLI framework (ranges, choices, types, unknown options) are
    one line naming the option, as the commands' own checks are (``basisctl.cli._common.fail``)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERRORS as e:
            if type(e).__name__ != "NoArgsIsHelpError":  # `basisctl costs` alone still prints its help
                e.show = types.MethodType(_show_one_line, e)  # type: ignore[attr-defined]
            raise


class OneCommandTyper(typer.Typer):
    """The root app. Run as the ``basisctl`` program, it builds only the command (or group) named on the command
    line: typer builds a click command by evaluating every parameter's annotations, which for all ~30 commands
    cost 0.3 s of CPU per run, more than the work of ``basisctl static`` on cached data (docs/performance.md).
    Anything else (no command, ``--help``/``--version`` first, an unknown name or option, a test's CliRunner,
    which builds the whole app itself) sees the whole app, so help, suggestions and errors are unchanged."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import sys

        name = None if args or "args" in kwargs else _command_name(sys.argv[1:])
        cmds = [c for c in self.registered_commands if _name_of(c.name, c.callback) == name]
        groups = [g for g in self.registered_groups if g.name == name]
        if name is None or len(cmds) + len(groups) != 1:
            return super().__call__(*args, **kwargs)
        saved = self.registered_commands, self.registered_groups
        self.registered_commands, self.registered_groups = cmds, groups
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.registered_commands, self.registered_groups = saved


def _name_of(name: Any, callback: Any) -> str | None:
    if isinstance(name, str):
        return name
    return None if callback is None else callback.__name__.lower().replace("_", "-")


def _command_name(argv: list[str]) -> str | None:
    """The command named in ``argv`` after the root's own options (``--data-dir DIR``), or None."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--data-dir":
            i += 2
        elif a.startswith("--data-dir="):
            i += 1
        elif a.startswith("-"):
            return None  # --help, --version or an unknown option: the whole app answers
        else:
            return a
    return None


app = OneCommandTyper(
    cls=OneLineErrorsGroup,
    rich_markup_mode=None,  # help is printed literally: [days], [h], basisctl[gpu] survive
    name="basisctl",
    help="Spot-perp basis trading as a collateral control problem (arXiv 2605.05089).\n\n"
    "Units: alpha = margin share of capital; sigma annualised (8760 h/yr); funding as decimals per interval; "
    "costs in bps of notional unless named _capital.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def _version(value: bool) -> None:
    if value:
        from basisctl import __version__

        typer.echo(f"basisctl {__version__}")
        raise typer.Exit()


def _data_dir(value: str | None) -> str | None:
    if value is not None:
        from basisctl.data.locator import set_data_dir
        from basisctl.errors import BasisctlError

        try:
            set_data_dir(value)
        except BasisctlError as e:
            from basisctl.cli._common import fail

            fail(str(e))
    return value


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    data_dir: str | None = typer.Option(
        None, "--data-dir", callback=_data_dir, metavar="DIR",
        help="Market data folder in the shared layout (funding/, prices/, hyperliquid/, liquidity/), searched "
        "before $BASISCTL_DATA_DIR and the user store. See `basisctl data list`.",
    ),
) -> None:
    """Spot-perp basis trading as a collateral control problem (arXiv 2605.05089)."""


#: Command modules under basisctl.cli, each with ``register(app)``; a new command group adds one name here.
#: Keep every module light at import time (numpy/pandas/scipy/numba inside the commands): a test pins it.
COMMAND_MODULES: list[str] = [
    "static_cmds", "data_cmds", "bands_cmds", "backtest_cmds", "exec_cmds", "live_cmds", "venue_cmds", "risk_cmds",
    "rules_cmds", "forecast_cmds", "ops_cmds", "pnl_cmds",
]

for _name in COMMAND_MODULES:
    try:
        _mod = __import__(f"basisctl.cli.{_name}", fromlist=["register"])
    except ModuleNotFoundError as _e:  # a command group under construction is simply absent
        if _e.name != f"basisctl.cli.{_name}":
            raise
        continue
    _mod.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
