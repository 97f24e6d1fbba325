"""torch, and the convolution exactly as torch's modules run it. torch is imported
inside functions; everything in convcli that executes torch goes through here.

* ``import_torch()``: torch, or EnvironmentProblem with the install hint;
* ``build_module(spec)``: the nn.ConvNd / nn.ConvTransposeNd torch builds for a spec;
* ``functional(spec, x, weight, bias)``: F.convNd / F.conv_transposeNd, with F.pad
  first for non-'zeros' padding modes, exactly as nn.ConvNd does;
* ``torch_output_shape(spec_args, input_shape)``: what a real CPU forward pass does
  (the oracle the calculator is tested against).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from convcli.errors import ConvError, EnvironmentProblem
from convcli.process import signals_deferred

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

# torch's CPU build (a plain `pip install torch` pulls a CUDA build of several GB), and
# numpy, from PyTorch's index; for a GPU, the command pytorch.org gives for its CUDA
INSTALL_HINT = ("pip install torch numpy --index-url https://download.pytorch.org/whl/cpu "
                "(the CPU build; for a GPU, the command pytorch.org/get-started gives)")
SEED_RANGE = (-2 ** 63, 2 ** 64 - 1)    # what torch.Generator.manual_seed takes


def check_seed(seed: int, option: str = "--seed") -> int:
    """A seed torch takes (ConvError, exit 2, otherwise); no torch needed."""
    low, high = SEED_RANGE
    if not low <= seed <= high:
        shown = str(seed) if abs(seed) < 10 ** 30 else f"(a {abs(seed).bit_length()}-bit number)"
        raise ConvError(f"{option} {shown}: torch takes seeds from -2**63 to 2**64 - 1; use "
                        f"a number in that range, e.g. {option} 3")
    return seed


def import_torch():
    """torch, imported with SIGINT/SIGTERM deferred: torch's import swallows a
    KeyboardInterrupt that lands in part of it (the run would go on as if Ctrl-C had
    not been pressed); deferred, it is raised as soon as the import is done."""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "nn"):    # imported already (and complete)
        return torch
    try:
        with signals_deferred():
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


def module_from_args(args: dict, dtype=None, device=None):
    """The torch module for raw ConvSpec-style keyword arguments, built by torch's
    own constructor (which raises what torch raises)."""
    args = dict(args)
    dims = args.pop("dims")
    transposed = args.pop("transposed", False)
    cls = module_class(dims, transposed)
    if not transposed:
        args.pop("output_padding", None)
    in_c, out_c, k = args.pop("in_channels"), args.pop("out_channels"), args.pop("kernel_size")
    return cls(in_c, out_c, k, dtype=dtype, device=device, **args)


def conv_macs(spec: ConvSpec, input_shape, output_shape) -> int:
    """MACs as torch counts them: torch.utils.flop_counter.conv_flop_count / 2 on
    the shapes aten.convolution sees (a batch of 1 for unbatched inputs). The same
    number FlopCounterMode reports (a test pins it), without FlopCounterMode, whose
    first use imports torch._dynamo, sympy and inductor (seconds of CPU)."""
    import_torch()
    from torch.utils.flop_counter import conv_flop_count

    batched = len(input_shape) == spec.dims + 2
    x = list(input_shape) if batched else [1, *input_shape]
    out = list(output_shape) if batched else [1, *output_shape]
    return conv_flop_count(x, list(spec.weight_shape), out, spec.transposed) // 2


def torch_output_shape(args: dict, input_shape) -> tuple[int, ...]:
    """Build the torch module from raw ConvSpec-style arguments and run a real CPU
    forward pass on zeros of ``input_shape``. Raises whatever torch raises."""
    torch = import_torch()
    with torch.no_grad():
        m = module_from_args(args)
        return tuple(m(torch.zeros(tuple(input_shape))).shape)
