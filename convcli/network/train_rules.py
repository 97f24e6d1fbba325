"""`net --train` without torch: what autograd saves for each layer of a stack, from its
shapes, as torch's CPU kernels save it (measured with saved_tensors_hooks; each rule is
tested against them in tests/network/test_train_rules.py).

The walk follows storages: a layer's output is a new storage, or its input's own when
the layer is a view (Flatten, Unflatten, Identity) or works in place; a storage saved by
several layers counts once, in the row of the layer whose output it is. Layers whose
saves depend on more than shapes (autocast, LPPool, RMSNorm, ...) are an error that
points at `summary --train`. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod

from convcli.errors import ConvError
from convcli.network.report import NetReport, NetRow
from convcli.network.training import TrainReport, TrainRow, state_rule

# family: (saves its input, saves its output)
SAVES = {
    "Conv": (True, False), "ConvTranspose": (True, False), "Linear": (True, False),
    "BatchNorm": (True, False), "InstanceNorm": (True, False), "GroupNorm": (True, False),
    "LayerNorm": (True, False), "ReLU6": (True, False), "ReLU": (False, True),
    "LeakyReLU": (True, False), "ELU": (True, False), "SELU": (True, False),
    "CELU": (True, False), "GELU": (True, False), "SiLU": (True, False),
    "Mish": (True, False), "Hardswish": (True, False), "Hardsigmoid": (True, False),
    "Hardtanh": (True, False), "Threshold": (True, False), "Hardshrink": (True, False),
    "Sigmoid": (False, True), "Tanh": (False, True), "Softplus": (True, False),
    "PReLU": (True, False), "Softmax": (False, True), "Softmax2d": (False, True),
    "LogSoftmax": (False, True), "Softmin": (False, True), "GLU": (True, False),
    "MaxPool": (True, False), "AvgPool": (True, False), "AdaptiveAvgPool": (True, False),
    "AdaptiveMaxPool": (True, False), "ReflectionPad": (True, False),
    "ReplicationPad": (True, False), "CircularPad": (False, False),
    "ZeroPad": (False, False), "ConstantPad": (False, False), "Dropout": (False, False),
    "AlphaDropout": (False, False), "FeatureAlphaDropout": (False, False),
    "Flatten": (False, False), "Unflatten": (False, False), "Identity": (False, False),
    "Upsample": (False, False), "UpsamplingNearest2d": (False, False),
    "UpsamplingBilinear2d": (False, False), "PixelShuffle": (False, False),
    "PixelUnshuffle": (False, False), "ChannelShuffle": (False, False),
}
VIEWS = {"Flatten", "Unflatten", "Identity"}
INPLACE_RESULT = {"ReLU", "LeakyReLU", "ELU", "SELU", "CELU"}   # in place: saves its result
INPLACE_COPY = {"ReLU6", "Hardtanh", "SiLU", "Hardswish", "Hardsigmoid", "Mish"}


def family(kind: str) -> str | None:
    name = kind.removeprefix("Lazy")
    for key in sorted(SAVES, key=len, reverse=True):
        if name.startswith(key):
            return key
    return None


def _extra(fam: str, layer, row: NetRow, size: int) -> int:
    """Bytes an op saves besides its input and output: statistics, indices, masks."""
    i, o, v = row.input_shape, row.output_shape, layer.values
    if fam == "BatchNorm":
        return 2 * i[1] * size
    if fam == "InstanceNorm":   # statistics; with affine, the weight repeated per sample
        channels = prod(i[:2]) if len(i) == layer.dims + 2 else i[0]
        return (2 + bool(v["affine"])) * channels * size
    if fam == "GroupNorm":
        return 2 * i[0] * v["num_groups"] * size
    if fam == "LayerNorm":
        return 2 * prod(i[:len(i) - len(layer.ns)]) * size
    if fam in ("MaxPool", "AdaptiveMaxPool"):
        return prod(o) * 8                       # int64 indices
    if fam in ("Dropout", "AlphaDropout", "FeatureAlphaDropout") and v.get("p", 0.5) > 0:
        if row.kind in ("Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"):
            return prod(i[:2] if len(i) >= 3 else i[:1]) * size   # one value per channel
        return prod(i) * size                     # the mask, in the input's dtype
    return 0


def net_training(report: NetReport, layers: list, dtype_size: int, optimizer: str,
                 dtype: str) -> tuple[NetReport, TrainReport]:
    """The report's rows with their training bytes, and the totals, for one step at the
    input's batch size."""
    storages = {0: prod(report.input_shape) * dtype_size}    # id -> bytes; 0: the input
    owner: dict[int, int | None] = {0: None}                  # id -> row index
    saved: set[int] = set()
    extras: dict[int, int] = {}
    cur = 0
    flowing = False        # the input needs no gradient: layers before the first with
    for n, (row, layer) in enumerate(zip(report.rows, layers)):   # params save nothing
        fam = family(row.kind)
        if fam is None:
            raise ConvError(f"layer {row.index}: net --train has no rule for what "
                            f"{row.kind} saves for backward; run `convcli summary --train` "
                            "on a model file instead")
        s_in, s_out = SAVES[fam]
        flowing = flowing or row.params > 0
        if not flowing:
            s_in = s_out = False
        inplace = layer.values.get("inplace") is True
        if fam == "AdaptiveAvgPool" and all(d == 1 for d in row.output_shape[2:]):
            s_in = False                          # a 1x1 output is a mean: nothing saved
        if fam in VIEWS or inplace:
            out = cur
        else:
            out = len(storages)
            storages[out], owner[out] = prod(row.output_shape) * dtype_size, n
        if not flowing:
            pass
        elif inplace and fam in INPLACE_COPY:     # backward needs the input: a copy
            extras[n] = extras.get(n, 0) + prod(row.input_shape) * dtype_size
        elif inplace and fam in INPLACE_RESULT or s_out:
            saved.add(out)
        elif s_in:
            saved.add(cur)
        if flowing:
            extras[n] = extras.get(n, 0) + _extra(fam, layer, row, dtype_size)
        cur = out
    act = [extras.get(n, 0) for n in range(len(report.rows))]
    for sid in saved:
        row_of = owner[sid]
        if row_of is not None:
            act[row_of] += storages[sid]
    return _with_rows(report, layers, act, dtype_size, optimizer, dtype)


def _with_rows(report: NetReport, layers: list, act: list[int], size: int, optimizer: str,
               dtype: str) -> tuple[NetReport, TrainReport]:
    rows, total = [], TrainRow()
    for row, layer, a in zip(report.rows, layers, act):
        p = row.params * size
        tr = TrainRow(p, p, state_rule(p, _param_tensors(row, layer), optimizer), a)
        rows.append(replace(row, train=tr))
        total = total + tr
    batch = report.input_shape[0] if len(report.input_shape) > 1 else 1
    train = TrainReport(
        dtype, None, optimizer, batch, total.param_bytes, _buffers(report, layers, size),
        total.grad_bytes, total.state_bytes, total.activation_bytes,
        prod(report.input_shape) * size, method="rules",
        notes=["net --train: the saves of torch's CPU kernels, by rule (no autocast; "
               "the loss's own saves are not included)"])
    return replace(report, rows=rows, train=train), train


def _buffers(report: NetReport, layers: list, size: int) -> int:
    """Running mean and var (and a 0-d int64 count) of the norms that track them."""
    total = 0
    for row, layer in zip(report.rows, layers):
        if family(row.kind) in ("BatchNorm", "InstanceNorm") and \
                layer.values.get("track_running_stats"):
            channels = getattr(layer, "c", None) or row.input_shape[1]
            total += 2 * channels * size + 8
    return total


def _param_tensors(row: NetRow, layer) -> int:
    """Weight and bias tensors (Adam keeps a 4-byte step per tensor)."""
    if not row.params:
        return 0
    v = layer.values
    return 1 + bool(v.get("bias", True)) if row.kind != "PReLU" else 1
