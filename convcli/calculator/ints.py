"""Whole numbers and per-dim tuples, checked the way torch's constructors take them.

``is_int`` refuses bools (True is an int in Python, not a size in torch);
``per_dim_tuple`` broadcasts one number to every spatial dim. Pure Python.
"""

from __future__ import annotations

from convcli.errors import ConvError

Ints = tuple[int, ...]


def is_int(v: object) -> bool:
    """A whole number that is not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def per_dim_tuple(name: str, value: object, dims: int) -> Ints:
    """Broadcast an int to a dims-tuple; a sequence must have exactly dims entries."""
    if is_int(value):
        return (value,) * dims  # type: ignore[return-value]
    if isinstance(value, (tuple, list)):
        if not all(is_int(v) for v in value):
            raise ConvError(f"{name}={value!r}: every entry must be a whole number")
        if len(value) != dims:
            raise ConvError(
                f"{name}={tuple(value)} has {len(value)} entries but a {dims}d conv needs "
                f"{dims}; give one number for all spatial dims or a {dims}-tuple")
        return tuple(value)
    raise ConvError(f"{name}={value!r}: expected a whole number or a tuple of {dims}")
