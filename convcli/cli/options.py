"""Options shared by several commands, declared once.

The twelve conv options live in ``ConvArgs`` (the strings the user typed) and enter a
command through ``@conv_options(...)``, which extends the command's signature where
its ``conv: ConvArgs`` parameter stands (Typer reads ``inspect.signature`` and
``__annotations__``) and hands the command one ConvArgs. Per-command variations are
arguments of the decorator: which options are left out, other defaults, other help.
``ConvArgs.spec()`` turns the strings into a validated ConvSpec (calculator world).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, fields
from typing import Annotated, Any, Callable, Optional

import typer

from convcli.calculator.interpret import Interpretation, read_spec
from convcli.calculator.parse import parse_int
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

CONV_PANEL = "Convolution"


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


# (option names, metavar, help) of each ConvArgs field
_DECLS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "out_channels": (("--out-channels", "-o"), "INT", "Output channels."),
    "kernel_size": (("--kernel-size", "-k"), "INT|TUPLE",
                    "Kernel size: 3, or one per spatial dim as 3,5 or 3x5."),
    "in_channels": (("--in-channels", "-i"), "INT",
                    "Input channels (default: read from INPUT; if given it must match, and "
                    "it picks the reading where INPUT's rank allows two)."),
    "stride": (("--stride", "-s"), "INT|TUPLE", "Stride."),
    "padding": (("--padding", "-p"), "INT|TUPLE|same|valid",
                "Padding per side: 1, 1,2, 'same' (stride 1 only) or 'valid' (= 0)."),
    "dilation": (("--dilation", "-d"), "INT|TUPLE", "Dilation."),
    "groups": (("--groups", "-g"), "INT",
               "Groups: must divide both channel counts; groups = in_channels is depthwise."),
    "bias": (("--bias/--no-bias",), None, "Learnable bias (torch's default: on)."),
    "padding_mode": (("--padding-mode",), "zeros|reflect|replicate|circular",
                     "How padding is filled (transposed convs: zeros only)."),
    "transposed": (("--transposed", "-t"), None, "ConvTranspose instead of Conv."),
    "output_padding": (("--output-padding",), "INT|TUPLE",
                       "Extra size on one side of a transposed conv's output (< stride or "
                       "dilation)."),
    "dims": (("--dims",), "1|2|3",
             "Spatial dims (default: a tuple option's length, else an -i that fits only one "
             "reading of INPUT, else 2 when INPUT's rank allows it: 3 is C,H,W, 4 is N,C,H,W)."),
}
_TYPES = {"bias": bool, "transposed": bool, "padding_mode": str}


def parse_dims(text: str | int | None) -> int | None:
    """--dims: 1, 2 or 3."""
    if text is None or isinstance(text, int):
        return text
    dims = parse_int(text, "--dims")
    if dims not in (1, 2, 3):
        raise ConvError(f"--dims {dims}: convolutions have 1, 2 or 3 spatial dims")
    return dims


def _option(name: str, help_text: str | None) -> Any:
    decls, metavar, default_help = _DECLS[name]
    extra: dict[str, Any] = {}
    if metavar is not None:
        extra["metavar"] = metavar
    info = typer.Option(*decls, rich_help_panel=CONV_PANEL, help=help_text or default_help,
                        **extra)
    return Annotated[_TYPES.get(name, Optional[str]), info]


def conv_options(*, required: bool = True, exclude: tuple[str, ...] = (),
                 defaults: dict[str, Any] | None = None,
                 help: dict[str, str] | None = None) -> Callable:
    """Replace the command's ``conv: ConvArgs`` parameter with the conv options.

    ``required``: -o and -k have no default; ``exclude``: options this command does
    not offer (ConvArgs keeps its default); ``defaults`` / ``help``: per-option
    variations."""
    defaults = defaults or {}
    help = help or {}
    offered = [f for f in fields(ConvArgs) if f.name not in exclude]

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        params = list(sig.parameters.values())
        at = next(i for i, p in enumerate(params) if p.name == "conv")
        injected = []
        for f in offered:
            default = defaults.get(f.name, f.default)
            if required and f.name in ("out_channels", "kernel_size"):
                default = inspect.Parameter.empty
            injected.append(inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                annotation=_option(f.name, help.get(f.name))))
        new = params[:at] + injected + params[at + 1:]
        new = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in new]
        names = {f.name for f in offered}

        @functools.wraps(fn)
        def wrapper(**kwargs):
            values = {n: kwargs.pop(n) for n in list(kwargs) if n in names}
            return fn(conv=ConvArgs(**values), **kwargs)

        wrapper.__signature__ = sig.replace(parameters=new)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in new}
        del wrapper.__wrapped__  # Typer must see the new signature, not fn's
        return wrapper

    return decorate


# ---- other options shared by several commands -------------------------------------
_DTYPES = "float32|float64|float16|bfloat16"
# --dtype means something else per command: each says what
BytesDtype = Annotated[str, typer.Option(
    "--dtype", metavar=_DTYPES, help="Element type the byte counts assume (float32: 4 bytes).")]
TensorDtype = Annotated[str, typer.Option(
    "--dtype", metavar=_DTYPES,
    help="Element type torch computes in; the float64 reference allows its tolerance.")]
Dtype = BytesDtype
Json = Annotated[bool, typer.Option("--json", help="One JSON object on stdout (keys in README).")]
