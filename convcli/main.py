"""The console script: signal handling first (before the slow imports), then the app.

Ctrl-C or SIGTERM at any moment, even while Python is still importing, ends with one
line and 130 / 143; a stdout closed by its reader (`| head -1`) ends quietly with 141.
Standard library only until the app is imported.
"""

from __future__ import annotations

import sys

from convcli.errors import ExitCode, Terminated
from convcli.process import install_signal_handlers, quiet_stdout


def main() -> None:
    install_signal_handlers()
    try:
        from convcli.cli import app
        try:
            app(prog_name="convcli")
        finally:
            sys.stdout.flush()
    except SystemExit:
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
