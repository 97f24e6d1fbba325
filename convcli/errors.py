"""Exceptions that carry their exit code; cli.py turns them into `Error: ...` lines.

| code | meaning                                                             |
|------|---------------------------------------------------------------------|
| 0    | done; every check passed                                            |
| 1    | a check found a mismatch                                            |
| 2    | bad usage or an impossible convolution            (ConvError)       |
| 3    | torch missing, device unavailable, over budget... (EnvironmentProblem)|
| 130  | interrupted                                                         |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


class ConvError(ValueError):
    """A convolution torch would reject, or a malformed value. Exit code 2.

    The message names the parameter, the value, the rule and a way out.
    """

    exit_code = EXIT_USAGE


class EnvironmentProblem(RuntimeError):
    """torch missing, a device that is not there, over the memory budget,
    an unreadable file. Exit code 3."""

    exit_code = EXIT_ENVIRONMENT


class Mismatch(Exception):
    """A result disagreed with its prediction (run's shape check). Exit code 1."""

    exit_code = EXIT_MISMATCH
