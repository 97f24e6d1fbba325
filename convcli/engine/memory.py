"""How much memory a run needs, worked out from shapes before anything is allocated,
and the budget it is checked against (--max-memory, or a share of what is free)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass, replace
from math import prod

from convcli.calculator.costs import dtype_size
from convcli.calculator.parse import parse_bytes
from convcli.calculator.spec import ConvSpec
from convcli.engine.ram import available_ram, own_rss
from convcli.engine.stats import STATS_CHUNK
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import size

CPU_SHARE = 0.75   # default --max-memory on CPU: this share of the RAM available now
GPU_SHARE = 0.90   # default on CUDA: this share of the device memory free now
MARGIN_DIVISOR = 10       # the margin: a tenth, in whole numbers (sizes past a float)
MARGIN_FIXED = 64 * 1024 ** 2
# the interpreter, torch and numpy resident before any tensor (benchmarks/run_memory.py
# measures it: 242 MiB for torch 2.13's CPU build; its CUDA build, cu130, loads its GPU
# libraries on import even with no GPU: 494 MiB on Python 3.10, 545 on 3.13); used until
# torch is imported, then the process's own resident size replaces it
PROCESS_BASELINE = 240 * 1024 ** 2
GPU_BUILD_BASELINE = 560 * 1024 ** 2
ONEDNN_BLOCK = 16         # oneDNN's blocked layouts pad channels to 16 (AVX-512; 8 on AVX2)
ONEDNN_DTYPES = ("float32", "bfloat16")   # the CPU dtypes torch hands to oneDNN
STATS_BYTES = 25          # per element of a stats chunk: float64 copy, deviation, square, mask


def process_baseline() -> int:
    """PROCESS_BASELINE, or GPU_BUILD_BASELINE for a CUDA or ROCm build of torch (read
    from torch/version.py, without importing torch)."""
    return GPU_BUILD_BASELINE if gpu_build() else PROCESS_BASELINE


def gpu_build() -> bool:
    """Is the torch this Python would import a CUDA or ROCm build?"""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "version"):
        return bool(torch.version.cuda or torch.version.hip)
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return False
    where = spec.submodule_search_locations if spec is not None else None
    if not where:                  # no torch, or a torch.py that is not the package
        return False
    try:
        with open(os.path.join(list(where)[0], "version.py")) as f:
            text = f.read(8192)
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^(cuda|hip)\b[^=\n]*=\s*['\"]", text, re.M) is not None


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs at its peak, worked out from shapes before anything is
    allocated; on the CPU the process's own baseline (interpreter, torch) included, so
    ``total`` compares with the process's peak resident size. ``limit`` is the budget
    it is checked against."""

    input: int
    weight: int
    bias: int
    output: int
    padded_input: int   # F.pad copy: non-'zeros' modes, and 'same' with uneven sides
    staging: int        # the input's source copy when the run's dtype differs from it
    workspace: int      # CPU: oneDNN's channel-padded copies, or im2col columns (one
    #                     sample per thread), or the output statistics' chunk, the largest
    tune: int           # --tune: a reference output, every variant's input and weight
    margin: int
    baseline: int = 0   # CPU: the process itself (interpreter, torch, numpy)
    limit: int | None = None
    limit_source: str = ""

    @property
    def tensors(self) -> int:
        return self.input + self.weight + self.bias + self.output

    @property
    def total(self) -> int:
        return (self.tensors + self.padded_input + self.staging + self.workspace
                + self.tune + self.margin + self.baseline)

    def as_dict(self) -> dict:
        return {"input": self.input, "weight": self.weight, "bias": self.bias,
                "output": self.output, "padded_input": self.padded_input,
                "staging": self.staging, "workspace": self.workspace, "tune": self.tune,
                "margin": self.margin, "baseline": self.baseline, "total": self.total,
                "limit": self.limit, "limit_source": self.limit_source}


def _blocked(batch: int, channels: int, spatial: int, size: int) -> int:
    return batch * -(-channels // ONEDNN_BLOCK) * ONEDNN_BLOCK * spatial * size


def cpu_workspace(spec: ConvSpec, shape, out, dtype: str, threads: int) -> int:
    """What torch's CPU kernels allocate beyond the tensors, for one dtype. oneDNN
    (float32/bfloat16 convs) reorders the output, and for 1x1 and 3d kernels the
    input too, into layouts whose channels are padded to 16: a 1-channel 1x1 conv
    takes 16x its input and output again. The native kernels (float64, float16,
    transposed) build im2col columns, one sample per thread. Measured against real
    peaks in benchmarks/run_memory.py."""
    size = dtype_size(dtype)
    d = spec.dims
    batch = shape[0] if len(shape) == d + 2 else 1
    in_sp, out_sp = prod(shape[-d:]), prod(out[-d:])
    k = prod(spec.kernel_size)
    if dtype in ONEDNN_DTYPES and not spec.transposed:
        blocked = _blocked(batch, spec.out_channels, out_sp, size)
        if k == 1 or d == 3:
            blocked += _blocked(batch, spec.in_channels, in_sp, size)
        return blocked
    per_sample = (spec.out_channels * k * in_sp if spec.transposed
                  else spec.in_channels * k * out_sp)
    return per_sample * min(batch, threads) * size


def estimate_memory(spec: ConvSpec, input_shape, dtype: str, *, cuda: bool = False,
                    tune_dtypes=(), threads: int | None = None, source_dtype: str = "float32",
                    baseline: int | None = None) -> MemoryEstimate:
    """Bytes on the run's device: input + weight + bias + output, the copies the run
    makes, the kernels' workspace and a margin (10% + 64 MiB), and on the CPU the
    process itself (``baseline``, default ``process_baseline()``). On CUDA the staging
    copy lives on the host (see ``host_bytes``) and cuDNN's workspace is left to the
    margin."""
    dtypes = (dtype,) + tuple(tune_dtypes)
    size = max(dtype_size(d) for d in dtypes)
    shape = tuple(input_shape)
    out = spec.output_shape(shape)
    n_in, n_out = prod(shape), prod(out)
    d = spec.dims
    padded = 0
    asymmetric_same = spec.padding == "same" and any(l != r for l, r in spec.padding_pairs)
    if spec.padding_mode != "zeros" or asymmetric_same:
        spatial = shape[-d:]
        padded = prod(shape[:-d]) * prod(n + pl + pr for n, (pl, pr)
                                         in zip(spatial, spec.padding_pairs)) * size
    workspace = staging = 0
    if not cuda:
        threads = threads or os.cpu_count() or 1
        workspace = max([cpu_workspace(spec, shape, out, dt, threads) for dt in dtypes]
                        + [min(n_out, STATS_CHUNK) * STATS_BYTES])
        if any(dt != source_dtype for dt in dtypes):
            staging = host_bytes(spec, shape, source_dtype)
    n_bias = spec.out_channels if spec.bias else 0
    tensors = (n_in + spec.num_weight + n_bias + n_out) * size
    # --tune: a float32 reference output, every variant's input and weight resident
    # while the rounds run (each dtype in each layout), one output at a time
    layouts = 2 if d in (2, 3) and len(shape) == d + 2 else 1
    tune = (n_out * 4 + n_out * size + layouts * sum(
        (n_in + spec.num_weight) * dtype_size(dt) for dt in dict.fromkeys(dtypes))
        if tune_dtypes else 0)
    margin = margin_for(tensors)
    return MemoryEstimate(n_in * size, spec.num_weight * size, n_bias * size, n_out * size,
                          padded, staging, workspace, tune, margin,
                          0 if cuda else process_baseline() if baseline is None else baseline)


def margin_for(tensors: int) -> int:
    """10% + 64 MiB, in integers (an input of 10**160 elements must not overflow)."""
    return tensors // MARGIN_DIVISOR + MARGIN_FIXED


def host_bytes(spec: ConvSpec, input_shape, dtype: str, save: bool = False) -> int:
    """Host RAM for the input's source copy (seeded float32 values or the loaded
    file), plus the output's copy when a CUDA run saves it."""
    size = max(4, dtype_size(dtype))
    staging = prod(input_shape) * size
    if save:
        staging += prod(spec.output_shape(input_shape)) * size
    return staging


def parse_budget(text: str | None, option: str = "--max-memory") -> int | float | None:
    """--max-memory as ``memory_limit`` takes it; a size too large for a float
    (1e400GiB) is a usage error rather than an OverflowError."""
    if text is None:
        return None
    try:
        return parse_bytes(text, option)
    except (OverflowError, ValueError) as e:
        if isinstance(e, ConvError):
            raise
        raise ConvError(f"{option}: {text[:40]!r}{'...' if len(text) > 40 else ''} is larger "
                        "than any machine's memory; write e.g. 8GiB or 50% (of the free "
                        "memory), or leave it out for the default") from None


def memory_limit(device_kind: str, max_memory, index: int | None = None) -> tuple[int | None, str]:
    """The budget: --max-memory as bytes (int, the whole process), as a share of free
    memory (float from 'N%'), or by default CPU_SHARE of available RAM / GPU_SHARE of
    free GPU memory. On the CPU a share is of what is still available (MemAvailable and
    this process's cgroup chain), plus what the process already holds, since the
    estimate counts the process too."""
    if isinstance(max_memory, int):
        return max_memory, "--max-memory"
    if device_kind == "cuda":
        torch = import_torch()
        free, _total = torch.cuda.mem_get_info(index)
        share = GPU_SHARE if max_memory is None else max_memory
        return int(free * share), f"{share:.0%} of {size(free)} free on the GPU"
    free, source = available_ram()
    if free is None:
        return None, "unknown"
    share = CPU_SHARE if max_memory is None else max_memory
    held = own_rss()
    return int(free * share) + held, (f"{share:.0%} of {size(free)} {source}, plus the "
                                      f"{size(held)} this process holds")


def check_budget(est: MemoryEstimate, limit: int | None, source: str, device: str,
                 given: bool) -> MemoryEstimate:
    est = replace(est, limit=limit, limit_source=source)
    if limit is not None and est.total > limit:
        parts = [f"input {size(est.input)}", f"output {size(est.output)}",
                 f"weight {size(est.weight + est.bias)}"]
        extra = est.padded_input + est.staging + est.workspace + est.tune + est.margin
        parts.append(f"copies, workspace and margin {size(extra)}")
        if est.baseline:
            parts.append(f"the process itself {size(est.baseline)}")
        way = "use a smaller batch or input" + ("" if given else ", or raise --max-memory "
                                                "if you know it fits")
        raise EnvironmentProblem(
            f"this run needs about {size(est.total)} on {device} "
            f"({', '.join(parts)}) but the limit is {size(limit)} ({source}); {way}")
    return est


# ---- timing and statistics -------------------------------------------------------
