"""`--train` (net and summary): the rows' training bytes, the totals of one step, the
budget answer and the measured step, as tables (the `train` JSON keys are in
net_data.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from convcli.formatting import shape_list, size
from convcli.views.console import table

if TYPE_CHECKING:
    from convcli.network.report import NetReport
    from convcli.network.training import TrainReport


def _label(report: NetReport, r) -> str:
    if r.name is None:
        return escape(r.layer)
    indent = "  " * max(r.depth - 1, 0) if report.depth is not None else ""
    what = "own code" if r.own else escape(r.kind)
    return f"{indent}{escape(r.name)} [dim]{what}[/dim]"


def train_table(report: NetReport, title: str | None) -> Table:
    """One row per layer: output, saved activations, and params + grads + state."""
    t = table(None if title is None else escape(title), "layer", "output shape",
              "saved act.", "param+grad+opt")
    t.columns[0].overflow = "fold"
    for c in t.columns[1:]:
        c.no_wrap = True
    for r in report.rows:
        tr = r.train
        if tr is None:
            continue
        t.add_row(_label(report, r), shape_list(r.output_shape),
                  size(tr.activation_bytes) if tr.activation_bytes else "",
                  size(tr.param_bytes + tr.grad_bytes + tr.state_bytes)
                  if tr.param_bytes else "",
                  style="dim" if r.expanded else None, end_section=r is report.rows[-1])
    train = report.train
    t.add_row("total", shape_list(report.output_shape), size(train.activation_bytes),
              size(train.param_bytes + train.grad_bytes + train.state_bytes), style="bold")
    t.caption = "\n".join(escape(n) for n in list(report.notes) + list(train.notes))
    t.caption_justify = "left"
    return t


def train_totals(t: TrainReport) -> Table:
    amp = f", {t.amp} autocast" if t.amp else ""
    out = table(f"one training step at batch {t.batch} ({t.dtype}{amp}, {t.optimizer})",
                "", "bytes", show_header=False)
    out.columns[1].justify = "left"
    for name, value in t.parts().items():
        out.add_row(name, size(value) + (" (fp32 master weights)" if t.amp and
                                         name == "parameters" else ""))
    out.add_row("total", f"{size(t.total_bytes)}; most is {t.dominant}", style="bold")
    if t.budget is not None:
        _budget_rows(out, t)
    if t.measured is not None:
        _measured_rows(out, t)
    return out


def _budget_rows(out: Table, t: TrainReport) -> None:
    b = t.budget
    assert b is not None
    if b.largest_batch:
        out.add_row(f"budget {size(b.limit)}",
                    f"largest batch {b.largest_batch:,} ({_gib(b.total_at_largest)}; "
                    f"{b.largest_batch + 1:,} needs {_gib(b.total_at_next)}); most is "
                    f"{b.dominant}", style="bold")
    else:
        out.add_row(f"budget {size(b.limit)}",
                    f"not even a batch of 1 fits: it needs {_gib(b.total_at_next)}; most is "
                    f"{b.dominant}", style="bold")
    out.add_row("per sample", f"{size(b.per_sample_bytes)} (activations and input), plus "
                              f"{size(b.fixed_bytes)} whatever the batch")


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
        out.add_row("measured, saved", f"{size(got)} on {m.get('device')}{diff}")
    if m.get("peak_bytes") is not None:
        out.add_row("measured peak", f"{size(m['peak_bytes'])} allocated "
                                     f"({size(m.get('peak_reserved_bytes'))} reserved), "
                                     f"estimate {size(t.total_bytes)}")
