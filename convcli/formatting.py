"""Numbers and shapes as text: the one set of formatters every world uses.

Shapes: ``shape_x`` writes the form INPUT is typed in (4x3x64x64), ``shape_list`` the
form torch prints ([4, 3, 64, 64]). Per-dim values: ``per_dim`` gives one number when
all dims agree. Counts: ``count`` is exact with a short form beside it, ``count_short``
fits a table cell. Bytes: ``size`` in binary units. All exact for integers of any
size (no float overflow). Pure standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def _three_digits(n: int, div: int) -> tuple[int, int]:
    """n / div (n > 0) rounded half-even to three significant digits, exactly for any
    integer size: (m, e) with the value m * 10**e and 100 <= m <= 999. Integer
    arithmetic, no decimal module: its C part warns on stderr when a signal cut its
    first import short and it is imported again on the way out."""
    e = len(str(n)) - len(str(div)) - 3
    while True:
        num, den = (n * 10 ** -e, div) if e <= 0 else (n, div * 10 ** e)
        m, r = divmod(num, den)
        if 2 * r > den or (2 * r == den and m % 2):
            m += 1
        if m >= 1000:
            e += 1
        elif m < 100:
            e -= 1
        else:
            return m, e


def _sig3(m: int, e: int) -> str:
    """m * 10**e as format(Decimal, '.3g') writes it (three significant digits kept)."""
    point = e + 3                       # digits before the decimal point
    digits = str(m)
    if point > 3 or point < -3:         # scientific, as 'g' does past the precision
        return f"{digits[0]}.{digits[1:]}e{point - 1:+d}"
    if point <= 0:
        return "0." + "0" * -point + digits
    return digits[:point] + ("." + digits[point:] if point < 3 else "")


def _plain(m: int, e: int) -> str:
    """m * 10**e as format(Decimal.normalize(), 'f') writes it (no trailing zeros)."""
    text = _sig3(m, e) if -6 < e + 3 <= 3 else str(m * 10 ** e)
    return text.rstrip("0").rstrip(".") if "." in text else text


def count_short(n: int | None) -> str:
    """Counts in a table cell, one format for a whole column: 320 / 1.73 k / 442 k /
    1.18 M / 4.09 G ('—' for None): three significant digits from 1,000 up."""
    if n is None:
        return MISSING
    if abs(n) < 1000:
        return f"{n}"
    sign, n = ("-", -n) if n < 0 else ("", n)
    for div, unit in _COUNT_UNITS:
        m, e = _three_digits(n, div)
        if e < 1 or unit == "T":        # the value m * 10**e is below 1000
            text = (_sig3(m, e) if e >= 4 else f"{m * 10 ** e:,}" if e >= 0
                    else _plain(m, e))
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
                return f"{_sig3(*_three_digits(n, div))} {unit}"
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


def spatial_names(d: int) -> str:
    """The spatial dims' names of a d-dim conv: 'L' | 'H, W' | 'D, H, W'."""
    return ", ".join(("L",) if d == 1 else ("H", "W") if d == 2 else ("D", "H", "W"))
