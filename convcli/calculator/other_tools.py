"""What other counting tools would report for one conv layer (`params --conventions`).

Each function is the tool's own formula, read from its source (file named in
``PeerCount.source``), as pure integer math on shapes: no torch, no numpy, no
forward pass. Notation: N batch, S_in / S_out the products of the input / output
spatial sizes, K = prod(kernel), g groups, w the weight shape (conv
(C_out, C_in/g, *k), transposed (C_in, C_out/g, *k)).

Worked case (ConvTranspose2d(16, 32, 4, stride=2, padding=1, groups=4) on 1x16x8x8,
true MACs 131,072): flop_counter 262,144 FLOPs; fvcore and ultralytics-thop 131,072;
ptflops 139,264; thop 524,288; torchinfo 532,480; torchscan 524,296; torchprofile
2,097,152; calflops / DeepSpeed 32,768.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from math import prod

from convcli.errors import ConvError
from convcli.calculator.spec import ConvSpec


@dataclass(frozen=True)
class PeerCount:
    tool: str
    source: str
    unit: str          # "FLOPs" or "MACs"
    value: int
    formula: str
    bias: str          # how the tool treats bias
    wrong_for_transposed: bool  # the tool's transposed formula is wrong (in general)
    verdict: str = ""  # for THIS layer, against convcli

    def as_dict(self) -> dict:
        return {"tool": self.tool, "source": self.source, "unit": self.unit,
                "value": self.value, "formula": self.formula, "bias": self.bias,
                "wrong_for_transposed": self.wrong_for_transposed, "verdict": self.verdict}


@dataclass(frozen=True)
class PeerReport:
    spec: ConvSpec
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    macs: int
    flops: int
    bias_adds: int
    peers: list[PeerCount]

    def as_dict(self) -> dict:
        return {"convcli": {"macs": self.macs, "flops": self.flops,
                            "bias_adds": self.bias_adds},
                "tools": [p.as_dict() for p in self.peers]}


def _calflops_conv_out(spec: ConvSpec, spatial) -> list[int]:
    """calflops / DeepSpeed recompute the output with the *conv* formula and take
    'same' as dil*(k-1)//2 per side (one short for even kernels)."""
    out = []
    for i, (n, k, s, dl) in enumerate(zip(spatial, spec.kernel_size, spec.stride,
                                          spec.dilation)):
        p = dl * (k - 1) // 2 if spec.padding == "same" else spec.padding[i]
        out.append((n + 2 * p - (dl * (k - 1) + 1)) // s + 1)
    return out


def peer_counts(spec: ConvSpec, input_shape: Sequence[int] | None) -> PeerReport:
    """Every tool's figure for this layer on this input (unbatched counts as N = 1)."""
    if input_shape is None:
        raise ConvError(
            "--conventions needs INPUT: every tool counts operations on a concrete input "
            f"shape, e.g. convcli params 1x{spec.in_channels}x" + "x".join(["32"] * spec.dims)
            + " ...")
    input_shape = tuple(input_shape)
    out_shape = spec.output_shape(input_shape)
    d, g, t = spec.dims, spec.groups, spec.transposed
    batched = len(input_shape) == d + 2
    n = input_shape[0] if batched else 1
    c_in, c_out = spec.in_channels, spec.out_channels
    s_in, s_out = prod(input_shape[-d:]), prod(out_shape[-d:])
    k = prod(spec.kernel_size)
    w = spec.weight_shape
    w0, w1 = w[0], w[1]
    numel_out, numel_in = n * c_out * s_out, n * c_in * s_in
    true_macs = spec.macs(input_shape)
    adds = spec.bias_adds(input_shape)
    has_bias = spec.bias
    bias_n = c_out if has_bias else 0
    s_name = "S_in" if t else "S_out"
    s_used = s_in if t else s_out

    peers = [
        PeerCount("torch flop_counter", "torch/utils/flop_counter.py", "FLOPs",
                  2 * n * s_used * k * w0 * w1, f"2 N {s_name} K w0 w1", "ignored", False),
        PeerCount("fvcore", "fvcore/nn/jit_handles.py", "MACs (called flops)",
                  n * prod(w) * s_used, f"N prod(w) {s_name}", "ignored", False),
        PeerCount("ptflops", "ptflops/pytorch_ops.py", "MACs",
                  k * c_in * (c_out // g) * n * s_used + (n * c_out * s_out if has_bias else 0),
                  f"K C_in (C_out/g) N {s_name} + bias", "+ N C_out S_out", False),
        PeerCount("thop (PyPI)", "thop/vision/calc_func.py", "MACs",
                  numel_out * (c_in // g) * k, "numel(out) (C_in/g) K", "ignored", True),
        PeerCount("ultralytics-thop", "thop/vision/basic_hooks.py", "MACs",
                  (numel_in * (c_out // g) * k) if t else (numel_out * (c_in // g) * k),
                  "numel(in) (C_out/g) K" if t else "numel(out) (C_in/g) K", "ignored", False),
        PeerCount("torchinfo", "torchinfo/layer_info.py", "MACs",
                  (prod(w) + bias_n) * n * s_out, "(numel(w) + numel(b)) N S_out",
                  "1 MAC per output", True),
        PeerCount("calflops / DeepSpeed", "calflops/pytorch_ops.py", "MACs",
                  *_calflops(spec, input_shape, n, c_in, w, k), "ignored in MACs", True),
        PeerCount("torchscan", "torchscan/modules/macs.py", "MACs",
                  numel_out * (c_in // g) * k + (4 * d if t else 0),
                  "numel(out) (C_in/g) K" + (" + 4 d" if t else ""), "counted in FLOPs only",
                  True),
        PeerCount("torchprofile", "torchprofile/handlers.py", "MACs",
                  numel_out * _torchprofile_c(spec, out_shape, batched) * k,
                  "numel(out) c K, c by a heuristic", "ignored", True),
    ]
    return PeerReport(spec, input_shape, out_shape, true_macs, 2 * true_macs, adds,
                      [_judge(p, true_macs, adds) for p in peers])


def _calflops(spec, input_shape, n, c_in, w, k) -> tuple[int, str]:
    if spec.transposed:
        # reads out_channels = weight.shape[1] (already C_out/g) and divides by g again
        per = k * c_in * (w[1] // spec.groups)
        return per * n * prod(input_shape[-spec.dims:]), "K C_in (w1/g) N S_in"
    out = _calflops_conv_out(spec, input_shape[-spec.dims:])
    return (k * c_in * (spec.out_channels // spec.groups) * n * prod(max(o, 0) for o in out),
            "K C_in (C_out/g) N S_out" + (" ('same' as d(k-1)//2)"
                                          if spec.padding == "same" else ""))


def _torchprofile_c(spec: ConvSpec, out_shape, batched: bool) -> int:
    """torchprofile: if out.shape[1] == w.shape[0] the weight is read as
    (oc, ic, *k), else as (ic, oc, *k); c is that ic."""
    w = spec.weight_shape
    out_c = out_shape[1] if batched else out_shape[0]
    return w[1] if out_c == w[0] else w[0]


def _judge(p: PeerCount, true_macs: int, adds: int) -> PeerCount:
    base = 2 * true_macs if p.unit == "FLOPs" else true_macs
    if p.value == base:
        verdict = "= FLOPs" if p.unit == "FLOPs" else "= MACs"
    elif adds and p.value == true_macs + adds:
        verdict = "= MACs + bias adds"
    elif base == 0:
        verdict = "differs"
    else:
        ratio = p.value / base
        verdict = f"x{ratio:.3g}, too {'high' if ratio > 1 else 'low'}"
    return PeerCount(p.tool, p.source, p.unit, p.value, p.formula, p.bias,
                     p.wrong_for_transposed, verdict)
