"""Text from the command line -> values. Every message names the option.

Shapes and tuples are written ``4x3x64x64``, ``4,3,64,64`` or ``(4, 3, 64, 64)``; a
shape may also be pasted as Python prints it (``torch.Size([4, 3, 64, 64])``). Only
ASCII digits are numbers, and a number has at most ``MAX_DIGITS`` digits (Python's
own limit for turning text into an int); a shape's sizes are at most ``MAX_SIZE``, the
largest size torch's 64-bit sizes hold. Nothing here knows about convolutions;
ConvSpec validates the values.
"""

from __future__ import annotations

import re

from convcli.calculator.ints import MAX_SIZE
from convcli.errors import ConvError

_SEPARATORS = re.compile(r"\s*[x×,*]\s*|\s+")
_INT = re.compile(r"[+-]?[0-9]+")
# what print(x.shape) / print(x.size()) shows: torch.Size([4, 3, 64, 64])
_TORCH_SIZE = re.compile(r"(?:torch\.)?Size\(\s*\[(.*)\]\s*\)", re.DOTALL)
MAX_DIGITS = 4300          # sys.get_int_max_str_digits()'s default


def _tokens(text: str, option: str) -> list[str]:
    raw = text.strip()
    pasted = _TORCH_SIZE.fullmatch(raw)
    if pasted:
        raw = "(" + pasted.group(1) + ")"
    if raw[:1] in "([" and raw[-1:] in ")]":
        raw = raw[1:-1].strip()
    if not raw:
        raise ConvError(f"{option}: empty value {text!r}; write numbers like 3 or 3,5 or 3x5")
    if "(" in raw or raw.startswith("["):
        misread = _misread(text, option)
        if misread:
            raise ConvError(misread)
    parts = _SEPARATORS.split(raw.rstrip(","))
    if any(p == "" for p in parts):
        raise ConvError(
            f"{option}: {_short(text)!r} has an empty entry; separate numbers with one 'x' or ',', "
            "e.g. 4x3x64x64"
        )
    return parts


# compiled on first use (re caches it): only a misread value needs it
_CODE = r"\s*(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*\s*\((\s*\d+)?"


def _misread(text: str, option: str) -> str | None:
    """The message for text that is not numbers for a reason we can name: torch code
    where a shape belongs, an upper-case X, a nested list."""
    m = re.match(_CODE, text)
    if m and not _TORCH_SIZE.fullmatch(text.strip()):
        channels = (m.group(1) or "3").strip()
        return (f"{option}: {_short(text)!r} is torch code, not a shape; give the input's "
                f"shape first, e.g. 1x{channels}x32x32 {_short(text, 60)!r}")
    if "X" in text and re.fullmatch(r"[\dX\s]+", text.strip()):
        return (f"{option}: {_short(text)!r}: write the separator as a lower-case x: "
                f"{_short(text.replace('X', 'x'))}")
    if text.strip().startswith("[["):
        return (f"{option}: {_short(text)!r} is a nested list of values, not a shape; write "
                "the shape as 1x3x8x8 (apply takes values like this as INPUT)")
    return None


def _int(token: str, option: str, text: str) -> int:
    if not _INT.fullmatch(token):
        misread = _misread(text, option)
        if misread:
            raise ConvError(misread)
        hint = (" (only the ASCII digits 0-9 are numbers)"
                if any(c.isdigit() and not c.isascii() for c in token) else "")
        raise ConvError(
            f"{option}: {_short(token)!r} in {_short(text)!r} is not a whole number{hint}; "
            "write e.g. 3 or 3,5"
        )
    digits = len(token.lstrip("+-"))
    if digits > MAX_DIGITS:
        raise ConvError(
            f"{option}: a number with {digits:,} digits; convcli reads whole numbers of at "
            f"most {MAX_DIGITS:,} digits")
    return int(token)


def _short(text: str, most: int = 40) -> str:
    """User text quoted in a message, cut to ``most`` characters."""
    return text if len(text) <= most else text[:most - 3] + "..."


def parse_ints(text: str, option: str) -> int | tuple[int, ...]:
    """``"3"`` -> 3; ``"3,5"``/``"3x5"``/``"(3, 5)"`` -> (3, 5); ``"3,"``/``"(3,)"`` ->
    (3,), as Python reads them. Signs are kept for ConvSpec to judge (a negative stride
    gets a message about strides, not syntax)."""
    parts = _tokens(text, option)
    values = tuple(_int(p, option, text) for p in parts)
    if len(values) == 1 and not text.strip().startswith(("(", "[")) and \
            not text.strip().endswith(","):
        return values[0]
    return values


def parse_padding(text: str, option: str = "--padding") -> int | str | tuple[int, ...]:
    """An int, a tuple, or 'same'/'valid' (any case)."""
    word = text.strip().lower()
    if word in ("same", "valid"):
        return word
    if re.fullmatch(r"[a-z_]+", word):
        raise ConvError(
            f"{option}: {_short(text)!r} is not a padding; use a number, a tuple like 1,2, "
            "'same' or 'valid'"
        )
    return parse_ints(text, option)


def parse_int(text: str, option: str) -> int:
    """One whole number (a tuple is an error naming the option)."""
    value = parse_ints(text, option)
    if isinstance(value, tuple):
        raise ConvError(f"{option}: {_short(text)!r} must be a single whole number")
    return value


def parse_shape(text: str, option: str = "INPUT") -> tuple[int, ...]:
    """A tensor shape: every entry a whole number >= 0, at least one entry."""
    parts = _tokens(text, option)
    shape = tuple(_int(p, option, text) for p in parts)
    for i, n in enumerate(shape):
        if n < 0:
            raise ConvError(
                f"{option}: dimension {i} of {_short(text)!r} is {n}; sizes cannot be negative"
            )
        if n > MAX_SIZE:
            raise ConvError(
                f"{option}: dimension {i} of {_short(text)!r} has {len(str(n))} digits; torch "
                f"sizes are 64-bit integers, at most {MAX_SIZE:,}")
    return shape


_SIZE = r"(?a)(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)"   # 0-9 only; compiled on first use
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1024 ** 2, "mib": 1024 ** 2,
               "g": 1024 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4,
               "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4}


def parse_bytes(text: str, option: str = "--max-memory") -> int | float:
    """A memory size with its unit -> int bytes ('8GiB', '8G', '512M', '1.5GB', '100B');
    or a share of the free memory -> float in (0, 1] ('50%'). K/M/G/T and KiB/MiB/GiB/TiB
    are powers of 1024, kB/MB/GB/TB powers of 1000."""
    raw = text.strip().lower().replace("_", "")
    if raw.endswith("%"):
        share = re.fullmatch(_SIZE, raw[:-1].strip())
        pct = float(share.group(1)) if share and not share.group(2) else -1.0
        if not 0 < pct <= 100:
            raise ConvError(
                f"{option}: {_short(text)!r} is not a share of free memory; write e.g. 50%")
        return pct / 100
    m = re.fullmatch(_SIZE, raw)
    if not m or m.group(2) not in _SIZE_UNITS:
        raise ConvError(
            f"{option}: {_short(text)!r} is not a memory size; write e.g. 8GiB, 512M, 1.5GB or 50% "
            "(of the free memory)")
    if not m.group(2):
        raise ConvError(
            f"{option}: {_short(text)!r} has no unit; write {_short(m.group(1))}GiB, "
            f"{_short(m.group(1))}MiB or {_short(m.group(1))}B (or a share of the free memory "
            "like 50%)")
    number = float(m.group(1))
    if number * _SIZE_UNITS[m.group(2)] > MAX_SIZE:
        raise ConvError(f"{option}: {_short(text)!r} is more memory than any machine has "
                        f"(more than {MAX_SIZE:,} bytes); write e.g. 8GiB or 50%")
    value = int(number * _SIZE_UNITS[m.group(2)])
    if value <= 0:
        raise ConvError(f"{option}: {_short(text)!r} must be more than 0 bytes")
    return value


def nearest_option(word: str, options: list[str]) -> str | None:
    """The option a mistyped one most likely meant: one it begins, a whole word first
    (--out -> --out-channels, not --output-padding), else the closest spelling."""
    import difflib

    starts = [o for o in options if o.startswith(word) and word.startswith("--")]
    whole = [o for o in starts if o[len(word):].startswith("-")]   # a whole word of it
    if whole or starts:
        return min(whole or starts, key=len)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


_COUNT = r"(\d+(?:\.\d*)?|\.\d+)(?:e(\d+))?\s*([kmgt]?)"     # compiled on first use
_COUNT_UNITS = {"": 1, "k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12}


def parse_count(text: str, option: str) -> int:
    """A count with an SI suffix -> int: '25M' 25,000,000, '4.1G' 4,100,000,000,
    '1500', '2e6', '25_000_000'; k/M/G/T are powers of 1000 (counts, not bytes)."""
    from decimal import Decimal

    raw = text.strip().lower().replace("_", "").replace(",", "")
    m = re.fullmatch(_COUNT, raw)
    if not m or len(raw) > 40:
        raise ConvError(f"{option}: {_short(text)!r} is not a count; write e.g. 25M, "
                        "4.1G or 1500 (k, M, G, T: powers of 1000)")
    value = Decimal(m.group(1)) * 10 ** int(m.group(2) or 0) * _COUNT_UNITS[m.group(3)]
    if value != value.to_integral_value():
        raise ConvError(f"{option}: {_short(text)!r} is not a whole number ({value})")
    if value > MAX_SIZE:
        raise ConvError(f"{option}: {_short(text)!r} is more than {MAX_SIZE:,}")
    return int(value)
