"""`convcli run --tune`: the same convolution in the other layouts, cudnn.benchmark
settings (CUDA) and dtypes, timed on the same tensors, the fastest marked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from convcli.engine.devices import Device
from convcli.engine.timing import Timing, time_calls
from convcli.engine import torch_adapter
from convcli.engine.torch_errors import is_unsupported, torch_failure
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import one_line

if TYPE_CHECKING:
    from convcli.engine.run import Plan


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

    @property
    def label(self) -> str:
        parts = [self.dtype, "channels_last" if self.channels_last else "contiguous"]
        if self.cudnn_benchmark is not None:
            parts.append(f"cudnn.benchmark={'on' if self.cudnn_benchmark else 'off'}")
        return ", ".join(parts)

    @property
    def short_label(self) -> str:
        """'bfloat16 NHWC bench' (the layout names of a 2d conv; 3d the same)."""
        layout = "NHWC" if self.channels_last else "NCHW"
        bench = "" if self.cudnn_benchmark is None else \
            (" bench" if self.cudnn_benchmark else " no-bench")
        return f"{self.dtype} {layout}{bench}"

    def as_dict(self) -> dict:
        return {"dtype": self.dtype, "channels_last": self.channels_last,
                "cudnn_benchmark": self.cudnn_benchmark,
                "timing": None if self.timing is None else self.timing.as_dict(),
                "gflops": self.gflops, "max_abs_diff": self.max_abs_diff,
                "requested": self.requested, "fastest": self.fastest, "error": self.error}


def tune_variants(torch, plan: Plan, dev: Device, prepare, macs: int, timing: Timing, out,
                  progress, bench_before) -> tuple[TuneRow, ...]:
    """Every layout x cudnn.benchmark (CUDA) x dtype on the same tensors (``prepare(dtype,
    channels_last)`` makes them); the requested variant reuses ``timing`` and ``out``.
    The fastest is marked; a dtype the device has no kernel for is a row with its error."""
    spec, opts = plan.spec, plan.options
    layouts = [False]
    if spec.dims in (2, 3) and len(plan.input_shape) == spec.dims + 2:
        layouts.append(True)
    benches = [False, True] if dev.is_cuda else [None]
    reference = out.float()
    rows = []
    try:
        for dt in plan.tune_dtypes or (plan.dtype,):
            for cl in layouts:
                tensors = prepare(dt, cl)
                for bench in benches:
                    requested = (dt == plan.dtype and cl == opts.channels_last
                                 and bench in (None, bench_before))
                    if requested:
                        t, y = timing, out
                    else:
                        measured = _time_variant(torch, plan, dev, tensors, TuneRow(
                            dt, cl, bench, None, None, None), progress, tuple(out.shape))
                        if isinstance(measured, TuneRow):
                            rows.append(measured)
                            continue
                        t, y = measured
                    diff = float((y.float() - reference).abs().max()) if y.numel() else 0.0
                    rows.append(TuneRow(dt, cl, bench, t, 2 * macs / (t.median_ms / 1e3) / 1e9
                                        if t.median_ms > 0 else 0.0, diff, requested))
                    y = None
                tensors = None
    finally:
        if dev.is_cuda:
            torch.backends.cudnn.benchmark = bench_before
    best = min((i for i, r in enumerate(rows) if r.timing is not None),
               key=lambda i: rows[i].timing.median_ms)
    return tuple(replace(r, fastest=i == best) for i, r in enumerate(rows))


def _time_variant(torch, plan: Plan, dev: Device, tensors, row: TuneRow, progress, shape):
    """(Timing, output) of one variant, or ``row`` with the error when the device has
    no kernel for its dtype; any other failure is raised, translated."""
    x, w, b = tensors
    if row.cudnn_benchmark is not None:
        torch.backends.cudnn.benchmark = row.cudnn_benchmark
    try:
        with torch.inference_mode():
            return time_calls(lambda: torch_adapter.functional(plan.spec, x, w, b),
                              repeat=plan.options.repeat, warmup=max(plan.options.warmup, 1),
                              cuda=dev.is_cuda, progress=progress, device_index=dev.index,
                              label="tune " + row.label)
    except (KeyboardInterrupt, ConvError, EnvironmentProblem):
        raise
    except Exception as e:  # noqa: BLE001 - a dtype the device lacks
        if not is_unsupported(e):
            raise torch_failure(e, plan.spec, row.dtype, dev, shape) from None
        return replace(row, error=f"not supported: {one_line(e)}")
