"""A conv described by several sources at once: the conv options as typed, and a
constructor the user pasted (a ConvSpec the network world read from torch code).

``merge_code`` turns the constructor into the options' text (so every command reads
one description), after checking that every option given beside it says the same;
an option that disagrees is an error naming both. ``missing_message`` is the one
line for options that are missing: all of them at once, with a command that runs,
built from what was given. Option names come from the caller (the cli's table), so
they are written once. Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcli.calculator.parse import parse_int, parse_ints, parse_padding
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

_TUPLES = ("kernel_size", "stride", "dilation", "output_padding")
_INTS = ("in_channels", "out_channels", "groups")


def _tuple_text(t: Sequence[int]) -> str:
    """A d-tuple as option text that keeps its length (``3,`` for one dim)."""
    return ",".join(map(str, t)) + ("," if len(t) == 1 else "")


def code_values(spec: ConvSpec) -> dict[str, Any]:
    """A ConvSpec as the conv options' text."""
    values: dict[str, Any] = {name: _tuple_text(getattr(spec, name)) for name in _TUPLES}
    values.update({name: str(getattr(spec, name)) for name in _INTS})
    values["padding"] = (spec.padding if isinstance(spec.padding, str)
                         else _tuple_text(spec.padding))
    values.update(bias=spec.bias, padding_mode=spec.padding_mode,
                  transposed=spec.transposed, dims=str(spec.dims))
    return values


def _as_dims(value: int | tuple[int, ...], d: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * d
    return value * d if len(value) == 1 else value


def _agrees(name: str, text: Any, spec: ConvSpec, flag: str) -> bool:
    if name in _INTS:
        return parse_int(text, flag) == getattr(spec, name)
    if name in _TUPLES:
        return _as_dims(parse_ints(text, flag), spec.dims) == getattr(spec, name)
    if name == "padding":
        p = parse_padding(text, flag)
        if isinstance(p, str):
            return p == spec.padding or (p == "valid" and not any(spec.padding_pairs[0]))
        return _as_dims(p, spec.dims) == spec.padding
    if name == "padding_mode":
        return str(text).strip().lower() == spec.padding_mode
    if name == "dims":
        return parse_int(text, flag) == spec.dims
    return bool(text) == getattr(spec, name)     # bias, transposed


def _shown(name: str, spec: ConvSpec) -> str:
    value = getattr(spec, name)
    if name == "dims":
        return f"{spec.dims} spatial dim{'s' if spec.dims > 1 else ''}"
    if isinstance(value, tuple) and len(set(value)) == 1 and name != "padding":
        value = value[0]
    return f"{name}={value!r}"


def merge_code(spec: ConvSpec, text: str, given: Mapping[str, Any],
               flags: Mapping[str, str]) -> dict[str, Any]:
    """The constructor's values as option text; ConvError when an option given beside
    it (``given``: name -> text, only those the user set) disagrees. ``flags``: each
    option's name for messages (-k/--kernel-size)."""
    for name, value in given.items():
        if _agrees(name, value, spec, flags[name]):
            continue
        flag = flags[name]
        typed = "" if isinstance(value, bool) else f" {value}"
        if name == "bias":
            flag, typed = "--no-bias", ""
        raise ConvError(
            f"{flag}{typed} disagrees with {text}, which has {_shown(name, spec)}; give the "
            f"conv once: drop {flag}, or change the constructor")
    return code_values(spec)


def weight_values(weight_shape: Sequence[int], transposed: bool,
                  groups: str | None) -> dict[str, str]:
    """-o and -k read from a weight file's shape: (C_out, C_in/g, *k), or a transposed
    conv's (C_in, C_out/g, *k)."""
    if not 3 <= len(weight_shape) <= 5:
        return {}       # not a conv weight: the weight check says so
    g = parse_int(groups or "1", "--groups")
    out = weight_shape[1] * g if transposed else weight_shape[0]
    return {"out_channels": str(out), "kernel_size": _tuple_text(weight_shape[2:])}


def example_values(given: Mapping[str, Any]) -> dict[str, str]:
    """-i/-o/-k values for a runnable example that fit the groups given."""
    g = 1
    try:
        g = max(1, parse_int(str(given.get("groups", "1")), "--groups"))
    except ConvError:
        pass
    c_in = 64 if 64 % g == 0 else 4 * g
    c_out = 128 if 128 % g == 0 else 8 * g
    return {"in_channels": str(c_in), "out_channels": str(c_out), "kernel_size": "3"}


def missing_message(command: str, missing: Sequence[str], typed: Sequence[str],
                    given: Mapping[str, Any], flags: Mapping[str, str],
                    alternatives: Mapping[str, str], before: Sequence[str] = ()) -> str:
    """One line naming every missing option and a command that runs: ``convcli params
    needs -i/--in-channels (or --input), -o/--out-channels and -k/--kernel-size, e.g.
    convcli params -i 64 -o 128 -k 3 --groups 4``. ``typed``: what the user gave, as
    words for the example; ``before``: positionals that come first (INPUT)."""
    names = [flags[m] + (f" (or {alternatives[m]})" if m in alternatives else "")
             for m in missing]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    example = example_values(given)
    short = {name: flags[name].split("/")[0] for name in missing}
    words = ["convcli", command, *before,
             *(w for m in missing for w in (short[m], example[m])), *typed]
    return f"{command} needs {listed}, e.g. {' '.join(words)}"
