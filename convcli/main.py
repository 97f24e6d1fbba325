"""The console script: signal handling first (before the slow imports), then the fast
path (cli/fast.py) and, for anything it does not take, the Typer app; then the
process ends at once.

Ctrl-C or SIGTERM at any moment, even while Python is still importing, ends with one
line and 130 / 143; a stdout closed by its reader (`| head -1`) ends quietly with 141.
Standard library only until the app is imported.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from convcli.errors import ExitCode, Terminated
from convcli.process import (ignore_late_signals, install_signal_handlers, interrupt_reported,
                             quiet_stdout)


def main() -> NoReturn:
    install_signal_handlers()
    try:
        _main()
        code: object = 0
    except SystemExit as e:
        code = e.code
    _end(code)


def _main() -> None:
    """Answer argv; the exit status comes as SystemExit."""
    try:
        from convcli.cli.fast import answer
        code = answer(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            raise SystemExit(code)
        from convcli.cli import app
        try:
            app(prog_name="convcli")
        finally:
            sys.stdout.flush()
    except SystemExit as e:
        # Typer turns a Ctrl-C outside the command (while it parses the arguments)
        # into a silent exit 130; the funnel says why for those inside
        if e.code == ExitCode.INTERRUPTED and not interrupt_reported():
            sys.stderr.write("Error: interrupted\n")
        raise
    except BrokenPipeError:
        quiet_stdout()
        raise SystemExit(ExitCode.CLOSED_STDOUT) from None
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except Terminated:
        sys.stderr.write("Error: terminated (SIGTERM)\n")
        raise SystemExit(ExitCode.TERMINATED) from None


def _end(code: object) -> NoReturn:
    """Leave now, as SystemExit(code) would, but without the interpreter's teardown
    (freeing every module: a tenth of a `shape` answer, seconds after torch). By now
    the output is written and flushed, files are closed (files.py writes inside
    with-blocks) and convcli registers no atexit work. The outcome is decided: a late
    Ctrl-C or SIGTERM cannot change it. (os._exit also means CPython never ends the
    process by the signal of an interrupt an extension saw: the status is ours.)"""
    ignore_late_signals()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
