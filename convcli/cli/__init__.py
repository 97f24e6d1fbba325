"""The cli world: the Typer app (app.py), the one error funnel (funnel.py), the shared
options declared once (options.py, conv_args.py), one module per command family:
conv.py (shape, params), explore.py (show, solve), run.py, verify.py, models.py (net,
summary), apply.py, and the fast path (fast.py, calc.py) that answers well-formed
shape and params without Typer. Commands are parse -> core -> view; torch and numpy
are imported inside the commands that need them.

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
