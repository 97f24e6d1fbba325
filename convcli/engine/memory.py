"""How much memory a run needs, worked out from shapes before anything is allocated,
and the budget it is checked against (--max-memory, or a share of what is free)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from math import prod

from convcli.calculator.costs import dtype_size
from convcli.calculator.parse import parse_bytes
from convcli.calculator.spec import ConvSpec
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import size

CPU_SHARE = 0.75   # default --max-memory on CPU: this share of the RAM available now
GPU_SHARE = 0.90   # default on CUDA: this share of the device memory free now
MARGIN_SHARE = 0.10
MARGIN_FIXED = 64 * 1024 ** 2


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
    """The budget: --max-memory as bytes (int), as a share of free memory (float
    from 'N%'), or by default CPU_SHARE of available RAM / GPU_SHARE of free GPU memory."""
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
    return int(free * share), f"{share:.0%} of {size(free)} {source}"


def check_budget(est: MemoryEstimate, limit: int | None, source: str, device: str,
                 given: bool) -> MemoryEstimate:
    est = replace(est, limit=limit, limit_source=source)
    if limit is not None and est.total > limit:
        parts = [f"input {size(est.input)}", f"output {size(est.output)}",
                 f"weight {size(est.weight + est.bias)}"]
        extra = est.padded_input + est.staging + est.workspace + est.tune + est.margin
        parts.append(f"copies, workspace and margin {size(extra)}")
        way = "use a smaller batch or input" + ("" if given else ", or raise --max-memory "
                                                "if you know it fits")
        raise EnvironmentProblem(
            f"this run needs about {size(est.total)} on {device} "
            f"({', '.join(parts)}) but the limit is {size(limit)} ({source}); {way}")
    return est


# ---- timing and statistics -------------------------------------------------------
