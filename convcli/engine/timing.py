"""Timed calls: warmup + repeat, perf_counter on the CPU, CUDA events on a GPU."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError


@dataclass(frozen=True)
class Timing:
    """Milliseconds per call over ``repeat`` timed calls after ``warmup`` untimed ones."""

    median_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float
    repeat: int
    warmup: int
    method: str          # 'perf_counter' | 'cuda events'
    times_ms: tuple[float, ...] = field(repr=False, default=())

    def as_dict(self) -> dict:
        return {"median_ms": self.median_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
                "mean_ms": self.mean_ms, "repeat": self.repeat, "warmup": self.warmup,
                "method": self.method}


def time_calls(fn, *, repeat: int, warmup: int, cuda: bool = False, progress=None,
               label: str = "timing", device_index: int | None = None):
    """Call ``fn`` warmup + repeat times; time the last ``repeat`` calls. On CUDA each
    call is bracketed by events (on ``device_index``'s current stream) and synchronised,
    so the time is the GPU's.
    ``progress(done, total, label)`` is called between calls, outside the timed region.
    Returns (Timing, the last call's result)."""
    if repeat < 1 or warmup < 0:
        raise ConvError(f"repeat={repeat}, warmup={warmup}: need repeat >= 1 and warmup >= 0")
    torch = import_torch()
    if cuda and device_index is not None:
        with torch.cuda.device(device_index):
            return time_calls(fn, repeat=repeat, warmup=warmup, cuda=True, progress=progress,
                              label=label)
    total = warmup + repeat
    times = []
    out = None
    if cuda:
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    clock = time.perf_counter_ns
    for i in range(total):
        out = None
        if cuda:
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            ms = start.elapsed_time(end)
        else:
            t0 = clock()
            out = fn()
            ms = (clock() - t0) / 1e6
        if i >= warmup:
            times.append(ms)
        if progress is not None:
            progress(i + 1, total, label)
    timing = Timing(statistics.median(times), min(times), max(times), statistics.fmean(times),
                    repeat, warmup, "cuda events" if cuda else "perf_counter", tuple(times))
    return timing, out
