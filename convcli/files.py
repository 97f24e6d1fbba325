"""Files convcli writes (--save, --junit, --png/--svg) are whole or absent.

``atomic_write`` writes through a temporary file in the target's folder, flushes it
to disk, gives it the permissions a plain ``open`` would, and renames it over the
target. A failure or an interrupt removes the temporary file and leaves the target
as it was. Pure standard library.
"""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, Callable

from convcli.errors import EnvironmentProblem


def _problem(what: str, path: str, e: OSError) -> EnvironmentProblem:
    reason = e.strerror or str(e)
    return EnvironmentProblem(f"{what}: cannot write {path!r} ({reason}); nothing was written")


def check_writable(path: str, what: str) -> None:
    """Fail before any long work when ``path`` cannot be written (exit 3).
    Missing parent folders are created."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".convcli-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise _problem(what, path, e) from None


def atomic_write(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Call ``write(f)`` on a binary temp file, then rename it over ``path``."""
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".convcli-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise _problem(what, path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _problem(what, path, e) from None
        raise
