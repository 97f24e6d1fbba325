"""Files convcli writes (--save, --junit, --png/--svg) are whole or absent.

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
import tempfile
from typing import BinaryIO, Callable

from convcli.errors import EnvironmentProblem
from convcli.process import signals_deferred

TEMP_PREFIX = ".convcli-"


def _problem(what: str, path: str, e: OSError) -> EnvironmentProblem:
    reason = e.strerror or str(e)
    return EnvironmentProblem(f"{what}: cannot write {path!r} ({reason}); nothing was written")


def resolve_target(path: str) -> str:
    """The file a write to ``path`` replaces: symbolic links followed (a link stays a
    link, its target gets the new content)."""
    return os.path.realpath(path)


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
    makes them when it writes)."""
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
    the file a symbolic link at ``path`` points to)."""
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
