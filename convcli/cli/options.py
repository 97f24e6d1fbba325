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
from dataclasses import fields
from typing import Annotated, Any, Callable, Optional

import typer

from convcli.cli.conv_args import CONV_DECLS, CONV_TYPES, ConvArgs, parse_dims
from convcli.network.conv_code import looks_like_code

__all__ = ["CONV_PANEL", "BytesDtype", "ConvArgs", "Dtype", "Json", "Sweep", "TensorDtype",
           "conv_options", "parse_dims"]

CONV_PANEL = "Convolution"


def _option(name: str, help_text: str | None, panel: str | None) -> Any:
    decls, metavar, default_help = CONV_DECLS[name]
    extra: dict[str, Any] = {}
    if metavar is not None:
        extra["metavar"] = metavar
    info = typer.Option(*decls, rich_help_panel=panel, help=help_text or default_help,
                        **extra)
    return Annotated[CONV_TYPES.get(name, Optional[str]), info]


def conv_options(*, required: bool = True, exclude: tuple[str, ...] = (),
                 defaults: dict[str, Any] | None = None,
                 help: dict[str, str] | None = None, code: bool = True) -> Callable:
    """Replace the command's ``conv: ConvArgs`` parameter with the conv options.

    ``required``: -o and -k have no default; ``exclude``: options this command does
    not offer (ConvArgs keeps its default); ``defaults`` / ``help``: per-option
    variations; ``code``: the command takes the conv as torch code too (CONV)."""
    defaults = defaults or {}
    help = help or {}
    offered = [f for f in fields(ConvArgs) if f.name in CONV_DECLS and f.name not in exclude]

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        params = list(sig.parameters.values())
        at = next(i for i, p in enumerate(params) if p.name == "conv")
        injected = []
        for f in offered:
            default = defaults.get(f.name, f.default)
            # required options come first in --help: in the first panel (Options)
            panel: str | None = CONV_PANEL
            if required and f.name in ("out_channels", "kernel_size"):
                panel = None    # missing ones: one error naming all (ConvArgs.read)
            injected.append(inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                annotation=_option(f.name, help.get(f.name), panel)))
        tail = [inspect.Parameter("code", inspect.Parameter.KEYWORD_ONLY, default=None,
                                  annotation=CodeArgument)] if code else []
        new = params[:at] + injected + params[at + 1:] + tail
        new = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in new]
        names = {f.name for f in offered}
        input_optional = "input" in sig.parameters and sig.parameters["input"].default is None

        @functools.wraps(fn)
        def wrapper(**kwargs):
            values = {n: kwargs.pop(n) for n in list(kwargs) if n in names}
            text = kwargs.pop("code", None)
            if input_optional and text is None and looks_like_code(kwargs.get("input")):
                text, kwargs["input"] = kwargs["input"], None   # `show "Conv2d(...)"`
            conv = ConvArgs(**values, code=text, command=fn.__name__)
            return fn(conv=conv.resolved(), **kwargs)

        wrapper.__signature__ = sig.replace(parameters=new)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in new}
        del wrapper.__wrapped__  # Typer must see the new signature, not fn's
        return wrapper

    return decorate


CodeArgument = Annotated[Optional[str], typer.Argument(
    metavar="CONV", show_default=False,
    help="The conv as torch code, e.g. \"Conv2d(16, 32, 3, stride=2, padding=1)\" (nn. "
         "or torch.nn. optional; print(model)'s form too); options given beside it must "
         "agree.")]


# ---- other options shared by several commands -------------------------------------
# --dtype means something else per command: each says what
BytesDtype = Annotated[str, typer.Option(
    "--dtype", metavar="DTYPE", help="Element type the byte counts assume: float32 (4 "
                                     "bytes), float64, float16 or bfloat16.")]
TensorDtype = Annotated[str, typer.Option(
    "--dtype", metavar="DTYPE",
    help="Element type torch computes in: float32, float64, float16 or bfloat16; the "
         "float64 reference allows its tolerance.")]
Dtype = BytesDtype
Json = Annotated[bool, typer.Option("--json", help="One JSON object on stdout (docs/json.md).")]
Sweep = Annotated[Optional[list[str]], typer.Option(
    "--sweep", metavar="SWEEP",
    help="Ask for several values at once: k=3,5,7 (one value per dim with x: k=3x3,5x5); "
         "repeat for every combination. One row each.")]
