"""The Typer app: the root command, its version option, and usage errors found while
parsing argv as one `Error:` line (exit 2) like every other error."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from convcli import __version__


class _OneLineErrors(TyperGroup):
    """Usage errors found while parsing argv (unknown option, missing argument) come
    out as one `Error:` line with exit 2, like every other error, instead of a panel."""

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
    pretty_exceptions_enable=False,
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
