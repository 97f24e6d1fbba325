"""The Typer app: the root command, its version option, usage errors found while
parsing argv as one `Error:` line (exit 2) like every other error, and a lazy group:
a command's module is imported, and its parameters converted, only when that command
is looked up (`convcli shape` builds shape's options, not all eight commands').
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from convcli import __version__

# every command and the module that registers it with @app.command(), in --help order
COMMANDS = {"shape": "conv", "params": "conv", "show": "explore", "solve": "explore",
            "net": "models", "summary": "models", "run": "run", "verify": "verify"}
_SETTINGS = dict(pretty_exceptions_enable=False)


class _LazyCommands(MutableMapping):
    """name -> click command, built by Typer on first lookup. The names (so the
    "No such command" suggestions) are known without importing anything."""

    def __init__(self, built: dict):
        self._built = dict(built)

    def __getitem__(self, name: str):
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self):
        return iter(list(COMMANDS) + [n for n in self._built if n not in COMMANDS])

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._built))


def _build(name: str):
    """Import the command's module (its @app.command() registers it) and have Typer
    build that one command, as a one-command app, through its public get_command."""
    importlib.import_module(f"convcli.cli.{COMMANDS[name]}")
    info = next(i for i in reversed(app.registered_commands)
                if (i.name or i.callback.__name__.replace("_", "-")) == name)
    one = typer.Typer(add_completion=False, rich_markup_mode=app.rich_markup_mode,
                      **_SETTINGS)
    one.registered_commands.append(info)
    return typer.main.get_command(one)


class _OneLineErrors(TyperGroup):
    """Usage errors found while parsing argv (unknown option, missing argument) come
    out as one `Error:` line with exit 2, like every other error, instead of a panel;
    commands are built when looked up."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands)

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except Exception as e:
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.format_message())
                raise SystemExit(e.exit_code) from None
            if not (hasattr(e, "format_message")
                    and isinstance(getattr(e, "exit_code", None), int)):
                raise
            from convcli.views.console import error

            message = e.format_message()
            ctx = getattr(e, "ctx", None)
            if "No such option: -" in message and message.split(": ", 1)[1][1:2].isdigit():
                message += (" (a shape or number cannot start with '-': sizes and strides "
                            "are >= 0)")
            if ctx is not None:
                message += f" (see '{ctx.command_path} --help')"
            error(message)
            raise SystemExit(e.exit_code) from None
        raise SystemExit(code or 0)


app = typer.Typer(
    name="convcli",
    cls=_OneLineErrors,
    help="Shapes, weights, costs and numerical proof for PyTorch convolutions.",
    no_args_is_help=True,
    add_completion=True,
    **_SETTINGS,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        typer.echo(f"convcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
):
    """Shapes, weights, costs and numerical proof for PyTorch convolutions.

    Exit codes: 0 done, 1 a check found a mismatch, 2 bad usage or an impossible
    convolution, 3 environment (torch missing, device unavailable, over budget),
    130 interrupted.
    """
