"""`convcli run`: execute one convolution with torch, check its shape, time it and
measure it.

``run(spec, input, RunOptions(...)) -> RunResult``. The order matters: everything that
can be decided from shapes alone (the predicted output, the .npy headers, the memory
estimate against the budget) is decided before torch is imported or a byte is
allocated (``plan``), so an impossible request is refused at once. Then, with torch:
the device and its budget, a small probe of the dtype on the device, the tensors,
the timed calls, --tune's variants and the atomic --save.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import os
import warnings
from dataclasses import dataclass, field
from typing import Callable

from convcli.calculator.costs import DTYPE_SIZES, canonical_dtype
from convcli.calculator.spec import ConvSpec
from convcli.engine.devices import (Device, check_threads, ensure_threads_can_start,
                                    gpu_possible, parse_device, resolve_device)
from convcli.engine.memory import (MemoryEstimate, check_budget, estimate_memory,
                                   host_bytes, memory_limit)
from convcli.engine.ram import own_rss, peak_rss
from convcli.engine.npy import (NpyFile, Saved, check_bias_file, check_save_path,
                                check_weight_file, npy_info, save_output)
from convcli.engine.run_tensors import (InputCache, cached_input_bytes, check_channels_last,
                                        run_tensors)
from convcli.engine.stats import OutputStats, output_stats
from convcli.engine.timing import Timing, time_calls
from convcli.engine import torch_adapter
from convcli.engine.torch_adapter import check_seed, import_torch
from convcli.engine.torch_errors import torch_failure
from convcli.engine.tune import TuneRow, tune_variants
from convcli.errors import ConvError, EnvironmentProblem, Mismatch
from convcli.files import only_one_stdin
from convcli.formatting import shape_x, size

DTYPES = tuple(DTYPE_SIZES)  # the dtypes convcli knows, one definition (costs.py)
DEFAULT_SEED = 0
PROBE_MAX_WEIGHT = 64 * 1024 ** 2
MAX_CALLS = 1_000_000    # --repeat / --warmup: more is hours for the smallest conv
Progress = Callable[[int, int, str], None]   # (done, total, label)
Notice = Callable[[str], None]               # a warning for people, before slow work
SLOW_ON_CPU = ("float16",)   # torch has no vectorised CPU conv kernel for these


@dataclass(frozen=True)
class RunOptions:
    """How to run: everything `convcli run` takes besides the conv and its input.

    ``weight`` / ``bias``: .npy paths, or None for the module's default init under
    ``seed`` (the input is then standard normal from the same seed). ``max_memory``:
    int bytes, a float share of the free memory, or None for the default share.
    ``tune_dtypes``: None for a plain run; else the dtypes --tune tries (layouts and
    cudnn.benchmark are always tried). ``threads``: torch's CPU threads for this run
    (restored after; None: torch's)."""

    weight: str | None = None
    bias: str | None = None
    seed: int = DEFAULT_SEED
    device: str = "auto"
    dtype: str | None = None
    channels_last: bool = False
    repeat: int = 10
    warmup: int = 2
    save: str | None = None
    max_memory: int | float | None = None
    tune_dtypes: tuple[str, ...] | None = None
    threads: int | None = None


@dataclass(frozen=True)
class Plan:
    """What was decided before torch: shapes, files, dtype, and the options."""

    spec: ConvSpec
    input_shape: tuple[int, ...]
    predicted: tuple[int, ...]
    dtype: str
    tune_dtypes: tuple[str, ...] | None
    in_file: NpyFile | None
    w_file: NpyFile | None
    b_file: NpyFile | None
    options: RunOptions

    @property
    def budget_given(self) -> bool:
        return isinstance(self.options.max_memory, int)


@dataclass(frozen=True)
class RunResult:
    """Everything `convcli run` reports. ``output`` is the output tensor (not in JSON)."""

    spec: ConvSpec
    input_shape: tuple[int, ...]
    predicted_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    device: Device
    dtype: str
    channels_last: bool
    seed: int
    sources: dict           # input/weight/bias -> where the values came from
    macs: int
    timing: Timing
    gflops: float
    peak_memory: int
    peak_memory_what: str
    estimate: MemoryEstimate
    stats: OutputStats
    torch_version: str
    threads: int
    cudnn_benchmark: bool | None = None
    cudnn_allow_tf32: bool | None = None   # CUDA float32 convs may run in TF32
    saved: Saved | None = None
    tune: tuple[TuneRow, ...] = ()
    output: object = field(default=None, repr=False, compare=False)

    @property
    def flops(self) -> int:
        return 2 * self.macs


def parse_dtypes(text: str | None, tune: bool, default: str = "float32") -> tuple[str, ...]:
    """--dtype: one name, or with --tune a comma list of the dtypes to try."""
    if text is None or not text.strip():
        return (default,)
    names = [canonical_dtype(t) for t in text.replace(" ", ",").split(",") if t.strip()]
    if len(names) > 1 and not tune:
        raise ConvError(f"--dtype: {text!r} names {len(names)} dtypes; give one, or add "
                        "--tune to time each of them")
    return tuple(dict.fromkeys(names))


# ---- 1. before torch ---------------------------------------------------------------

def plan(spec: ConvSpec, input: Sequence[int] | str | os.PathLike, opts: RunOptions) -> Plan:
    """Everything decidable from shapes and headers; nothing imported or allocated.
    ``input`` is a shape, or the path of a .npy file."""
    in_file = None
    only_one_stdin({"INPUT": input if isinstance(input, str) else None,
                    "--weight-file": opts.weight, "--bias-file": opts.bias})
    if isinstance(input, (str, os.PathLike)):
        in_file = npy_info(os.fspath(input), "INPUT")
        input_shape = in_file.shape
    else:
        input_shape = tuple(int(n) for n in input)
    predicted = spec.output_shape(input_shape)
    dtype = opts.dtype or (in_file.dtype if in_file else "float32")
    if dtype not in DTYPES:
        raise ConvError(f"--dtype: {dtype!r} is not supported; use one of {', '.join(DTYPES)}")
    tune = None if opts.tune_dtypes is None else tuple(opts.tune_dtypes or (dtype,))
    if tune is not None and dtype not in tune:
        dtype = tune[0]
    for option, value, low in (("--repeat", opts.repeat, 1), ("--warmup", opts.warmup, 0)):
        if not low <= value <= MAX_CALLS:
            shown = value if abs(value) < 10 ** 30 else "(a huge number)"
            raise ConvError(f"{option} {shown}: use {low} to {MAX_CALLS:,} calls"
                            + ("; 0 turns warmup off" if low == 0 else ""))
    check_threads(opts.threads)
    check_seed(opts.seed)
    if opts.channels_last:
        check_channels_last(spec, input_shape)
    w_file = None if opts.weight is None else npy_info(os.fspath(opts.weight), "--weight-file")
    b_file = None if opts.bias is None else npy_info(os.fspath(opts.bias), "--bias-file")
    if w_file:
        check_weight_file(spec, w_file)
    if b_file:
        check_bias_file(spec, b_file)
    if opts.save is not None:
        check_save_path(os.fspath(opts.save), [f for f in (in_file, w_file, b_file) if f])
    result = Plan(spec, input_shape, tuple(predicted), dtype, tune, in_file, w_file, b_file,
                  opts)
    kind, _ = parse_device(opts.device)
    maybe_cuda = kind == "cuda" or (kind == "auto" and gpu_possible())
    if result.budget_given or not maybe_cuda:
        est = estimate_memory(spec, input_shape, dtype, cuda=maybe_cuda,
                              tune_dtypes=tune or (), source_dtype=_source_dtype(in_file))
        limit, source = memory_limit("cpu", opts.max_memory)
        check_budget(est, limit, source, kind if kind != "auto" else "cpu",
                     result.budget_given)
    return result


def _source_dtype(in_file: NpyFile | None) -> str:
    """The dtype the input starts in: the file's, or float32 for the seeded input."""
    return in_file.dtype if in_file else "float32"


# ---- 2-6. with torch -----------------------------------------------------------------

def run(spec: ConvSpec, input: Sequence[int] | str | os.PathLike,
        options: RunOptions | None = None,
        progress: Progress | None = None, notice: Notice | None = None,
        inputs: InputCache | None = None) -> RunResult:
    """Run ``spec`` once per call, ``warmup`` + ``repeat`` times, and measure it.
    ``progress(done, total, label)`` is called between calls; ``notice(text)`` gets
    warnings people should read before a slow run; ``inputs``: a sweep's input cache
    (engine/run_tensors.py). Raises ConvError (usage), EnvironmentProblem (device,
    budget, files) or Mismatch (shape disagreement)."""
    the_plan = plan(spec, input, options or RunOptions())
    torch = import_torch()
    with torch_threads(torch, the_plan.options.threads):
        with warnings.catch_warnings():
            # torch warns that 'same' with an even kernel pads a copy of the input: that
            # copy is in the estimate (padded_input); the warning would only be noise here
            warnings.filterwarnings("ignore", message="Using padding='same'")
            return _execute(torch, the_plan, progress, notice or (lambda text: None),
                            inputs)


@contextmanager
def torch_threads(torch, threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` (None: left alone), restored after."""
    before = torch.get_num_threads()
    if threads is not None:
        ensure_threads_can_start(threads)
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def slow_dtype_notice(dtypes, dev: Device) -> str | None:
    """The warning for dtypes torch runs slowly on this device, or None."""
    slow = [d for d in dtypes if d in SLOW_ON_CPU] if not dev.is_cuda else []
    if not slow:
        return None
    return (f"{' and '.join(slow)} on the CPU: torch has no vectorised CPU convolution "
            "kernel for it, so each call can take 10x or more the float32 time (minutes for "
            "large inputs); use --dtype float32 or bfloat16 on the CPU, or a CUDA device")


def _execute(torch, p: Plan, progress: Progress | None, notice: Notice,
             inputs: InputCache | None) -> RunResult:
    spec, opts = p.spec, p.options
    dev, est = device_and_budget(torch, p, inputs)
    warning = slow_dtype_notice(dict.fromkeys((p.dtype,) + (p.tune_dtypes or ())), dev)
    if warning:
        notice(warning)
    _probe(torch, p, dev, est)
    try:
        x, w, b, prepare, sources = run_tensors(torch, p, dev, inputs)
    except (ConvError, EnvironmentProblem, KeyboardInterrupt):
        raise
    except (RuntimeError, MemoryError) as e:
        raise torch_failure(e, spec, p.dtype, dev, p.predicted) from None
    macs = spec.macs(p.input_shape)
    bench_before = torch.backends.cudnn.benchmark if dev.is_cuda else None
    if dev.is_cuda:
        torch.cuda.reset_peak_memory_stats(dev.index)
    try:
        with torch.inference_mode():
            timing, out = time_calls(lambda: torch_adapter.functional(spec, x, w, b), repeat=opts.repeat,
                                     warmup=opts.warmup, cuda=dev.is_cuda, progress=progress,
                                     label=f"{spec.kind_name} {p.dtype}",
                                     device_index=dev.index)
    except (ConvError, EnvironmentProblem, Mismatch, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001 - translated, not swallowed
        raise torch_failure(e, spec, p.dtype, dev, p.predicted) from None
    actual = tuple(out.shape)
    if actual != p.predicted:
        raise Mismatch(
            f"{spec.torch_repr()} on {shape_x(p.input_shape)}: torch produced "
            f"{shape_x(actual)} but convcli predicted {shape_x(p.predicted)}; this is a bug "
            "in convcli, please report it")
    peak, peak_what = _peak(torch, dev)
    rows: tuple[TuneRow, ...] = ()
    if p.tune_dtypes is not None:
        rows = tune_variants(torch, p, dev, prepare, macs, out, progress, bench_before)
    saved = save_output(opts.save, out) if opts.save is not None else None
    return RunResult(
        spec=spec, input_shape=p.input_shape, predicted_shape=p.predicted,
        output_shape=actual, device=dev, dtype=p.dtype, channels_last=opts.channels_last,
        seed=opts.seed, sources=sources, macs=macs, timing=timing,
        gflops=2 * macs / (timing.median_ms / 1e3) / 1e9 if timing.median_ms > 0 else 0.0,
        peak_memory=peak, peak_memory_what=peak_what, estimate=est, stats=output_stats(out),
        torch_version=torch.__version__, threads=torch.get_num_threads(),
        cudnn_benchmark=bench_before,
        cudnn_allow_tf32=torch.backends.cudnn.allow_tf32 if dev.is_cuda else None,
        saved=saved, tune=rows, output=out)


def device_and_budget(torch, p: Plan, inputs: InputCache | None = None
                      ) -> tuple[Device, MemoryEstimate]:
    """The device, and the estimate checked against its budget (and, on CUDA, the
    host RAM the input's source copy needs). ``inputs``: a sweep's cache; an input it
    already holds on the CPU is in the process's resident size, so the baseline leaves
    it out (the estimate counts it as the input)."""
    opts = p.options
    dev = resolve_device(opts.device)
    held = cached_input_bytes(inputs, p, dev) if not dev.is_cuda else 0
    est = estimate_memory(p.spec, p.input_shape, p.dtype, cuda=dev.is_cuda,
                          tune_dtypes=p.tune_dtypes or (), threads=torch.get_num_threads(),
                          source_dtype=_source_dtype(p.in_file),
                          baseline=max(0, own_rss() - held))
    limit, source = memory_limit(dev.kind, opts.max_memory, dev.index)
    est = check_budget(est, limit, source, dev.name, p.budget_given)
    if dev.is_cuda:  # the host holds the input's source copy (and the saved output)
        host = host_bytes(p.spec, p.input_shape, p.dtype, save=opts.save is not None)
        ram, _ = memory_limit("cpu", None)
        if ram is not None and host > ram:
            raise EnvironmentProblem(
                f"preparing this run needs about {size(host)} of host RAM but the "
                f"limit is {size(ram)}; use a smaller input")
    return dev, est


def _probe(torch, p: Plan, dev: Device, est: MemoryEstimate) -> None:
    """Try the dtype on the device with the smallest input of the same kind before
    allocating the real tensors: an unsupported dtype fails in milliseconds."""
    spec = p.spec
    tdtype = getattr(torch, p.dtype)
    try:
        if est.weight > PROBE_MAX_WEIGHT:
            return  # the real call says what fails
        shape = probe_shape(spec, p.input_shape)
        with torch.inference_mode():
            torch_adapter.functional(spec, torch.zeros(shape, dtype=tdtype, device=dev.name),
                       torch.zeros(spec.weight_shape, dtype=tdtype, device=dev.name),
                       torch.zeros(spec.out_channels, dtype=tdtype, device=dev.name)
                       if spec.bias else None)
    except ConvError:
        return  # no small probe for this layout; the real call says what fails
    except Exception as e:  # noqa: BLE001 - translated, not swallowed
        raise torch_failure(e, spec, p.dtype, dev, p.predicted) from None


def probe_shape(spec: ConvSpec, input_shape) -> tuple[int, ...]:
    """The smallest input of the same kind that torch accepts."""
    d = spec.dims
    spatial = []
    for k, s, dl, (pl, pr), op in zip(spec.kernel_size, spec.stride, spec.dilation,
                                      spec.padding_pairs, spec.output_padding):
        if spec.transposed:
            need = 2 * pl - dl * (k - 1) - op
            spatial.append(max(1, 1 + -(-need // s)))
        else:
            spatial.append(max(1, dl * (k - 1) + 1 - pl - pr, max(pl, pr) + 1))
    head = tuple(input_shape[:-d])
    head = (1,) + head[1:] if len(head) == 2 else head
    shape = head + tuple(spatial)
    spec.output_shape(shape)
    return shape


def _peak(torch, dev: Device) -> tuple[int, str]:
    if dev.is_cuda:
        return (torch.cuda.max_memory_allocated(dev.index),
                "CUDA max allocated during the timed calls")
    return peak_rss(), ("the process's peak resident memory (VmHWM; ru_maxrss off Linux): "
                        "the interpreter, "
                        "torch and every tensor and workspace")
