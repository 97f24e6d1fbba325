"""How the process ends, whatever happens: SIGTERM raised as an exception (so cleanup
runs as for Ctrl-C), and a stdout closed by its reader silenced. Standard library
only: main.py installs these before anything slow is imported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from convcli.errors import Terminated


def _raise_terminated(signum, frame):
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM behaves as Ctrl-C does: cleanup runs, one line, its own exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def quiet_stdout() -> None:
    """stdout was closed by its reader: point it at /dev/null so that nothing more
    (not even the interpreter's final flush) fails on it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
