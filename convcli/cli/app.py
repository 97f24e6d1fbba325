"""The Typer app: the root command, its version option, usage errors found while
parsing argv as one `Error:` line (exit 2) like every other error, and a lazy group:
a command's module is imported, and its parameters converted, only when that command
is looked up (`convcli shape` builds shape's options, not all eight commands').
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import MutableMapping
from typing import Annotated, Any, Optional, Protocol, runtime_checkable

import typer
from typer.core import TyperCommand, TyperGroup

from convcli import __version__

# every command and the module that registers it with @app.command(), in --help order
COMMANDS = {"shape": "conv_commands", "params": "conv_commands",
            "show": "show_solve_commands", "solve": "show_solve_commands",
            "net": "net_summary_commands", "summary": "net_summary_commands",
            "run": "run_command", "verify": "verify_command", "apply": "apply_command",
            "diff": "diff_command"}
_SETTINGS: dict[str, Any] = dict(pretty_exceptions_enable=False)


class _LazyCommands(MutableMapping):
    """name -> click command, built by Typer on first lookup. The names (so the
    "No such command" suggestions) are known without importing anything."""

    def __init__(self, built: MutableMapping):
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
                if (i.name or getattr(i.callback, "__name__", "").replace("_", "-")) == name)
    one = typer.Typer(add_completion=False, rich_markup_mode=app.rich_markup_mode,
                      **_SETTINGS)
    one.registered_commands.append(info)
    return typer.main.get_command(one)


@runtime_checkable
class _ClickError(Protocol):
    """What a click usage error has (click's own or the copy inside typer)."""

    exit_code: int

    def format_message(self) -> str: ...


class _OneLineErrors(TyperGroup):
    """Usage errors found while parsing argv (unknown option, missing argument) come
    out as one `Error:` line with exit 2, like every other error, instead of a panel;
    commands are built when looked up."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands)

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

    def format_help(self, ctx, formatter) -> None:
        _help_without_trailing_spaces(super().format_help, ctx, formatter)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             windows_expand_args=True, **extra):
        extra["windows_expand_args"] = windows_expand_args
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        named = _named_shell(list(sys.argv[1:] if args is None else args))
        if named is not None:
            _completion_for(*named, prog_name or "convcli")
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except Exception as e:
            if not (isinstance(e, _ClickError) and isinstance(e.exit_code, int)):
                raise
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.format_message())
                raise SystemExit(e.exit_code) from None
            from convcli.views.console import error

            message = e.format_message()
            ctx = getattr(e, "ctx", None)
            if "No such option: -" in message and message.split(": ", 1)[1][1:2].isdigit():
                message += (" (a shape or number cannot start with '-': sizes and strides "
                            "are >= 0)")
            if ctx is not None:
                message = _nearest(message, ctx)
                message += f" (see '{ctx.command_path} --help')"
            error(message)
            raise SystemExit(e.exit_code) from None
        raise SystemExit(code or 0)


def _nearest(message: str, ctx) -> str:
    """'No such option: --out' names the option it most likely meant (--out-channels),
    not click's closest spelling (--groups)."""
    if not message.startswith("No such option: --"):
        return message
    from convcli.calculator.parse import nearest_option

    word = message.split(": ", 1)[1].split()[0]
    names = [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts)
             if o.startswith("--")]
    guess = nearest_option(word, names)
    base = message.split(" (Possible options", 1)[0].split(" Did you mean", 1)[0]
    return f"{base} (did you mean {guess}?)" if guess else base


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
_COMPLETION = ("--install-completion", "--show-completion")


def _named_shell(argv: list[str]) -> tuple[str, str] | None:
    """(option, shell) for `--install-completion zsh` / `--show-completion=fish`:
    Typer's option is a flag that asks the parent process's shell (bash, for a
    script run from bash), so a shell named on the command line would be ignored."""
    if len(argv) == 2 and argv[0] in _COMPLETION:
        return argv[0], argv[1]
    if len(argv) == 1 and argv[0].partition("=")[0] in _COMPLETION and "=" in argv[0]:
        option, _, shell = argv[0].partition("=")
        return option, shell
    return None


def _completion_for(option: str, shell: str, prog_name: str) -> None:
    """Install or show the named shell's completion; exit."""
    from typer.completion import get_completion_script, install

    if shell not in SHELLS:
        from convcli.views.console import error
        error(f"{option} {shell!r}: not a shell convcli completes; use one of "
              f"{', '.join(SHELLS)} (or no name: the shell you run)")
        raise SystemExit(2)
    complete_var = f"_{prog_name.replace('-', '_').upper()}_COMPLETE"
    if option == "--show-completion":
        typer.echo(get_completion_script(prog_name=prog_name, complete_var=complete_var,
                                         shell=shell))
    else:
        installed, path = install(shell=shell, prog_name=prog_name,
                                  complete_var=complete_var)
        typer.echo(f"{installed} completion installed in {path}")
        typer.echo("Completion will take effect once you restart the terminal")
    raise SystemExit(0)


class _Command(TyperCommand):
    """A command whose help reads well at any width: each docstring paragraph is one
    line of text that the terminal wraps (Typer's rich help keeps a docstring's hard
    line breaks), INPUT not {INPUT} in the usage line, and no <str> beside each
    argument (what INPUT accepts is said in its help)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.help = _reflow(self.help)
        for param in self.params:
            if param.param_type_name == "argument":
                param.type = _untyped(param.type)

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p
                for p in super().collect_usage_pieces(ctx)]

    def format_help(self, ctx, formatter) -> None:
        _help_without_trailing_spaces(super().format_help, ctx, formatter)


def _help_without_trailing_spaces(format_help, ctx, formatter) -> None:
    """Typer's help, with no spaces at the ends of lines when stdout is not a terminal
    (as all of convcli's output)."""
    from convcli.views.console import trailing_spaces_dropped

    with trailing_spaces_dropped():
        format_help(ctx, formatter)


def _reflow(text: str | None) -> str | None:
    """Paragraphs (blank-line separated) each joined into one line; a paragraph that
    starts with \\b (click's "keep my line breaks") is left alone."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split())
                        for p in paragraphs)


def _untyped(param_type):
    """The same parameter type, with no metavar of its own to show."""
    base: Any = type(param_type)     # (a class mypy cannot know until run time)

    class Untyped(base):
        def get_metavar(self, param, ctx):
            return ""

    untyped = Untyped.__new__(Untyped)
    untyped.__dict__.update(param_type.__dict__)
    return untyped


class _App(typer.Typer):
    """typer.Typer whose commands are ``_Command`` unless a command says otherwise."""

    def command(self, name=None, *, cls=None, **kwargs):
        return super().command(name, cls=cls or _Command, **kwargs)


app = _App(
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
