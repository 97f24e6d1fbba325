"""What ``print(model)`` shows, read back as layer calls::

    Sequential(
      (0): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Linear(in_features=64, out_features=10, bias=True)
      )
      (3-5): 3 x ReLU()
    )

Nested Sequentials (and other containers whose children are numbered 0, 1, 2, ...,
such as torchvision's Conv2dNormActivation) are flattened; ``(a-b): N x Layer(...)``
is repeated N times. A container with named children, or a ModuleList, is an error:
print(model) does not show the order its forward() uses them in, so ``summary`` (which
runs forward()) is the way. Pure Python.
"""

from __future__ import annotations

import re

from convcli.errors import ConvError

# patterns, compiled on first use (re caches them): layer text that is not print(model)'s
# form never needs them
_KEYED = r"^\((?P<key>[^()]+)\):\s*(?P<rest>.*)$"
_REPEAT = r"^(?P<n>\d+) x (?P<rest>.*)$"
_OPEN = r"^(?P<name>[\w.]+)\($"
_UNORDERED = ("ModuleList", "ModuleDict", "ParameterList", "ParameterDict")


def looks_printed(text: str) -> bool:
    """True when some line starts like ``(0): ...`` or ``(conv1): ...``."""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("(") and re.match(_KEYED, s) and not s.startswith("(("):
            return True
    return False


def printed_chunks(text: str, source: str) -> list[tuple[str, int]]:
    """The leaf layers of a printed module, in order, each with its line number."""
    out: list[tuple[str, int]] = []
    stack: list[tuple[str, int]] = []            # open containers: (name, line)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line == ")":
            if not stack:
                raise ConvError(f"{source} line {number}: ')' closes a module that was "
                                "never opened")
            stack.pop()
            continue
        key, times, rest = None, 1, line
        m = re.match(_KEYED, line)
        if m:
            key, rest = m.group("key").strip(), m.group("rest").strip()
            r = re.match(_REPEAT, rest)
            if r and re.fullmatch(r"\d+-\d+", key):
                times, rest = int(r.group("n")), r.group("rest").strip()
        if stack:
            _check_child(stack[-1], key, source, number)
        opened = re.match(_OPEN, rest)
        if opened:
            stack.append((opened.group("name"), number))
            if times != 1:
                raise ConvError(f"{source} line {number}: {line!r}: a repeated block; "
                                "paste it with its layers written out")
            continue
        if times > 10_000:
            raise ConvError(f"{source} line {number}: {times:,} repeats is more than convcli "
                            "walks (at most 10,000)")
        out.extend([(rest, number)] * times)
    if stack:
        name, number = stack[-1]
        raise ConvError(f"{source}: {name}( opened at line {number} is not closed")
    return out


def _check_child(container: tuple[str, int], key: str | None, source: str,
                 number: int) -> None:
    name, opened = container
    short = name.rsplit(".", 1)[-1]
    ordered = key is None or key.isdigit() or re.fullmatch(r"\d+-\d+", key)
    if short in _UNORDERED or not ordered and not short.endswith("Sequential"):
        what = ("a ModuleList or ModuleDict" if short in _UNORDERED
                else f"a module with named children ({key}, ...)")
        raise ConvError(
            f"{source} line {opened}: {short}(...) is {what}; print(model) does not show the "
            "order its forward() uses them in, so convcli net cannot walk it: run `convcli "
            f"summary FILE.py:NAME --input SHAPE` on the model's code instead (or paste "
            "one nn.Sequential)")
