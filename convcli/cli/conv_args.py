"""The conv options as the user typed them: ``ConvArgs`` (twelve strings and flags),
their names, metavars and help (``CONV_DECLS``, from option_table.py), and
``ConvArgs.spec()``, which turns them into a validated ConvSpec (calculator world). No typer here: the fast path
(fast.py) parses argv with these declarations without importing it; options.py
builds the Typer options from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

from convcli.calculator.interpret import Interpretation, read_spec
from convcli.calculator.parse import parse_int
from convcli.calculator.spec import ConvSpec
from convcli.cli.option_table import CONV_NAMES, OPTIONS
from convcli.errors import ConvError


@dataclass(frozen=True)
class ConvArgs:
    """The conv options as typed (parsed and validated by ``spec``)."""

    out_channels: Optional[str] = None
    kernel_size: Optional[str] = None
    in_channels: Optional[str] = None
    stride: Optional[str] = "1"
    padding: Optional[str] = "0"
    dilation: Optional[str] = "1"
    groups: Optional[str] = "1"
    bias: bool = True
    padding_mode: str = "zeros"
    transposed: bool = False
    output_padding: Optional[str] = "0"
    dims: Optional[str] = None

    def spec(self, input_shape=None, **changes: Any) -> ConvSpec:
        """A validated ConvSpec; dims and in_channels come from INPUT when not given."""
        return self.read(input_shape, **changes)[0]

    def read(self, input_shape=None, **changes: Any
             ) -> tuple[ConvSpec, Interpretation | None]:
        """The ConvSpec and how INPUT's rank was read (calculator/interpret.py)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        for name in ("out_channels", "kernel_size"):
            if values[name] is None:
                option = "--" + name.replace("_", "-")
                raise ConvError(f"{option} is required, e.g. -o 16 -k 3")
        for name, default in (("stride", "1"), ("padding", "0"), ("dilation", "1"),
                              ("groups", "1"), ("output_padding", "0")):
            if values[name] is None:
                values[name] = default
        values["dims"] = parse_dims(values["dims"])
        return read_spec(input_shape=input_shape, **values)

    def given(self) -> list[str]:
        """The options changed from their defaults, as the user wrote them."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                name = "--no-bias" if f.name == "bias" else "--" + f.name.replace("_", "-")
                out.append(name)
        return out


# (option names, metavar, help) of each ConvArgs field, from the option table.
# Metavars are short (the forms are in the help), so that help screens read at 80 and
# 60 columns (a test scans them).
CONV_DECLS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    name: (OPTIONS[name].decls, OPTIONS[name].metavar, OPTIONS[name].help)
    for name in CONV_NAMES}
CONV_TYPES = {"bias": bool, "transposed": bool, "padding_mode": str}


def parse_dims(text: str | int | None) -> int | None:
    """--dims: 1, 2 or 3."""
    if text is None or isinstance(text, int):
        return text
    dims = parse_int(text, "--dims")
    if dims not in (1, 2, 3):
        raise ConvError(f"--dims {dims}: convolutions have 1, 2 or 3 spatial dims")
    return dims
