"""Reports -> rich tables for people | JSON for machines. The one place output is
formatted. Core modules return dataclasses; commands hand them to an ``Output``.

Plain text (no colour) where NO_COLOR is set or stdout is not a terminal: rich
decides that from the environment.
"""

from __future__ import annotations

import json
import sys

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.counts import CONVENTION, ConvCounts, GroupsRow, group_layout
from convcli.spec import ConvSpec

JSON_VERSION = 1


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def error(message: str) -> None:
    """`Error: <message>` on stderr, as one line (user text escaped)."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text("Error: ", style="bold red") + Text(message))


def warn(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text("Warning: ", style="yellow") + Text(message))


class Output:
    """Knows whether the user asked for JSON; commands call ``emit`` once."""

    def __init__(self, json_mode: bool):
        self.json_mode = json_mode

    def emit(self, data: dict, *renderables) -> None:
        if self.json_mode:
            write_json(data)
        else:
            out = console()
            for r in renderables:
                out.print(r)


def write_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


# ---- formatting helpers ---------------------------------------------------------

def shape_str(shape) -> str:
    return "—" if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"


def count_str(n: int | None) -> str:
    """73856 -> '73,856'; big numbers get a short form too: '113,246,208 (113.2 M)'."""
    if n is None:
        return "—"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n:,} ({n / div:.1f} {unit})"
    return f"{n:,}"


def bytes_str(n: int) -> str:
    if n < 1024:
        return f"{n:,} B"
    for unit, div in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{n:,} B"  # pragma: no cover


def table(title: str | None = None, *columns: str, **kwargs) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left",
              title_style="bold", **kwargs)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


# ---- shape / params -------------------------------------------------------------

def counts_dict(c: ConvCounts) -> dict:
    spec = c.spec
    return {
        "version": JSON_VERSION,
        "layer": spec.torch_repr(),
        "conv": spec.as_dict(),
        "batched": None if c.input_shape is None else len(c.input_shape) == spec.dims + 2,
        "input_shape": None if c.input_shape is None else list(c.input_shape),
        "output_shape": None if c.output_shape is None else list(c.output_shape),
        "weight_shape": list(spec.weight_shape),
        "bias_shape": None if spec.bias_shape is None else list(spec.bias_shape),
        "params": spec.num_params,
        "weight_params": spec.num_weight,
        "bias_params": spec.num_params - spec.num_weight,
        "macs": c.macs,
        "flops": c.flops,
        "bias_adds": c.bias_adds,
        "dtype": c.dtype,
        "bytes": c.bytes.as_dict(),
        "groups_layout": [g.as_dict() for g in group_layout(spec)] if spec.groups > 1 else [],
        "counting": CONVENTION,
    }


def counts_table(c: ConvCounts) -> Table:
    spec = c.spec
    t = table(escape(spec.torch_repr()), "", "value", show_header=False)
    t.columns[1].justify = "left"
    if c.input_shape is not None:
        batched = len(c.input_shape) == spec.dims + 2
        t.add_row("input", f"{shape_str(c.input_shape)}{'' if batched else ' (unbatched)'}")
        t.add_row("output", Text(shape_str(c.output_shape), style="bold green"))
    t.add_row("weight", shape_str(spec.weight_shape))
    t.add_row("bias", shape_str(spec.bias_shape))
    t.add_row("params", f"{spec.num_params:,}" + (
        f" ({spec.num_weight:,} weight + {spec.out_channels:,} bias)" if spec.bias else ""))
    if c.macs is not None:
        t.add_row("MACs", count_str(c.macs))
        t.add_row("FLOPs (2*MACs)", count_str(c.flops))
        t.add_row("bias adds", count_str(c.bias_adds))
        b = c.bytes
        t.add_row(f"bytes ({c.dtype})",
                  f"in {bytes_str(b.input)} · out {bytes_str(b.output)} · "
                  f"weight {bytes_str(b.weight + b.bias)}")
    else:
        t.add_row(f"weight bytes ({c.dtype})", bytes_str(c.bytes.weight + c.bytes.bias))
    return t


def explain_table(spec: ConvSpec, explanation) -> Table:
    what = "(L-1)*s - 2p + d*(k-1) + op + 1" if spec.transposed else \
        "floor((L + p_left + p_right - d*(k-1) - 1) / s) + 1"
    t = table("Output size per spatial dim", "dim", "L", "k", "s", "d",
              "padding", "formula", "out")
    for e in explanation:
        pad = f"{e.pad_left}+{e.pad_right}"
        if spec.transposed and e.output_padding:
            pad += f", op {e.output_padding}"
        t.add_row(str(e.dim), str(e.size_in), str(e.kernel), str(e.stride), str(e.dilation),
                  pad, e.formula, Text(str(e.size_out), style="bold"))
    notes = [f"out = {what}"] + [f"dim {e.dim}: {e.note}" for e in explanation if e.note]
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def layout_table(spec: ConvSpec) -> Table:
    """Which weight rows and which channels each group uses."""
    w = spec.weight_shape
    dim0 = "C_in" if spec.transposed else "C_out"
    t = table(
        f"groups={spec.groups}: weight is ONE tensor {shape_str(w)}; dim 0 stacks the "
        f"groups' {dim0} rows, dim 1 is the {w[1]} channels each group "
        f"{'writes' if spec.transposed else 'reads'}",
        "group", "input channels", "output channels", "weight slice", "slice shape")
    for g in group_layout(spec):
        t.add_row(str(g.group), f"{g.in_channels[0]}..{g.in_channels[1] - 1}",
                  f"{g.out_channels[0]}..{g.out_channels[1] - 1}",
                  f"weight[{g.weight_rows[0]}:{g.weight_rows[1]}]",
                  shape_str(g.weight_slice_shape))
    return t


def groups_rows_dict(rows: list[GroupsRow]) -> list[dict]:
    base = rows[0]
    return [{"label": r.label, "groups": r.groups, "params": r.params, "macs": r.macs,
             "saving": round(r.saving(base), 6), "note": r.note,
             "layer": None if r.spec is None else r.spec.torch_repr()} for r in rows]


def groups_table(rows: list[GroupsRow]) -> Table:
    base = rows[0]
    with_macs = base.macs is not None
    cols = ["variant", "params"] + (["MACs"] if with_macs else []) + ["saving vs groups=1", "note"]
    t = table("Parameters by groups value", *cols)
    for r in rows:
        cells = [r.label, f"{r.params:,}"]
        if with_macs:
            cells.append(count_str(r.macs))
        saving = r.saving(base)
        cells += ["—" if r is base else f"{saving:.1%}" if saving >= 0 else f"+{-saving:.1%}",
                  r.note]
        t.add_row(*cells)
    return t


# ---- net / summary ----------------------------------------------------------------

NET_COUNTING = (
    "MACs: dense multiply-accumulates of convs (transposed: per input element) and "
    "Linear layers, bias excluded; pooling, norms, activations, dropout and reshapes "
    "count 0; FLOPs = 2 * MACs; params = weight + bias + affine elements; activations = "
    "every layer's output summed (in-place layers counted as copies)"
)


def net_dict(report, dtype: str) -> dict:
    """`net` and `summary` --json: the same keys."""
    from convcli.counts import DTYPE_SIZES

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


def compact_str(n: int | None) -> str:
    """Short counts for table cells: 9,216 / 442.4 k / 1.18 M / 4.09 G."""
    if n is None:
        return "?"
    if n < 10_000:
        return f"{n:,}"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{n:,}"  # pragma: no cover


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


def net_table(report, dtype: str, title: str | None = None) -> Table:
    """One row per layer (summary: per leaf-module call), the totals at the foot."""
    t = table(None if title is None else escape(title), "layer", "output shape", "params",
              "MACs", "k/s/p/d/g")
    t.columns[0].overflow = "fold"
    t.add_row("input", shape_str(report.input_shape), "", "", "", style="dim")
    for r in report.rows:
        # summary rows: the module's name and class (its arguments are in --json `layer`;
        # channels, kernel, stride... are in the other columns)
        label = escape(r.layer) if r.name is None else f"{escape(r.name)} [dim]{r.kind}[/dim]"
        if r.note:
            label += f"\n[dim]{escape(r.note)}[/dim]"
        t.add_row(label, shape_str(r.output_shape), f"{r.params:,}", compact_str(r.macs),
                  _geometry_str(r.geometry), end_section=r is report.rows[-1])
    t.add_row("total", Text(shape_str(report.output_shape), style="bold green"),
              f"{report.total_params:,}", compact_str(report.total_macs), "", style="bold")
    notes = [escape(n) for n in report.notes]
    notes.append("MACs: convs and Linear, bias excluded; pools, norms and activations count "
                 "0. k/s/p/d/g: kernel/stride/padding/dilation/groups used.")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def net_totals(report, dtype: str) -> Table:
    from convcli.counts import DTYPE_SIZES

    size = DTYPE_SIZES[dtype]
    t = table(None, "", "value", show_header=False)
    t.columns[1].justify = "left"
    t.add_row("params", f"{report.total_params:,} = {bytes_str(report.total_params * size)} "
                        f"({dtype})")
    t.add_row("MACs", count_str(report.total_macs)
              + ("" if report.macs_complete else " at least (see the notes)"))
    t.add_row("FLOPs (2*MACs)", count_str(2 * report.total_macs))
    t.add_row("activations", f"{report.activation_elements:,} elements = "
                             f"{bytes_str(report.activation_elements * size)} ({dtype})")
    return t
