"""The cli world: the Typer app (app.py), the one error handler of commands
(command_errors.py), the options declared once (option_table.py, command_options.py,
options.py, conv_args.py), one module per command family: conv_commands.py (shape,
params), show_solve_commands.py, run_command.py, verify_command.py,
net_summary_commands.py, apply_command.py, diff_command.py, and the fast path
(fast_path.py, calculator_commands.py) that answers well-formed shape, params and net
without Typer. Commands are parse -> core -> view; torch and numpy are imported inside
the commands that need them.

Importing this package imports no typer (the fast path lives in it): ``app`` is
loaded on first use, and each command's module only when that command is looked up
(app.py's lazy group).
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["app"]


class _Package(ModuleType):
    """``convcli.cli.app`` is the Typer app, as it always was, although ``app`` is
    also the name of the submodule that defines it (which the import system binds
    here when it first loads it)."""

    @property
    def app(self):
        from convcli.cli.app import app
        return app

    @app.setter
    def app(self, value) -> None:
        pass  # the import system binding the submodule: the name stays the Typer app


sys.modules[__name__].__class__ = _Package
