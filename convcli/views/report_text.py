"""How a report (NetReport) shows itself outside a command: ``str(report)`` and
``print(report)`` (plain text at the terminal's width), Jupyter's HTML and text,
``report.to_dict()`` (the command's --json) and ``report.to_pandas()``. Importing this
module registers those renderers (network/report_face.py calls them); the tables
themselves are net_view.py's."""

from __future__ import annotations

import io
import shutil
from typing import TYPE_CHECKING

from rich.console import Console

from convcli.network.net_report import RENDERERS
from convcli.views.net_view import renderables
from convcli.views.net_data import net_dict

if TYPE_CHECKING:
    from convcli.network.net_report import NetReport

HTML_WIDTH = 110    # a notebook cell's output area, in characters


def _console(width: int, record: bool = False) -> Console:
    return Console(file=io.StringIO(), width=width, record=record, color_system=None,
                   force_terminal=False, force_jupyter=False, highlight=False,
                   emoji=False, soft_wrap=False)


def _plain(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def as_text(report: NetReport) -> str:
    """The table and the totals as plain text, at the terminal's width (100 columns
    where there is no terminal), without trailing spaces."""
    width = report.view.get("width") or shutil.get_terminal_size((100, 24)).columns
    console = _console(width)
    for r in renderables(report, report.dtype):
        console.print(r)
    return _plain(console.file.getvalue())  # type: ignore[attr-defined]


def mimebundle(report: NetReport) -> dict:
    """Jupyter's output: the HTML table (rich's export, styles inline) and the text.
    The HTML is exported first and the record kept (``export_text()`` clears rich's
    record buffer by default: the HTML was once an empty <pre>)."""
    console = _console(HTML_WIDTH, record=True)
    for r in renderables(report, report.dtype):
        console.print(r)
    html = console.export_html(inline_styles=True, clear=False)
    return {"text/plain": _plain(console.export_text(clear=True)), "text/html": html}


def as_dict(report: NetReport) -> dict:
    return net_dict(report, report.dtype)


def as_pandas(report: NetReport):
    try:
        import pandas
    except ImportError:
        from convcli.errors import EnvironmentProblem
        raise EnvironmentProblem("report.to_pandas() needs pandas, which is not installed: "
                                 "pip install pandas (or use report.to_dict())") from None
    return pandas.DataFrame([
        {"name": r.name or r.layer, "class_name": r.class_name, "var_name": r.var_name,
         "depth": r.depth, "input_size": r.input_size, "output_size": r.output_size,
         "num_params": r.num_params, "trainable_params": r.trainable_params,
         "macs": r.macs, "trainable": r.trainable, "container": r.container,
         "own_code": r.own}
        for r in report.rows])


RENDERERS.update({"text": as_text, "mimebundle": mimebundle, "dict": as_dict,
                  "pandas": as_pandas})
