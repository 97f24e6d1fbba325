"""One helper for the command modules' own tests (tests/cli/test_*_command(s).py): the
app invoked in-process at 80 columns, plain text, bugs re-raised."""

from dataclasses import dataclass

from typer.testing import CliRunner


@dataclass
class Ran:
    code: int
    out: str
    err: str


def invoke(*args: str, catch: bool = False) -> Ran:
    from convcli.cli import app

    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, list(args), catch_exceptions=catch)
    return Ran(r.exit_code, r.stdout, r.stderr)


def one_error_line(ran: Ran, code: int, words: str) -> None:
    """The command failed with ``code`` and said why in one `Error:` line."""
    assert ran.code == code, (ran.code, ran.err, ran.out)
    lines = [line for line in ran.err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and words in lines[0], ran.err
    assert "Traceback" not in ran.err
