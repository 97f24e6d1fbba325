"""`summary --train`, put together: the estimate for one step at the input's batch, in
the summary's rows; `--budget` (the largest batch that fits, and what dominates);
`--measure` (one real step, measured). The rows are the counted pass's (trace.py);
the training pass's module calls are matched to them by name and call number.
torch is imported inside functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from convcli.engine.summary.inputs import InputSpec
from convcli.engine.summary.optim import state_by_param
from convcli.engine.summary.saved_tensors import (SavedPass, batch_of, estimate_pass,
                                             fake_mode, real_pass, with_batch)
from convcli.engine.torch_adapter import import_torch
from convcli.network.train_report import Budget, TrainReport, TrainRow, largest_batch


@dataclass
class TrainOptions:
    optimizer: str = "adamw"
    amp: str | None = None            # bf16 | fp16 (autocast, fp32 master weights)
    dtype: str = "float32"            # the whole model in this dtype
    budget: int | None = None         # bytes
    measure: bool = False
    device: str = "cpu"
    dist: Any = None                  # sharding.DistOptions: --gpus / --strategy
    source: Any = None                # (target, args, set, freeze, unfreeze): --measure --gpus


@dataclass
class Builders:
    meta: Callable[[], Any] | None    # the model on meta (None: it cannot be built there)
    cpu: Callable[[], Any]            # the model for real, seeded


def train_memory(builders: Builders, run, specs: list[InputSpec], params,
                 topts: TrainOptions) -> tuple[dict[int, TrainRow], TrainReport]:
    """Per counted call: its TrainRow; and the totals."""
    saved, state, model, method, notes = _one_step(builders, run, specs, topts, None)
    rows = _rows(run.rec, saved, state, model, params)
    report = _totals(model, saved, state, specs, topts, method, notes)
    if topts.dist is not None:
        from convcli.engine.summary.distributed import with_dist
        return rows, with_dist(report, (saved, state, model),
                               lambda n: _one_step(builders, run, specs, topts, n)[:3],
                               specs, topts)
    if topts.budget is not None:
        report = _with_budget(report, builders, run, specs, topts)
    if topts.measure:
        from convcli.engine.summary.measure import measure_step
        report = _replace(report, measured=measure_step(builders.cpu, specs, topts, run))
    return rows, report


def _one_step(builders: Builders, run, specs, topts: TrainOptions, batch: int | None):
    """(SavedPass, state by param, the model it ran, method, notes) for one batch."""
    torch = import_torch()
    specs = with_batch(specs, batch)
    notes = ["the loss's own saves are not included (a sum saves nothing; "
             "cross-entropy adds about its input)"]
    if run.path == "meta" and builders.meta is not None:
        with torch.device("meta"):
            model = builders.meta()
        model = _cast(model, topts.dtype)
        if fake_mode() is None:
            notes.append("FakeTensorMode is missing from this torch: estimated on the meta "
                          "device, where autocast does nothing and SDPA takes its math path")
            method = "meta"
        else:
            method = "fake-cpu"
        saved, state = estimate_pass(model, specs, topts.dtype, topts.amp, topts.optimizer)
        return saved, state, model, method, notes
    from convcli.engine.memory import memory_limit
    from convcli.engine.summary.guard import MemoryGuard
    limit, source = memory_limit("cpu", None)
    model = _cast(builders.cpu(), topts.dtype)
    guard = MemoryGuard(limit, source, sum(s.nbytes(topts.dtype) for s in specs))
    saved = real_pass(model, specs, topts.dtype, topts.amp, guard)
    notes.append("forward() cannot run on fake tensors (data-dependent): measured on a real "
                 "CPU forward on zeros")
    state = state_by_param(model, topts.optimizer, fake=False, rule=True)
    return saved, state, model, "cpu-real", notes


def _cast(model, dtype: str):
    torch = import_torch()
    return model if dtype == "float32" else model.to(getattr(torch, dtype))


def _rows(rec, saved: SavedPass, state: dict[str, int], model, params) -> dict[int, TrainRow]:
    """TrainRow per call of the counted pass (calls matched by name and number)."""
    index = {(c.qual, c.number): c.index for c in rec.calls}
    train_calls = saved.rec.calls if saved.rec is not None else []
    out: dict[int, TrainRow] = {}

    def add(call: int | None, row: TrainRow) -> None:
        if call is None:
            call = rec.calls[0].index if rec.calls else 0
        out[call] = out.get(call, TrainRow()) + row

    for call, nbytes in saved.by_call().items():
        target = None
        if call is not None and call < len(train_calls):
            c = train_calls[call]
            target = index.get((c.qual, c.number))
        add(target, TrainRow(activation_bytes=nbytes))
    for name, p in model.named_parameters():
        if name not in params.owner:
            continue
        b = p.numel() * p.element_size()
        add(params.owner[name], TrainRow(b, b if p.requires_grad else 0, state.get(name, 0)))
    return out


def _totals(model, saved: SavedPass, state, specs, topts: TrainOptions, method: str,
            notes: list[str]) -> TrainReport:
    params = list(model.parameters())
    p_bytes = sum(p.numel() * p.element_size() for p in params)
    g_bytes = sum(p.numel() * p.element_size() for p in params if p.requires_grad)
    b_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    batch = batch_of(specs[0]) if specs else 1
    return TrainReport(topts.dtype, topts.amp, topts.optimizer, batch, p_bytes, b_bytes,
                       g_bytes, sum(state.values()), saved.total(),
                       sum(s.nbytes(topts.dtype) for s in specs),
                       saved.total("param") + saved.total("buffer"), method, notes)


def _replace(report: TrainReport, **changes) -> TrainReport:
    from dataclasses import replace
    return replace(report, **changes)


def _with_budget(report: TrainReport, builders: Builders, run, specs, topts) -> TrainReport:
    """The largest batch: activations fitted as fixed + per_sample * N at N = 2 and 4
    (BatchNorm refuses 1 sample in training), then checked at the answer and the next."""
    static = report.param_bytes + report.buffer_bytes + report.grad_bytes + \
        report.state_bytes
    cache: dict[int, int] = {}

    def total(n: int) -> int:
        if n not in cache:
            saved = _one_step(builders, run, specs, topts, n)[0]
            per_input = sum(s.nbytes(topts.dtype) for s in with_batch(specs, n))
            cache[n] = static + saved.total() + per_input
        return cache[n]

    per = (total(4) - total(2)) // 2
    fixed = total(2) - 2 * per
    n, at_n, at_next = largest_batch(topts.budget, fixed, per, total)
    parts = dict(report.parts())
    shown = n or 1
    parts["activations"] = total(shown) - static - sum(
        s.nbytes(topts.dtype) for s in with_batch(specs, shown))
    parts["input batch"] = sum(s.nbytes(topts.dtype) for s in with_batch(specs, shown))
    dominant = max(parts, key=lambda k: parts[k])
    return _replace(report, budget=Budget(topts.budget, n, at_n, at_next, fixed, per,
                                          dominant))
