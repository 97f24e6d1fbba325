"""`net` and `summary`: one row per layer (or module call), the totals, and the --json
dict (the same keys for both commands). Importing this module registers the renderers
a NetReport uses to draw itself (rich.print(report), Jupyter)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import DTYPE_SIZES
from convcli.formatting import count, count_short, shape_list, size
from convcli.network.report import RENDERERS
from convcli.views.console import JSON_VERSION, table
from convcli.network.fields import as_json
from convcli.views.field import picture_dict, terminal
from convcli.views.train import row_dict, train_dict, train_table, train_totals

if TYPE_CHECKING:
    from convcli.network.report import NetReport, NetRow


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


def _geometry_str(g: dict | None) -> str:
    if not g:
        return ""

    def per_dim(values) -> str:
        values = [v if not isinstance(v, list) else (str(v[0]) if v[0] == v[1]
                                                     else f"{v[0]}+{v[1]}") for v in values]
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    parts = [per_dim(g["kernel_size"]), per_dim(g["stride"]), per_dim(g["padding"]),
             per_dim(g["dilation"]), "-" if g["groups"] is None else str(g["groups"])]
    return "/".join(parts)


def _rf_str(rf) -> str:
    """'35 /8 @-17' (size, jump, start), per dim joined with x where they differ."""
    if rf is None:
        return ""

    def join(values) -> str:
        shown = ["?" if v is None else str(v) for v in values]
        return shown[0] if len(set(shown)) == 1 else "x".join(shown)

    return f"{join(rf.size)} /{join(rf.jump)} @{join(rf.start)}"


def _label(report: NetReport, r: NetRow) -> str:
    if r.name is None:
        label = escape(r.layer)
    else:
        indent = "  " * max(r.depth - 1, 0) if report.depth is not None else ""
        what = escape(r.kind) + (", own code" if r.own else "")
        if r.own and r.name == r.kind:   # the model's own forward() code
            what = "own code"
        label = f"{indent}{escape(r.name)} [dim]{what}[/dim]"
        if r.container:
            label = f"{indent}[bold]{escape(r.name)}[/bold] [dim]{what}[/dim]"
    if r.note:
        label += f"\n[dim]{escape(r.note)}[/dim]"
    return label


def _params(r: NetRow) -> str:
    if r.frozen_params and r.frozen_params == r.params:
        return f"{r.params:,} frozen"
    if r.frozen_params:
        return f"{r.params:,} ({r.frozen_params:,} frozen)"
    return f"{r.params:,}"


def _macs(r: NetRow) -> str:
    text = "?" if r.macs is None else count_short(r.macs)
    return text + ("+?" if r.uncounted else "")


def net_table(report: NetReport, dtype: str, title: str | None = None) -> Table:
    """One row per layer (summary: per module call), the totals at the foot."""
    rf = any(r.rf is not None for r in report.rows)
    share = report.path != "rules" and not rf
    cols = ["layer", "output shape", "params", "MACs"] + (["share"] if share else []) + \
        (["rf size /jump @start"] if rf else ["k/s/p/d/g"])
    t = table(None if title is None else escape(title), *cols)
    t.columns[0].overflow = "fold"
    for c in t.columns[1:]:
        c.no_wrap = True
    t.add_row("input", shape_list(report.input_shape), *[""] * (len(cols) - 2), style="dim")
    for r in report.rows:
        cells = [_label(report, r), shape_list(r.output_shape), _params(r), _macs(r)]
        if share:
            s = report.share(r)
            cells.append("" if not s else f"{100 * s:.1f}%")
        cells.append(_rf_str(r.rf) if rf else _geometry_str(r.geometry))
        t.add_row(*cells, style="dim" if r.expanded else None,
                  end_section=r is report.rows[-1])
    foot: list = ["total", Text(shape_list(report.output_shape), style="bold green"),
            f"{report.total_params:,}", count_short(report.total_macs)]
    t.add_row(*foot, *(["100%"] if share else []), "", style="bold")
    notes = [escape(n) for n in report.notes]
    if rf:
        notes.append("rf: size = the widest field of the row's positions at this input; "
                     "/jump = input steps per output step; @start = output 0's first input "
                     "index (negative: in the padding)")
    if report.path == "rules":
        notes.append("MACs: convs and Linear, bias excluded; pools, norms and activations "
                     "count 0. k/s/p/d/g: kernel/stride/padding/dilation/groups used.")
    else:
        notes.append("MACs: every conv, matmul and attention op in forward(), bias "
                     "excluded, in the row of the module that ran it (= FlopCounterMode/2)."
                     + (" Bold rows are blocks: they hold the params and MACs of "
                        "everything inside them." if report.depth is not None else "")
                     + " k/s/p/d/g: kernel/stride/padding/dilation/groups used.")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def net_totals(report: NetReport, dtype: str) -> Table:
    per = DTYPE_SIZES[dtype]
    t = table(None, "", "value", show_header=False)
    t.columns[1].justify = "left"
    t.add_row("params", f"{report.total_params:,} = {size(report.total_params * per)} "
                        f"({dtype})")
    if report.frozen_params:
        t.add_row("trainable / frozen", f"{report.trainable_params:,} / "
                                        f"{report.frozen_params:,}")
    t.add_row("MACs", count(report.total_macs)
              + ("" if report.macs_complete else " at least (see the notes)"))
    t.add_row("FLOPs (2*MACs)", count(2 * report.total_macs))
    t.add_row("activations", f"{report.activation_elements:,} elements = "
                             f"{size(report.activation_elements * per)} ({dtype})")
    if report.path in ("meta", "cpu"):
        t.add_row("ran on", "the meta device (shapes only)" if report.path == "meta"
                  else "the CPU, for real (see the notes)")
    return t


def renderables(report: NetReport, dtype: str = "float32") -> list:
    """What a command (or rich.print(report)) shows: the table and the totals, or with
    --train the training table and the step's totals."""
    out: list = [net_table(report, dtype, report.model), net_totals(report, dtype)]
    if report.train is not None:
        out = [train_table(report, report.model), train_totals(report.train)]
    if report.picture is not None:
        out.append(terminal(report.picture))
    return out


def _mimebundle(report: NetReport) -> dict:
    console = Console(record=True, file=io.StringIO(), width=110, force_jupyter=False)
    for r in renderables(report):
        console.print(r)
    return {"text/plain": console.export_text(),
            "text/html": console.export_html(inline_styles=True)}


RENDERERS["rich"] = renderables
RENDERERS["mimebundle"] = _mimebundle
