"""How the process ends, whatever happens: SIGTERM raised as an exception (so cleanup
runs as for Ctrl-C), a stdout closed by its reader silenced, and short sections
(creating or removing a temporary file) during which SIGINT/SIGTERM wait. Standard
library only: main.py installs these before anything slow is imported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from convcli.errors import Terminated

_DEFERRED = (signal.SIGINT, signal.SIGTERM)
_REPORTED: list[bool] = []     # the funnel has said "interrupted" (main.py must not)


def _raise_terminated(signum, frame):
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM behaves as Ctrl-C does: cleanup runs, one line, its own exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block are acted on when it ends
    (the handler that was in place runs then: KeyboardInterrupt, Terminated, or the
    default action). Python runs signal handlers in the main thread whatever thread
    the kernel picked, so swapping the handlers is enough; outside the main thread
    this does nothing (no handler can run there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = [(signum, signal.signal(signum, lambda n, frame: caught.append(n)))
                for signum in _DEFERRED]
    try:
        yield
    finally:
        for signum, handler in previous:
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            _deliver(caught[0], next(h for n, h in previous if n == caught[0]))


def _deliver(signum: int, handler) -> None:
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def ignore_late_signals() -> None:
    """The exit status is decided and the output written: SIGINT/SIGTERM while the
    interpreter shuts down (torch's teardown takes a while) are ignored, instead of
    ending the process by the signal with no status and no message."""
    if threading.current_thread() is threading.main_thread():
        for s in _DEFERRED:
            signal.signal(s, signal.SIG_IGN)


def report_interrupt() -> None:
    """The funnel has written the one line for a Ctrl-C."""
    _REPORTED.append(True)


def interrupt_reported() -> bool:
    return bool(_REPORTED)


def quiet_stdout() -> None:
    """stdout was closed by its reader: point it at /dev/null so that nothing more
    (not even the interpreter's final flush) fails on it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
