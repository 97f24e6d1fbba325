"""The conv options as the user typed them: ``ConvArgs`` (twelve strings and flags),
their names, metavars and help (``CONV_DECLS``, from option_table.py), and
``ConvArgs.spec()``, which turns them into a validated ConvSpec (calculator world). No typer here: the fast path
(fast_path.py) parses argv with these declarations without importing it; options.py
builds the Typer options from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
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
    # not options: the conv as torch code (the CONV argument), what fixed dims when not
    # --dims (the constructor's class), and the command, for messages
    code: Optional[str] = None
    dims_by: Optional[str] = None
    command: Optional[str] = None

    def spec(self, input_shape=None, **changes: Any) -> ConvSpec:
        """A validated ConvSpec; dims and in_channels come from INPUT when not given."""
        return self.read(input_shape, **changes)[0]

    def read(self, input_shape=None, *, weight_shape=None, **changes: Any
             ) -> tuple[ConvSpec, Interpretation | None]:
        """The ConvSpec and how INPUT's rank was read (calculator/interpret.py);
        ``weight_shape``: a weight file's, which fixes the dims and gives -o and -k."""
        args = self.resolved()
        values = {n: getattr(args, n) for n in CONV_DECLS}
        values.update(changes)
        weight_dims = _from_weight(values, weight_shape, input_shape)
        args.check_missing(values, input_shape)
        for name, default in (("stride", "1"), ("padding", "0"), ("dilation", "1"),
                              ("groups", "1"), ("output_padding", "0")):
            if values[name] is None:
                values[name] = default
        values["dims"] = parse_dims(values["dims"])
        return read_spec(input_shape=input_shape, dims_by=args.dims_by,
                         weight_dims=weight_dims, **values)

    def resolved(self) -> ConvArgs:
        """The constructor text (CONV) merged into the options: its values as option
        text, an option that disagrees an error naming both (calculator/described.py)."""
        if not self.code:
            return self
        from convcli.calculator.described import merge_code
        from convcli.network.conv_code import read_conv_code

        code = read_conv_code(self.code)
        values = merge_code(code.spec, code.text, self.given_values(), FLAGS)
        return replace(self, code=None, dims_by=code.name, **values)

    def check_missing(self, values: dict, input_shape, extra: list[str] | None = None
                      ) -> None:
        """One error naming every missing option, with a command that runs."""
        missing = [n for n in ("in_channels", "out_channels", "kernel_size")
                   if values[n] is None and (n != "in_channels" or input_shape is None)]
        if not missing:
            return
        from convcli.calculator.described import missing_message
        from convcli.formatting import shape_x

        command = self.command or "shape"
        before, typed = [], self.typed() + (extra or [])
        if input_shape is not None:
            if command == "params":
                typed = ["--input", shape_x(input_shape), *typed]
            else:
                before = [shape_x(input_shape)]
        alternatives = {"in_channels": "--input" if command == "params" else "INPUT"}
        raise ConvError(missing_message(command, missing, typed, self.given_values(),
                                        FLAGS, alternatives, before))

    def sweeps(self, texts: list[str] | None, input_shape=None, *, weight_shape=None,
               limit: int | None = None, why: str = ""):
        """--sweep's texts -> Sweeps (calculator/sweep_grid.py); an option set beside its
        sweep is an error (a constructor's values are what a sweep varies), and so
        is an option missing from both (a weight file's shape gives some); ``limit``:
        the most combinations the command takes (``why``: its reason)."""
        from convcli.calculator.sweep_grid import MAX_COMBINATIONS, parse_sweeps
        given = [] if self.code or self.dims_by else list(self.given_values())
        sweeps = parse_sweeps(texts or [], SWEEP_NAMES, given, limit or MAX_COMBINATIONS,
                              why)
        args = self.resolved()
        values = {n: getattr(args, n) for n in CONV_DECLS}
        values.update({s.field: s.values[0] for s in sweeps})
        _from_weight(values, weight_shape, input_shape)
        words = [w for t in texts or [] for w in ("--sweep", _quoted(t))]
        args.check_missing(values, input_shape, words)
        return sweeps

    def given_values(self) -> dict[str, Any]:
        """The options set to other than their defaults: name -> text (or flag)."""
        defaults = {f.name: f.default for f in fields(self)}
        return {n: getattr(self, n) for n in CONV_DECLS
                if getattr(self, n) is not None and getattr(self, n) != defaults[n]}

    def typed(self) -> list[str]:
        """The options given, as words of a command line."""
        words: list[str] = []
        for name, value in self.given_values().items():
            if name == "bias":
                words.append("--no-bias")
            elif isinstance(value, bool):
                words.append(CONV_DECLS[name][0][0])
            else:
                words += [CONV_DECLS[name][0][0], _quoted(str(value))]
        return words

    def given(self) -> list[str]:
        """The options changed from their defaults, as the user wrote them."""
        return ["--no-bias" if n == "bias" else "--" + n.replace("_", "-")
                for n in self.given_values()]


def _from_weight(values: dict, weight_shape, input_shape) -> int | None:
    """A weight file's shape fills in what it gives (-o, -k; -i from groups) where
    not given; returns the dims it fixes (None where it fixes none)."""
    if weight_shape is None:
        return None
    from convcli.calculator.described import weight_values
    found = weight_values(weight_shape, bool(values["transposed"]), values["groups"])
    weight_dims = len(weight_shape) - 2 if found else None
    if input_shape is not None and weight_dims is not None and \
            len(input_shape) not in (weight_dims + 1, weight_dims + 2):
        weight_dims = None      # the weight check names both shapes
    for name, text in found.items():
        if values[name] is None:
            values[name] = text
    return weight_dims


def _quoted(word: str) -> str:
    import shlex
    return shlex.quote(word)


# (option names, metavar, help) of each ConvArgs field, from the option table.
# Metavars are short (the forms are in the help), so that help screens read at 80 and
# 60 columns (a test scans them).
CONV_DECLS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    name: (OPTIONS[name].decls, OPTIONS[name].metavar, OPTIONS[name].help)
    for name in CONV_NAMES}
CONV_TYPES = {"bias": bool, "transposed": bool, "padding_mode": str}
# each option's short and long name, for messages: -k/--kernel-size
FLAGS = {name: "/".join(sorted((d.split("/")[0] for d in decls), key=len))
         for name, (decls, _, _) in CONV_DECLS.items()}

# the names --sweep NAME=... takes for each option that holds a value: k, kernel-size,
# kernel_size
SWEEP_NAMES = {alias: name for name, (decls, _, _) in CONV_DECLS.items()
               if CONV_TYPES.get(name) is not bool
               for alias in (name, *(d.lstrip("-") for d in decls))}


def parse_dims(text: str | int | None) -> int | None:
    """--dims: 1, 2 or 3."""
    if text is None or isinstance(text, int):
        return text
    dims = parse_int(text, "--dims")
    if dims not in (1, 2, 3):
        raise ConvError(f"--dims {dims}: convolutions have 1, 2 or 3 spatial dims")
    return dims
