"""`--train` (net and summary): the rows' training bytes, the totals of one step, the
budget answer and the measured step, as tables (the `train` JSON keys are in
net_data.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcli.formatting import shape_x, size
from convcli.views.console import Fitted, table
from convcli.views.fit_width import Prose, below, titled

if TYPE_CHECKING:
    from convcli.network.net_report import NetReport
    from convcli.network.train_report import TrainReport


def _label(report: NetReport, r) -> Prose:
    """The layer (a layer's arguments wrap between them, never inside one)."""
    if r.name is None:
        return Prose(r.layer)
    indent = "  " * max(r.depth - 1, 0) if report.depth is not None else ""
    what = "own code" if r.own else r.kind
    return Prose(Text(f"{indent}{r.name} ") + Text(what, style="dim"))


def train_table(report: NetReport, title: str | None) -> Fitted | Group:
    """One row per layer: output, saved activations, and params + grads + state.
    Narrow: short headers, then labels wrap between a layer's arguments."""
    labels = [(_label(report, r), r) for r in report.rows if r.train is not None]
    widest = min(48, max((len(label.lines(10 ** 6)[0].plain) for label, _ in labels),
                         default=5))
    train = report.train

    def build(left_out: set[str]) -> RenderableType:
        short = "short headers" in left_out
        t = table(None, "layer", "output", "saved" if short else "saved act.",
                  "p+g+o" if short else "param+grad+opt")
        for c in t.columns[1:]:
            c.no_wrap = True
        if "one-line labels" not in left_out:
            t.columns[0].min_width = widest
        for label, r in labels:
            tr = r.train
            t.add_row(label, shape_x(r.output_shape),
                      size(tr.activation_bytes) if tr.activation_bytes else "",
                      size(tr.param_bytes + tr.grad_bytes + tr.state_bytes)
                      if tr.param_bytes else "",
                      style="dim" if r.expanded else None, end_section=r is report.rows[-1])
        t.add_row("total", shape_x(report.output_shape), size(train.activation_bytes),
                  size(train.param_bytes + train.grad_bytes + train.state_bytes),
                  style="bold")
        return below(t, list(report.notes) + list(train.notes) + (
            ["saved: the activation bytes autograd saves for backward; p+g+o: parameter, "
             "gradient and optimizer-state bytes"] if short else []))

    fitted = Fitted(build, ["short headers", "one-line labels"])
    return fitted if title is None else titled(title, fitted)


def train_totals(t: TrainReport) -> Group:
    amp = f", {t.amp} autocast" if t.amp else ""
    out = table(None, "", "bytes", show_header=False)
    out.columns[0].no_wrap = True
    out.columns[1].justify = "left"
    for name, value in t.parts().items():
        out.add_row(name, Prose.parts([size(value)] + (
            ["(fp32 master weights)"] if t.amp and name == "parameters" else [])))
    out.add_row("total", Prose.parts([f"{size(t.total_bytes)};", f"most is {t.dominant}"]),
                style="bold")
    if t.budget is not None:
        _budget_rows(out, t)
    if t.measured is not None:
        _measured_rows(out, t)
    return titled(f"one training step at batch {t.batch} ({t.dtype}{amp}, {t.optimizer})",
                  out)


def _budget_rows(out: Table, t: TrainReport) -> None:
    b = t.budget
    assert b is not None
    if b.largest_batch:
        out.add_row(f"budget {size(b.limit)}", Prose.parts(
            [f"largest batch {b.largest_batch:,}", f"({_gib(b.total_at_largest)};",
             f"{b.largest_batch + 1:,} needs {_gib(b.total_at_next)});",
             f"most is {b.dominant}"]), style="bold")
    else:
        out.add_row(f"budget {size(b.limit)}", Prose.parts(
            ["not even a batch of 1 fits:", f"it needs {_gib(b.total_at_next)};",
             f"most is {b.dominant}"]), style="bold")
    out.add_row("per sample", Prose.parts([size(b.per_sample_bytes), "(activations and input),",
                                           f"plus {size(b.fixed_bytes)}", "whatever the batch"]))


def _gib(n: int | None) -> str:
    """Bytes near a budget: three decimals, so that the answer and the next differ."""
    if n is None:
        return "-"
    return f"{n / 2 ** 30:,.3f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:,.3f} MiB"


def _measured_rows(out: Table, t: TrainReport) -> None:
    m = t.measured or {}
    est = t.activation_bytes
    got = m.get("saved_activation_bytes")
    if got is not None:
        diff = f" ({100 * (est - got) / got:+.2f}% estimate vs measured)" if got else ""
        out.add_row("measured, saved", Prose.parts([size(got), f"on {m.get('device')}"]
                                                   + ([diff[1:]] if diff else [])))
    if m.get("peak_bytes") is not None:
        out.add_row("measured peak", Prose.parts(
            [f"{size(m['peak_bytes'])} allocated",
             f"({size(m.get('peak_reserved_bytes'))} reserved),",
             f"estimate {size(t.total_bytes)}"]))
