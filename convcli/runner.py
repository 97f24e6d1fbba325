"""The only place torch executes a convolution. torch is imported inside functions.

Building blocks shared by `run` and `verify`:
* ``import_torch()``: torch, or EnvironmentProblem with the install hint;
* ``build_module(spec)``: the nn.ConvNd / nn.ConvTransposeNd torch builds for a spec;
* ``functional(spec, x, weight, bias)``: F.convNd / F.conv_transposeNd, with F.pad
  first for non-'zeros' padding modes, exactly as nn.ConvNd does;
* ``torch_output_shape(spec_args, input_shape)``: what a real CPU forward pass does
  (the oracle the calculator is tested against).

And the core of `convcli run` (below): ``run(spec, input, ...) -> RunResult`` with its
parts: .npy headers and loading, ``resolve_device``, ``estimate_memory`` and the
budget, ``time_calls``, ``output_stats``, --tune's variants and the atomic --save.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from math import prod

from convcli.counts import DTYPE_SIZES
from convcli.errors import ConvError, EnvironmentProblem, Mismatch
from convcli.parse import format_shape
from convcli.spec import ConvSpec

INSTALL_HINT = "pip install 'convcli[torch]'"


def import_torch():
    try:
        import torch
    except ImportError:
        raise EnvironmentProblem(
            f"torch is not installed; this command runs convolutions with it: {INSTALL_HINT}"
        ) from None
    return torch


def module_class(dims: int, transposed: bool):
    torch = import_torch()
    name = f"{'ConvTranspose' if transposed else 'Conv'}{dims}d"
    return getattr(torch.nn, name)


def build_module(spec: ConvSpec, dtype=None, device=None):
    """nn.ConvNd with the spec's arguments (default init under torch's current seed)."""
    cls = module_class(spec.dims, spec.transposed)
    kwargs = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                  groups=spec.groups, bias=spec.bias, padding_mode=spec.padding_mode,
                  device=device, dtype=dtype)
    if spec.transposed:
        kwargs["output_padding"] = spec.output_padding
    return cls(spec.in_channels, spec.out_channels, spec.kernel_size, **kwargs)


def functional(spec: ConvSpec, x, weight, bias=None):
    """The functional conv nn.ConvNd.forward runs, on given tensors."""
    torch = import_torch()
    F = torch.nn.functional
    d = spec.dims
    if spec.transposed:
        fn = getattr(F, f"conv_transpose{d}d")
        return fn(x, weight, bias, spec.stride, [p for p, _ in spec.padding_pairs],
                  spec.output_padding, spec.groups, spec.dilation)
    fn = getattr(F, f"conv{d}d")
    if spec.padding_mode != "zeros":
        pad = []
        for left, right in reversed(spec.padding_pairs):
            pad += [left, right]
        return fn(F.pad(x, pad, mode=spec.padding_mode), weight, bias, spec.stride, 0,
                  spec.dilation, spec.groups)
    return fn(x, weight, bias, spec.stride, spec.padding, spec.dilation, spec.groups)


def torch_output_shape(args: dict, input_shape) -> tuple[int, ...]:
    """Build the torch module from raw ConvSpec-style arguments and run a real CPU
    forward pass on zeros of ``input_shape``. Raises whatever torch raises."""
    torch = import_torch()
    args = dict(args)
    dims = args.pop("dims")
    transposed = args.pop("transposed", False)
    cls = module_class(dims, transposed)
    if not transposed:
        args.pop("output_padding", None)
    in_c, out_c, k = args.pop("in_channels"), args.pop("out_channels"), args.pop("kernel_size")
    with torch.no_grad():
        m = cls(in_c, out_c, k, **args)
        return tuple(m(torch.zeros(tuple(input_shape))).shape)


# ==== `convcli run`: execute one convolution and measure it ===========================
#
# The order matters: everything that can be decided from shapes alone (the predicted
# output, the .npy headers, the memory estimate against the budget) is decided before
# torch is imported or a byte is allocated, so an impossible request is refused at once.


DTYPES = tuple(DTYPE_SIZES)  # the dtypes convcli knows, one definition (counts.py)
NPY_FLOAT_DTYPES = ("float16", "float32", "float64")
DEFAULT_SEED = 0
CPU_SHARE = 0.75   # default --max-memory on CPU: this share of the RAM available now
GPU_SHARE = 0.90   # default on CUDA: this share of the device memory free now
MARGIN_SHARE = 0.10
MARGIN_FIXED = 64 * 1024 ** 2
STATS_CHUNK = 1 << 22
PROBE_MAX_WEIGHT = 64 * 1024 ** 2


def human_bytes(n: float) -> str:
    """12345678 -> '11.8 MiB' (binary units, up to PiB; messages only)."""
    n = float(n)
    for unit, div in (("PiB", 1024 ** 5), ("TiB", 1024 ** 4), ("GiB", 1024 ** 3),
                      ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{int(n):,} B"


def _np():
    import numpy
    return numpy


# ---- .npy files ------------------------------------------------------------------

@dataclass(frozen=True)
class NpyFile:
    """What a .npy header says, read without loading the data."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


def is_npy_path(text: str) -> bool:
    """INPUT is a file when it ends in .npy, or names a file and is not a shape."""
    if text.lower().endswith(".npy"):
        return True
    return os.path.isfile(text) and not _looks_like_shape(text)


def _looks_like_shape(text: str) -> bool:
    from convcli.parse import parse_shape
    try:
        parse_shape(text)
    except ConvError:
        return False
    return True


def parse_input(text: str) -> tuple[object, tuple[int, ...]]:
    """INPUT -> (what ``run`` takes: the path or the shape, the input shape). A .npy
    file's shape comes from its header; nothing is loaded."""
    from convcli.parse import parse_shape
    if is_npy_path(text):
        return text, npy_info(text, "INPUT").shape
    try:
        shape = parse_shape(text)
    except ConvError as e:
        if any(c.isalpha() and c not in "xX" for c in text) or "/" in text or "." in text:
            raise ConvError(f"INPUT: {text!r} is neither a shape like 4x3x64x64 nor an "
                            "existing .npy file; check the spelling or the path") from None
        raise e
    return shape, shape


def npy_info(path: str, option: str) -> NpyFile:
    """Read and check a .npy header: the file exists, is a .npy, holds enough bytes
    for its shape, and holds float16/32/64 values. Nothing is loaded."""
    np = _np()
    fmt = np.lib.format
    if not os.path.exists(path):
        raise EnvironmentProblem(f"{option}: file {path!r} not found; check the path")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"{option}: {path!r} is a directory, not a .npy file")
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = reader(f)
            offset = f.tell()
    except PermissionError:
        raise EnvironmentProblem(f"{option}: {path!r} is not readable (permission denied)") \
            from None
    except (ValueError, OSError, EOFError, SyntaxError, UnicodeError) as e:
        raise EnvironmentProblem(
            f"{option}: {path!r} is not a readable .npy file ({_one_line(e)}); write it "
            "with numpy.save") from None
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8):
        raise ConvError(
            f"{option}: {path!r} holds {dtype} values; a convolution needs floating point "
            f"({', '.join(NPY_FLOAT_DTYPES)}): save it with array.astype('float32')")
    nbytes = prod(shape) * dtype.itemsize
    have = os.path.getsize(path) - offset
    if have < nbytes:
        raise EnvironmentProblem(
            f"{option}: {path!r} is truncated: its header says {format_shape(shape) or 'a scalar'} "
            f"{dtype} ({nbytes:,} bytes) but only {have:,} bytes follow; write it again")
    return NpyFile(path, tuple(int(n) for n in shape), dtype.newbyteorder("=").name, nbytes)


def load_npy(info: NpyFile, option: str):
    """The array of a checked .npy file, in native byte order."""
    np = _np()
    try:
        arr = np.load(info.path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise EnvironmentProblem(
            f"{option}: could not read {info.path!r} ({_one_line(e)}); write it again "
            "with numpy.save") from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:200] if text else type(e).__name__


def check_weight_file(spec: ConvSpec, info: NpyFile) -> None:
    want = spec.weight_shape
    if info.shape == want:
        return
    layout = "(C_in, C_out/g, *k)" if spec.transposed else "(C_out, C_in/g, *k)"
    hint = ""
    if len(info.shape) != len(want):
        what = f"has {len(info.shape)} dims ({format_shape(info.shape)})"
    else:
        what = f"has shape {format_shape(info.shape)}"
        g, k = spec.groups, spec.kernel_size
        other = ((spec.out_channels, spec.in_channels // g, *k) if spec.transposed
                 else (spec.in_channels, spec.out_channels // g, *k))
        if info.shape == other:
            hint = ("; that is the layout of a Conv weight: drop --transposed" if spec.transposed
                    else "; that is the layout of a ConvTranspose weight: add --transposed")
    raise ConvError(
        f"--weight-file {info.path!r} {what} but {spec.torch_repr()} needs a weight of "
        f"shape {format_shape(want)} {layout}{hint or '; check -i/-o/-k/--groups'}")


def check_bias_file(spec: ConvSpec, info: NpyFile) -> None:
    if not spec.bias:
        raise ConvError(f"--bias-file {info.path!r} was given with --no-bias; drop one of them")
    if info.shape != (spec.out_channels,):
        raise ConvError(
            f"--bias-file {info.path!r} has shape {format_shape(info.shape) or '()'} but "
            f"{spec.torch_repr()} needs a bias of shape {spec.out_channels} (one per "
            "output channel)")


# ---- devices ---------------------------------------------------------------------

@dataclass(frozen=True)
class Device:
    name: str                 # 'cpu' or 'cuda:N', as torch spells it
    kind: str                 # 'cpu' | 'cuda'
    index: int | None
    description: str          # 'CPU, 2 threads' or the GPU's name

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"


def parse_device(text: str) -> tuple[str, int | None]:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> (kind, index); no torch needed."""
    t = text.strip().lower()
    if t in ("auto", "cpu", "cuda"):
        return t, None
    if t.startswith("cuda:") and t[5:].isdigit():
        return "cuda", int(t[5:])
    raise ConvError(f"--device {text!r} is not a device; use auto, cpu, cuda or cuda:N "
                    "(e.g. cuda:0)")


def available_devices() -> list[str]:
    """'cpu' plus one 'cuda:N (name)' per visible GPU."""
    torch = import_torch()
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                  for i in range(torch.cuda.device_count())]
    return names


def resolve_device(text: str) -> Device:
    """The torch device for --device; EnvironmentProblem listing what is available
    when the one asked for is not there."""
    kind, index = parse_device(text)
    torch = import_torch()
    has_cuda = torch.cuda.is_available()
    if kind == "auto":
        kind = "cuda" if has_cuda else "cpu"
    if kind == "cpu":
        n = torch.get_num_threads()
        return Device("cpu", "cpu", None, f"CPU, {n} thread{'s' * (n != 1)}")
    available = ", ".join(available_devices())
    if not has_cuda:
        why = ("this torch is a CPU-only build" if torch.version.cuda is None
               else "no CUDA device is visible (driver, CUDA_VISIBLE_DEVICES?)")
        raise EnvironmentProblem(
            f"--device {text}: CUDA is not available ({why}, torch {torch.__version__}); "
            f"available: {available}; use --device cpu or auto")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if index is None else index
    if index >= count:
        raise EnvironmentProblem(
            f"--device {text}: this machine has {count} CUDA device{'s' * (count != 1)} "
            f"(cuda:0..cuda:{count - 1}); available: {available}")
    return Device(f"cuda:{index}", "cuda", index, torch.cuda.get_device_name(index))


def _gpu_possible() -> bool:
    """False when no CUDA/ROCm device can exist (Linux without the device nodes,
    macOS): then 'auto' means the CPU and the budget is checked before importing
    torch."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))
    return True


# ---- memory ----------------------------------------------------------------------

@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run allocates on its device, worked out from shapes before anything
    is allocated. ``limit`` is the budget it is checked against."""

    input: int
    weight: int
    bias: int
    output: int
    padded_input: int   # F.pad copy: non-'zeros' modes, and 'same' with uneven sides
    staging: int        # the input's source copy (random init, file, layout/dtype change)
    workspace: int      # im2col columns on CPU (one sample per thread); cuDNN's is in the margin
    tune: int           # --tune: a reference output and a second input layout
    margin: int
    limit: int | None = None
    limit_source: str = ""

    @property
    def tensors(self) -> int:
        return self.input + self.weight + self.bias + self.output

    @property
    def total(self) -> int:
        return (self.tensors + self.padded_input + self.staging + self.workspace
                + self.tune + self.margin)

    def as_dict(self) -> dict:
        return {"input": self.input, "weight": self.weight, "bias": self.bias,
                "output": self.output, "padded_input": self.padded_input,
                "staging": self.staging, "workspace": self.workspace, "tune": self.tune,
                "margin": self.margin, "total": self.total, "limit": self.limit,
                "limit_source": self.limit_source}


def estimate_memory(spec: ConvSpec, input_shape, dtype: str, *, cuda: bool = False,
                    tune_dtypes=(), threads: int | None = None) -> MemoryEstimate:
    """Bytes on the run's device: input + weight + bias + output, the copies the run
    makes, and a margin (10% + 64 MiB). On CUDA the staging copy lives on the host
    (see ``host_bytes``) and cuDNN's workspace is left to the margin."""
    from convcli.counts import dtype_size

    size = max([dtype_size(dtype)] + [dtype_size(d) for d in tune_dtypes])
    shape = tuple(input_shape)
    out = spec.output_shape(shape)
    n_in, n_out = prod(shape), prod(out)
    d = spec.dims
    batch = shape[0] if len(shape) == d + 2 else 1
    padded = 0
    asymmetric_same = spec.padding == "same" and any(l != r for l, r in spec.padding_pairs)
    if spec.padding_mode != "zeros" or asymmetric_same:
        spatial = shape[-d:]
        padded = prod(shape[:-d]) * prod(n + pl + pr for n, (pl, pr)
                                         in zip(spatial, spec.padding_pairs)) * size
    workspace = 0
    if not cuda:
        k = prod(spec.kernel_size)
        per_sample = (spec.out_channels * k * prod(shape[-d:]) if spec.transposed
                      else spec.in_channels * k * prod(out[-d:]))
        threads = threads or os.cpu_count() or 1
        workspace = per_sample * min(batch, threads) * size
    n_bias = spec.out_channels if spec.bias else 0
    tensors = (n_in + spec.num_weight + n_bias + n_out) * size
    # --tune keeps a float32 reference output and one more variant's input and output
    tune = n_out * 4 + (n_in + n_out) * size if tune_dtypes else 0
    margin = int(tensors * MARGIN_SHARE) + MARGIN_FIXED
    return MemoryEstimate(n_in * size, spec.num_weight * size, n_bias * size, n_out * size,
                          padded, 0 if cuda else host_bytes(spec, shape, dtype),
                          workspace, tune, margin)


def host_bytes(spec: ConvSpec, input_shape, dtype: str, save: bool = False) -> int:
    """Host RAM for the input's source copy (seeded float32 values or the loaded
    file), plus the output's copy when a CUDA run saves it."""
    from convcli.counts import dtype_size

    size = max(4, dtype_size(dtype))
    staging = prod(input_shape) * size
    if save:
        staging += prod(spec.output_shape(input_shape)) * size
    return staging


def available_ram() -> tuple[int | None, str]:
    """Bytes of RAM this process can still use: /proc/meminfo's MemAvailable, capped
    by a cgroup limit when the process runs in a container."""
    avail, source = None, "available RAM"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            source = "free RAM"
        except (ValueError, OSError, AttributeError):
            return None, "unknown"
    for max_file, used_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                 "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(max_file) as f:
                text = f.read().strip()
            if text == "max":
                continue
            with open(used_file) as f:
                left = int(text) - int(f.read().strip())
        except (OSError, ValueError):
            continue
        if 0 <= left < avail:
            avail, source = left, "memory left under the container's cgroup limit"
    return avail, source


def memory_limit(device_kind: str, max_memory, index: int | None = None) -> tuple[int | None, str]:
    """The budget: --max-memory as bytes (int), as a share of free memory (float
    from 'N%'), or by default CPU_SHARE of available RAM / GPU_SHARE of free GPU memory."""
    if isinstance(max_memory, int):
        return max_memory, "--max-memory"
    if device_kind == "cuda":
        torch = import_torch()
        free, _total = torch.cuda.mem_get_info(index)
        share = GPU_SHARE if max_memory is None else max_memory
        return int(free * share), f"{share:.0%} of {human_bytes(free)} free on the GPU"
    free, source = available_ram()
    if free is None:
        return None, "unknown"
    share = CPU_SHARE if max_memory is None else max_memory
    return int(free * share), f"{share:.0%} of {human_bytes(free)} {source}"


def check_budget(est: MemoryEstimate, limit: int | None, source: str, device: str,
                 given: bool) -> MemoryEstimate:
    est = replace(est, limit=limit, limit_source=source)
    if limit is not None and est.total > limit:
        parts = [f"input {human_bytes(est.input)}", f"output {human_bytes(est.output)}",
                 f"weight {human_bytes(est.weight + est.bias)}"]
        extra = est.padded_input + est.staging + est.workspace + est.tune + est.margin
        parts.append(f"copies, workspace and margin {human_bytes(extra)}")
        way = "use a smaller batch or input" + ("" if given else ", or raise --max-memory "
                                                "if you know it fits")
        raise EnvironmentProblem(
            f"this run needs about {human_bytes(est.total)} on {device} "
            f"({', '.join(parts)}) but the limit is {human_bytes(limit)} ({source}); {way}")
    return est


# ---- timing and statistics -------------------------------------------------------

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


@dataclass(frozen=True)
class OutputStats:
    """Over the finite values (population std); NaN/Inf are counted, not averaged.
    None where there is no finite value."""

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    nan: int
    inf: int

    @property
    def nonfinite(self) -> int:
        return self.nan + self.inf

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max,
                "nonfinite": self.nonfinite, "nan": self.nan, "inf": self.inf,
                "count": self.count}


def output_stats(y) -> OutputStats:
    """Statistics in float64, in chunks (never a full float64 copy of the output)."""
    torch = import_torch()
    y = y.detach()
    order = sorted(range(y.dim()), key=lambda i: -y.stride(i))
    p = y.permute(order) if y.dim() else y
    flat = p.view(-1) if p.is_contiguous() else p.reshape(-1)
    n = mean = m2 = 0.0
    lo = hi = None
    nan = inf = 0
    for i in range(0, flat.numel(), STATS_CHUNK):
        c = flat[i:i + STATS_CHUNK].to(torch.float64)
        finite = torch.isfinite(c)
        bad = c.numel() - int(finite.sum())
        if bad:
            n_nan = int(torch.isnan(c).sum())
            nan, inf = nan + n_nan, inf + bad - n_nan
            c = c[finite]
        k = c.numel()
        if not k:
            continue
        cm = float(c.mean())
        cm2 = float(((c - cm) ** 2).sum())
        cmin, cmax = float(c.min()), float(c.max())
        delta = cm - mean
        total = n + k
        mean += delta * k / total
        m2 += cm2 + delta * delta * n * k / total
        n = total
        lo = cmin if lo is None else min(lo, cmin)
        hi = cmax if hi is None else max(hi, cmax)
    if not n:
        return OutputStats(flat.numel(), None, None, None, None, nan, inf)
    return OutputStats(flat.numel(), mean, (m2 / n) ** 0.5, lo, hi, nan, inf)


# ---- the run ---------------------------------------------------------------------

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


@dataclass(frozen=True)
class Saved:
    path: str
    dtype: str
    note: str = ""


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
    names = [t.strip().lower() for t in text.replace(" ", ",").split(",") if t.strip()]
    for n in names:
        if n not in DTYPES:
            raise ConvError(f"--dtype: {n!r} is not supported; use one of {', '.join(DTYPES)}")
    if len(names) > 1 and not tune:
        raise ConvError(f"--dtype: {text!r} names {len(names)} dtypes; give one, or add "
                        "--tune to time each of them")
    return tuple(dict.fromkeys(names))


def _memory_format(torch, spec: ConvSpec, input_shape):
    if len(input_shape) != spec.dims + 2 or spec.dims == 1:
        raise ConvError(
            f"--channels-last: applies to batched 2d (N, C, H, W) and 3d (N, C, D, H, W) "
            f"inputs; this {spec.kind_name} input is {format_shape(input_shape)}; drop --channels-last")
    return torch.channels_last if spec.dims == 2 else torch.channels_last_3d


def _probe_shape(spec: ConvSpec, input_shape) -> tuple[int, ...]:
    """The smallest input of the same kind that torch accepts, to try a dtype on
    the device before allocating the real tensors."""
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


def _is_unsupported(e: Exception) -> bool:
    """torch has no kernel for this dtype (or layout) on this device."""
    text = str(e)
    return "not implemented for" in text or "not supported" in text.lower()


def _torch_failure(e: Exception, spec: ConvSpec, dtype: str, device: Device, predicted):
    """Translate what torch raised during the conv into a convcli error."""
    text = _one_line(e)
    torch = import_torch()
    if isinstance(e, (MemoryError, getattr(torch, "OutOfMemoryError", ()))) or any(
            w in text.lower() for w in ("out of memory", "can't allocate memory")):
        return EnvironmentProblem(
            f"{device.name} ran out of memory running {spec.torch_repr()} ({text}); use a "
            "smaller input or a lower --max-memory share")
    if _is_unsupported(e):
        return EnvironmentProblem(
            f"--dtype {dtype}: torch {torch.__version__} cannot run {spec.kind_name} in "
            f"{dtype} on {device.name} ({text}); use another --dtype (float32 works "
            "everywhere) or another --device")
    return Mismatch(
        f"torch refused {spec.torch_repr()} that convcli predicted would give "
        f"{format_shape(predicted)} ({text}); this is a bug in convcli's rules, please report it")


def run(spec: ConvSpec, input, *, weight=None, bias=None, seed: int = DEFAULT_SEED,
        device: str = "auto", dtype: str | None = None, channels_last: bool = False,
        repeat: int = 10, warmup: int = 2, save: str | None = None, max_memory=None,
        tune_dtypes=None, progress=None, threads: int | None = None) -> RunResult:
    """Run ``spec`` once per call, ``warmup`` + ``repeat`` times, and measure it.

    ``input`` is a shape, or the path of a .npy file; ``weight`` / ``bias`` are .npy
    paths or None for the module's default init under ``seed`` (the input is then
    standard normal from the same seed). ``max_memory``: int bytes, float share of
    free memory, or None for the default share. ``tune_dtypes``: None for a plain
    run; else the dtypes --tune tries (layouts and cudnn.benchmark are always tried).
    ``threads``: torch's CPU threads for this run (restored after; None: torch's).
    ``progress(done, total, label)`` is called between calls. Raises ConvError (usage),
    EnvironmentProblem (device, budget, files) or Mismatch (shape disagreement).
    """
    # 1. everything decidable from shapes and headers; nothing imported or allocated
    in_file = None
    if isinstance(input, (str, os.PathLike)):
        in_file = npy_info(os.fspath(input), "INPUT")
        input_shape = in_file.shape
    else:
        input_shape = tuple(int(n) for n in input)
    predicted = spec.output_shape(input_shape)
    dtype = dtype or (in_file.dtype if in_file else "float32")
    if dtype not in DTYPES:
        raise ConvError(f"--dtype: {dtype!r} is not supported; use one of {', '.join(DTYPES)}")
    tune_dtypes = None if tune_dtypes is None else tuple(tune_dtypes or (dtype,))
    if tune_dtypes is not None and dtype not in tune_dtypes:
        dtype = tune_dtypes[0]
    if repeat < 1:
        raise ConvError(f"--repeat {repeat}: time at least 1 call")
    if warmup < 0:
        raise ConvError(f"--warmup {warmup}: cannot be negative; 0 turns warmup off")
    if threads is not None and threads < 1:
        raise ConvError(f"--threads {threads}: use at least 1, or leave it out for torch's "
                        "default")
    if channels_last and (len(input_shape) != spec.dims + 2 or spec.dims == 1):
        _memory_format(None, spec, input_shape)
    w_file = None if weight is None else npy_info(os.fspath(weight), "--weight-file")
    b_file = None if bias is None else npy_info(os.fspath(bias), "--bias-file")
    if w_file:
        check_weight_file(spec, w_file)
    if b_file:
        check_bias_file(spec, b_file)
    if save is not None:
        save = _check_save_path(os.fspath(save), [f for f in (in_file, w_file, b_file) if f])
    kind, index = parse_device(device)
    given = isinstance(max_memory, int)
    maybe_cuda = kind == "cuda" or (kind == "auto" and _gpu_possible())
    if given or not maybe_cuda:
        est = estimate_memory(spec, input_shape, dtype, cuda=maybe_cuda,
                              tune_dtypes=tune_dtypes or ())
        limit, source = memory_limit("cpu", max_memory)
        check_budget(est, limit, source, kind if kind != "auto" else "cpu", given)

    # 2. torch: the device, its budget, the dtype
    torch = import_torch()
    threads_before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            # torch warns that 'same' with an even kernel pads a copy of the input: that
            # copy is in the estimate (padded_input); the warning would only be noise here
            warnings.filterwarnings("ignore", message="Using padding='same'")
            return _run(torch, spec, input_shape, predicted, dtype, tune_dtypes, repeat,
                        warmup, channels_last, in_file, w_file, b_file, save, device,
                        max_memory, given, seed, progress)
    finally:
        torch.set_num_threads(threads_before)


def _run(torch, spec, input_shape, predicted, dtype, tune_dtypes, repeat, warmup,
         channels_last, in_file, w_file, b_file, save, device, max_memory, given, seed,
         progress) -> RunResult:
    """Steps 2-6 of ``run``: everything that needs torch."""
    dev = resolve_device(device)
    threads = torch.get_num_threads()
    est = estimate_memory(spec, input_shape, dtype, cuda=dev.is_cuda,
                          tune_dtypes=tune_dtypes or (), threads=threads)
    limit, source = memory_limit(dev.kind, max_memory, dev.index)
    est = check_budget(est, limit, source, dev.name, given)
    if dev.is_cuda:  # the host holds the input's source copy (and the saved output)
        host = host_bytes(spec, input_shape, dtype, save=save is not None)
        ram, ram_source = memory_limit("cpu", None)
        if ram is not None and host > ram:
            raise EnvironmentProblem(
                f"preparing this run needs about {human_bytes(host)} of host RAM but the "
                f"limit is {human_bytes(ram)} ({ram_source}); use a smaller input")
    tdtype = getattr(torch, dtype)
    try:
        if est.weight > PROBE_MAX_WEIGHT:
            raise ConvError("weight too large to probe")  # the real call says what fails
        with torch.inference_mode():
            probe = _probe_shape(spec, input_shape)
            functional(spec, torch.zeros(probe, dtype=tdtype, device=dev.name),
                       torch.zeros(spec.weight_shape, dtype=tdtype, device=dev.name),
                       torch.zeros(spec.out_channels, dtype=tdtype, device=dev.name)
                       if spec.bias else None)
    except ConvError:
        pass  # no small probe for this layout; the real call below says what fails
    except Exception as e:  # noqa: BLE001 - translated, not swallowed
        raise _torch_failure(e, spec, dtype, dev, predicted) from None

    # 3. the tensors: from files, or seeded
    try:
        x, w, b, prepare, sources = _tensors(torch, spec, input_shape, dev, dtype, seed,
                                             channels_last, in_file, w_file, b_file,
                                             keep_source=tune_dtypes is not None)
    except (ConvError, EnvironmentProblem, KeyboardInterrupt):
        raise
    except (RuntimeError, MemoryError) as e:
        raise _torch_failure(e, spec, dtype, dev, predicted) from None

    # 4. time it
    macs = spec.macs(input_shape)
    bench_before = torch.backends.cudnn.benchmark if dev.is_cuda else None
    if dev.is_cuda:
        torch.cuda.reset_peak_memory_stats(dev.index)
    try:
        with torch.inference_mode():
            timing, out = time_calls(lambda: functional(spec, x, w, b), repeat=repeat,
                                     warmup=warmup, cuda=dev.is_cuda, progress=progress,
                                     label=f"{spec.kind_name} {dtype}", device_index=dev.index)
    except (ConvError, EnvironmentProblem, Mismatch, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001
        raise _torch_failure(e, spec, dtype, dev, predicted) from None
    actual = tuple(out.shape)
    if actual != tuple(predicted):
        raise Mismatch(
            f"{spec.torch_repr()} on {format_shape(input_shape)}: torch produced {format_shape(actual)} but "
            f"convcli predicted {format_shape(predicted)}; this is a bug in convcli, please report it")
    if dev.is_cuda:
        peak, peak_what = torch.cuda.max_memory_allocated(dev.index), \
            "CUDA max allocated during the timed calls"
    else:
        peak = sum(t.numel() * t.element_size() for t in (x, w, b, out) if t is not None)
        peak += est.padded_input
        peak_what = "input + weight + bias + output" + (
            " + padded input" if est.padded_input else "") + " tensors"
    gflops = 2 * macs / (timing.median_ms / 1e3) / 1e9 if timing.median_ms > 0 else 0.0
    stats = output_stats(out)

    # 5. --tune: the other layouts / cudnn.benchmark settings / dtypes
    rows = ()
    if tune_dtypes is not None:
        rows = _tune(torch, spec, input_shape, dev, prepare, macs, dtype, channels_last,
                     timing, out, tune_dtypes, repeat, warmup, progress, bench_before)

    # 6. --save, atomically
    saved = _save(save, out) if save is not None else None

    return RunResult(
        spec=spec, input_shape=tuple(input_shape), predicted_shape=tuple(predicted),
        output_shape=actual, device=dev, dtype=dtype, channels_last=channels_last, seed=seed,
        sources=sources, macs=macs, timing=timing, gflops=gflops, peak_memory=peak,
        peak_memory_what=peak_what, estimate=est, stats=stats,
        torch_version=torch.__version__, threads=threads, cudnn_benchmark=bench_before,
        cudnn_allow_tf32=torch.backends.cudnn.allow_tf32 if dev.is_cuda else None,
        saved=saved, tune=rows, output=out)


def _tensors(torch, spec, input_shape, dev, dtype, seed, channels_last, in_file, w_file,
             b_file, keep_source):
    """Input, weight and bias on the device: from the files, else a standard normal
    input from ``seed`` and the module's default init under ``seed`` (made on the CPU
    in float32, so every device and dtype starts from the same values). Also returns
    ``prepare(dtype, channels_last)`` for --tune's variants, and where each came from."""
    sources = {}
    if in_file:
        x_host = torch.from_numpy(load_npy(in_file, "INPUT"))
        sources["input"] = f"{in_file.path} ({in_file.dtype})"
    else:
        gen = torch.Generator().manual_seed(seed)
        x_host = torch.randn(input_shape, generator=gen)
        sources["input"] = f"standard normal, seed {seed}"
    if w_file is None or (spec.bias and b_file is None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = build_module(spec)
        init = f"default init of {spec.kind_name}, seed {seed}"
    w_host = torch.from_numpy(load_npy(w_file, "--weight-file")) if w_file else module.weight.data
    sources["weight"] = f"{w_file.path} ({w_file.dtype})" if w_file else init
    b_host = None
    if spec.bias:
        b_host = torch.from_numpy(load_npy(b_file, "--bias-file")) if b_file else module.bias.data
        sources["bias"] = f"{b_file.path} ({b_file.dtype})" if b_file else init
    else:
        sources["bias"] = "none (--no-bias)"

    def prepare(dt: str, cl: bool):
        t = getattr(torch, dt)
        fmt = _memory_format(torch, spec, input_shape) if cl else torch.contiguous_format
        x = x_host.to(device=dev.name, dtype=t).contiguous(memory_format=fmt)
        w = w_host.to(device=dev.name, dtype=t)
        w = w.contiguous(memory_format=fmt) if cl else w.contiguous()
        b = None if b_host is None else b_host.to(device=dev.name, dtype=t).contiguous()
        return x, w, b

    x, w, b = prepare(dtype, channels_last)
    if not keep_source:
        x_host = None  # free the source copy unless --tune makes more variants from it
    return x, w, b, prepare, sources


def _tune(torch, spec, input_shape, dev, prepare, macs, dtype, channels_last, timing, out,
          dtypes, repeat, warmup, progress, bench_before):
    layouts = [False]
    if spec.dims in (2, 3) and len(input_shape) == spec.dims + 2:
        layouts.append(True)
    benches = [False, True] if dev.is_cuda else [None]
    reference = out.float()
    rows = []
    try:
        for dt in dtypes:
            for cl in layouts:
                x, w, b = prepare(dt, cl)
                for bench in benches:
                    requested = (dt == dtype and cl == channels_last
                                 and bench in (None, bench_before))
                    if requested:
                        t, y = timing, out
                    else:
                        if bench is not None:
                            torch.backends.cudnn.benchmark = bench
                        try:
                            with torch.inference_mode():
                                t, y = time_calls(lambda: functional(spec, x, w, b),
                                                  repeat=repeat, warmup=max(warmup, 1),
                                                  cuda=dev.is_cuda, progress=progress,
                                                  device_index=dev.index,
                                                  label="tune " + TuneRow(
                                                      dt, cl, bench, None, 0, None).label)
                        except (KeyboardInterrupt, ConvError, EnvironmentProblem):
                            raise
                        except Exception as e:  # noqa: BLE001 - a dtype the device lacks
                            failure = _torch_failure(e, spec, dt, dev, tuple(out.shape))
                            if not _is_unsupported(e):
                                raise failure from None
                            rows.append(TuneRow(dt, cl, bench, None, None, None,
                                                error=f"not supported: {_one_line(e)}"))
                            continue
                    diff = float((y.float() - reference).abs().max()) if y.numel() else 0.0
                    rows.append(TuneRow(dt, cl, bench, t, 2 * macs / (t.median_ms / 1e3) / 1e9
                                        if t.median_ms > 0 else 0.0, diff, requested))
                    del y
                del x, w, b
    finally:
        if dev.is_cuda:
            torch.backends.cudnn.benchmark = bench_before
    best = min((i for i, r in enumerate(rows) if r.timing is not None),
               key=lambda i: rows[i].timing.median_ms)
    return tuple(replace(r, fastest=i == best) for i, r in enumerate(rows))


# ---- --save ----------------------------------------------------------------------

def _check_save_path(path: str, inputs) -> str:
    """Refuse before running anything: not .npy, over an input file, or nowhere to write."""
    if not path.lower().endswith(".npy"):
        raise ConvError(f"--save: {path!r} must end in .npy (it is written with numpy.save)")
    target = os.path.realpath(path)
    for f in inputs:
        if os.path.realpath(f.path) == target:
            raise ConvError(f"--save {path!r} is also an input file; refusing to overwrite it, "
                            "save the output under another name")
    if os.path.isdir(path):
        raise ConvError(f"--save: {path!r} is a directory; give a file name ending in .npy")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise EnvironmentProblem(f"--save: directory {parent!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise EnvironmentProblem(f"--save: directory {parent!r} is not writable")
    return path


def _save(path: str, out) -> Saved:
    """numpy.save to a temp file in the target's directory, then rename over the
    target: a failure or an interrupt never leaves a half-written file."""
    from convcli.files import atomic_write

    torch = import_torch()
    note = ""
    y = out.detach()
    if y.dtype == torch.bfloat16:
        y, note = y.float(), "numpy has no bfloat16: saved as float32 (exact)"
    arr = y.cpu().numpy()
    atomic_write(path, lambda f: _np().save(f, arr, allow_pickle=False), "--save")
    return Saved(path, str(arr.dtype), note)
