"""Where output goes: rich consoles, one ``Output`` per command (a table for people or
one JSON object for machines), and the one-line ``Error:`` / ``Warning:`` / info
messages on stderr. Plain text (no colour) where NO_COLOR is set or stdout is not a
terminal: rich decides that from the environment. Output that is not a terminal has
no spaces at the end of its lines (rich pads every table line to the table's width;
in a file or a diff they are noise).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import IO, Iterator, TextIO, cast

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcli.formatting import terminal_safe_line
from convcli.views.jsonout import JSON_VERSION, strict, write_json

__all__ = ["JSON_VERSION", "Output", "console", "error", "info", "strict", "table", "warn",
           "write_json"]


class _Console(Console):
    """rich's Console, except that a stdout closed by its reader raises
    BrokenPipeError for command_errors.py (exit 141) instead of rich's SystemExit(1), which
    would read as 'a check found a mismatch'."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError()


class _NoTrailingSpaces:
    """A text stream that drops the spaces before each line's end (rich writes whole
    lines, so a line ends when its newline is written); everything else is the
    stream's own (isatty, encoding, fileno...)."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._pending = ""
        self.broken = False     # the reader closed the pipe

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        if lines:
            try:
                self.stream.write("\n".join(line.rstrip(" ") for line in lines) + "\n")
            except BrokenPipeError:
                self.broken = True
                raise
        return len(text)

    def flush(self) -> None:
        if self._pending:       # not known to end a line: as it is
            self.stream.write(self._pending)
            self._pending = ""
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def console(stderr: bool = False) -> Console:
    # emoji=False: user text such as ':x:' stays text (and rich's emoji table is
    # never loaded: 2 ms of every start-up)
    out = _Console(stderr=stderr, highlight=False, soft_wrap=False, emoji=False)
    if not out.is_terminal:
        out.file = cast(IO[str], _NoTrailingSpaces(out.file))
    return out


@contextmanager
def trailing_spaces_dropped() -> Iterator[None]:
    """While the block runs, sys.stdout (when it is not a terminal) drops the spaces
    at the end of each line: for what others print there (Typer's help). A reader
    that closed the pipe ends it with BrokenPipeError (exit 141, as everywhere in
    convcli), not with rich's SystemExit(1)."""
    if _is_tty(sys.stdout):
        yield
        return
    stream = sys.stdout
    wrapper = _NoTrailingSpaces(stream)
    sys.stdout = cast(TextIO, wrapper)
    try:
        yield
        wrapper.flush()
    except SystemExit:
        if wrapper.broken:
            raise BrokenPipeError() from None
        raise
    finally:
        sys.stdout = stream


def _stderr() -> Console:
    return _Console(stderr=True, highlight=False, soft_wrap=True)


def _line(message: str) -> str:
    """Multi-line text (an exception's message, a path with a newline) as one line, with
    no control character reaching the terminal."""
    return terminal_safe_line(message)


def error(message: str) -> None:
    """`Error: <message>` on stderr, as one line (user text is never markup)."""
    _stderr().print(
        Text("Error: ", style="bold red") + Text(_line(message)))


def warn(message: str) -> None:
    _stderr().print(
        Text("Warning: ", style="yellow") + Text(_line(message)))


class Output:
    """Knows whether the user asked for JSON; commands call ``emit`` once."""

    def __init__(self, json_mode: bool):
        self.json_mode = json_mode

    def emit(self, data: dict, *renderables) -> None:
        """The table (or the JSON object) on stdout; on stderr when a file was
        written to stdout (``--png -``, ``--junit -``): stdout holds that file alone."""
        from convcli.files import stdout_taken

        if self.json_mode:
            write_json(data, stderr=stdout_taken())
        else:
            out = console(stderr=stdout_taken())
            for r in renderables:
                if r is not None:
                    out.print(r)


# ---- formatting helpers ---------------------------------------------------------


def table(title: str | None = None, *columns: str, **kwargs) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left",
              title_style="bold", **kwargs)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


# ---- shape / params -------------------------------------------------------------


def info(message: str) -> None:
    """A side note for people on stderr (never on --json's stdout)."""
    _stderr().print(Text(message, style="dim"))

# ---- run ------------------------------------------------------------------------


class Fitted:
    """A table that fits the width it is drawn at by leaving out optional columns (the
    first listed goes first): fewer columns, never a number or a shape broken over two
    lines. ``build(left_out)`` makes the table without the columns named in left_out
    (or the table and its notes: anything rich draws)."""

    def __init__(self, build: Callable[[set[str]], RenderableType],
                 optional: Sequence[str] = (),
                 probe: Callable[[set[str]], RenderableType] | None = None):
        """``probe``: the same table with only the rows that are widest in some column
        (as wide as the whole table, and quick to measure when it has thousands)."""
        self.build, self.optional, self.probe = build, list(optional), probe or build

    def table(self, width: int, console_: Console) -> RenderableType:
        left_out: set[str] = set()
        unbounded = console_.options.update_width(10 ** 6)   # the table's natural width
        for name in self.optional:
            if Measurement.get(console_, unbounded, self.probe(left_out)).maximum <= width:
                break
            left_out = left_out | {name}
        return self.build(left_out)

    def __rich_console__(self, console_: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width, console_)
