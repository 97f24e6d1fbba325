"""`net --rf` and `net --field`: the receptive field of every row of a layer stack,
from the layers' rules (fields.py has the arithmetic). A layer becomes one step per
spatial dim (two for a conv that pads with reflect/replicate/circular: the pad, then
the window); layers that mix every position (InstanceNorm, GroupNorm, a LayerNorm or
Softmax over a spatial dim) make the field global along it, with a note; after a
layer that ends the spatial dims (Flatten, Linear) rows have no field. Batch
statistics are ignored: BatchNorm is the per-channel affine map of eval mode.
Pure Python.
"""

from __future__ import annotations

from dataclasses import replace

from convcli.network.fields import Nominal, propagate, row_field, seed
from convcli.network.report import NetReport

_SAME = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU",
         "SiLU", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "Sigmoid", "Tanh",
         "Softplus", "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "Threshold",
         "LogSigmoid", "Dropout", "AlphaDropout", "FeatureAlphaDropout", "Identity",
         "BatchNorm", "SyncBatchNorm", "ChannelShuffle", "LocalResponseNorm",
         "CrossMapLRN2d", "Softmax2d", "LazyBatchNorm")
_PAD_MODES = {"ZeroPad": "zeros", "ConstantPad": "zeros", "ReflectionPad": "reflect",
              "ReplicationPad": "replicate", "CircularPad": "circular"}


def layer_steps(layer, row, d: int, dims: int) -> list | None:
    """The per-dim steps of one layer along spatial dim ``d`` (None: the spatial dims
    end here)."""
    kind = row.kind.removeprefix("Lazy")
    if len(row.output_shape) != dims + 2 or len(row.input_shape) != dims + 2:
        return None
    if layer.conv is not None:
        return _conv_steps(layer.conv, d)
    if kind.startswith(("MaxPool", "AvgPool", "LPPool")):
        return [("window", layer.kernel[d], layer.stride[d], layer.padding[d],
                 layer.dilation[d])]
    if kind.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")):
        return [("adaptive",)]
    if kind.startswith(("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")):
        return [_resample(layer.mode, layer.align)]
    for prefix, mode in _PAD_MODES.items():
        if kind.startswith(prefix):
            return [("pad", layer.pad[2 * (dims - 1 - d)], mode)]
    if kind == "PixelShuffle":
        return [("unshuffle" if layer.down else "shuffle", layer.r)]
    if kind.startswith(("InstanceNorm", "GroupNorm")):
        return [("global",)]
    if kind in ("LayerNorm", "RMSNorm"):
        return [("global",)] if d + 2 >= dims + 2 - len(layer.ns) else [("same",)]
    if kind in ("Softmax", "LogSoftmax", "Softmin"):
        dim = layer.values.get("dim")
        return [("global",)] if dim is not None and dim % (dims + 2) == d + 2 else \
            [("same",)]
    if kind.startswith(_SAME):
        return [("same",)]
    return None


def _conv_steps(spec, d: int) -> list:
    k, s, dl = spec.kernel_size[d], spec.stride[d], spec.dilation[d]
    left, _right = spec.padding_pairs[d]
    if spec.transposed:
        return [("convT", k, s, spec.padding[d], dl)]
    if spec.padding_mode != "zeros" and (left or _right):
        return [("pad", left, spec.padding_mode), ("window", k, s, 0, dl), _right]
    return [("window", k, s, left, dl)]


def _resample(mode: str, align) -> tuple:
    if mode == "nearest":
        return ("nearest",)
    if mode == "area":
        return ("adaptive",)
    return ("linear", bool(align))


def net_fields(report: NetReport, layers: list) -> tuple[NetReport, list[str]]:
    """The report with each row's receptive field (None after the spatial dims end),
    and notes."""
    shape = report.input_shape
    dims = len(shape) - 2
    if dims < 1:
        return report, ["receptive fields: the input has no spatial dims"]
    fields = [seed(L) for L in shape[2:]]
    nominal = [Nominal() for _ in range(dims)]
    rows, notes, ended = [], [], False
    for row, layer in zip(report.rows, layers):
        found = [] if ended else [layer_steps(layer, row, d, dims) for d in range(dims)]
        steps = [s for s in found if s is not None]
        if ended or len(steps) != dims:
            ended = True
            rows.append(row)
            continue
        for d in range(dims):
            fields[d], nominal[d] = _advance(fields[d], nominal[d], steps[d],
                                             row.input_shape[2 + d], row.output_shape[2 + d])
        if any(s[0] == ("global",) for s in steps):
            notes.append(f"layer {row.index} {row.layer}: every output reads every position "
                         "(statistics over the spatial dims)")
        rows.append(replace(row, rf=row_field(fields, nominal, keep=True)))
    return replace(report, rows=rows), notes


def _advance(field, nominal, steps, L_in: int, L_out: int):
    if steps[0][0] == "pad" and len(steps) == 3:     # reflect/replicate/circular conv
        pad, window, right = steps
        L_pad = L_in + pad[1] + right
        field = propagate(field, pad, L_in, L_pad)
        nominal = nominal.then(pad)
        return propagate(field, window, L_pad, L_out), nominal.then(window)
    for step in steps:
        field = propagate(field, step, L_in, L_out)
        nominal = nominal.then(step)
    return field, nominal


def select(report: NetReport, spec: str) -> tuple[int, tuple[int, ...]]:
    """--field LAYER[@POS]: LAYER a row number or a module name, POS one index per
    spatial dim ('3,5'; default: the centre). Returns (row position, output position)."""
    from convcli.errors import ConvError
    layer, _, pos = spec.partition("@")
    layer = layer.strip()
    match = [i for i, r in enumerate(report.rows)
             if str(r.index) == layer or r.name == layer or r.layer == layer]
    if not match and any((r.name or "").startswith(layer + ".") for r in report.rows):
        raise ConvError(f"--field {spec!r}: {layer!r} is a block, which has no row of its "
                        f"own here: add --depth {layer.count('.') + 1} to give blocks rows")
    if not match:
        names = ", ".join(r.name or str(r.index) for r in report.rows if r.rf is not None)
        raise ConvError(f"--field {spec!r}: no row {layer!r}; rows with a field: "
                        f"{names[:300] or 'none'}")
    row = report.rows[match[0]]
    if row.rf is None:
        raise ConvError(f"--field {spec!r}: row {layer} has no spatial field (after a "
                        "Flatten or Linear, or a shape change convcli does not follow)")
    sizes = row.output_shape[2:]
    if not pos.strip():
        return match[0], tuple(n // 2 for n in sizes)
    try:
        values = tuple(int(v) for v in pos.replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != len(sizes) or any(not 0 <= v < n for v, n in zip(values, sizes)):
        raise ConvError(f"--field {spec!r}: POS must be {len(sizes)} whole numbers within "
                        f"the output {list(sizes)}, e.g. @"
                        + ",".join(str(n // 2) for n in sizes))
    return match[0], values
