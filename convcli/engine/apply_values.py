"""`convcli apply`: one convolution on given values, and the values to look at.

``plan_apply`` decides from shapes alone (the bias, the --json size limit, the memory
estimate against the budget) before a byte is allocated; ``apply`` then builds the
input (apply_inputs.py), the weight (a named or literal kernel for every channel pair, the
whole weight, or the module's init under the seed) and the bias, and runs
``torch_adapter.functional`` on them: the output is exactly what torch computes.
``tensor_planes`` cuts a tensor into the per-channel planes a view prints (the values
when small, block means for a heatmap when large); ``values_dict`` is --json's
nested lists. torch is imported inside functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

from convcli.calculator.kernels import Init, Kernel, named_kernel
from convcli.calculator.spec import ConvSpec
from convcli.engine.memory import MemoryEstimate, check_budget, estimate_memory, memory_limit
from convcli.engine.apply_inputs import InputPlan, make_input
from convcli.engine.stats import OutputStats, output_stats
from convcli.engine.torch_adapter import build_module, functional, import_torch
from convcli.errors import ConvError
from convcli.formatting import shape_x

DTYPES = ("float32", "float64")
MAX_JSON_VALUES = 1 << 18     # input + weight + bias + output values --json carries
MAX_PLANES = 8                # planes per tensor --values prints
SMALL = 16                    # numbers up to 16 per spatial dim (3d: 4 deep)
SMALL_DEPTH = 4
HEAT_CELLS = 28               # a heatmap is at most 28 x 28 cells (MNIST whole)


@dataclass(frozen=True)
class ApplyOptions:
    """Everything `apply` takes besides the conv and INPUT. ``whole``: the kernel
    literal is the whole weight; ``max_memory``: bytes, a share of free RAM, or None."""

    kernel: Kernel | None = None
    whole: bool = False
    bias_value: float | None = None
    seed: int = 0
    dtype: str = "float32"
    max_memory: int | float | None = None
    json_values: bool = False
    init: Init | None = None        # --init: torch.nn.init on the weight under the seed


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    source: str
    stats: OutputStats

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "source": self.source,
                "min": self.stats.min, "max": self.stats.max, "mean": self.stats.mean}


@dataclass
class Applied:
    """The tensors torch ran on and what it returned (CPU, ``dtype``)."""

    spec: ConvSpec
    input: InputPlan
    options: ApplyOptions
    estimate: MemoryEstimate
    x: Any  # torch.Tensor: torch is imported inside functions only
    w: Any
    b: Any  # None without bias
    y: Any
    sources: dict = field(default_factory=dict)

    @property
    def batched(self) -> bool:
        return self.x.dim() == self.spec.dims + 2

    def tensor(self, name: str):
        return {"input": self.x, "weight": self.w, "bias": self.b, "output": self.y}[name]

    def infos(self) -> list[TensorInfo]:
        out = []
        for name in ("input", "weight", "bias", "output"):
            t = self.tensor(name)
            if t is not None:
                out.append(TensorInfo(name, tuple(t.shape), self.sources[name],
                                      output_stats(t)))
        return out


def plan_apply(spec: ConvSpec, plan: InputPlan, opts: ApplyOptions) -> MemoryEstimate:
    """Refuse what cannot work before anything is allocated."""
    if opts.dtype not in DTYPES:
        raise ConvError(f"--dtype {opts.dtype!r}: apply computes in {' or '.join(DTYPES)}")
    if opts.bias_value is not None and not spec.bias:
        raise ConvError(f"--bias-value {opts.bias_value:g} was given with --no-bias; drop "
                        "one of them")
    out = spec.output_shape(plan.shape)
    if opts.json_values:
        counts = {"input": prod(plan.shape), "weight": spec.num_weight,
                  "bias": spec.out_channels if spec.bias else 0, "output": prod(out)}
        total = sum(counts.values())
        if total > MAX_JSON_VALUES:
            big = max(counts, key=lambda k: counts[k])
            raise ConvError(
                f"--values --json carries every value, here {total:,} (the {big} alone "
                f"{counts[big]:,}), more than the {MAX_JSON_VALUES:,} it writes; use a "
                "smaller INPUT (or --resize for an image), or drop --json to see a heatmap")
    est = estimate_memory(spec, plan.shape, opts.dtype)
    if plan.image is not None:
        est = replace(est, staging=est.staging + plan.image.decoded_bytes)
    limit, source = memory_limit("cpu", opts.max_memory)
    return check_budget(est, limit, source, "the CPU", opts.max_memory is not None)


def apply(spec: ConvSpec, plan: InputPlan, opts: ApplyOptions) -> Applied:
    """Build the tensors and run the conv (after ``plan_apply``'s checks)."""
    est = plan_apply(spec, plan, opts)
    torch = import_torch()
    dtype = getattr(torch, opts.dtype)
    sources = {"input": plan.describe(opts.seed)}
    with torch.no_grad():
        x = make_input(plan, spec.dims, opts.seed).to(dtype)
        w, b = _weight_and_bias(torch, spec, opts, sources)
        w, b = w.to(dtype), None if b is None else b.to(dtype)
        with warnings.catch_warnings():   # torch's note on 'same' with an even kernel
            warnings.filterwarnings("ignore", message="Using padding='same'")
            y = functional(spec, x, w, b)
    sources["output"] = f"F.{_fn_name(spec)} (torch.nn.functional)"
    return Applied(spec, plan, opts, est, x, w, b, y, sources)


def _fn_name(spec: ConvSpec) -> str:
    return f"conv{'_transpose' if spec.transposed else ''}{spec.dims}d"


def _weight_and_bias(torch, spec: ConvSpec, opts: ApplyOptions, sources: dict):
    """The weight from --kernel (or the module's init under the seed) and the bias
    from --bias-value (0 with a --kernel; else the init)."""
    kernel = opts.kernel
    module = None
    if kernel is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(opts.seed)
            module = build_module(spec)
    init = f"default init of {spec.kind_name}, seed {opts.seed}"
    if kernel is None:
        assert module is not None
        w = module.weight.data
        sources["weight"] = init
        if opts.init is not None:
            w = _initialised(torch, w, opts.init, opts.seed)
            sources["weight"] = f"{opts.init.describe}, seed {opts.seed}"
    else:
        grid = kernel.grid if kernel.grid is not None else named_kernel(
            kernel.name or "", spec.kernel_size)
        w = torch.tensor(grid.values, dtype=torch.float64).reshape(grid.shape)
        if opts.whole:
            if tuple(w.shape) != spec.weight_shape:
                layout = "(C_in, C_out/g, *k)" if spec.transposed else "(C_out, C_in/g, *k)"
                raise ConvError(
                    f"--weight: the literal has shape {shape_x(w.shape)} but "
                    f"{spec.torch_repr()} needs a weight of shape {shape_x(spec.weight_shape)} "
                    f"{layout}; give that, or one kernel {shape_x(spec.kernel_size)} for every "
                    "channel pair")
            sources["weight"] = f"--weight {kernel.describe} (the whole weight)"
        else:
            w = w.expand(spec.weight_shape).contiguous()
            sources["weight"] = f"--weight {kernel.describe}" + (
                "" if prod(spec.weight_shape[:2]) == 1 else ", for every channel pair")
    if not spec.bias:
        return w, None
    if opts.bias_value is not None:
        sources["bias"] = f"--bias-value {opts.bias_value:g}"
        return w, torch.full((spec.out_channels,), float(opts.bias_value), dtype=torch.float64)
    if module is None:
        sources["bias"] = "0 (--bias-value sets it)"
        return w, torch.zeros(spec.out_channels, dtype=torch.float64)
    sources["bias"] = init
    return w, module.bias.data


def _initialised(torch, w, init: Init, seed: int):
    """torch.nn.init's function on a weight of w's shape, seeded as torch.manual_seed
    (seed) then the call: the tensor a user's own code gets."""
    out = torch.empty_like(w)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        getattr(torch.nn.init, init.function)(out, **dict(init.kwargs))
    return out


# ---- what --values prints and --json carries ------------------------------------------

@dataclass(frozen=True)
class Plane:
    """One (sample, channel) slice of a tensor over its spatial dims: ``values``
    (nested lists) when small, else ``heat``: block means over ``block`` x ``block``
    values of a 2d slice (for 3d, depth ``depth``). ``lo``/``hi``: the smallest and
    largest finite value shown (of the cells, for a heatmap)."""

    index: tuple[int, ...]
    shape: tuple[int, ...]
    values: list | None
    heat: list | None
    block: int
    depth: int | None
    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class TensorPlanes:
    name: str
    shape: tuple[int, ...]
    planes: list[Plane]
    omitted: int           # planes left out (more than MAX_PLANES)


def is_small(spatial: tuple[int, ...]) -> bool:
    """Printed as numbers: up to 16 per dim (a 3d one up to 4 deep)."""
    if len(spatial) == 3 and spatial[0] > SMALL_DEPTH:
        return False
    return all(n <= SMALL for n in spatial)


def tensor_planes(applied: Applied, name: str) -> TensorPlanes | None:
    """The first MAX_PLANES planes of input, weight or output (bias: one plane)."""
    t = applied.tensor(name)
    if t is None:
        return None
    d = applied.spec.dims
    if name == "bias":
        t, lead = t.reshape(1, -1), ()
    else:
        lead = tuple(t.shape[:-d])
        t = t.reshape((-1,) + tuple(t.shape[-d:]))
    planes = [_plane(t[i], _unravel(i, lead)) for i in range(min(t.shape[0], MAX_PLANES))]
    return TensorPlanes(name, tuple(applied.tensor(name).shape), planes,
                        max(0, t.shape[0] - MAX_PLANES))


def _unravel(i: int, lead: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for n in reversed(lead):
        out.append(i % n)
        i //= n
    return tuple(reversed(out))


def _plane(p, index: tuple[int, ...]) -> Plane:
    torch = import_torch()
    spatial = tuple(p.shape)
    p64 = p.to(torch.float64)
    finite = p64[torch.isfinite(p64)]
    lo = float(finite.min()) if finite.numel() else None
    hi = float(finite.max()) if finite.numel() else None
    if is_small(spatial):
        return Plane(index, spatial, p64.tolist(), None, 1, None, lo, hi)
    # a heatmap's shades span its cells (block means), not the single values
    depth = None
    if p64.dim() == 3:
        depth = spatial[0] // 2
        p64 = p64[depth]
    plane = p64.reshape(1, -1) if p64.dim() == 1 else p64
    h, w = plane.shape
    block = max(1, -(-max(h, w) // HEAT_CELLS)) if p64.dim() == 2 else max(
        1, -(-w // HEAT_CELLS))
    bh = 1 if p64.dim() == 1 else block
    padded = torch.nn.functional.pad(plane, (0, (-w) % block, 0, (-h) % bh),
                                     value=float("nan"))
    hb, wb = padded.shape[0] // bh, padded.shape[1] // block
    heat = padded.reshape(hb, bh, wb, block).nanmean(dim=(1, 3))
    cells = heat[torch.isfinite(heat)]
    if cells.numel():
        lo, hi = float(cells.min()), float(cells.max())
    rows = heat.tolist()
    return Plane(index, spatial, None, rows[0] if p64.dim() == 1 else rows, block, depth,
                 lo, hi)


def values_dict(applied: Applied) -> dict:
    """--values --json: every value as nested lists (plan_apply checked the size)."""
    torch = import_torch()
    out = {}
    for name in ("input", "weight", "bias", "output"):
        t = applied.tensor(name)
        out[f"{name}_values"] = None if t is None else t.to(torch.float64).tolist()
    return out


# ---- what --png draws -------------------------------------------------------------------

@dataclass(frozen=True)
class FigureRow:
    """One row of the --png figure: input channel i, a kernel, output channel i
    (numpy arrays over 1 or 2 spatial dims; a 3d conv's middle depth), None where the
    tensor has no such channel."""

    index: int
    input: Any  # numpy arrays (numpy is imported inside functions only), or None
    kernel: Any
    kernel_label: str
    output: Any


def figure_rows(applied: Applied, most: int = MAX_PLANES) -> tuple[list[FigureRow], int, str]:
    """The first ``most`` rows (sample 0), how many channels were left out, and what a
    3d conv's picture shows."""
    if applied.x.numel() == 0 or applied.y.numel() == 0:
        raise ConvError(f"--png: the input {shape_x(applied.x.shape)} or the output "
                        f"{shape_x(applied.y.shape)} holds no values; nothing to draw: use "
                        "an INPUT with at least one sample, channel and position")
    x = applied.x if not applied.batched else applied.x[0]
    y = applied.y if not applied.batched else applied.y[0]
    w = applied.w
    d = applied.spec.dims

    def flat2(t):
        t = t.detach().double()
        if d == 3:
            t = t[t.shape[0] // 2]
        return t.numpy()

    n = max(x.shape[0], y.shape[0])
    rows = []
    for i in range(min(n, most)):
        k = (i, 0) if i < w.shape[0] else None
        rows.append(FigureRow(
            i, flat2(x[i]) if i < x.shape[0] else None,
            None if k is None else flat2(w[k]), "" if k is None else f"weight[{i}, 0]",
            flat2(y[i]) if i < y.shape[0] else None))
    note = "the middle depth slice of each 3d tensor" if d == 3 else ""
    return rows, max(0, n - most), note
