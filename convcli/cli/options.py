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

__all__ = ["CONV_PANEL", "BytesDtype", "ConvArgs", "Dtype", "Json", "TensorDtype",
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
            # required options come first in --help: in the first panel (Options)
            panel: str | None = CONV_PANEL
            if required and f.name in ("out_channels", "kernel_size"):
                default, panel = inspect.Parameter.empty, None
            injected.append(inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                annotation=_option(f.name, help.get(f.name), panel)))
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
