"""Issue 17 speed: run as a program, the CLI builds only the command named on the command line.

Building every command costs typer 0.3 s of CPU (it evaluates each parameter's annotations), more than
`basisctl static` does on cached data. Help, suggestions and errors must not change: the program's answers are
compared with the whole app's, run the same way."""

from __future__ import annotations

import subprocess
import sys

import pytest

from basisctl.cli.main import _command_name, app

PROGRAM = "import sys; sys.argv[0] = 'basisctl'; from basisctl.cli.main import app; app()"
#: the same program with the whole app built (what typer's own __call__ does, and CliRunner)
WHOLE = ("import sys; sys.argv[0] = 'basisctl'; from basisctl.cli.main import app; import typer.main; "
         "typer.main.get_command(app)()")


def test_command_name_after_the_root_options() -> None:
    assert _command_name(["static", "--venue", "x"]) == "static"
    assert _command_name(["--data-dir", "/d", "data", "list"]) == "data"
    assert _command_name(["--data-dir=/d", "bands"]) == "bands"
    for argv in ([], ["--help"], ["--version"], ["--data-dir", "/d"], ["-x", "static"]):
        assert _command_name(argv) is None


def _program(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["static", "--help"], ["data", "list", "--help"], ["simulate", "--help"],
                                  ["statc"], ["static", "--venue"], ["static", "--venue", "x", "--nope", "1"],
                                  ["--help"], ["funding-stats", "--help"]])
def test_the_program_answers_like_the_whole_app(args: list[str]) -> None:
    got, whole = _program(PROGRAM, *args), _program(WHOLE, *args)
    assert (got.returncode, got.stdout, got.stderr) == (whole.returncode, whole.stdout, whole.stderr)
    assert got.stdout + got.stderr  # something was said


def test_the_program_restores_the_whole_app_after_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    n_cmds, n_groups = len(app.registered_commands), len(app.registered_groups)
    monkeypatch.setattr(sys, "argv", ["basisctl", "static", "--help"])
    with pytest.raises(SystemExit):
        app()
    assert (len(app.registered_commands), len(app.registered_groups)) == (n_cmds, n_groups) and n_cmds > 10
