"""`net` and `summary` as --json dicts (the same keys for both commands): the rows, the
totals, --train's bytes and --field's picture. No rich here: `net --json` never
imports it (the tables are in net_view.py, train_view.py and field_view.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcli.calculator.costs import DTYPE_SIZES
from convcli.views.dist_data import dist_dict
from convcli.views.jsonout import JSON_VERSION

if TYPE_CHECKING:
    from convcli.network.receptive_fields import FieldPicture
    from convcli.network.net_report import NetReport, NetRow
    from convcli.network.train_report import TrainReport, TrainRow


NET_COUNTING = (
    "MACs: dense multiply-accumulates of convs (transposed: per input element) and "
    "Linear layers, bias excluded; pooling, norms, activations, dropout and reshapes "
    "count 0; FLOPs = 2 * MACs; params = weight + bias + affine elements; activations = "
    "every layer's output summed (in-place layers counted as copies)"
)
SUMMARY_COUNTING = (
    "MACs: every convolution (transposed: per input element), matrix product (mm, addmm, "
    "bmm, baddbmm, einsum, matmul, F.linear, mv, dot) and attention "
    "(scaled_dot_product_attention, MultiheadAttention) that forward() runs, bias "
    "excluded, each attributed to the module whose call ran it; equal to "
    "torch.utils.flop_counter.FlopCounterMode / 2 with MultiheadAttention's fast path off "
    "and SDPA counted; FLOPs = 2 * MACs; params = unique parameters"
)


def _row_dict(report: NetReport, r: NetRow) -> dict:
    row = {"index": r.index, "layer": r.layer, "type": r.kind,
           "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
           "params": r.params, "macs": r.macs, "share": _share(report, r),
           "geometry": r.geometry, "conv": None if r.conv is None else r.conv.as_dict()}
    if r.name is not None:
        row.update({"name": r.name, "depth": r.depth, "container": r.container,
                    "expanded": r.expanded, "own_code": r.own,
                    "frozen_params": r.frozen_params, "macs_by_op": dict(r.ops),
                    "uncounted_ops": list(r.uncounted)})
    if r.note:
        row["note"] = r.note
    if r.train is not None:
        row["train"] = row_dict(r.train)
    if r.rf is not None:
        from convcli.network.receptive_fields import as_json  # --rf only: fractions stay unloaded
        row["receptive_field"] = {"size": list(r.rf.size),
                                  "nominal_size": list(r.rf.nominal_size),
                                  "jump": as_json(r.rf.jump), "start": as_json(r.rf.start)}
    return row


def _share(report: NetReport, r: NetRow) -> float | None:
    share = report.share(r)
    return None if share is None else round(share, 6)


def net_dict(report: NetReport, dtype: str) -> dict:
    """`net` and `summary` --json: the same keys (summary adds its own)."""
    data = {
        "version": JSON_VERSION,
        "input_shape": list(report.input_shape),
        "layers": [_row_dict(report, r) for r in report.rows],
        "output_shape": list(report.output_shape),
        "total_params": report.total_params,
        "trainable_params": report.trainable_params,
        "frozen_params": report.frozen_params,
        "total_macs": report.total_macs,
        "total_flops": 2 * report.total_macs,
        "uncounted_macs": report.uncounted,
        "macs_complete": report.macs_complete,
        "activation_elements": report.activation_elements,
        "dtype": dtype,
        "activation_bytes": {d: report.activation_elements * s for d, s in DTYPE_SIZES.items()},
        "param_bytes": {d: report.total_params * s for d, s in DTYPE_SIZES.items()},
        "notes": list(report.notes),
        "counting": NET_COUNTING if report.path == "rules" else SUMMARY_COUNTING,
    }
    if report.train is not None:
        data["train"] = train_dict(report.train)
    if report.picture is not None:
        data["field"] = picture_dict(report.picture)
    if report.path != "rules":
        data.update({"model": report.model, "inputs": list(report.inputs),
                     "path": report.path, "path_reason": report.path_reason or None,
                     "depth": report.depth, "unused_params": report.unused_params,
                     "macs_by_op": dict(report.macs_by_op),
                     "uncounted_ops": dict(report.uncounted_ops)})
    return data


# ---- --train --------------------------------------------------------------------


def row_dict(t: TrainRow | None) -> dict | None:
    if t is None:
        return None
    return {"param_bytes": t.param_bytes, "grad_bytes": t.grad_bytes,
            "state_bytes": t.state_bytes, "activation_bytes": t.activation_bytes,
            "total_bytes": t.total}


def train_dict(t: TrainReport) -> dict:
    b = t.budget
    return {
        "dtype": t.dtype, "amp": t.amp, "optimizer": t.optimizer, "batch": t.batch,
        "param_bytes": t.param_bytes, "buffer_bytes": t.buffer_bytes,
        "grad_bytes": t.grad_bytes, "optimizer_state_bytes": t.state_bytes,
        "activation_bytes": t.activation_bytes, "input_bytes": t.input_bytes,
        "saved_param_bytes": t.saved_param_bytes, "total_bytes": t.total_bytes,
        "dominant": t.dominant, "method": t.method, "notes": list(t.notes),
        "budget": None if b is None else {
            "limit_bytes": b.limit, "largest_batch": b.largest_batch,
            "total_at_largest_bytes": b.total_at_largest,
            "total_at_next_bytes": b.total_at_next, "fixed_bytes": b.fixed_bytes,
            "per_sample_bytes": b.per_sample_bytes, "dominant": b.dominant},
        "measured": None if t.measured is None else dict(t.measured),
        **dist_dict(t.dist),
    }


# ---- --field --------------------------------------------------------------------


def picture_dict(pic: FieldPicture) -> dict:
    return {"row": pic.row, "position": list(pic.position), "input_sizes": list(pic.lengths),
            "indices": [list(s) for s in pic.sets],
            "hull": [list(h) if h else None for h in pic.hulls],
            "window": [list(n) if n else None for n in pic.nominal],
            "padding": [list(pic.padding(d)) for d in range(len(pic.lengths))]}
