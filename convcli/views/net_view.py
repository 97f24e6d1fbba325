"""`net` and `summary`: one row per layer (or module call) and the totals, as tables
(the --json dict is in net_data.py, without rich). Importing this module registers
the renderers a NetReport uses to draw itself (rich.print(report), Jupyter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import DTYPE_SIZES
from convcli.formatting import count, count_short, shape_x, size
from convcli.network.net_report import RENDERERS
from convcli.views.console import Fitted, table
from convcli.views.fit_width import Squeezed, below, left_out_note

if TYPE_CHECKING:
    from convcli.network.net_report import NetReport, NetRow


def _geometry_str(g: dict | None) -> str:
    """'3/2/1/1/1' (kernel/stride/padding/dilation/groups), per dim joined with x where
    they differ; a transposed conv's output_padding follows as ' op1'."""
    if not g:
        return ""

    def per_dim(values) -> str:
        values = [v if not isinstance(v, list) else (str(v[0]) if v[0] == v[1]
                                                     else f"{v[0]}+{v[1]}") for v in values]
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    parts = [per_dim(g["kernel_size"]), per_dim(g["stride"]), per_dim(g["padding"]),
             per_dim(g["dilation"]), "-" if g["groups"] is None else str(g["groups"])]
    op = g.get("output_padding")
    return "/".join(parts) + (f" op{per_dim(op)}" if op and any(op) else "")


def _rf_str(rf) -> str:
    """'35 /8 @-17' (size, jump, start), per dim joined with x where they differ."""
    if rf is None:
        return ""

    def join(values) -> str:
        shown = ["?" if v is None else str(v) for v in values]
        return shown[0] if len(set(shown)) == 1 else "x".join(shown)

    return f"{join(rf.size)} /{join(rf.jump)} @{join(rf.start)}"


def _labels(report: NetReport) -> list[tuple[str, NetRow | None]]:
    """Each row's label, in order. net: the layer in as few arguments as torch needs.
    summary: the module tree, each row indented under its blocks and named by the last
    part of its name (the whole name is in --json), a header row for every block that
    has no row of its own."""
    out: list[tuple[str, NetRow | None]] = []
    opened: set[str] = set()
    for r in report.rows:
        if r.name is None:
            out.append((escape(r.short or r.layer) + _note(r), r))
            continue
        base = r.name.split(" (call ")[0]
        parts = base.split(".")
        if r.own:   # a block's own forward() code, under the block (the model's: at the top)
            parts = ["(own code)"] if base == r.kind else parts + ["(own code)"]
        for i in range(len(parts) - 1):
            prefix = ".".join(parts[:i + 1])
            if prefix not in opened:
                opened.add(prefix)
                kind = report.kinds.get(prefix, "")
                out.append((f"{'  ' * i}{escape(parts[i])} [dim]{escape(kind)}[/dim]", None))
        opened.add(base)
        last = parts[-1] + r.name[len(base):]
        # (the model itself as the only row is named by its class: once)
        what = "" if r.own or last == r.kind else f" [dim]{escape(r.kind)}[/dim]"
        label = f"{'  ' * (len(parts) - 1)}{escape(last)}{what}"
        if r.container:
            label = f"{'  ' * (len(parts) - 1)}[bold]{escape(last)}[/bold]{what}"
        out.append((label + _note(r), r))
    return out


MAX_ROWS = 400   # a table longer than this shows its head and tail (--json has all)


def _shortened(labels: list[tuple[str, NetRow | None]]) -> list[tuple[str, NetRow | None]]:
    """The first 300 and the last 100 rows of a very long table, and how many are
    left out between them: a terminal cannot show 12,000 layers, and drawing them
    would take seconds."""
    if len(labels) <= MAX_ROWS:
        return labels
    left_out = len(labels) - 400
    return labels[:300] + [(f"⋮ {left_out:,} more rows (--json has them all)", None)] \
        + labels[-100:]


def _note(r: NetRow) -> str:
    return f"\n[dim]{escape(r.note)}[/dim]" if r.note else ""


def _params(r: NetRow) -> str:
    if r.frozen_params and r.frozen_params == r.params:
        return f"{r.params:,} frozen"
    if r.frozen_params:
        return f"{r.params:,} ({r.frozen_params:,} frozen)"
    return f"{r.params:,}"


def _macs(r: NetRow) -> str:
    text = "?" if r.macs is None else count_short(r.macs)
    return text + ("+?" if r.uncounted else "")


# torchinfo's column names (col_names=) -> the table's columns
TORCHINFO_COLUMNS = {"input_size": "input", "output_size": "output", "num_params": "params",
                     "params_percent": "params %", "kernel_size": "k/s/p/d/g",
                     "mult_adds": "MACs", "trainable": "trainable"}
# left out first at a narrow width, in this order
OPTIONAL = ("share", "params %", "trainable", "input", "k/s/p/d/g", "rf /jump @start")


def net_table(report: NetReport, dtype: str, title: str | None = None) -> Fitted:
    """One row per layer (summary: per module call, as a tree), the totals at the foot.
    At a narrow width the share column goes first, then the geometry, then labels may
    wrap between a module's name and its class; the receptive-field column (asked for
    by --rf) goes last: it wraps between its tokens first. ``report.view``
    (convcli.summary) picks torchinfo's columns and row settings."""
    rf = any(r.rf is not None for r in report.rows)
    last = "rf /jump @start" if rf else "k/s/p/d/g"
    share = report.path != "rules" and not rf
    view = report.view
    labels = _labels(report)
    if "hide_recursive_layers" in view.get("rows", ()):
        labels = [(label, r) for label, r in labels if r is None or not r.is_recursive]
    labels = _shortened(labels)
    # a label's first line (indent, name, class) is never wrapped; notes may be. Read
    # without emoji codes, as the console (emoji=False) draws it
    label_width = min(48, max((len(Text.from_markup(label, emoji=False).plain
                                   .splitlines()[0]) for label, _ in labels), default=5))

    cols_all = ["layer", "output", "params", "MACs"] + (["share"] if share else []) + [last]
    if view.get("columns"):
        cols_all = ["layer"] + [last if TORCHINFO_COLUMNS[c] == "k/s/p/d/g" else
                                TORCHINFO_COLUMNS[c] for c in view["columns"]]

    def cells_of(r: NetRow) -> dict:
        s = report.share(r) if share else None
        total = report.total_params
        return {"input": shape_x(r.input_shape), "output": shape_x(r.output_shape),
                "params": _params(r), "MACs": _macs(r),
                "share": "" if not s else f"{100 * s:.1f}%",
                "params %": f"{100 * r.params / total:.2f}%" if total and r.params else "",
                "trainable": r.trainable,
                last: _rf_str(r.rf) if rf else _geometry_str(r.geometry)}

    def build(left_out: set[str]) -> RenderableType:
        cols = [c for c in cols_all if c not in left_out]
        t = table(None if title is None else escape(title), *cols)
        if "ascii_only" in view.get("rows", ()):
            t.box = box.ASCII
        for c in t.columns[1:]:
            # an asked-for column is never left out first: it wraps between its tokens
            c.no_wrap = not (rf and c.header == last)
        if "one-line labels" not in left_out:
            t.columns[0].min_width = label_width
        t.add_row(*_input_cells(report, cols), style="dim")
        for label, r in labels:
            if r is None:
                t.add_row(label, *[""] * (len(cols) - 1), style="dim" if label.startswith(
                    "⋮") else None)
                continue
            cells = cells_of(r) | {"layer": label}
            t.add_row(*[cells[c] for c in cols], style="dim" if r.expanded else None,
                      end_section=r is report.rows[-1])
        foot: dict[str, str | Text] = {
            "layer": "total", "output": Text(shape_x(report.output_shape), style="bold green"),
            "params": f"{report.total_params:,}", "MACs": count_short(report.total_macs),
            "share": "100.0%", "params %": "100.00%", "input": "", "trainable": "",
            last: ""}
        t.add_row(*[foot[c] for c in cols], style="bold")
        # the notes at the terminal's width, not the table's (a narrow table made them
        # a column of short lines)
        shown: RenderableType = t
        if rf and last in cols:   # its header wraps over the cells; then the cells
            rf_cells = [_rf_str(r.rf) for r in report.rows]
            tokens = [w for c in rf_cells for w in c.split()] + last.split()
            t.columns[cols.index(last)].max_width = max(map(len, tokens)) if \
                "wrapped rf" in left_out else max(map(len, rf_cells + ["@start"]))
        if rf and "one-line labels" in left_out:   # measured as wrapped at spaces too
            shown = Squeezed(t, {0: max(map(_widest_word, (label for label, _ in labels)),
                                        default=5)})
        return below(shown, _table_notes(report, rf, left_out & set(cols_all), cols_all),
                     style="dim", gap=False)

    # only the columns this table has: each try builds and measures the table again.
    # A column an option asked for (--rf) goes last: the others go first, then it
    # wraps between whole tokens, and only a table too wide even so leaves it out
    optional = [c for c in OPTIONAL if c in cols_all and not (rf and c == last)]
    return Fitted(build, optional + (["one-line labels", "wrapped rf", last] if rf
                                     else ["one-line labels"]))


def _widest_word(label: str) -> int:
    """The narrowest a label wraps to at spaces: its indent and first word, or a
    longer word after them."""
    plain = Text.from_markup(label, emoji=False).plain
    words = plain.split()
    if not words:
        return 1
    lead = len(plain) - len(plain.lstrip(" "))
    return max(lead + len(words[0]), *map(len, words))


def _input_cells(report: NetReport, cols: list[str]) -> list[str]:
    """The input row: its shape under input and output; a list, tuple or dict input
    as it was given, in the label column (which wraps)."""
    if any(c in i for i in report.inputs for c in "[({"):
        return [f"input {escape(', '.join(report.inputs))}"] + [""] * (len(cols) - 1)
    return ["input"] + [shape_x(report.input_shape) if c in ("input", "output") else ""
                        for c in cols[1:]]


def _table_notes(report: NetReport, rf: bool, left_out: set[str],
                 cols: list[str]) -> list:
    notes: list = list(report.notes)
    if rf and "rf /jump @start" not in left_out:
        notes.append("rf: size = the widest field of the row's positions at this input; "
                     "/jump = input steps per output step; @start = output 0's first input "
                     "index (negative: in the padding)")
    geometry = "" if "k/s/p/d/g" in left_out or "k/s/p/d/g" not in cols or rf else (
        " k/s/p/d/g: kernel/stride/padding/dilation/groups used (op: a transposed conv's "
        "output_padding).")
    if report.path == "rules":
        notes.append("MACs: convs and Linear, bias excluded; pools, norms and activations "
                     "count 0." + geometry)
    else:
        notes.append("MACs: every conv, matmul and attention op in forward(), bias "
                     "excluded, in the row of the module that ran it (= FlopCounterMode/2)."
                     + (" Bold rows are blocks: they hold the params and MACs of "
                        "everything inside them." if any(r.container for r in report.rows)
                        else "")
                     + geometry)
    return notes + left_out_note(left_out, sorted(left_out))


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


def renderables(report: NetReport, dtype: str | None = None) -> list:
    """What a command (or rich.print(report)) shows: the table and the totals, or with
    --train the training table and the step's totals. ``dtype``: the bytes' (default:
    the report's, float32 unless convcli.summary's dtypes said otherwise)."""
    dtype = dtype or report.dtype
    out: list = [net_table(report, dtype, report.model), net_totals(report, dtype)]
    if report.train is not None:    # imported when asked for (field_view.py loads tempfile)
        from convcli.views.train_view import train_table, train_totals
        out = [train_table(report, report.model), train_totals(report.train)]
        if report.train.dist is not None:
            from convcli.views.dist_view import dist_renderables
            out += dist_renderables(report.train.dist)
    if report.picture is not None:
        from convcli.views.field_view import terminal
        out.append(terminal(report.picture))
    if report.view.get("verbose") == 2 and report.view.get("parameters"):
        out.append(parameter_table(report.view["parameters"]))
    return out


def parameter_table(parameters: list) -> Table:
    """convcli.summary(verbose=2): every parameter (torchinfo shows weights and biases
    under their layers): qualified name, shape, elements, trainable."""
    t = table("parameters", "name", "shape", "params", "trainable")
    for name, shape, n, trainable in parameters:
        t.add_row(escape(name), shape_x(shape) if shape else "scalar", f"{n:,}",
                  "yes" if trainable else "frozen")
    return t


RENDERERS["rich"] = renderables
