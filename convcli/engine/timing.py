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

    @property
    def quartiles_ms(self) -> tuple[float, float] | None:
        """The first and third quartile of the timed calls (None under 4 calls)."""
        if len(self.times_ms) < 4:
            return None
        q = statistics.quantiles(self.times_ms, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def spread(self) -> float | None:
        """The interquartile range of the timed calls as a share of their median (None
        under 4 calls or for a zero median)."""
        q = self.quartiles_ms
        if q is None or self.median_ms <= 0:
            return None
        return (q[1] - q[0]) / self.median_ms

    def spread_note(self) -> str | None:
        """When the middle half of the calls spreads over more than a quarter of the
        median (IQR > 25%), the machine was likely busy: say so and how to steady it."""
        q, share = self.quartiles_ms, self.spread
        if q is None or share is None or share <= SPREAD_LIMIT:
            return None
        return (f"the timings spread widely: the middle half of the calls took "
                f"{q[0]:.4g} to {q[1]:.4g} ms (an interquartile range of {share:.0%} of "
                f"the median), so the machine was likely busy; --threads 1 or a larger "
                f"--repeat (now {self.repeat}) gives steadier numbers")

    def as_dict(self) -> dict:
        q = self.quartiles_ms
        return {"median_ms": self.median_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
                "mean_ms": self.mean_ms, "repeat": self.repeat, "warmup": self.warmup,
                "method": self.method, "iqr_ms": None if q is None else q[1] - q[0],
                "spread_note": self.spread_note()}


SPREAD_LIMIT = 0.25     # IQR / median above which run says the timings spread widely


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


def time_round_robin(calls, *, rounds: int, warmup: int, cuda: bool = False,
                     before=None, progress=None, label: str = "timing",
                     device_index: int | None = None,
                     clock=time.perf_counter_ns) -> list[list[float]]:
    """Time several zero-argument ``calls`` interleaved: every round calls each once,
    in an order rotated by one per round, so whatever the machine does meanwhile (a
    neighbour's job, clock changes, a warm cache) falls on every call alike and the
    per-round ratios cancel it. ``rounds`` is rounded up to a multiple of the number
    of calls (each sits in each position equally often). ``before[i]()`` runs ahead
    of call i, outside the timed region (e.g. setting cudnn.benchmark). Returns the
    milliseconds per round for each call: ``times[i][r]`` (``clock``: nanoseconds,
    CPU only; tests pass a modelled one)."""
    n = len(calls)
    rounds = -(-max(1, rounds) // n) * n
    torch = import_torch()
    if cuda and device_index is not None:
        with torch.cuda.device(device_index):
            return time_round_robin(calls, rounds=rounds, warmup=warmup, cuda=True,
                                    before=before, progress=progress, label=label)
    before = before or [None] * n
    for i, fn in enumerate(calls):
        for _ in range(warmup):
            if before[i]:
                before[i]()
            fn()
    if cuda:
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = [[0.0] * rounds for _ in calls]
    for r in range(rounds):
        for k in range(n):
            i = (r + k) % n
            if before[i]:
                before[i]()
            if cuda:
                start.record()
                calls[i]()
                end.record()
                end.synchronize()
                times[i][r] = start.elapsed_time(end)
            else:
                t0 = clock()
                calls[i]()
                times[i][r] = (clock() - t0) / 1e6
        if progress is not None:
            progress(r + 1, rounds, label)
    return times


def timing_of(times_ms, warmup: int, cuda: bool) -> Timing:
    """A Timing from the per-round milliseconds of one call."""
    return Timing(statistics.median(times_ms), min(times_ms), max(times_ms),
                  statistics.fmean(times_ms), len(times_ms), warmup,
                  "cuda events, interleaved" if cuda else "perf_counter, interleaved",
                  tuple(times_ms))


@dataclass(frozen=True)
class Spread:
    """How a call's time compares with a reference call timed in the same rounds:
    the median of the per-round ratios reference / call (above 1: faster than the
    reference) and its 95% bootstrap interval over rounds."""

    ratio: float
    low: float
    high: float

    def reaches(self, low: float, high: float) -> bool:
        """The interval overlaps [low, high]."""
        return self.low <= high and self.high >= low


def spread(times_ms, reference_ms, resamples: int = 1000, seed: int = 0) -> Spread:
    """Speed-up of a call over the reference, paired round by round, with a 95%
    bootstrap interval of the median ratio (seeded: the same times give the same
    interval)."""
    import random

    ratios = [ref / t if t > 0 else float("inf") for ref, t in zip(reference_ms, times_ms)]
    rng = random.Random(seed)
    k = len(ratios)
    boots = sorted(statistics.median(rng.choices(ratios, k=k)) for _ in range(resamples))
    return Spread(statistics.median(ratios), boots[int(0.025 * resamples)],
                  boots[int(0.975 * resamples) - 1])
