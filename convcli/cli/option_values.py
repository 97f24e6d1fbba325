"""Option values read once: the parsers the option table names (``PARSERS``), applied
by ``read()`` for Typer's commands (options.py) and for the fast path (fast_path.py) alike,
so ``--dtype half``, ``--device cuda:0`` or a count is accepted or refused with the same
words on every command; the note an old spelling prints; the values the shell
completes. No typer here; each parser imports what it needs when it runs.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any, Callable

from convcli.cli.command_options import COMMANDS, Use
from convcli.cli.option_table import OPTIONS, OptionDef
from convcli.errors import ConvError

_FLOAT = r"(?a)[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"     # compiled on first use


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _int(text: str, option: str, d: OptionDef) -> int:
    from convcli.calculator.parse import parse_int
    return parse_int(text, option)


def _ints(text: str, option: str, d: OptionDef):
    from convcli.calculator.parse import parse_ints
    return parse_ints(text, option)


def _dtype(text: str, option: str, d: OptionDef) -> str:
    from convcli.calculator.costs import canonical_dtype
    try:
        return canonical_dtype(text)
    except ConvError as e:
        raise ConvError(str(e).replace("--dtype", option, 1)) from None


def _dtypes(text: str, option: str, d: OptionDef) -> tuple[str, ...]:
    """run's --dtype: one name, or (with --tune) a comma list of names."""
    names = [_dtype(t, option, d) for t in text.replace(" ", ",").split(",") if t.strip()]
    return tuple(dict.fromkeys(names)) or ("float32",)


def _amp(text: str, option: str, d: OptionDef) -> str:
    """--amp: bf16 or fp16, or the same words --dtype takes for them (half, bfloat16)."""
    name = text.strip().lower()
    if name not in ("bf16", "fp16"):
        try:
            name = {"bfloat16": "bf16", "float16": "fp16"}.get(_dtype(text, option, d), "")
        except ConvError:
            name = ""
    if not name:
        raise ConvError(f"{option} {_short(text)!r}: use bf16 or fp16 (bfloat16, float16 and "
                        "half are the same)")
    return name


def _device(text: str, option: str, d: OptionDef) -> str:
    t = text.strip().lower()
    if t in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:[0-9]{1,4}", t, re.ASCII):
        return t
    raise ConvError(f"{option} {_short(text)!r} is not a device; use auto, cpu, cuda or "
                    "cuda:N (e.g. cuda:0)")


def _choice(text: str, option: str, d: OptionDef) -> str:
    t = text.strip().lower()
    if t not in d.choices:
        raise ConvError(f"{option} {_short(text)!r}: use one of {', '.join(d.choices)}")
    return t


def _size(text: str, option: str, d: OptionDef):
    from convcli.engine.memory import parse_budget
    return parse_budget(text, option)


def _budget(text: str, option: str, d: OptionDef) -> int:
    limit = _size(text, option, d)
    if isinstance(limit, float):
        raise ConvError(f"{option} {_short(text)!r}: give a size such as 16GiB (a share of "
                        "the free memory means nothing for another machine)")
    return limit


def _tolerance(text: str, option: str, d: OptionDef) -> float:
    """A finite number >= 0, in ASCII digits (1e-4, 0.001)."""
    raw = text.strip()
    value = float(raw) if re.fullmatch(_FLOAT, raw) else math.nan
    if not math.isfinite(value) or value < 0:
        hint = (" (only the ASCII digits 0-9 are numbers)"
                if any(c.isdigit() and not c.isascii() for c in raw) else "")
        raise ConvError(f"{option} {_short(text)!r} is not a tolerance{hint}; write a number "
                        ">= 0 such as 1e-4")
    return value


def _depth(text: str, option: str, d: OptionDef) -> int:
    value = _int(text, option, d)
    if not 0 <= value <= 1000:
        raise ConvError(f"{option} {value}: give a depth from 0 to 1000")
    return value


def _file(text: str, option: str, d: OptionDef) -> str:
    if not text.strip():
        raise ConvError(f"{option} {text!r}: give a file name, e.g. {option} "
                        f"picture.{option[2:]}")
    return text


PARSERS: dict[str, Callable[[str, str, OptionDef], Any]] = {
    "int": _int, "ints": _ints, "dtype": _dtype, "dtypes": _dtypes, "amp": _amp,
    "device": _device, "choice": _choice, "size": _size, "budget": _budget,
    "tolerance": _tolerance, "depth": _depth, "file": _file}


def flag_of(d: OptionDef) -> str:
    """How messages name the option: --long, or the metavar of a positional."""
    return d.decls[0].split("/")[0]


def parse_value(command: str, name: str, value: Any) -> Any:
    """One value as the command's body receives it."""
    d = OPTIONS[name]
    parser = COMMANDS[command].uses.get(name, Use()).parser or d.parser
    if value is None or parser is None or d.kind == "flag":
        return value
    if d.kind == "multiple":
        return [PARSERS[parser](v, flag_of(d), d) for v in value]
    return PARSERS[parser](value, flag_of(d), d)


def read(command: str, values: dict) -> dict:
    """Every table-declared value of ``values`` parsed (others unchanged)."""
    uses = COMMANDS[command].uses
    return {k: parse_value(command, k, v) if k in uses else v for k, v in values.items()}


def old_name(name: str, i: int) -> str:
    """The parameter that receives ``name``'s i-th old spelling."""
    return f"{name}__old{i}"


def take_old(command: str, values: dict) -> dict:
    """Fold the old spellings' values into their names, with one note each on stderr;
    an old and a new spelling together is a usage error."""
    for name, use in COMMANDS[command].uses.items():
        for i, old in enumerate(use.old):
            value = values.pop(old_name(name, i), None)
            if value is None:
                continue
            new = _spelling(name)
            if values.get(name) not in (None, default_for(command, name)):
                raise ConvError(f"{old} is the old spelling of {new}: give one of them")
            sys.stderr.write(f"Note: {command} {old} is now {new}; the old spelling goes "
                             "in the next version\n")
            values[name] = value
        if use.old and use.required and values.get(name) is None:
            raise ConvError(f"missing option {_spelling(name)}, e.g. {_spelling(name)} 32 "
                            f"(see 'convcli {command} --help')")
    return values


def _spelling(name: str) -> str:
    d = OPTIONS[name]
    return d.decls[0] if d.kind != "argument" else f"{d.decls[0]} (positional)"


def default_for(command: str, name: str) -> Any:
    from convcli.cli.command_options import default_of
    return default_of(command, name)


def completer(command: str, name: str) -> Callable[[str], list[str]] | None:
    """Typer's ``autocompletion`` for a choice option: the choices that start with what
    was typed (None for an option without choices)."""
    choices = OPTIONS[name].choices
    if not choices:
        return None

    def complete(incomplete: str) -> list[str]:
        return [c for c in choices if c.startswith(incomplete.lower())]

    complete.__name__ = f"complete_{command}_{name}"
    return complete
