"""The process's one way out: how every run of the console script ends.

- Signals: ``catch_signals`` is main.py's first statement. From then on SIGINT and
  SIGTERM are never Python's defaults: while the process starts up (imports, before
  ``run`` has its ``try``) they are remembered, and ``run`` raises the first one as
  soon as it can catch it; afterwards they raise ``Interrupted`` / ``Terminated``
  (BaseExceptions: no library turns them into something else) so ``finally`` blocks
  and temporary-file cleanup run. Once the process is leaving (a signal raised, an
  outcome decided), later signals are ignored: one line, never a traceback.
- Streams (``guard_streams``): a closed descriptor 0/1/2 (`>&-`) is reopened so no
  file the command opens can take its number (sys.stdin stays None: "closed"); a
  closed stdout behaves as a pipe whose reader went away. Writing stdout fails as
  ``OutputClosed`` (141, quietly) or ``OutputFailed`` (3, one line: `> /dev/full`); a
  failing or closed stderr is silent and never changes the exit code. Text the
  stream's encoding cannot hold degrades to ASCII (`x` for `×`, `-` `|` `+` for box
  lines) instead of failing. NO_COLOR on a terminal: no colour or style escapes.
- Environment (``sane_environment``): COLUMNS / LINES / TERMINAL_WIDTH clamped to
  sane bounds; 0 or not a number means unknown (the variable is dropped).
- ``outcome``: the one table from exception to exit code and message.
- ``finish``: flushes, runs the atexit handlers (the user's own, a model file's),
  and leaves with ``os._exit`` (no slow interpreter teardown).

Standard library only, and cheap to import: it runs before anything slow.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, NoReturn

from convcli.errors import ExitCode, Interrupted, OutputClosed, OutputFailed, Terminated

DEBUG_ENV = "CONVCLI_DEBUG"
_DEFERRED = (signal.SIGINT, signal.SIGTERM)
_caught: list[int] = []      # signals that came while they could not be raised yet
_armed = False               # a signal raises at once (inside run's try)
_leaving = False             # the outcome is decided: later signals are ignored


def _on_signal(signum, frame):
    global _leaving
    if _leaving:
        return
    if not _armed:
        _caught.append(signum)
        return
    _leaving = True
    raise Interrupted() if signum == signal.SIGINT else Terminated()


def catch_signals() -> None:
    """The console script's first statement: SIGINT and SIGTERM are convcli's from
    here on (remembered until ``run`` can raise them)."""
    global _armed, _leaving
    _armed = _leaving = False
    for s in _DEFERRED:
        signal.signal(s, _on_signal)
    # what came while convcli/__init__.py imported (it holds them from its first line)
    _caught.extend(getattr(sys.modules.get("convcli"), "_signals_before_main", ()))
    sys.unraisablehook = _unraisable


_resend: list[int] = []


def _unraisable(unraisable) -> None:
    """Python runs a signal handler wherever the main thread is, also inside a
    weakref callback, a __del__ or the garbage collector, where an exception is
    printed ("Exception ignored in ...") and dropped: the process would go on as if
    no signal had come. Ours are not dropped: the signal is raised again 1 ms later,
    from wherever the process is then (again, until it lands in ordinary code)."""
    global _leaving
    e = unraisable.exc_value
    if not isinstance(e, (Interrupted, Terminated)) or not hasattr(signal, "setitimer"):
        sys.__unraisablehook__(unraisable)
        return
    _leaving = False
    _resend.append(signal.SIGINT if isinstance(e, Interrupted) else signal.SIGTERM)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.001)


def _on_alarm(signum, frame) -> None:
    if _resend:
        _on_signal(_resend.pop(), frame)


def install_signal_handlers() -> None:
    """For a process that is not the console script (a test, an embedding program):
    SIGTERM raises ``Terminated`` at once, so cleanup runs as for Ctrl-C."""
    global _armed, _leaving
    if threading.current_thread() is threading.main_thread():
        _armed, _leaving = True, False
        signal.signal(signal.SIGTERM, _on_signal)


def _arm() -> None:
    global _armed
    _armed = True
    if _caught:
        _on_signal(_caught[0], None)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block are acted on when it ends
    (the handler that was in place runs then: Interrupted, KeyboardInterrupt,
    Terminated, or the default action). Python runs signal handlers in the main
    thread whatever thread the kernel picked, so swapping the handlers is enough;
    outside the main thread this does nothing (no handler can run there)."""
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


# ---- exceptions to exit codes ---------------------------------------------------


def outcome(e: BaseException) -> tuple[int, str | None]:
    """(exit code, the message for the one `Error:` line or None for none) of an
    exception that ended a command; bugs re-raise under CONVCLI_DEBUG=1."""
    from convcli.errors import ConvError, EnvironmentProblem, Mismatch

    if isinstance(e, SystemExit):
        return _system_exit(e)
    if isinstance(e, (ConvError, EnvironmentProblem, Mismatch, OutputFailed)):
        return int(e.exit_code), str(e)
    if isinstance(e, (KeyboardInterrupt, Interrupted)) or _aborted_by_ctrl_c(e):
        return int(ExitCode.INTERRUPTED), "interrupted"
    if isinstance(e, Terminated):
        return int(ExitCode.TERMINATED), "terminated (SIGTERM)"
    if isinstance(e, (OutputClosed, BrokenPipeError)):
        return int(ExitCode.CLOSED_STDOUT), None
    if isinstance(e, ModuleNotFoundError) and e.name:    # convcli's import, not a model's
        return int(ExitCode.ENVIRONMENT), (
            f"{e.name} is not installed for this Python ({sys.executable}), and convcli needs"
            " it: install convcli into it, or run the convcli command that pip installed")
    if os.environ.get(DEBUG_ENV):
        raise e
    version = getattr(sys.modules.get("convcli"), "__version__", "")
    return int(ExitCode.INTERNAL), (
        f"internal error ({type(e).__name__}: {e}); this is a bug in convcli "
        f"{version}, please report it (set {DEBUG_ENV}=1 for the traceback)")


def _aborted_by_ctrl_c(e: BaseException) -> bool:
    """Typer's parser turns a KeyboardInterrupt into its Abort or Exit(130)."""
    return isinstance(e.__context__, KeyboardInterrupt) and type(e).__name__ in (
        "Abort", "Exit")


def _system_exit(e: SystemExit) -> tuple[int, str | None]:
    if e.code is None:
        return 0, None
    if isinstance(e.code, int):
        return e.code, None
    return 1, str(e.code)


def report(message: str) -> None:
    """The one `Error:` line, plain, for what ends the process outside a command."""
    from convcli.formatting import terminal_safe_line
    try:
        sys.stderr.write(f"Error: {terminal_safe_line(message)}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def run(body: Callable[[], None]) -> int:
    """Call ``body`` (which answers argv) and return the exit code; whatever ends it,
    one line at most (command_errors.py's, inside a command, or this one's)."""
    global _leaving
    try:
        try:
            _arm()
            body()
            _leaving = True
            return 0
        except BaseException as e:
            _leaving = True
            code, message = outcome(e)
    except BaseException as e:      # a signal in the instant before _leaving was set
        _leaving = True
        code, message = outcome(e)
    if message is not None:
        report(message)
    return code


def finish(code: int) -> NoReturn:
    """Leave with ``code``: the output flushed (a stdout that fails now changes a
    success into 141 or 3), the atexit handlers run (the user's own too: a model file
    that registers one), then ``os._exit`` without the interpreter's teardown
    (freeing every module: seconds after torch). A late signal changes nothing."""
    global _leaving
    _leaving = True
    if threading.current_thread() is threading.main_thread():
        for s in _DEFERRED:
            signal.signal(s, signal.SIG_IGN)
    code = _flushed(code)
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:       # each handler's errors are printed by atexit itself
        pass
    code = _flushed(code)
    os._exit(code)


def _flushed(code: int) -> int:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OutputClosed, BrokenPipeError):
        code = code or int(ExitCode.CLOSED_STDOUT)
    except (OutputFailed, OSError, ValueError) as e:
        if not code:
            report(str(e) if isinstance(e, OutputFailed) else _stdout_failed(e))
            code = int(ExitCode.ENVIRONMENT)
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except BaseException:
        pass
    return code


# ---- streams ----------------------------------------------------------------------

# what ASCII-only output writes instead (rich draws ASCII boxes itself when the
# encoding is not UTF-8; this is for the text inside them and Typer's help)
_ASCII = {"\u00d7": "x", "\u2192": "->", "\u2190": "<-", "\u2026": "...", "\u2264": "<=",
          "\u2265": ">=", "\u2212": "-", "\u2013": "-", "\u2014": "--", "\u00b7": ".",
          "\u2248": "~", "\u00b5": "u", "\u03bc": "u", "\u00b0": " deg", "\u2713": "ok",
          "\u2717": "x", "\u2588": "#", "\u2593": "#", "\u2592": "+", "\u2591": ".",
          "\u2022": "*", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
          "\u00a0": " ", "\u2500": "-", "\u2502": "|", "\u2550": "=", "\u2551": "|"}
ASCII_ERRORS = "convcli-ascii"


def _ascii_of(ch: str) -> str:
    if ch in _ASCII:
        return _ASCII[ch]
    import unicodedata
    if "\u2500" <= ch <= "\u259f":          # box drawing and blocks
        name = unicodedata.name(ch, "")
        if "HORIZONTAL" in name and "VERTICAL" not in name:
            return "-"
        if "VERTICAL" in name and "HORIZONTAL" not in name:
            return "|"
        return "+" if ch < "\u2580" else "#"
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain or "?"


def _degrade(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeEncodeError):
        raise e
    return "".join(_ascii_of(ch) for ch in e.object[e.start:e.end]), e.end


def _stdout_failed(e: OSError | ValueError) -> str:
    reason = e.strerror if isinstance(e, OSError) else None    # (a closed file: ValueError)
    return f"cannot write to stdout ({reason or e}); the output is incomplete"


class _Guarded:
    """A text stream whose write errors become the process's own: on stdout
    ``OutputClosed`` (reader gone, descriptor closed) or ``OutputFailed`` (anything
    else); on stderr nothing (there is nowhere left to say it). With NO_COLOR on a
    terminal, style escapes are dropped. Everything else is the stream's own
    (isatty, encoding, fileno...), so rich and Typer see the stream they expect."""

    def __init__(self, stream, is_stdout: bool, plain: bool):
        self._stream, self._is_stdout, self._plain = stream, is_stdout, plain

    def write(self, text):
        if self._plain and isinstance(text, str) and "\x1b" in text:
            text = _without_styles(text)
        try:
            return self._stream.write(text)
        except OSError as e:
            return self._failed(e, text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            self._failed(e, "")

    def _failed(self, e: OSError, text):
        import errno
        if not self._is_stdout:
            return len(text)
        if isinstance(e, BrokenPipeError) or e.errno == errno.EBADF:
            raise OutputClosed() from None
        raise OutputFailed(_stdout_failed(e)) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _without_styles(text: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;:]*m", "", text)


def _reopen(fd: int, stdout: bool) -> bool:
    """Give a closed descriptor 0/1/2 something to hold (True when it was closed):
    /dev/null, or for stdout a pipe with no reader, so writing it fails as a
    closed pipe does."""
    try:
        os.fstat(fd)
        return False
    except OSError:
        pass
    if stdout:
        read, write = os.pipe()
        os.close(read)
        if write != fd:
            os.dup2(write, fd)
            os.close(write)
    else:
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    return True


def guard_streams() -> None:
    """Make stdin/stdout/stderr safe to use, whatever the shell left (see above)."""
    import codecs
    import io

    _reopen(0, False)           # the number only: sys.stdin stays None ("closed")
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if _reopen(fd, fd == 1) or getattr(sys, name) is None:
            setattr(sys, name, io.TextIOWrapper(io.open(fd, "wb", closefd=False),
                                               line_buffering=fd == 2,
                                               errors="backslashreplace"))
    codecs.register_error(ASCII_ERRORS, _degrade)
    plain = bool(os.environ.get("NO_COLOR"))
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        if not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=ASCII_ERRORS)
            except (OSError, ValueError):
                pass
        setattr(sys, name, _Guarded(stream, name == "stdout", plain and _tty(stream)))


def _tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (OSError, ValueError, AttributeError):
        return False


# variable: (smallest, largest) value kept; 0, empty or not a number: unknown
_SIZES = {"COLUMNS": (20, 1000), "TERMINAL_WIDTH": (20, 1000), "LINES": (5, 1000)}


def sane_environment() -> None:
    """COLUMNS, LINES and TERMINAL_WIDTH within bounds rich and Typer can draw in
    (COLUMNS=99999999999 would be a MemoryError, COLUMNS=0 an empty page)."""
    for name, (low, high) in _SIZES.items():
        value = os.environ.get(name)
        if value is None:
            continue
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or not value.strip("0"):
            del os.environ[name]
        else:       # no int() of 5,000 digits (a ValueError since Python 3.11)
            size = int(value) if len(value) < 9 else high
            os.environ[name] = str(min(max(size, low), high))
