"""The console script: signal handling first (before the slow imports), then the app.

Ctrl-C or SIGTERM at any moment, even while Python is still importing, ends with one
line and 130 / 143; a stdout closed by its reader (`| head -1`) ends quietly with 141.
Standard library only until the app is imported.
"""

from __future__ import annotations

import sys

from convcli.errors import ExitCode, Terminated
from convcli.process import (ignore_late_signals, install_signal_handlers, interrupt_reported,
                             quiet_stdout)


def _forget_interrupt_seen_by_c() -> None:
    """CPython remembers a KeyboardInterrupt that passed through code an extension
    ran with PyRun_* (pydantic-core, pybind11 while importing) and then ends the
    process by SIGINT, with no exit status, although convcli handled it; running
    any PyRun_* code clears that memory."""
    try:
        import ctypes
        ctypes.pythonapi.PyRun_SimpleString(b"pass")
    except Exception:  # noqa: BLE001 - only a nicer exit status is at stake
        pass


def main() -> None:
    install_signal_handlers()
    try:
        _main()
    finally:
        ignore_late_signals()   # the outcome is decided; a late Ctrl-C cannot change it


def _main() -> None:
    try:
        from convcli.cli import app
        try:
            app(prog_name="convcli")
        finally:
            sys.stdout.flush()
    except SystemExit as e:
        # Typer turns a Ctrl-C outside the command (while it parses the arguments)
        # into a silent exit 130; the funnel says why for those inside
        if e.code == ExitCode.INTERRUPTED:
            if not interrupt_reported():
                sys.stderr.write("Error: interrupted\n")
            _forget_interrupt_seen_by_c()
        raise
    except BrokenPipeError:
        quiet_stdout()
        raise SystemExit(ExitCode.CLOSED_STDOUT) from None
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        _forget_interrupt_seen_by_c()
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except Terminated:
        sys.stderr.write("Error: terminated (SIGTERM)\n")
        raise SystemExit(ExitCode.TERMINATED) from None
