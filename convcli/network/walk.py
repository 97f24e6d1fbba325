"""Whole networks: shapes, params and MACs layer by layer, from layer calls.

``analyse_net(input_shape, calls)`` builds each LayerCall (text.py) with its rule
(rules/), checks it where torch would reject it, and propagates the shape: one
``NetRow`` per layer, totals in a ``NetReport``. A layer that does not fit its input
raises ConvError at that layer, with the fix. Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcli.errors import ConvError
from convcli.formatting import shape_list
from convcli.network.layer import Ctx
from convcli.network.net_report import NetReport, NetRow
from convcli.network.rules import build_layer
from convcli.network.text import LayerCall


def analyse_net(input_shape: Sequence[int], calls: list[LayerCall]) -> NetReport:
    """Propagate ``input_shape`` through the layers; ConvError at the first layer that
    torch would reject, saying which layer, what it received and the fix."""
    shape = tuple(input_shape)
    if not shape:
        raise ConvError("INPUT: give a tensor shape like 1x3x32x32")
    layers = []
    for i, call in enumerate(calls, 1):
        try:
            layers.append(build_layer(call))
        except ConvError as e:
            raise ConvError(f"layer {i}: {e}") from None
    rows = []
    ctx = Ctx(f"the input {shape_list(shape)}", True)
    for i, layer in enumerate(layers, 1):
        try:
            out = layer.output(shape, ctx)
        except ConvError as e:
            raise ConvError(f"layer {i}: {e}") from None
        rows.append(NetRow(i, str(layer.call), layer.kind, shape, out, layer.params,
                           layer.macs(shape, out), layer.conv, layer.geometry(),
                           note=layer.note(shape), short=layer.text()))
        ctx = Ctx(f"{layer.call} (layer {i}, output {shape_list(out)})", False)
        shape = out
    return NetReport(tuple(input_shape), rows, sum(r.params for r in rows))
