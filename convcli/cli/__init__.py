"""The cli world: the Typer app (app.py), the one error funnel (funnel.py), the shared
options declared once (options.py), and one module per command family: conv.py
(shape, params), explore.py (show, solve), run.py, verify.py, models.py (net,
summary). Commands are parse -> core -> view; torch and numpy are imported inside the
commands that need them.
"""

from convcli.cli import conv, explore, models, run, verify  # noqa: F401 - registers commands
from convcli.cli import apply  # noqa: F401 - registers `apply`
from convcli.cli.app import app

__all__ = ["app"]
