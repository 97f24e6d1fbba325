"""convcli.cli.command_errors: inside a command, each exception becomes its exit code and
one `Error:` line on stderr (process.outcome's table), typer.Exit and the process's own
exits pass through, and a bug re-raises under CONVCLI_DEBUG or is exit 70 without it."""

import pytest
import typer
from typer.testing import CliRunner

from convcli.cli.command_errors import DEBUG_ENV, errors_to_exit_code, exit_code_for
from convcli.errors import (ConvError, EnvironmentProblem, ExitCode, Interrupted, Mismatch,
                            OutputClosed, Terminated)


@pytest.mark.parametrize("exc, code, line", [
    (ConvError("stride=0 must be >= 1"), 2, "Error: stride=0 must be >= 1"),
    (EnvironmentProblem("torch is not installed"), 3, "Error: torch is not installed"),
    (Mismatch("2 of 5 checks failed"), 1, "Error: 2 of 5 checks failed"),
    (KeyboardInterrupt(), 130, "Error: interrupted"),
    (ConvError("two\nlines\x1b[31m"), 2, None),
    (BrokenPipeError(), 141, ""),
    (SystemExit(4), 4, ""), (SystemExit(None), 0, "")])
def test_exit_code_for(exc, code, line, capsys):
    assert exit_code_for(exc) == code
    err = capsys.readouterr().err
    if line is None:                 # one line, no control character
        assert err.count("\n") == 1 and "\x1b" not in err and err.startswith("Error: two")
    else:
        assert err == (line + "\n" if line else "")


def test_codes_are_the_documented_ones():
    assert (ExitCode.USAGE, ExitCode.ENVIRONMENT, ExitCode.INTERNAL) == (2, 3, 70)
    assert (ExitCode.INTERRUPTED, ExitCode.TERMINATED) == (130, 143)


def test_a_bug_re_raises_under_debug_and_is_70_without(monkeypatch, capsys):
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(ZeroDivisionError):
        exit_code_for(ZeroDivisionError("division by zero"))
    monkeypatch.delenv(DEBUG_ENV)
    assert exit_code_for(ZeroDivisionError("division by zero")) == 70
    err = capsys.readouterr().err
    assert err.startswith("Error: internal error (ZeroDivisionError: division by zero); "
                          "this is a bug in convcli") and err.count("\n") == 1
    assert f"set {DEBUG_ENV}=1 for the traceback" in err


def _app(body):
    app = typer.Typer()

    @app.command()
    @errors_to_exit_code
    def cmd(word: str = "x"):
        """A command whose body raises."""
        body(word)

    @app.command()
    def other():
        pass

    return app


@pytest.mark.parametrize("exc, code", [
    (ConvError("bad stride"), 2), (EnvironmentProblem("no torch"), 3),
    (Mismatch("differs"), 1), (KeyboardInterrupt(), 130)])
def test_a_decorated_command_exits_with_the_code(exc, code):
    def body(word):
        raise exc
    r = CliRunner().invoke(_app(body), ["cmd"])
    assert r.exit_code == code and r.stdout == ""
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_typer_exit_and_the_process_exits_pass_through():
    def exit_3(word):
        raise typer.Exit(3)
    assert CliRunner().invoke(_app(exit_3), ["cmd"]).exit_code == 3
    for leaving in (Terminated(), Interrupted(), OutputClosed()):
        def body(word, leaving=leaving):
            raise leaving
        with pytest.raises(type(leaving)):
            errors_to_exit_code(lambda: body("x"))()


def test_the_decorator_keeps_the_name_docs_and_return_value():
    @errors_to_exit_code
    def answer(x: int) -> int:
        """Doubles."""
        return 2 * x
    assert answer(21) == 42 and answer.__name__ == "answer" and answer.__doc__ == "Doubles."
