"""The one place exceptions become exit codes: ConvError / EnvironmentProblem /
Mismatch become one `Error: <message>` line on stderr and their code; Ctrl-C 130,
SIGTERM 143, a closed stdout 141 (quietly); anything else is a bug (70), re-raised
with its traceback under CONVCLI_DEBUG=1.
"""

from __future__ import annotations

import functools
import os

import typer

from convcli import __version__
from convcli.errors import ConvError, EnvironmentProblem, ExitCode, Mismatch, Terminated
from convcli.process import quiet_stdout, report_interrupt

DEBUG_ENV = "CONVCLI_DEBUG"


def exit_code_for(e: BaseException) -> int:
    """Report ``e`` (one line on stderr, or nothing for a closed stdout) and return
    the exit code; re-raise bugs under CONVCLI_DEBUG."""
    from convcli.views.console import error

    if isinstance(e, (ConvError, EnvironmentProblem, Mismatch)):
        error(str(e))
        return e.exit_code
    if isinstance(e, KeyboardInterrupt):
        error("interrupted")
        report_interrupt()
        return ExitCode.INTERRUPTED
    if isinstance(e, Terminated):
        error("terminated (SIGTERM)")
        return ExitCode.TERMINATED
    if isinstance(e, BrokenPipeError):
        quiet_stdout()
        return ExitCode.CLOSED_STDOUT
    if os.environ.get(DEBUG_ENV):
        raise e
    error(f"internal error ({type(e).__name__}: {e}); this is a bug in convcli "
          f"{__version__}, please report it (set {DEBUG_ENV}=1 for the traceback)")
    return ExitCode.INTERNAL


def funnel(fn):
    """Decorate a command: its exceptions go through ``exit_code_for``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (Exception, KeyboardInterrupt, Terminated) as e:
            code = exit_code_for(e)
            raise typer.Exit(int(code)) from None

    return wrapper
