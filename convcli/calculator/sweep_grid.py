"""--sweep NAME=V1,V2,...: one question asked for several values of the conv options
at once (repeatable: every combination, the first sweep varying slowest).

``parse_sweeps`` reads the texts against the option names the caller knows (``k``,
``kernel-size`` and ``kernel_size`` all name kernel_size); a value with one entry per
spatial dim is written with ``x`` (``k=3x3,5x5``), since the comma separates values.
``sweep`` calls the caller's function once per combination and keeps each answer or
the ConvError that combination raised (one impossible combination is a row that
says why, not the end of the table). Pure Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Generic, TypeVar

from convcli.errors import ConvError

T = TypeVar("T")
MAX_COMBINATIONS = 1000


@dataclass(frozen=True)
class Sweep:
    """One --sweep: the option's field name, the name as typed and its values."""

    field: str
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SweepRow(Generic[T]):
    """One combination: field -> value text, and the answer or the error."""

    values: dict[str, str]
    answer: T | None
    error: str | None


def parse_sweeps(texts: Sequence[str], names: Mapping[str, str],
                 given: Sequence[str] = (), limit: int = MAX_COMBINATIONS,
                 why: str = "") -> list[Sweep]:
    """``["k=3,5,7", "s=1,2"]`` -> Sweeps. ``names``: every accepted name -> field;
    ``given``: fields the options already set (sweeping one too is an error);
    ``limit``: the most combinations, ``why`` the command's reason for it."""
    sweeps: list[Sweep] = []
    for text in texts:
        name, eq, rest = text.partition("=")
        name = name.strip().lstrip("-")
        if not eq or not name:
            raise ConvError(f"--sweep {text!r}: write NAME=V1,V2,..., e.g. --sweep k=3,5,7")
        field = names.get(name) or names.get(name.replace("-", "_"))
        if field is None:
            known = sorted({n for n in names if len(n) <= 2})
            raise ConvError(f"--sweep {text!r}: {name!r} is not a conv option; sweep one of "
                            f"{', '.join(known)} (or their long names)")
        values = tuple(v.strip() for v in rest.split(","))
        if not rest.strip() or any(not v for v in values):
            raise ConvError(f"--sweep {text!r}: give values separated by commas, e.g. "
                            f"{name}=3,5,7 (one value per dim with x: {name}=3x3,5x5)")
        if any(s.field == field for s in sweeps):
            raise ConvError(f"--sweep {text!r}: {field} is swept twice; give its values once")
        if field in given:
            option = "--" + field.replace("_", "-")
            raise ConvError(f"--sweep {text!r}: {option} is given too; sweep it or set it, "
                            "not both")
        sweeps.append(Sweep(field, name, values))
    count = 1
    for s in sweeps:
        count *= len(s.values)
    if count > limit:
        raise ConvError(f"--sweep: {count:,} combinations; at most {limit:,} in one "
                        f"command{why}")
    return sweeps


def sweep(sweeps: Sequence[Sweep], answer: Callable[[dict[str, str]], T]
          ) -> list[SweepRow[T]]:
    """``answer(changes)`` for every combination, in order; a ConvError is the row's
    error. ConvError when every combination failed (naming the first)."""
    rows: list[SweepRow[T]] = []
    for combo in product(*(s.values for s in sweeps)):
        changes = {s.field: v for s, v in zip(sweeps, combo)}
        try:
            rows.append(SweepRow(changes, answer(dict(changes)), None))
        except ConvError as e:
            rows.append(SweepRow(changes, None, str(e)))
    if rows and all(r.error for r in rows):
        first = rows[0]
        raise ConvError(f"--sweep: no combination is a conv torch runs; "
                        f"{label(sweeps, first.values)}: {first.error}")
    return rows


def label(sweeps: Sequence[Sweep], values: Mapping[str, Any]) -> str:
    """One combination as the user named it: 'k=3, s=2'."""
    return ", ".join(f"{s.name}={values[s.field]}" for s in sweeps)


def names(sweeps: Sequence[Sweep]) -> str:
    """The swept options as the user named them: 'k, s'."""
    return ", ".join(s.name for s in sweeps)
