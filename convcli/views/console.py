"""Where output goes: rich consoles, one ``Output`` per command (a table for people or
one JSON object for machines), and the one-line ``Error:`` / ``Warning:`` / info
messages on stderr. Plain text (no colour) where NO_COLOR is set or stdout is not a
terminal: rich decides that from the environment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

JSON_VERSION = 1


class _Console(Console):
    """rich's Console, except that a stdout closed by its reader raises
    BrokenPipeError for the funnel (exit 141) instead of rich's SystemExit(1), which
    would read as 'a check found a mismatch'."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError()


def console(stderr: bool = False) -> Console:
    return _Console(stderr=stderr, highlight=False, soft_wrap=False)


def _stderr() -> Console:
    return _Console(stderr=True, highlight=False, soft_wrap=True)


def _line(message: str) -> str:
    """Multi-line text (an exception's message, a path with a newline) as one line."""
    return " ".join(str(message).split())


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
        if self.json_mode:
            write_json(data)
        else:
            out = console()
            for r in renderables:
                if r is not None:
                    out.print(r)


def strict(value):
    """JSON has no NaN or Infinity: non-finite floats become null, at any depth."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) \
            else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def write_json(data: dict) -> None:
    """One strict JSON object on stdout (no NaN/Infinity tokens)."""
    text = json.dumps(strict(data), indent=2, allow_nan=False) + "\n"
    # in pieces: one huge write to a pipe whose reader has gone can come back as a
    # partial success, with no BrokenPipeError to say the rest was lost
    for i in range(0, len(text), 1 << 16):
        sys.stdout.write(text[i:i + (1 << 16)])
        sys.stdout.flush()


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
    lines. ``build(left_out)`` makes the table without the columns named in left_out."""

    def __init__(self, build: Callable[[set[str]], Table], optional: Sequence[str] = ()):
        self.build, self.optional = build, list(optional)

    def table(self, width: int, console_: Console) -> Table:
        left_out: set[str] = set()
        t = self.build(left_out)
        unbounded = console_.options.update_width(10 ** 6)   # the table's natural width
        for name in self.optional:
            if Measurement.get(console_, unbounded, t).maximum <= width:
                break
            left_out = left_out | {name}
            t = self.build(left_out)
        return t

    def __rich_console__(self, console_: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width, console_)
