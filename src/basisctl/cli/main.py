"""basisctl entry point: registers every command group."""

from __future__ import annotations

import typer

app = typer.Typer(
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
    "rules_cmds", "forecast_cmds",
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
