"""Whole numbers and per-dim tuples, checked the way torch's constructors take them.

``is_int`` refuses bools (True is an int in Python, not a size in torch);
``per_dim_tuple`` broadcasts one number to every spatial dim. ``MAX_SIZE`` is the
largest size torch holds (its sizes are int64). Pure Python.
"""

from __future__ import annotations

from convcli.errors import ConvError

Ints = tuple[int, ...]
MAX_SIZE = 2 ** 63 - 1     # torch sizes, strides and paddings are int64


def is_int(v: object) -> bool:
    """A whole number that is not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def per_dim_tuple(name: str, value: object, dims: int) -> Ints:
    """Broadcast an int to a dims-tuple; a sequence must have exactly dims entries."""
    if type(value) is int:
        return (value,) * dims
    if type(value) is tuple and len(value) == dims and all(type(v) is int for v in value):
        return value
    if is_int(value):
        return (int(value),) * dims  # type: ignore[call-overload]
    if isinstance(value, (tuple, list)):
        if not all(is_int(v) for v in value):
            raise ConvError(f"{name}={value!r}: every entry must be a whole number")
        if len(value) != dims:
            raise ConvError(
                f"{name}={tuple(value)} has {len(value)} entries but a {dims}d conv needs "
                f"{dims}; give one number for all spatial dims or a {dims}-tuple")
        return tuple(value)
    raise ConvError(f"{name}={value!r}: expected a whole number or a tuple of {dims}")


def check_int64(name: str, value: int | Ints) -> None:
    """ConvError when a value is beyond torch's int64 (sizes, strides, paddings)."""
    values = value if isinstance(value, tuple) else (value,)
    if values and (max(values) > MAX_SIZE or min(values) < -MAX_SIZE):
        bits = max(abs(v) for v in values).bit_length()
        raise ConvError(f"{name}: a value of about 2**{bits - 1}; torch holds sizes, "
                        f"strides and paddings as 64-bit integers, at most {MAX_SIZE:,}")
