"""Exit codes, and the exceptions that carry them; the cli world's error handling (cli/command_errors.py)
(cli/command_errors.py) turns them into `Error: ...` lines. Standard library only.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status convcli has (documented in the README, tested)."""

    OK = 0               # done; every check passed
    MISMATCH = 1         # a check found a mismatch (verify, run's shape check)
    USAGE = 2            # bad usage or an impossible convolution (ConvError)
    ENVIRONMENT = 3      # torch missing, device unavailable, over budget, bad file
    INTERNAL = 70        # a bug in convcli (CONVCLI_DEBUG=1 re-raises it)
    INTERRUPTED = 130    # SIGINT (Ctrl-C); temporary files removed
    CLOSED_STDOUT = 141  # stdout closed early (`| head -1`): stop quietly, as on SIGPIPE
    TERMINATED = 143     # SIGTERM (CI cancel, timeout, docker stop); temporary files removed


class ConvError(ValueError):
    """A convolution torch would reject, or a malformed value. Exit code 2.

    The message names the parameter, the value, the rule and a way out.
    """

    exit_code = ExitCode.USAGE


class EnvironmentProblem(RuntimeError):
    """torch missing, a device that is not there, over the memory budget,
    an unreadable file. Exit code 3."""

    exit_code = ExitCode.ENVIRONMENT


class Mismatch(Exception):
    """A result disagreed with its prediction (verify, run's shape check). Exit code 1."""

    exit_code = ExitCode.MISMATCH


class Leaving(BaseException):
    """What ends the process from outside the command: a signal, a stdout that can no
    longer be written. BaseExceptions, so that ``except Exception`` (Typer, rich, a
    model's own code) lets them through to main.py, which says it once."""

    exit_code = ExitCode.INTERNAL


class Terminated(Leaving):
    """Raised in the main thread by the SIGTERM handler, so that cleanup (``finally``,
    temporary files) runs as it does for Ctrl-C. Exit code 143."""

    exit_code = ExitCode.TERMINATED


class Interrupted(Leaving):
    """Raised in the main thread by the console script's SIGINT handler. Not a
    KeyboardInterrupt, so that nothing on the way (Typer's parser, an import that
    catches KeyboardInterrupt) turns Ctrl-C into something else; ``finally`` blocks
    run as for any exception. Exit code 130."""

    exit_code = ExitCode.INTERRUPTED


class OutputClosed(Leaving):
    """stdout is closed: its reader went away (`| head -1`), or the shell closed it
    (`>&-`). The process stops quietly, as a process killed by SIGPIPE would. A
    BaseException so that no library on the way (Typer, rich) turns it into exit 1.
    Exit code 141."""

    exit_code = ExitCode.CLOSED_STDOUT


class OutputFailed(Leaving):
    """Writing stdout failed for another reason (a full disk: `> /dev/full`, an I/O
    error). One line on stderr. Exit code 3."""

    exit_code = ExitCode.ENVIRONMENT
