"""convcli: shapes, weights, costs and numerical proof for PyTorch convolutions.

The public API is pinned by ``__all__`` (and a test). Importing convcli loads
neither torch nor numpy, and ConvSpec's module only when it is first used (the
console script installs its signal handlers before anything else is imported).

For notebooks and scripts::

    report = convcli.summary(model, input_size=(1, 3, 224, 224))   # torchinfo's call
    report = convcli.summarise(model, (1, 3, 224, 224))    # an in-memory nn.Module
    report = convcli.analyse_net("1x3x32x32", "Conv2d(3, 16, 3), ReLU()")
    report                      # Jupyter draws the table; print(report), rich.print too
    report.total_mult_adds, report.summary_list[0].output_size, report.to_dict()

All three return a ``NetReport`` (convcli.network.net_report), the data the CLI prints,
with torchinfo's names for its totals and rows. Errors are ConvError (bad input) and
EnvironmentProblem (torch missing), with the CLI's one-line messages.
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
    from convcli.network.net_report import NetReport

__version__ = "0.1.0"

__all__ = ["ConvError", "ConvSpec", "EnvironmentProblem", "__version__", "analyse_net",
           "summarise", "summary"]


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
    from dataclasses import replace

    from convcli.calculator.parse import parse_bytes
    from convcli.engine.summary.dropin import param_facts
    from convcli.engine.summary.inputs import from_values
    from convcli.engine.summary.trace import Options, summarise_module
    from convcli.engine.torch_adapter import import_torch
    import convcli.views.report_text  # noqa: F401 - registers how a report draws itself

    torch = import_torch()     # EnvironmentProblem, not ModuleNotFoundError, without it
    if not isinstance(model, torch.nn.Module):
        raise ConvError(f"model: {type(model).__name__} is not a torch.nn.Module")
    specs, args, kw = from_values(inputs, kwargs)
    limit = parse_bytes(max_memory) if isinstance(max_memory, str) else max_memory
    report = summarise_module(model, specs, args, kw, Options(depth=depth, max_memory=limit))
    return replace(report, view=param_facts(model))


def summary(model, input_size=None, input_data=None, batch_dim=None,
            cache_forward_pass=None, col_names=None, col_width=25, depth=3, device=None,
            dtypes=None, mode="same", row_settings=None, verbose=None,
            **kwargs) -> NetReport:
    """torchinfo's ``summary``, counted by convcli: change ``from torchinfo import
    summary`` to ``from convcli import summary``.

    The arguments mean what torchinfo's do (docs/python.md has them side by side):
    ``input_size`` (a size or a list of sizes, with the batch), or ``input_data`` (a
    tensor, a list of forward()'s arguments, nested containers allowed, or a dict of
    its keyword arguments); ``batch_dim`` inserts a batch of 1 into each size;
    ``dtypes`` one per size; ``col_names`` (input_size, output_size, num_params,
    params_percent, kernel_size, mult_adds, trainable; default: convcli's columns);
    ``depth`` rows down to that nesting depth; ``mode`` same/train/eval; ``row_settings``
    (depth, var_names: convcli's tree always shows both; ascii_only;
    hide_recursive_layers); ``verbose`` 0 prints nothing, 1 the table, 2 the table and
    every parameter; other keyword arguments go to forward(). ``device``: checked, but
    the pass runs on the meta device (shapes only) and the model is never moved, so the
    numbers do not depend on it. ``cache_forward_pass`` and ``col_width`` are accepted
    (rich sizes the columns; the meta pass is quick to repeat).

    Returns the report: torchinfo's totals (``total_params``, ``trainable_params``,
    ``total_mult_adds``, ``total_input``, ``total_output_bytes``,
    ``total_param_bytes``, ``summary_list``) and convcli's (``total_flops``,
    ``macs_complete``, ``notes``, ``to_dict()``). MACs are torch's own count
    (FlopCounterMode / 2) where torchinfo's formulas are wrong (transposed convs,
    attention, Linear on inputs of more than 2 dims).
    """
    from dataclasses import replace

    from convcli.engine.summary.dropin import param_facts, read_call
    from convcli.engine.summary.trace import Options, summarise_module
    import convcli.views.report_text  # noqa: F401 - registers how a report draws itself

    if cache_forward_pass not in (None, True, False):
        raise ConvError(f"cache_forward_pass={cache_forward_pass!r}: use True or False")
    call = read_call(model, input_size, input_data, batch_dim, col_names, col_width, depth,
                     device, dtypes, mode, row_settings, verbose, kwargs)
    real = call.make_inputs("cpu") if call.given else ((None,), {})
    report = summarise_module(model, call.specs, real[0], real[1],
                              Options(depth=depth, mode=call.mode,
                                      make_inputs=call.make_inputs))
    facts = param_facts(model)
    notes = [n for n in report.notes
             if not (call.packed_first and n.startswith("the batch changed"))]
    if facts["pruned_params"]:
        notes.append(f"{facts['pruned_params']:,} of the params are masked to zero by "
                     "pruning (torch.nn.utils.prune keeps weight_orig whole): "
                     f"{report.total_params - facts['pruned_params']:,} remain, the "
                     "total torchinfo shows")
    report = replace(report, notes=notes, view={**call.view, **facts})
    if call.verbose:
        print(report)
    return report


def analyse_net(shape, text: str, *, names: dict | None = None) -> NetReport:
    """Rows, params and MACs of a stack of layers written as text (what ``convcli net``
    reads, print(model) output of an nn.Sequential included), without torch.
    ``shape``: ``(1, 3, 32, 32)`` or ``"1x3x32x32"``; ``names``: values for the names
    the text uses (``{"ngf": 64}``)."""
    from convcli.calculator.parse import parse_shape
    from convcli.network.text import parse_layers
    from convcli.network.walk import analyse_net as walk
    import convcli.views.report_text  # noqa: F401 - registers how a report draws itself

    input_shape = parse_shape(shape) if isinstance(shape, str) else tuple(shape)
    return walk(input_shape, parse_layers(text, "text", names))
