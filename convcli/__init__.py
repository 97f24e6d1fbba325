"""convcli: shapes, weights, costs and numerical proof for PyTorch convolutions.

The public API is pinned by ``__all__`` (and a test). Importing convcli loads
neither torch nor numpy, and ConvSpec's module only when it is first used (the
console script installs its signal handlers before anything else is imported).

For notebooks and scripts::

    report = convcli.summarise(model, (1, 3, 224, 224))    # an in-memory nn.Module
    report = convcli.analyse_net("1x3x32x32", "Conv2d(3, 16, 3), ReLU()")
    report                      # Jupyter draws the table; rich.print(report) too
    report.total_macs, report.rows[0].output_shape

Both return a ``NetReport`` (convcli.network.report), the data the CLI prints.
"""

from __future__ import annotations

import sys

# Run as the console script or `python -m convcli`, this is convcli's first statement:
# Ctrl-C and SIGTERM from here are kept for main.py (convcli.process), never a
# traceback from inside an import. Imported as a library, nothing changes.
_signals_before_main: list[int] = []
if (sys.argv[0].rsplit("/", 1)[-1] == "convcli"
        or getattr(sys, "orig_argv", [None])[1:3] == ["-m", "convcli"]):
    import _signal
    for _s in (_signal.SIGINT, _signal.SIGTERM):
        _signal.signal(_s, lambda signum, frame: _signals_before_main.append(signum))

from typing import TYPE_CHECKING, Any  # noqa: E402

from convcli.errors import ConvError, EnvironmentProblem  # noqa: E402

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec
    from convcli.network.report import NetReport

__version__ = "0.1.0"

__all__ = ["ConvError", "ConvSpec", "EnvironmentProblem", "__version__", "analyse_net",
           "summarise"]


def __getattr__(name: str) -> Any:
    if name == "ConvSpec":
        from convcli.calculator.spec import ConvSpec
        return ConvSpec
    raise AttributeError(f"module 'convcli' has no attribute {name!r}")


def summarise(model, inputs=None, *, kwargs: dict | None = None, depth: int | None = None,
              max_memory: int | str | None = None) -> NetReport:
    """Rows, params and MACs of an in-memory ``torch.nn.Module``.

    ``inputs``: what forward() receives positionally: a tensor, a shape
    (``(1, 3, 224, 224)`` or ``"1x3x224x224"``, dtype ``"ids=1x128:int64"``-style
    text allowed) or a list of them; ``kwargs`` maps keyword arguments to the same.
    The model runs on the meta device through copies of its tensors (it is neither
    moved nor changed); a forward() that needs real data runs once on the CPU, on
    the tensors given (zeros where only a shape was), under ``max_memory`` (bytes,
    '8GiB' or '50%'; default 75% of the available RAM). ``depth``: rows for the
    blocks down to that depth, as ``convcli summary --depth``.
    """
    from convcli.calculator.parse import parse_bytes
    from convcli.engine.summary.inputs import from_values
    from convcli.engine.summary.trace import Options, summarise_module
    import convcli.views.net  # noqa: F401 - registers how a report draws itself

    specs, args, kw = from_values(inputs, kwargs)
    limit = parse_bytes(max_memory) if isinstance(max_memory, str) else max_memory
    return summarise_module(model, specs, args, kw, Options(depth=depth, max_memory=limit))


def analyse_net(shape, text: str, *, names: dict | None = None) -> NetReport:
    """Rows, params and MACs of a stack of layers written as text (what ``convcli net``
    reads, print(model) output of an nn.Sequential included), without torch.
    ``shape``: ``(1, 3, 32, 32)`` or ``"1x3x32x32"``; ``names``: values for the names
    the text uses (``{"ngf": 64}``)."""
    from convcli.calculator.parse import parse_shape
    from convcli.network.text import parse_layers
    from convcli.network.walk import analyse_net as walk
    import convcli.views.net  # noqa: F401 - registers how a report draws itself

    input_shape = parse_shape(shape) if isinstance(shape, str) else tuple(shape)
    return walk(input_shape, parse_layers(text, "text", names))
