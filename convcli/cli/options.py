"""The option table (option_table.py, command_options.py) turned into Typer parameters.

A command names its parameters; ``@table_options("run")`` gives each one its Typer
declaration, default, help, panel and value completion from the table, adds a hidden
option per old spelling, and hands the body values already read by the table's
parsers (option_values.read: the one place a word is validated). The twelve conv
options enter through ``@conv_options("run")``, which replaces the command's
``conv: ConvArgs`` parameter (Typer reads ``inspect.signature`` and
``__annotations__``) and hands the command one ConvArgs; ``ConvArgs.spec()`` turns its
strings into a validated ConvSpec (calculator world).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import fields
from typing import Annotated, Any, Callable, List, Optional

import typer

from convcli.cli.command_options import COMMANDS, Use, default_of
from convcli.cli.conv_args import ConvArgs, parse_dims
from convcli.cli.option_table import CONV_NAMES, CONV_PANEL, MAIN, OPTIONS
from convcli.cli.option_values import completer, old_name, read, take_old
from convcli.network.conv_code import looks_like_code

__all__ = ["CONV_PANEL", "ConvArgs", "conv_options", "parse_dims", "table_options"]


def _typer_param(command: str, name: str, use: Use, panel: str | None) -> Any:
    """Annotated[type, typer.Option or typer.Argument] for ``name`` on ``command``."""
    d = OPTIONS[name]
    help_text = use.help or d.help
    if d.kind == "argument":
        return Annotated[str if use.required else Optional[str], typer.Argument(
            metavar=d.decls[0], help=help_text, show_default=False)]
    extra: dict[str, Any] = {}
    if d.metavar is not None or use.metavar is not None:
        extra["metavar"] = use.metavar or d.metavar
    complete = completer(command, name)
    if complete is not None:
        extra["autocompletion"] = complete
    if not use.required and (use.panel or d.panel) is not None:
        panel = None if (use.panel or d.panel) == MAIN else use.panel or d.panel
    kind = {"flag": bool, "multiple": Optional[List[str]]}.get(d.kind, Optional[str])
    return Annotated[kind, typer.Option(*d.decls, rich_help_panel=panel, help=help_text,
                                        **extra)]


def _old_param(name: str, i: int, old: str) -> inspect.Parameter:
    return inspect.Parameter(
        old_name(name, i), inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[Optional[str], typer.Option(old, hidden=True)])


def _check_declared(command: str, p: inspect.Parameter) -> None:
    if p.name != "conv" and p.default is inspect.Parameter.empty and \
            "Annotated" not in repr(p.annotation):
        raise TypeError(f"{command}: parameter {p.name} is neither in the table "
                        "(command_options.py) nor declared with typer.Option")


def table_options(command: str) -> Callable:
    """Declare the command's parameters from the table; the body gets parsed values."""
    cmd = COMMANDS[command]

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        params = list(sig.parameters.values())
        declared = [p.name for p in params if p.name in cmd.uses]
        if declared != list(cmd.uses):
            raise TypeError(f"{command}: parameters {declared} are not the table's "
                            f"{list(cmd.uses)} (command_options.py)")
        new = []
        for p in params:
            if p.name not in cmd.uses:
                # conv, or an option declared on the function with Annotated[...,
                # typer.Option(...)]: passed through as declared (docs/options.md
                # lists it from the Typer command)
                _check_declared(command, p)
                new.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
                continue
            use = cmd.uses[p.name]
            # an option with old spellings is required after they are folded in
            required = use.required and not use.old
            panel = None if use.required else cmd.panel
            default = inspect.Parameter.empty if required else default_of(command, p.name)
            new.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                         default=default,
                                         annotation=_typer_param(command, p.name, use, panel)))
            new += [_old_param(p.name, i, old) for i, old in enumerate(use.old)]

        @functools.wraps(fn)
        def wrapper(**kwargs):
            return fn(**read(command, take_old(command, kwargs)))

        wrapper.__signature__ = sig.replace(parameters=new)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in new}
        del wrapper.__wrapped__  # Typer must see the new signature, not fn's
        return wrapper

    return decorate


def _conv_option(command: str, name: str, help_text: str | None, panel: str | None) -> Any:
    d = OPTIONS[name]
    extra: dict[str, Any] = {}
    if d.metavar is not None:
        extra["metavar"] = d.metavar
    complete = completer(command, name)
    if complete is not None:
        extra["autocompletion"] = complete
    info = typer.Option(*d.decls, rich_help_panel=panel, help=help_text or d.help, **extra)
    return Annotated[bool if d.kind == "flag" else Optional[str], info]


def conv_options(command: str) -> Callable:
    """Replace the command's ``conv: ConvArgs`` parameter with the conv options the
    table gives ``command`` (command_options.Conv: which are left out, required, other
    defaults, other help)."""
    conv = COMMANDS[command].conv
    assert conv is not None, f"{command} takes no conv options"
    offered = [f for f in fields(ConvArgs) if f.name in CONV_NAMES and f.name not in conv.exclude]

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        params = list(sig.parameters.values())
        at = next(i for i, p in enumerate(params) if p.name == "conv")
        injected = []
        for f in offered:
            default = conv.defaults.get(f.name, f.default)
            # required options come first in --help: in the first panel (Options)
            panel: str | None = CONV_PANEL
            if conv.required and f.name in ("out_channels", "kernel_size"):
                panel = None    # missing ones: one error naming all (ConvArgs.read)
            injected.append(inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                annotation=_conv_option(command, f.name, conv.help.get(f.name), panel)))
        tail = [inspect.Parameter("code", inspect.Parameter.KEYWORD_ONLY, default=None,
                                  annotation=CodeArgument)] if conv.code else []
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
            conv = ConvArgs(**values, code=text, command=command)
            return fn(conv=conv.resolved(), **kwargs)

        wrapper.__signature__ = sig.replace(parameters=new)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in new}
        del wrapper.__wrapped__  # Typer must see the new signature, not fn's
        return wrapper

    return decorate


CodeArgument = Annotated[Optional[str], typer.Argument(
    metavar=OPTIONS["code"].decls[0], help=OPTIONS["code"].help, show_default=False)]
