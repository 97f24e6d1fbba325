"""Binding a layer call to a torch constructor's signature, and the argument checks
the layer rules share. Messages name the layer and list its arguments.

A signature is a list of (name, default) in torch's order, with ``REQUIRED`` for
arguments without a default, and an entry ``(STAR, None)`` where torch's has ``*``: the
arguments after it are keyword-only. Pure Python.
"""

from __future__ import annotations

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.network.text import LayerCall

REQUIRED = object()
STAR = "*"      # ("*", None) in a signature: the arguments after it are keyword-only


def bind(call: LayerCall, signature: list[tuple[str, object]]) -> dict:
    """Positional and keyword arguments -> {name: value} as Python would bind them to
    ``torch.nn.<name>(...)``; messages name the layer and list its arguments."""
    order = [n for n, _ in signature]
    names = [n for n in order if n != STAR]
    positional = order[:order.index(STAR)] if STAR in order else names
    if len(call.args) > len(positional):
        kw_only = names[len(positional):]
        raise ConvError(
            f"{call}: {call.name} takes at most {len(positional)} positional arguments "
            f"({', '.join(positional)}), got {len(call.args)}"
            + (f"; {', '.join(kw_only)} only by name ({kw_only[0]}=...)" if kw_only else ""))
    values = dict(zip(positional, call.args))
    for key, value in call.kwargs.items():
        if key not in names:
            close = [n for n in names if n.replace("_", "") == key.replace("_", "")
                     or near(n, key)]
            hint = f"; did you mean {close[0]}=" if close else ""
            raise ConvError(
                f"{call}: {call.name} has no argument {key!r}{hint} (its arguments: "
                f"{', '.join(names)})")
        if key in values:
            raise ConvError(f"{call}: {key} is given twice (by position and by name)")
        values[key] = value
    for n, default in signature:
        if n not in values and n != STAR:
            if default is REQUIRED:
                raise ConvError(f"{call}: {call.name} needs {n} (its arguments: "
                                f"{', '.join(names)})")
            values[n] = default
    return values


def near(a: str, b: str) -> bool:
    """One edit apart (typos like inplce, kernal_size is two, checked by prefix)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def int_arg(call, name, value, low=None) -> int:
    if not is_int(value):
        raise ConvError(f"{call}: {name}={value!r} must be a whole number")
    if low is not None and value < low:
        raise ConvError(f"{call}: {name}={value} must be at least {low}")
    return value


def bool_arg(call, name, value) -> bool:
    if not isinstance(value, bool):
        raise ConvError(f"{call}: {name}={value!r} must be True or False")
    return value


def ints_arg(call, name, value, dims, low=None, allow_one=True) -> tuple[int, ...]:
    """An int broadcast to dims, or a tuple of dims (or 1) ints."""
    if is_int(value):
        t = (value,) * dims
    elif isinstance(value, tuple) and value and all(is_int(v) for v in value):
        if len(value) == dims:
            t = value
        elif len(value) == 1 and allow_one:
            t = value * dims
        else:
            raise ConvError(
                f"{call}: {name}={value} has {len(value)} entries; a {dims}d layer needs "
                f"one number or {dims}")
    else:
        raise ConvError(f"{call}: {name}={value!r} must be a whole number or a tuple of "
                        f"{dims}")
    if low is not None:
        for v in t:
            if v < low:
                raise ConvError(f"{call}: {name}={value}: every entry must be at least {low}")
    return t


def _literal(v) -> str:
    if isinstance(v, tuple) and v and len(set(v)) == 1 and all(is_int(x) for x in v):
        return str(v[0])
    return repr(v)


def compact_text(name: str, values: dict, signature: list) -> str:
    """The constructor as few arguments as torch needs: required ones by position, the
    others only where they differ from torch's default (a pool's stride equal to its
    kernel is the default), tuples of one value as that value: Conv2d(3, 64, 3,
    padding=1, bias=False)."""
    kw = {k: v for k, v in values.items() if k not in ("device", "dtype")}
    names = {n for n, _ in signature}
    if "stride" in names and kw.get("stride") in (kw.get("kernel_size"), None) \
            and "kernel_size" in names and dict(signature).get("stride", 1) is None:
        kw.pop("stride", None)   # a pool's default: stride = kernel_size
    parts = []
    for key, default in signature:
        if key not in kw:
            continue
        v = kw[key]
        if default is REQUIRED:
            parts.append(_literal(v))
        elif v != default and not (isinstance(v, tuple) and len(set(v)) == 1
                                   and v[0] == default):
            parts.append(f"{key}={_literal(v)}")
    return f"{name}({', '.join(parts)})"
