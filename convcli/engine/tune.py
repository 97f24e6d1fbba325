"""`convcli run --tune`: the same convolution in the other layouts, cudnn.benchmark
settings (CUDA) and dtypes, timed round-robin with the requested variant ("yours") in
the same rounds, each margin with its measured spread, the fastest marked.

Timing: every round calls every variant once, in a rotated order
(``timing.time_round_robin``), so load from elsewhere falls on all of them alike.
Each variant's speed-up over yours is the median of its per-round ratios with a 95%
bootstrap interval. An A/A control, yours timed a second time in the same rounds,
shows how far two identical variants drift apart here (order, caches, neighbours);
a variant whose interval reaches within that drift of 1.0 is "within the measured
spread" of yours: no measured difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from convcli.engine.devices import Device
from convcli.engine.timing import Spread, Timing, spread, time_round_robin, timing_of
from convcli.engine import torch_adapter
from convcli.engine.torch_errors import is_unsupported, torch_failure
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import one_line

if TYPE_CHECKING:
    from convcli.engine.conv_run import Plan


@dataclass(frozen=True)
class TuneRow:
    """One variant --tune timed: layout, cudnn.benchmark (CUDA only) and dtype."""

    dtype: str
    channels_last: bool
    cudnn_benchmark: bool | None
    timing: Timing | None        # None when the variant cannot run here (see error)
    gflops: float | None
    max_abs_diff: float | None   # vs the requested variant's output, compared in float32
    requested: bool = False      # the configuration the user asked for
    fastest: bool = False
    error: str | None = None     # e.g. a dtype this device's torch has no kernel for
    control: bool = False        # the A/A control: yours, timed a second time
    speedup: Spread | None = None   # yours / this, per round; its 95% interval
    within_spread: bool = False  # no difference from yours beyond the measured spread

    @property
    def label(self) -> str:
        parts = [self.dtype, "channels_last" if self.channels_last else "contiguous"]
        if self.cudnn_benchmark is not None:
            parts.append(f"cudnn.benchmark={'on' if self.cudnn_benchmark else 'off'}")
        return ", ".join(parts) + (" (A/A control)" if self.control else "")

    @property
    def short_label(self) -> str:
        """'bfloat16 NHWC bench' (the layout names of a 2d conv; 3d the same)."""
        layout = "NHWC" if self.channels_last else "NCHW"
        bench = "" if self.cudnn_benchmark is None else \
            (" bench" if self.cudnn_benchmark else " no-bench")
        return f"{self.dtype} {layout}{bench}"

    def as_dict(self) -> dict:
        sp = self.speedup
        return {"dtype": self.dtype, "channels_last": self.channels_last,
                "cudnn_benchmark": self.cudnn_benchmark,
                "timing": None if self.timing is None else self.timing.as_dict(),
                "gflops": self.gflops, "max_abs_diff": self.max_abs_diff,
                "requested": self.requested, "fastest": self.fastest, "error": self.error,
                "control": self.control,
                "speedup": None if sp is None else sp.ratio,
                "speedup_interval": None if sp is None else [sp.low, sp.high],
                "within_spread": self.within_spread}


def _variants(plan: Plan, dev: Device, bench_before) -> list[TuneRow]:
    """Every dtype x layout x cudnn.benchmark (CUDA), then the A/A control."""
    spec, opts = plan.spec, plan.options
    layouts = [False]
    if spec.dims in (2, 3) and len(plan.input_shape) == spec.dims + 2:
        layouts.append(True)
    benches = [False, True] if dev.is_cuda else [None]
    rows = [TuneRow(dt, cl, bench, None, None, None,
                    requested=(dt == plan.dtype and cl == opts.channels_last
                               and bench in (None, bench_before)))
            for dt in plan.tune_dtypes or (plan.dtype,) for cl in layouts for bench in benches]
    yours = next(r for r in rows if r.requested)
    return rows + [replace(yours, requested=False, control=True)]


def tune_variants(torch, plan: Plan, dev: Device, prepare, macs: int, out,
                  progress, bench_before) -> tuple[TuneRow, ...]:
    """Time every variant round-robin on the same values (``prepare(dtype,
    channels_last)`` makes the tensors; all are resident while the rounds run), yours
    and its A/A control among them. A dtype the device has no kernel for is a row
    with its error. The fastest is marked."""
    reference = out.float()
    rows = _variants(plan, dev, bench_before)
    calls, befores, live = [], [], []
    tensors: dict = {}
    try:
        for i, row in enumerate(rows):
            key = (row.dtype, row.channels_last)
            if key not in tensors:
                tensors[key] = prepare(*key)
            call, before = _call(torch, plan, tensors[key], row)
            diff = _first_call(torch, plan, dev, call, before, row, reference)
            if isinstance(diff, str):
                rows[i] = replace(row, error=diff)
                continue
            rows[i] = replace(row, max_abs_diff=diff)
            calls.append(call)
            befores.append(before)
            live.append(i)
        with torch.inference_mode():
            times = time_round_robin(calls, rounds=plan.options.repeat,
                                     warmup=max(plan.options.warmup, 1) - 1, cuda=dev.is_cuda,
                                     before=befores, progress=progress,
                                     device_index=dev.index, label="tune: round-robin")
    finally:
        if dev.is_cuda:
            torch.backends.cudnn.benchmark = bench_before
    return _judge(rows, dict(zip(live, times)), macs, plan.options.warmup, dev.is_cuda)


def _call(torch, plan: Plan, tensors, row: TuneRow):
    x, w, b = tensors

    def call():
        return torch_adapter.functional(plan.spec, x, w, b)

    bench = row.cudnn_benchmark
    if bench is None:
        return call, None

    def before():
        torch.backends.cudnn.benchmark = bench

    return call, before


def _first_call(torch, plan: Plan, dev: Device, call, before, row: TuneRow, reference):
    """One untimed call: the max abs difference from yours, or the error text when
    the device has no kernel for the variant's dtype; other failures are raised."""
    try:
        if before:
            before()
        with torch.inference_mode():
            y = call()
    except (KeyboardInterrupt, ConvError, EnvironmentProblem):
        raise
    except Exception as e:  # noqa: BLE001 - a dtype the device lacks
        if not is_unsupported(e):
            raise torch_failure(e, plan.spec, row.dtype, dev, tuple(reference.shape)) from None
        return f"not supported: {one_line(e)}"
    return float((y.float() - reference).abs().max()) if y.numel() else 0.0


def _judge(rows: list[TuneRow], times: dict, macs: int, warmup: int,
           cuda: bool) -> tuple[TuneRow, ...]:
    """Timings, speed-ups against yours with their intervals, the A/A control's
    drift as the noise band, and the fastest."""
    yours = next(i for i, r in enumerate(rows) if r.requested)
    control = next(i for i, r in enumerate(rows) if r.control)
    out = list(rows)
    for i, t in times.items():
        timing = timing_of(t, warmup, cuda)
        sp = None if i == yours else spread(t, times[yours])
        out[i] = replace(out[i], timing=timing, speedup=sp,
                         gflops=2 * macs / (timing.median_ms / 1e3) / 1e9
                         if timing.median_ms > 0 else 0.0)
    aa = out[control].speedup
    drift = 0.0 if aa is None else max(abs(aa.low - 1.0), abs(aa.high - 1.0))
    for i, r in enumerate(out):
        if r.speedup is not None and not r.control:
            out[i] = replace(r, within_spread=r.speedup.reaches(1.0 - drift, 1.0 + drift))
    timed = {i: r.timing.median_ms for i, r in enumerate(out)
             if r.timing is not None and not r.control}
    best = min(timed, key=timed.__getitem__)
    return tuple(replace(r, fastest=i == best) for i, r in enumerate(out))
