"""`convcli run --sweep`: one timed run per combination of the swept conv options
(calculator/sweep_grid.py), each by ``conv_run.run`` with the same RunOptions
(--device, --dtype, --threads, --repeat, ...) and the same input tensor, built once
(run_tensors.py's cache).

Everything that can be refused is refused before the first run: what cannot combine
with a sweep (``check_sweep``: --tune, --save, an option a --weight-file or
--bias-file fixes, more than MAX_RUNS runs), each combination's conv and plan (a
ConvError is that row's reason, as in shape's sweep), and each combination's memory
guard on the device (one over the budget refuses the sweep, naming it). While the
rows run, a conv torch refuses is that row's reason too (a Mismatch is kept apart: it
is a bug, and the command exits 1 after the table); the output tensors are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import prod
from typing import TYPE_CHECKING, Any

from convcli.calculator.sweep_grid import Sweep, SweepRow, label, names, sweep
from convcli.engine import conv_run
from convcli.engine.conv_run import (Notice, Plan, Progress, RunOptions, RunResult,
                                     device_and_budget, torch_threads)
from convcli.engine.devices import resolve_device
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem, Mismatch

if TYPE_CHECKING:
    from convcli.calculator.interpret import Interpretation
    from convcli.calculator.spec import ConvSpec

MAX_RUNS = 100   # each combination is a timed run: warmup + repeat calls
RUNS_WHY = ", since run times each one; give fewer values"
# what a --weight-file's shape gives (with INPUT's channels), and a --bias-file's
WEIGHT_FIXES = ("out_channels", "in_channels", "groups", "kernel_size", "dims")
BIAS_FIXES = ("out_channels",)


@dataclass(frozen=True)
class SweptRun:
    """One row's run (its output tensor dropped) and how INPUT's rank was read."""

    result: RunResult
    reading: Interpretation | None


@dataclass(frozen=True)
class SweepRuns:
    """Every row, in the order of the combinations; ``mismatch``: the first row whose
    output disagreed with the prediction (a bug in convcli), else None."""

    sweeps: tuple[Sweep, ...]
    rows: tuple[SweepRow[SweptRun], ...]
    mismatch: str | None = None


def check_sweep(sweeps: Sequence[Sweep], options: RunOptions, tune: bool = False) -> None:
    """What cannot combine with --sweep: one ConvError (exit 2) naming it."""
    if not sweeps:
        return
    texts = " ".join(f"--sweep {s.name}={','.join(s.values)}" for s in sweeps)
    if tune:
        raise ConvError(f"{texts} with --tune: --tune times the variants of one conv; "
                        "sweep without --tune, then --tune the row you pick")
    if options.save is not None:
        raise ConvError(f"{texts} with --save: --save writes the output of one conv; "
                        "sweep without --save, then --save the row you pick")
    for path, option, fixed, gives, free in (
            (options.weight, "--weight-file", WEIGHT_FIXES, "-o, -i/--groups and -k",
             "stride, padding, dilation or the padding mode"),
            (options.bias, "--bias-file", BIAS_FIXES, "-o", "another option")):
        hit = [s for s in sweeps if s.field in fixed] if path is not None else []
        if hit:
            raise ConvError(f"--sweep {hit[0].name}: {option} {path!r} fixes "
                            f"--{hit[0].field.replace('_', '-')} (its shape gives {gives}); "
                            f"sweep {free}, or drop {option}")
    runs = prod(len(s.values) for s in sweeps)
    if runs > MAX_RUNS:
        raise ConvError(f"--sweep: {runs:,} combinations; at most {MAX_RUNS:,} in one "
                        f"command{RUNS_WHY}")


def plan_sweep(sweeps: Sequence[Sweep],
               read: Callable[[dict], tuple[ConvSpec, Interpretation | None]],
               input: Any, options: RunOptions) -> list[SweepRow[tuple[Plan, Any]]]:
    """Every combination's (Plan, reading) or the reason it is refused; nothing
    imported or allocated. A plan over the memory budget refuses the sweep."""
    def answer(changes: dict):
        spec, reading = read(changes)
        try:
            return conv_run.plan(spec, input, options), reading
        except EnvironmentProblem as e:
            raise EnvironmentProblem(f"--sweep {label(sweeps, changes)}: {e}") from None
    return sweep(sweeps, answer)


def run_sweep(sweeps: Sequence[Sweep], planned: Sequence[SweepRow[tuple[Plan, Any]]],
              progress: Progress | None = None, notice: Notice | None = None) -> SweepRuns:
    """Each planned row's memory guard on the device first, then one run per row."""
    torch = import_torch()
    ok = [r.answer for r in planned if r.answer is not None]
    options = ok[0][0].options
    resolve_device(options.device)        # a missing device is no row's fault
    with torch_threads(torch, options.threads):
        for r in planned:
            if r.answer is not None:
                try:
                    device_and_budget(torch, r.answer[0])
                except EnvironmentProblem as e:
                    raise EnvironmentProblem(f"--sweep {label(sweeps, r.values)}: "
                                             f"{e}") from None
    seen: set[str] = set()

    def once(text: str) -> None:        # a warning that is the same for every row
        if text not in seen:
            seen.add(text)
            (notice or (lambda _: None))(text)

    per = options.warmup + options.repeat
    inputs: dict = {}
    rows: list[SweepRow[SweptRun]] = []
    mismatch = None
    for i, (p, reading) in enumerate(ok):
        def step(done: int, _total: int, _label: str, base: int = i * per) -> None:
            if progress is not None:     # one bar over every row's calls
                progress(base + done, len(ok) * per,
                         f"--sweep {names(sweeps)}: {len(ok)} runs")
        try:   # the output tensor is let go before the next row runs (no name holds it)
            rows.append(SweepRow({}, SweptRun(replace(conv_run.run(
                p.spec, p.in_file.path if p.in_file else p.input_shape, options, step, once,
                inputs), output=None), reading), None))
        except (ConvError, Mismatch) as e:
            mismatch = mismatch or (str(e) if isinstance(e, Mismatch) else None)
            rows.append(SweepRow({}, None, str(e)))
    it = iter(rows)
    return SweepRuns(tuple(sweeps), tuple(
        SweepRow(r.values, None, r.error) if r.answer is None else
        replace(next(it), values=r.values) for r in planned), mismatch)
