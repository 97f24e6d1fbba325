"""Text that fits the width it is drawn at without breaking what must stay whole.

rich wraps text at every space, so a shape ([1, 16, 8, 8]), a layer (Conv2d(3, 8, 3))
or a formula can end on two lines. ``Prose`` wraps only at the spaces outside
brackets, and breaks a bracketed group (at its own outer spaces: a layer's arguments)
only when it is wider than a line (or when it is a long parenthesis of prose); ``Prose.parts`` wraps only between given pieces
("median 0.08 ms · min 0.07 ms"). Continuation lines are indented (``hang``), so an
indented note never falls back to column 0. ``First`` draws the first of several
forms that fits (a code line with its comment on the line above when it does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

_OPEN, _CLOSE = "([{", ")]}"
_DEEPEST = 8          # bracket depth past which every space may break
_UNBOUNDED = 10 ** 6


def _spaces(plain: str, depth: int, commas: bool = False) -> list[tuple[int, int]]:
    """The runs of spaces at bracket depth <= depth (with commas: only those after a
    comma), as (start, end)."""
    runs: list[tuple[int, int]] = []
    level = 0
    for i, ch in enumerate(plain):
        if ch in _OPEN:
            level += 1
        elif ch in _CLOSE:
            level = max(0, level - 1)
        elif ch == " " and (level <= depth or depth >= _DEEPEST):
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            elif not commas or plain[i - 1:i] == ",":
                runs.append((i, i + 1))
    return runs


def _split(text: Text, depth: int, commas: bool = False) -> list[tuple[str, Text]]:
    """(separator before, piece) for the pieces between the spaces at that depth."""
    plain = text.plain
    out: list[tuple[str, Text]] = []
    start, sep = 0, ""
    for a, b in _spaces(plain, depth, commas):
        if a > start:
            out.append((sep, text[start:a]))
        sep, start = plain[a:b], b
    if start < len(plain):
        out.append((sep, text[start:]))
    return out


class Prose:
    """Text wrapped at the spaces outside brackets, continuation lines indented by
    ``hang`` more than the first (leading spaces of the text become its indent)."""

    def __init__(self, text: str | Text = "", style: str = "", indent: int = 0,
                 hang: int = 0):
        t = Text(text, style=style) if isinstance(text, str) else text
        lead = len(t.plain) - len(t.plain.lstrip(" "))
        self.indent, self.hang, self.style = indent + lead, hang, style
        # (separator, piece, whether the piece stays whole when it fits a line, depth)
        self.atoms = [(s, p, False, 1) for s, p in _split(t[lead:], 0)]

    @classmethod
    def parts(cls, parts: Sequence[str | Text], sep: str = " ", style: str = "",
              indent: int = 0, hang: int = 0) -> Prose:
        """Pieces joined by sep, broken only between them (and inside one only when
        it is wider than a line)."""
        out = cls("", style, indent, hang)
        out.atoms = [("" if i == 0 else sep, Text(p, style=style) if isinstance(p, str)
                      else p, True, 0) for i, p in enumerate(parts)]
        return out

    def narrowest(self) -> int:
        """The width it needs to break nothing it keeps whole (its widest piece)."""
        return self.indent + max((p.cell_len for _, p, _, _ in self.atoms), default=0)

    def lines(self, width: int) -> list[Text]:
        lines = [Text(" " * self.indent)]
        filled = [False]
        cont = " " * (self.indent + self.hang)
        # a piece that does not fit the line moves whole to the next one, when it fits
        # there; only a long parenthesis (prose) is broken to fill the line first
        short = 16

        def place(sep: str, atom: Text, keep: bool, depth: int) -> None:
            line, n = lines[-1], atom.cell_len
            if line.cell_len + (len(sep) if filled[0] else 0) + n <= width:
                if filled[0]:
                    line.append(sep)
                line.append_text(atom)
                filled[0] = True
                return
            pieces = _pieces(atom, depth)
            fresh = len(cont) + n <= width
            whole = keep or n <= short or not atom.plain.startswith("(")
            if filled[0] and (pieces is None or fresh and whole):
                lines.append(Text(cont) + atom)   # on a line of its own (rich folds
                return                            # a word wider than the line)
            if pieces is None:
                line.append_text(atom)
                filled[0] = True
                return
            d, subs = pieces
            for i, (s, p) in enumerate(subs):
                place(sep if i == 0 else s, p, False, d + 1)

        for sep, atom, keep, depth in self.atoms:
            place(sep, atom, keep, depth)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        out = Text("\n").join(self.lines(options.max_width))
        out.overflow, out.no_wrap, out.justify = "fold", False, None
        yield out

    def natural(self) -> int:
        """The width it takes on one line."""
        return self.indent + sum(len(s) + p.cell_len for s, p, _, _ in self.atoms)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.narrowest() + self.hang, self.natural())


def _pieces(atom: Text, depth: int) -> tuple[int, list[tuple[str, Text]]] | None:
    """The atom's pieces at the shallowest depth >= depth that has a space (inside the
    brackets of code: after a comma first, so Linear(64 * 4 * 4, 500) breaks between
    its arguments; a parenthesis of prose at any space); None for one word."""
    code = not atom.plain.startswith("(")
    for d in range(depth, _DEEPEST + 1):
        for commas in ((True, False) if d and code else (False,)):
            pieces = _split(atom, d, commas)
            if len(pieces) > 1:
                return d, pieces
    return None


def prose_lines(lines: Sequence[str | Prose], style: str = "", hang: int = 2) -> Group:
    """Notes, one Prose per line (a Prose given as it is)."""
    return Group(*[Prose(line, style, hang=hang) if isinstance(line, str) else line
                   for line in lines])


class First:
    """The first of several renderables whose natural width fits, else the last."""

    def __init__(self, *alternatives: RenderableType):
        self.alternatives = alternatives

    def _chosen(self, console: Console, options: ConsoleOptions) -> RenderableType:
        unbounded = options.update_width(_UNBOUNDED)
        for alt in self.alternatives[:-1]:
            if Measurement.get(console, unbounded, alt).maximum <= options.max_width:
                return alt
        return self.alternatives[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._chosen(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.alternatives[0])


class Squeezed:
    """A table measured as if its wrapping columns were only as wide as their widest
    word (``floors``: column index -> width), drawn as it is: a Fitted table then
    wraps those columns, as wide as the terminal lets them be, before it leaves a
    column out."""

    def __init__(self, table: Table, floors: dict[int, int]):
        self.table, self.floors = table, floors

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        narrow = copy(self.table)
        narrow.columns = [copy(c) for c in self.table.columns]
        for i, floor in self.floors.items():
            narrow.columns[i].max_width = floor
        return Measurement.get(console, options, narrow)


class Unmeasured:
    """A renderable that does not count toward the width of what holds it (the notes
    under a Fitted table: they wrap at whatever width the table leaves), drawn at the
    full width."""

    def __init__(self, renderable: RenderableType):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.renderable

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, 1)


def titled(title: str, body: RenderableType) -> Group:
    """A bold title over a table, wrapped at the full width (a table's own title wraps
    at the table's width)."""
    return Group(Prose(title, style="bold", hang=2), body)


def below(table: RenderableType, notes: Sequence[str | Prose], style: str = "",
          gap: bool = True) -> RenderableType:
    """A table and, when there are any, its notes under it at the full width (and a
    blank line after them, with gap)."""
    if not notes:
        return table
    return Group(table, Unmeasured(prose_lines(list(notes) + [""] * gap, style)))


def code_lines(code: str, indent: int = 2) -> Group:
    """Code, each line whole: a line too long for the width gets its trailing comment
    on a line of its own above it."""
    out: list[RenderableType] = []
    for line in code.split("\n"):
        text = " " * indent + line if line else ""
        stmt, hash_, comment = line.partition("  # ")
        if not hash_:
            out.append(Text(text))
            continue
        lead = " " * (indent + len(line) - len(line.lstrip()))
        out.append(First(Text(text), Text(f"{lead}# {comment}\n{' ' * indent}{stmt}")))
    return Group(*out)


def left_out_note(left_out: set[str], columns: Sequence[str]) -> list[Prose]:
    """The note naming the columns a Fitted table left out, as net's says it (each name
    on one line)."""
    gone = [c for c in columns if c in left_out]
    return [Prose.parts(["left out to fit the width:"] + [f"{c}," for c in gone[:-1]]
                        + [gone[-1]] + "(a wider terminal or --json shows them)".split(),
                        hang=2)] if gone else []
