"""Files convcli writes (--save, --junit, --png/--svg, --field pictures): regular files
are whole or absent; anything else at the target is written into, never replaced. And
``-`` as an input file (INPUT, --weight-file, --bias-file, --file, diff's BASE/HEAD):
standard input, read by ``stdin_for`` and ``read_stdin`` within a bound.

``atomic_write`` writes through a temporary file in the target's folder, flushes it
to disk, gives it the permissions a plain ``open`` would, and renames it over the
target. A failure, Ctrl-C or SIGTERM at any moment removes the temporary file and
leaves the target as it was: the temporary file is created and removed with the
signals deferred (``process.signals_deferred``), so no interrupt falls between its
creation and the code that cleans it up. A target that is a symbolic link is
written through: the file the link points at is replaced, the link stays.
``check_writable`` answers before any long work and creates nothing (no folder, no
file left). Pure standard library.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from typing import BinaryIO, Callable

from convcli.errors import ConvError, EnvironmentProblem, OutputClosed, OutputFailed
from convcli.process import signals_deferred

TEMP_PREFIX = ".convcli-"


def _problem(what: str, path: str, e: OSError) -> EnvironmentProblem:
    reason = e.strerror or str(e)
    return EnvironmentProblem(f"{what}: cannot write {path!r} ({reason}); nothing was written")


def resolve_target(path: str) -> str:
    """The file a write to ``path`` replaces: symbolic links followed (a link stays a
    link, its target gets the new content)."""
    return os.path.realpath(path)


STDOUT = "-"
_STDOUT_TAKEN: list[object] = []   # the sys.stdout a file went to (``-``)


def stdout_taken() -> bool:
    """Has a file (``--png -``, ``--junit -``) been written to stdout? Then the
    command's table or JSON goes to stderr: stdout holds the file alone."""
    return any(s is sys.stdout for s in _STDOUT_TAKEN)    # this stdout, not an earlier one


def is_stream(path: str) -> bool:
    """Is ``path`` written into rather than replaced? ``-`` (stdout), anything under
    /dev or /proc (/dev/stdout, /dev/null, /proc/self/fd/N: even when they lead to a
    regular file, that file is someone's open stream), and an existing file that is
    not a regular file (a character or block device, a FIFO, a socket), symbolic
    links followed to decide."""
    if path == STDOUT:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return (os.path.abspath(path).startswith(("/dev/", "/proc/"))
            or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)))


def _existing_folder(folder: str) -> str:
    """The nearest folder of ``folder``'s chain that exists (the one a missing
    folder would be created in); OSError when something on the way is a file."""
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not os.path.isdir(folder):
        raise NotADirectoryError(20, "Not a directory", folder)
    return folder


def check_writable(path: str, what: str) -> None:
    """Fail before any long work when ``path`` cannot be written (exit 3). Creates
    nothing: missing folders are only checked to be creatable (``atomic_write``
    makes them when it writes). A stream target is checked, not opened (a FIFO
    would wait for its reader)."""
    if is_stream(path):
        if path != STDOUT and os.path.exists(path) and not os.access(path, os.W_OK):
            raise _problem(what, path, PermissionError(13, "Permission denied"))
        return
    folder = os.path.dirname(resolve_target(path))
    try:
        existing = _existing_folder(folder)
        with signals_deferred():
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=existing)
            os.close(fd)
            os.unlink(tmp)
    except OSError as e:
        raise _problem(what, path, e) from None


def atomic_write(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Call ``write(f)`` on a binary temp file, then rename it over ``path`` (over
    the file a symbolic link at ``path`` points to); into ``path`` when it is a
    stream (``is_stream``): stdout for ``-``."""
    if is_stream(path):
        _write_into(path, write, what)
        return
    target = resolve_target(path)
    folder = os.path.dirname(target)
    tmp = None
    fd = -1
    try:
        with signals_deferred():      # a signal now is raised once tmp is known
            try:
                os.makedirs(folder, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
            except OSError as e:
                raise _problem(what, path, e) from None
        with os.fdopen(fd, "wb") as f:
            fd = -1
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600)
        os.replace(tmp, target)
        tmp = None
    except BaseException as e:
        with signals_deferred():
            _remove(fd, tmp)
        if isinstance(e, OSError):
            raise _problem(what, path, e) from None
        raise


def _remove(fd: int, tmp: str | None) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _write_into(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Write into stdout (``-``) or an existing device, FIFO or socket: opened for
    writing (not created, not truncated: there is nothing to truncate), written,
    flushed."""
    if path == STDOUT:
        _write_stdout(write)
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            import socket
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                with sock.makefile("wb") as f:
                    write(f)
            return
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
        if _is_stdout(fd) and (path in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
                               or not stat.S_ISCHR(os.fstat(fd).st_mode)):
            _STDOUT_TAKEN.append(sys.stdout)   # the pipe or file stdout is (not /dev/null)
            sys.stdout.flush()
        with os.fdopen(fd, "wb") as f:
            write(f)
    except OSError as e:
        raise _problem(what, path, e) from None


def _is_stdout(fd: int) -> bool:
    try:
        mine, out = os.fstat(fd), os.fstat(1)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino, mine.st_rdev) == (out.st_dev, out.st_ino, out.st_rdev)


def _write_stdout(write: Callable[[BinaryIO], None]) -> None:
    import errno

    stream = sys.stdout
    _STDOUT_TAKEN.append(stream)
    try:
        stream.flush()      # what was printed before comes first
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            raise OSError(errno.EBADF, "stdout is not a byte stream")
        write(buffer)
        buffer.flush()
    except BrokenPipeError:
        raise OutputClosed() from None
    except OSError as e:
        if e.errno == errno.EBADF:
            raise OutputClosed() from None
        raise OutputFailed(f"cannot write to stdout ({e.strerror or e}); the output is "
                           "incomplete") from None


# ---- '-' as an input file -----------------------------------------------------------

STDIN = "-"
_STDIN_TAKEN: list[tuple[object, str]] = []     # (stream, what) read it in this process


def only_one_stdin(named: dict[str, str | None]) -> None:
    """Refuse two inputs of one command given as ``-`` (exit 2): standard input is one
    stream, read once."""
    dashes = [what for what, value in named.items() if value == STDIN]
    if len(dashes) > 1:
        both = "both" if len(dashes) == 2 else "all"
        raise ConvError(f"{', '.join(dashes[:-1])} and {dashes[-1]} {both} read standard "
                        "input (-), which can be read once: give one of them as -, the "
                        "others as files")


def stdin_for(what: str, example: str) -> BinaryIO:
    """Standard input's bytes for ``what`` given as ``-``, before anything is read:
    closed -> exit 3; a terminal -> exit 2 (a read would wait for typing); already
    read by another input of this process -> exit 2. ``example``: a command that pipes
    one in, for the messages."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise EnvironmentProblem(f"{what} -: standard input is closed; pipe the file in "
                                 f"({example}) or name it")
    try:
        terminal = bool(stream.isatty())
    except (OSError, ValueError):
        terminal = False
    if terminal:
        raise ConvError(f"{what} -: standard input is a terminal; give a file, or pipe one "
                        f"in ({example})")
    _STDIN_TAKEN[:] = [(s, w) for s, w in _STDIN_TAKEN if s is stream]
    other = [w for _, w in _STDIN_TAKEN if w != what]
    if other:
        raise ConvError(f"{other[0]} and {what} both read standard input (-), which can be "
                        "read once: give one of them as a file")
    _STDIN_TAKEN.append((stream, what))
    return stream


def read_stdin(stream: BinaryIO, limit: int, what: str, example: str,
               first: bool = False) -> bytes:
    """At most ``limit`` bytes of ``stream``; none (exit 2), more (exit 2; ``first``:
    the rest stays in the stream) or a failed read (exit 3) is said in one line."""
    try:
        data = stream.read(limit if first else limit + 1)
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"{what} -: cannot read standard input ({e})") from None
    if not data:
        raise ConvError(f"{what} -: standard input is empty; pipe the file in ({example}) "
                        "or name it")
    if len(data) > limit:
        raise ConvError(f"{what} -: more than {limit:,} bytes on standard input, more than "
                        "convcli reads here")
    return data
