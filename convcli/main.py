"""The console script: convcli.process takes SIGINT/SIGTERM first (before anything
slow is imported), makes the streams and the environment safe, then the fast path
(cli/fast_path.py) or, for anything it does not take, the Typer app answers argv; then
the process leaves through ``process.finish``.

Ctrl-C or SIGTERM at any moment, even while Python is still importing convcli, ends
with one line and 130 / 143; a stdout closed by its reader (`| head -1`) or by the
shell (`>&-`) ends quietly with 141; a full stdout (`> /dev/full`) with one line and
3. Standard library only until the app is imported.
"""

from __future__ import annotations

from convcli import process

process.catch_signals()     # first: before anything slow is imported

import sys  # noqa: E402
from typing import NoReturn  # noqa: E402


def main() -> NoReturn:
    process.guard_streams()
    process.sane_environment()
    process.finish(process.run(_answer))


def _answer() -> None:
    """Answer argv; the exit status comes as SystemExit (or an exception)."""
    from convcli.cli.fast_path import answer

    code = answer(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from convcli.cli.app import app
    app(prog_name="convcli")
