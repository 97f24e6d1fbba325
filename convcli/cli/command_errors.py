"""Inside a command: the exception that ended it becomes its exit code, with the one
`Error: <message>` line drawn by the views (ConvError 2, EnvironmentProblem 3,
Mismatch 1, Ctrl-C 130, SIGTERM 143, a closed stdout 141 quietly, anything else a
bug: 70, re-raised with its traceback under CONVCLI_DEBUG=1). Which exception means
which code is convcli.process's table (``outcome``), the one way out; this adapts it
to Typer. What the console script's handlers raise (Interrupted, Terminated, a failed
stdout) goes on up to main.py, which says it once.
"""

from __future__ import annotations

import functools

import typer

from convcli.errors import Leaving
from convcli.process import DEBUG_ENV, outcome

__all__ = ["DEBUG_ENV", "errors_to_exit_code", "exit_code_for"]

def exit_code_for(e: BaseException) -> int:
    """Report ``e`` (one line on stderr, or nothing for a closed stdout) and return
    the exit code; re-raise bugs under CONVCLI_DEBUG."""
    from convcli.views.console import error

    code, message = outcome(e)
    if message is not None:
        error(message)
    return code


def errors_to_exit_code(fn):
    """Decorate a command: its exceptions go through ``exit_code_for``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, Leaving):
            raise
        except (Exception, KeyboardInterrupt) as e:
            code = exit_code_for(e)
            raise typer.Exit(int(code)) from None

    return wrapper
