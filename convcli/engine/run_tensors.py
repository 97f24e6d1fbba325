"""run's tensors on the device: the input (from the .npy, or standard normal under the
seed), the weight and bias (from their files, or the module's default init under the
seed), and ``prepare`` for --tune's other dtypes and layouts.

``InputCache``: a sweep (engine/run_sweep.py) runs one conv after another on the same
INPUT; the cache keeps the prepared input from the first row for the next ones (same
source, shape, seed, device, dtype and layout: the same values), so it is built once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcli.calculator.spec import ConvSpec
from convcli.engine.npy import load_npy
from convcli.engine.torch_adapter import build_module
from convcli.errors import ConvError
from convcli.formatting import shape_x

if TYPE_CHECKING:
    from convcli.engine.conv_run import Plan
    from convcli.engine.devices import Device

InputCache = dict   # (source, shape, seed, device, dtype, channels_last) -> (tensor, source)


def check_channels_last(spec: ConvSpec, input_shape) -> None:
    if len(input_shape) != spec.dims + 2 or spec.dims == 1:
        raise ConvError(
            f"--channels-last: applies to batched 2d (N, C, H, W) and 3d (N, C, D, H, W) "
            f"inputs; this {spec.kind_name} input is {shape_x(input_shape)}; drop "
            "--channels-last")


def _input_key(p: Plan, dev: Device) -> tuple:
    opts = p.options
    return (p.in_file.path if p.in_file else None, p.input_shape, opts.seed, dev.name,
            p.dtype, opts.channels_last)


def _cached(inputs: InputCache | None, p: Plan, dev: Device):
    """The (tensor, source) ``inputs`` holds for this plan, or None (--tune makes its
    own variants: it never uses the cache)."""
    return None if inputs is None or p.tune_dtypes is not None else \
        inputs.get(_input_key(p, dev))


def cached_input_bytes(inputs: InputCache | None, p: Plan, dev: Device) -> int:
    """The bytes of the input ``inputs`` holds for this plan (0 if none): what
    run_tensors will take from the cache instead of making."""
    cached = _cached(inputs, p, dev)
    return 0 if cached is None else cached[0].numel() * cached[0].element_size()


def run_tensors(torch, p: Plan, dev: Device, inputs: InputCache | None = None):
    """Input, weight and bias on the device: from the files, else a standard normal
    input from the seed and the module's default init under the seed (made on the CPU
    in float32, so every device and dtype starts from the same values). Also returns
    ``prepare(dtype, channels_last)`` for --tune's variants, and where each came from.
    ``inputs``: a sweep's cache; the input is taken from it, or put in it."""
    spec, opts = p.spec, p.options
    cached = _cached(inputs, p, dev)
    sources: dict[str, Any] = {}
    x_host = None
    if cached is not None:
        sources["input"] = cached[1]
    elif p.in_file:
        x_host = torch.from_numpy(load_npy(p.in_file, "INPUT"))
        sources["input"] = f"{p.in_file.shown} ({p.in_file.dtype})"
    else:
        gen = torch.Generator().manual_seed(opts.seed)
        x_host = torch.randn(p.input_shape, generator=gen)
        sources["input"] = f"standard normal, seed {opts.seed}"
    if p.w_file is None or (spec.bias and p.b_file is None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(opts.seed)
            module = build_module(spec)
        init = f"default init of {spec.kind_name}, seed {opts.seed}"
    w_host = (torch.from_numpy(load_npy(p.w_file, "--weight-file")) if p.w_file
              else module.weight.data)
    sources["weight"] = f"{p.w_file.shown} ({p.w_file.dtype})" if p.w_file else init
    b_host = None
    if spec.bias:
        b_host = (torch.from_numpy(load_npy(p.b_file, "--bias-file")) if p.b_file
                  else module.bias.data)
        sources["bias"] = f"{p.b_file.shown} ({p.b_file.dtype})" if p.b_file else init
    else:
        sources["bias"] = "none (--no-bias)"

    def prepare(dt: str, cl: bool):
        t = getattr(torch, dt)
        if cl:
            check_channels_last(spec, p.input_shape)
            fmt = torch.channels_last if spec.dims == 2 else torch.channels_last_3d
        else:
            fmt = torch.contiguous_format
        x = None
        if x_host is not None:
            x = x_host.to(device=dev.name, dtype=t).contiguous(memory_format=fmt)
        w = w_host.to(device=dev.name, dtype=t)
        w = w.contiguous(memory_format=fmt) if cl else w.contiguous()
        b = None if b_host is None else b_host.to(device=dev.name, dtype=t).contiguous()
        return x, w, b

    x, w, b = prepare(p.dtype, opts.channels_last)
    if cached is not None:
        x = cached[0]
    elif inputs is not None and p.tune_dtypes is None:
        inputs.clear()              # one input at a time: the last shape's
        inputs[_input_key(p, dev)] = (x, sources["input"])
    if p.tune_dtypes is None:
        x_host = None  # free the source copy unless --tune makes more variants from it
    return x, w, b, prepare, sources
