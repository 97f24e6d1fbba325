"""Text from the command line -> values. Every message names the option.

Shapes and tuples are written ``4x3x64x64``, ``4,3,64,64`` or ``(4, 3, 64, 64)``.
Nothing here knows about convolutions; ConvSpec validates the values.
"""

from __future__ import annotations

import re

from convcli.errors import ConvError

_SEPARATORS = re.compile(r"\s*[x×,*]\s*|\s+")
_INT = re.compile(r"[+-]?\d+")


def _tokens(text: str, option: str) -> list[str]:
    raw = text.strip()
    if raw[:1] in "([" and raw[-1:] in ")]":
        raw = raw[1:-1].strip()
    if not raw:
        raise ConvError(f"{option}: empty value {text!r}; write numbers like 3 or 3,5 or 3x5")
    parts = _SEPARATORS.split(raw.rstrip(","))
    if any(p == "" for p in parts):
        raise ConvError(
            f"{option}: {text!r} has an empty entry; separate numbers with one 'x' or ',', "
            "e.g. 4x3x64x64"
        )
    return parts


def _int(token: str, option: str, text: str) -> int:
    if not _INT.fullmatch(token):
        raise ConvError(
            f"{option}: {token!r} in {text!r} is not a whole number; write e.g. 3 or 3,5"
        )
    return int(token)


def parse_ints(text: str, option: str) -> int | tuple[int, ...]:
    """``"3"`` -> 3; ``"3,5"``/``"3x5"``/``"(3, 5)"`` -> (3, 5). Signs are kept for
    ConvSpec to judge (a negative stride gets a message about strides, not syntax)."""
    parts = _tokens(text, option)
    values = tuple(_int(p, option, text) for p in parts)
    if len(values) == 1 and not text.strip().startswith(("(", "[")):
        return values[0]
    return values


def parse_padding(text: str, option: str = "--padding") -> int | str | tuple[int, ...]:
    """An int, a tuple, or 'same'/'valid' (any case)."""
    word = text.strip().lower()
    if word in ("same", "valid"):
        return word
    if re.fullmatch(r"[a-z_]+", word):
        raise ConvError(
            f"{option}: {text!r} is not a padding; use a number, a tuple like 1,2, "
            "'same' or 'valid'"
        )
    return parse_ints(text, option)


def parse_int(text: str, option: str) -> int:
    """One whole number (a tuple is an error naming the option)."""
    value = parse_ints(text, option)
    if isinstance(value, tuple):
        raise ConvError(f"{option}: {text!r} must be a single whole number")
    return value


def parse_shape(text: str, option: str = "INPUT") -> tuple[int, ...]:
    """A tensor shape: every entry a whole number >= 0, at least one entry."""
    parts = _tokens(text, option)
    shape = tuple(_int(p, option, text) for p in parts)
    for i, n in enumerate(shape):
        if n < 0:
            raise ConvError(
                f"{option}: dimension {i} of {text!r} is {n}; sizes cannot be negative"
            )
    return shape


_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1024 ** 2, "mib": 1024 ** 2,
               "g": 1024 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4,
               "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4}


def parse_bytes(text: str, option: str = "--max-memory") -> int | float:
    """A memory size with its unit -> int bytes ('8GiB', '8G', '512M', '1.5GB', '100B');
    or a share of the free memory -> float in (0, 1] ('50%'). K/M/G/T and KiB/MiB/GiB/TiB
    are powers of 1024, kB/MB/GB/TB powers of 1000."""
    raw = text.strip().lower().replace("_", "")
    if raw.endswith("%"):
        try:
            pct = float(raw[:-1])
        except ValueError:
            pct = -1.0
        if not 0 < pct <= 100:
            raise ConvError(f"{option}: {text!r} is not a share of free memory; write e.g. 50%")
        return pct / 100
    m = _SIZE.fullmatch(raw)
    if not m or m.group(2) not in _SIZE_UNITS:
        raise ConvError(
            f"{option}: {text!r} is not a memory size; write e.g. 8GiB, 512M, 1.5GB or 50% "
            "(of the free memory)")
    if not m.group(2):
        raise ConvError(
            f"{option}: {text!r} has no unit; write {m.group(1)}GiB, {m.group(1)}MiB or "
            f"{m.group(1)}B (or a share of the free memory like 50%)")
    value = int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])
    if value <= 0:
        raise ConvError(f"{option}: {text!r} must be more than 0 bytes")
    return value
