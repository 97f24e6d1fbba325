"""Numbers and shapes as text: the one set of formatters every world uses.

Shapes: ``shape_x`` writes the form INPUT is typed in (4x3x64x64), ``shape_list`` the
form torch prints ([4, 3, 64, 64]). Per-dim values: ``per_dim`` gives one number when
all dims agree. Counts: ``count`` is exact with a short form beside it, ``count_short``
fits a table cell. Bytes: ``size`` in binary units. All exact for integers of any
size (no float overflow). Pure standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

MISSING = "—"
_COUNT_UNITS = ((10 ** 3, "k"), (10 ** 6, "M"), (10 ** 9, "G"), (10 ** 12, "T"))
_BYTE_UNITS = (("PiB", 1024 ** 5), ("TiB", 1024 ** 4), ("GiB", 1024 ** 3),
               ("MiB", 1024 ** 2), ("KiB", 1024))


def shape_x(shape: Iterable[int]) -> str:
    """(4, 3, 64, 64) -> '4x3x64x64' (the form INPUT is written in)."""
    return "x".join(str(int(n)) for n in shape)


def shape_list(shape: Iterable[int] | None) -> str:
    """(4, 3, 64, 64) -> '[4, 3, 64, 64]' (as torch prints it); None -> '—'."""
    return MISSING if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"


def per_dim(values: Iterable[object], sep: str | None = None) -> str:
    """One value per spatial dim, short: '3' when all dims agree; otherwise the tuple
    as Python writes it ('(3, 5)', for constructor text) or joined by ``sep``
    ('3x5', '3,5')."""
    t = tuple(values)
    if len(set(t)) == 1:
        return str(t[0])
    return str(t) if sep is None else sep.join(map(str, t))


def plural(count: int, noun: str) -> str:
    """(1, 'channel') -> '1 channel'; (3, 'channel') -> '3 channels'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def article(noun: str) -> str:
    """'int' -> 'an int'; 'tuple' -> 'a tuple'."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def index_span(span: Sequence[int]) -> str:
    """A half-open [start, stop) of indices: (4, 8) -> '4..7'; (4, 5) -> '4'."""
    return str(span[0]) if span[1] - span[0] == 1 else f"{span[0]}..{span[1] - 1}"


def index_ranges(values: Iterable[int], most: int = 6) -> str:
    """Sorted indices as runs: [0, 1, 2, 5, 7, 8] -> '0..2, 5, 7, 8'; more than
    ``most`` runs end in '... (N more)'."""
    runs: list[list[int]] = []
    for v in sorted(set(values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    parts: list[str] = []
    for a, b in runs:
        parts.append(str(a) if a == b else f"{a}, {b}" if b == a + 1 else f"{a}..{b}")
    shown = ", ".join(parts[:most])
    return shown + (f", ... ({len(parts) - most} more)" if len(parts) > most else "")


def _three_digits(n: int, div: int) -> Decimal:
    """n / div rounded to three significant digits, exactly (any integer size)."""
    with localcontext() as ctx:
        ctx.prec = len(str(n)) + 8
        d = Decimal(n) / Decimal(div)
        return d.quantize(Decimal(1).scaleb(d.adjusted() - 2), rounding=ROUND_HALF_EVEN)


def count_short(n: int | None) -> str:
    """Counts in a table cell, one format for a whole column: 320 / 1.73 k / 442 k /
    1.18 M / 4.09 G ('—' for None): three significant digits from 1,000 up."""
    if n is None:
        return MISSING
    if abs(n) < 1000:
        return f"{n}"
    sign, n = ("-", -n) if n < 0 else ("", n)
    for div, unit in _COUNT_UNITS:
        v = _three_digits(n, div)
        if v < 1000 or unit == "T":
            text = (format(v, ".3g") if v >= 10 ** 6 else f"{int(v):,}" if v >= 100
                    else format(v.normalize(), "f"))
            return f"{sign}{text} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def count(n: int | None) -> str:
    """73856 -> '73,856 (73.9 k)': exact, with the short form from 1,000 up."""
    if n is None or abs(n) < 1000:
        return count_short(n)
    return f"{n:,} ({count_short(n)})"


def size(n: int | float | None) -> str:
    """Bytes in binary units: 1536 -> '1.5 KiB', 12345678 -> '11.8 MiB' (up to PiB;
    '—' for None). Exact for integers of any size."""
    if n is None:
        return MISSING
    n = int(n)
    for unit, div in _BYTE_UNITS:
        if n >= div:
            whole = n // div
            tenths = (n * 10 + div // 2) // div
            if whole >= 10 ** 6:
                return f"{_three_digits(n, div):.3g} {unit}"
            return f"{tenths // 10:,}.{tenths % 10} {unit}"
    return f"{n:,} B"


def terminal_safe_line(text: object) -> str:
    """A message for stderr as one line in which nothing acts on the terminal: runs of
    whitespace become one space, and control characters (ESC, BEL, C1 codes, ...) that a
    file name or a layer text may carry are written as escapes (\\x1b), not sent."""
    out = []
    for c in " ".join(str(text).split()):
        code = ord(c)
        out.append(c if code >= 0xA0 or 0x20 <= code < 0x7F else
                   c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def one_line(text: object, most: int = 300) -> str:
    """Any text (an exception's message, a path with newlines) as one line of at most
    ``most`` characters."""
    if isinstance(text, BaseException):
        s = " ".join(str(text).split())
        s = s or type(text).__name__
    else:
        s = " ".join(str(text).split())
    return s if len(s) <= most else s[: most - 3] + "..."
