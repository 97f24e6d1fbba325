"""`net` and `summary`: one row per layer, the totals, and the --json dict (the same
keys for both commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import DTYPE_SIZES
from convcli.formatting import count, count_short, shape_list, size
from convcli.views.console import JSON_VERSION, table

if TYPE_CHECKING:
    from convcli.network.report import NetReport


NET_COUNTING = (
    "MACs: dense multiply-accumulates of convs (transposed: per input element) and "
    "Linear layers, bias excluded; pooling, norms, activations, dropout and reshapes "
    "count 0; FLOPs = 2 * MACs; params = weight + bias + affine elements; activations = "
    "every layer's output summed (in-place layers counted as copies)"
)


def net_dict(report: NetReport, dtype: str) -> dict:
    """`net` and `summary` --json: the same keys."""
    layers = []
    for r in report.rows:
        row = {"index": r.index, "layer": r.layer, "type": r.kind,
               "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
               "params": r.params, "macs": r.macs,
               "geometry": r.geometry, "conv": None if r.conv is None else r.conv.as_dict()}
        if r.name is not None:
            row["name"] = r.name
        if r.note:
            row["note"] = r.note
        layers.append(row)
    return {
        "version": JSON_VERSION,
        "input_shape": list(report.input_shape),
        "layers": layers,
        "output_shape": list(report.output_shape),
        "total_params": report.total_params,
        "total_macs": report.total_macs,
        "total_flops": 2 * report.total_macs,
        "uncounted_macs": report.uncounted,
        "macs_complete": report.macs_complete,
        "activation_elements": report.activation_elements,
        "dtype": dtype,
        "activation_bytes": {d: report.activation_elements * s for d, s in DTYPE_SIZES.items()},
        "param_bytes": {d: report.total_params * s for d, s in DTYPE_SIZES.items()},
        "notes": list(report.notes),
        "counting": NET_COUNTING,
    }


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


def net_table(report: NetReport, dtype: str, title: str | None = None) -> Table:
    """One row per layer (summary: per leaf-module call), the totals at the foot."""
    t = table(None if title is None else escape(title), "layer", "output shape", "params",
              "MACs", "k/s/p/d/g")
    t.columns[0].overflow = "fold"
    t.add_row("input", shape_list(report.input_shape), "", "", "", style="dim")
    for r in report.rows:
        # summary rows: the module's name and class (its arguments are in --json `layer`;
        # channels, kernel, stride... are in the other columns)
        label = escape(r.layer) if r.name is None else f"{escape(r.name)} [dim]{r.kind}[/dim]"
        if r.note:
            label += f"\n[dim]{escape(r.note)}[/dim]"
        macs = "?" if r.macs is None else count_short(r.macs)
        t.add_row(label, shape_list(r.output_shape), f"{r.params:,}", macs,
                  _geometry_str(r.geometry), end_section=r is report.rows[-1])
    t.add_row("total", Text(shape_list(report.output_shape), style="bold green"),
              f"{report.total_params:,}", count_short(report.total_macs), "", style="bold")
    notes = [escape(n) for n in report.notes]
    notes.append("MACs: convs and Linear, bias excluded; pools, norms and activations count "
                 "0. k/s/p/d/g: kernel/stride/padding/dilation/groups used.")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def net_totals(report: NetReport, dtype: str) -> Table:
    per = DTYPE_SIZES[dtype]
    t = table(None, "", "value", show_header=False)
    t.columns[1].justify = "left"
    t.add_row("params", f"{report.total_params:,} = {size(report.total_params * per)} "
                        f"({dtype})")
    t.add_row("MACs", count(report.total_macs)
              + ("" if report.macs_complete else " at least (see the notes)"))
    t.add_row("FLOPs (2*MACs)", count(2 * report.total_macs))
    t.add_row("activations", f"{report.activation_elements:,} elements = "
                             f"{size(report.activation_elements * per)} ({dtype})")
    return t
