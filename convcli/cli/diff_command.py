"""`convcli diff BASE HEAD`: what a change did to a model's params, MACs, activations
and training memory, row by row, with budgets on the result and on the change."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator, List, Optional

from convcli.cli.app import app
from convcli.cli.budget_options import finish, limits, output_format
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.net_summary_commands import train_options
from convcli.cli.options import table_options
from convcli.errors import ConvError
from convcli.files import only_one_stdin


@app.command()
@errors_to_exit_code
@table_options("diff")
def diff(base: str, head: str, inputs: Optional[List[str]], args: Optional[str],
         depth: Optional[int], train: bool, optimizer: str, amp: Optional[str], max_memory,
         max_params: Optional[str], max_macs: Optional[str], max_activations: Optional[str],
         max_train_memory: Optional[str], max_params_increase: Optional[str],
         max_macs_increase: Optional[str], max_activations_increase: Optional[str],
         max_train_memory_increase: Optional[str], format: str, junit: Optional[str],
         dtype: str, json: bool):
    """Compare two models (or two saved summaries): the change in params, MACs, \
activations and (--train) training memory per module and in total, largest first.

    Rows are matched by module path; a module under a new path with the same type and \
counts is shown as renamed, the others as added or removed; unchanged rows are folded. \
Budgets apply to HEAD (--max-macs) and to the change (--max-macs-increase 5%); exit 1 \
when one fails.

    Example: convcli diff base.json head.json --max-macs-increase 5% --format markdown
    """
    from convcli.engine.budgets import needs_train
    from convcli.engine.model_diff import diff as compare
    from convcli.views.budget_view import diff_dict, diff_tables
    from convcli.views.markdown import diff_md

    only_one_stdin({"BASE": base, "HEAD": head})
    fmt = output_format(format, json)
    budgets = limits(max_params, max_macs, max_activations, max_train_memory, junit, {
        "params": max_params_increase, "macs": max_macs_increase,
        "activations": max_activations_increase, "train_memory": max_train_memory_increase})
    model = _Models(inputs or [], args, depth, train or needs_train(budgets), optimizer, amp,
                    dtype, max_memory)
    old, new = model.side(base, "BASE"), model.side(head, "HEAD")
    d = compare(old, new, _label(base, old), _label(head, new))
    finish(diff_dict(d), lambda: diff_tables(d), lambda results: diff_md(d, results),
           budgets, fmt, junit, {"command": "diff", "model": d.head_model,
                                 "base": d.base_model, "dtype": new.get("dtype", "")},
           base=old, checked=new)


class _Models:
    """A side given as a model: summarised with the options given once for both."""

    def __init__(self, inputs, args, depth, train, optimizer, amp, dtype, max_memory):
        """The values as the option table read them (summary's parsers)."""
        self.inputs, self.args, self.depth, self.dtype = inputs, args, depth, dtype
        self.train = train_options(train, optimizer, amp, dtype, None, False, "cpu")
        self.max_memory = max_memory

    def side(self, target: str, side: str) -> dict:
        if _is_json(target):
            from convcli.engine.model_diff import load_report
            from convcli.views.jsonout import JSON_VERSION
            return load_report(target, side, JSON_VERSION)
        if os.path.isdir(target):
            raise ConvError(f"{side} {target!r} is a folder: give a summary --json file or "
                            "a model (FILE.py:NAME)")
        if not self.inputs:
            raise ConvError(f"{side} {target!r} is a model: give --input (what forward() "
                            "receives, e.g. --input 1x3x224x224), or a summary --json file")
        return self._summarise(target)

    def _summarise(self, target: str) -> dict:
        from convcli.engine.summary.inputs import parse_inputs
        from convcli.engine.summary.isolation import user_code
        from convcli.engine.summary.loading import parse_args
        from convcli.engine.summary.model_sources import resolve
        from convcli.engine.summary.trace import Options, summarise_source
        from convcli.views.net_data import net_dict

        pos, kw = parse_args(self.args)
        options = Options(depth=self.depth, train=self.train, fields=False,
                          max_memory=self.max_memory)
        with _fresh_imports(target), user_code():
            report = summarise_source(resolve(target, pos, kw), parse_inputs(self.inputs),
                                      options)
        return net_dict(report, self.dtype)


def _label(target: str, data: dict) -> str:
    """A model by the name it was given; a file by the model it holds."""
    if target == "-":
        return f"stdin ({data['model']})" if data.get("model") else "stdin"
    if not _is_json(target):
        return target
    return f"{os.path.basename(target)} ({data['model']})" if data.get("model") else target


def _is_json(target: str) -> bool:
    return target == "-" or target.lower().endswith(".json") or (os.path.isfile(target)
                                                and not target.endswith(".py"))


@contextmanager
def _fresh_imports(target: str) -> Iterator[None]:
    """A model file's imports from its own folder are its own: a module of the same
    name loaded from elsewhere (BASE's `blocks.py`, seen by HEAD's `from blocks
    import Block`) is forgotten before the file runs, and what it imported from its
    folder is forgotten after."""
    from convcli.engine.summary.loading import is_file_target, parse_target

    path = parse_target(target)[0]
    folder = os.path.dirname(os.path.realpath(path)) + os.sep
    if is_file_target(path):
        _forget(lambda name, real: not real.startswith(folder) and (
            os.path.exists(folder + name.split(".")[0] + ".py")
            or os.path.isdir(folder + name.split(".")[0])))
    before = set(sys.modules)
    try:
        yield
    finally:
        if is_file_target(path):
            _forget(lambda name, real: name not in before and real.startswith(folder))


def _forget(which) -> None:
    """Drop the modules ``which(name, real file)`` picks, never an installed one."""
    installed = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        real = os.path.realpath(file)
        if not real.startswith(installed) and which(name, real):
            sys.modules.pop(name, None)
