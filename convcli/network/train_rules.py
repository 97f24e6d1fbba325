"""`net --train` without torch: what autograd saves for each layer of a stack, from
each rule's training facet (``Layer.saves``, stated in the rule modules and checked
against saved_tensors_hooks on a real CPU forward for every layer type in
tests/network/test_layer_facets.py).

The walk follows storages: a layer's output is a new storage, or its input's own when
the layer is a view (Flatten, Unflatten, Identity) or works in place; a storage saved by
several layers counts once, in the row of the layer whose output it is. Layers before
the first with parameters save nothing: their input needs no gradient. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod

from convcli.network.net_report import NetReport
from convcli.network.train_report import TrainReport, TrainRow, state_rule


def net_training(report: NetReport, layers: list, dtype_size: int, optimizer: str,
                 dtype: str) -> tuple[NetReport, TrainReport]:
    """The report's rows with their training bytes, and the totals, for one step at the
    input's batch size."""
    size = dtype_size
    storages = {0: prod(report.input_shape) * size}   # id -> bytes; 0: the input
    owner: dict[int, int | None] = {0: None}           # id -> row index
    saved: set[int] = set()
    act = [0] * len(report.rows)
    cur, flowing = 0, False
    for n, (row, layer) in enumerate(zip(report.rows, layers)):
        keeps = layer.saves(row.input_shape, row.output_shape, size)
        flowing = flowing or row.params > 0
        out = cur
        if not keeps.view:
            out = len(storages)
            storages[out], owner[out] = prod(row.output_shape) * size, n
        if flowing:
            saved.update(s for s, kept in ((cur, keeps.input), (out, keeps.output)) if kept)
            act[n] += keeps.extra
        cur = out
    for sid in saved:
        row_of = owner[sid]
        if row_of is not None:
            act[row_of] += storages[sid]
    return _with_rows(report, layers, act, size, optimizer, dtype)


def _with_rows(report: NetReport, layers: list, act: list[int], size: int, optimizer: str,
               dtype: str) -> tuple[NetReport, TrainReport]:
    rows, total = [], TrainRow()
    for row, layer, a in zip(report.rows, layers, act):
        p = row.params * size
        tr = TrainRow(p, p, state_rule(p, layer.param_tensors(), optimizer), a)
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
    """Running statistics of the norms that track them."""
    return sum(layer.buffer_bytes(row.input_shape, size)
               for row, layer in zip(report.rows, layers))
