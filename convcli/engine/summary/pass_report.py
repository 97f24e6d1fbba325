"""A counted pass (trace.Pass) -> the NetReport: rows, totals and the notes that say
what ran, what was not counted and what looks wrong. torch is never imported here."""

from __future__ import annotations

from typing import Sequence

from convcli.engine.summary.counting import UNCOUNTED_WORK
from convcli.engine.summary.dispatch import first_shape
from convcli.engine.summary.inputs import InputSpec
from convcli.engine.summary.rows import RowBuilder, assign_params
from convcli.formatting import article, shape_list, size
from convcli.network.net_report import NetReport, layer_outputs


def build_report(run, specs: Sequence[InputSpec], options, label: str,
                 source_note: str, train=None, fields=None) -> NetReport:
    """``train``: params -> (TrainRow per call, TrainReport), for --train; ``fields``:
    (RowField per call, notes), for --rf and --field."""
    rec = run.rec
    used = {rec.param_ids[i] for i in rec.used} if rec.param_ids else None
    params = assign_params(run.model, rec.calls, used)
    train_rows, train_report = train(params) if train is not None else (None, None)
    rf_rows, rf_notes = fields if fields is not None else ({}, [])
    rows = RowBuilder(rec, params, options.depth, train_rows, rf_rows).build()
    # the activations do not depend on how deep the table goes
    leaves = rows if options.depth is None else RowBuilder(rec, params, None, None,
                                                           {}).build()
    activations = None if options.depth is None else layer_outputs(leaves)
    notes = ([source_note] if source_note else []) + list(rf_notes)
    if run.path == "cpu":
        peak = f"; its tensors peaked at {size(run.guard.peak)}" if run.guard else ""
        notes.append(f"{run.stage} cannot run on the meta device ({run.reason}); it "
                     f"ran once for real on the CPU, {run.what_ran}{peak}")
    notes += _uncounted_notes(rec.uncounted)
    if params.unused:
        listed = ", ".join(f"{q} ({n:,})" for q, n in list(params.unused.items())[:5])
        more = " ..." if len(params.unused) > 5 else ""
        notes.append(f"{sum(params.unused.values()):,} params are read by no op of "
                     f"forward(): {listed}{more}; they are in the total, in no row")
    notes += _output_notes(run.output, rows, specs, run.path == "meta")
    first = first_shape(run.output)
    return NetReport(
        specs[0].shape if specs else (), rows, params.total, notes,
        macs_complete=not rec.uncounted, final_shape=first, macs=rec.total,
        frozen_params=params.frozen, unused_params=sum(params.unused.values()),
        path=run.path, path_reason=run.reason, inputs=[s.text() for s in specs],
        macs_by_op=dict(rec.by_op.most_common()),
        uncounted_ops={op: sorted(q or "(model)" for q in mods)
                       for op, mods in sorted(rec.uncounted.items())},
        model=label, depth=options.depth, train=train_report, activations=activations,
        param_layer_outputs=_param_layer_outputs(leaves),
        kinds={c.name: type(c.module).__name__ for c in rec.calls if c.name})


def _param_layer_outputs(leaves) -> int:
    """The output elements of every call of a leaf module that holds parameters
    (torchinfo's forward/backward size is twice their bytes)."""
    holders = {r.name.split(" (call ")[0] for r in leaves if r.params and r.is_leaf_layer}
    return sum(r.output_elements for r in leaves
               if r.is_leaf_layer and r.name.split(" (call ")[0] in holders)


def _uncounted_notes(uncounted: dict) -> list[str]:
    out = []
    for op, mods in sorted(uncounted.items()):
        kind = ("MAC work convcli has no formula for" if op in UNCOUNTED_WORK
                else "an op convcli does not classify")
        where = ", ".join(sorted(q or "(model)" for q in mods)[:5])
        out.append(f"MACs not counted: {op} ({kind}) in {where}; the total is a lower "
                   "bound")
    return out


def _output_notes(output, rows, specs, shapes_only: bool) -> list[str]:
    """What forward() returned; a batch that changed (a view folding features into it;
    not said on the CPU path, where data-dependent models pick how many rows go on)."""
    import sys
    torch = sys.modules["torch"]
    notes = []
    first = first_shape(output)
    if first is None:
        notes.append(f"forward() returned {article(type(output).__name__)}, not a tensor")
    elif not isinstance(output, torch.Tensor):
        notes.append(f"forward() returned {article(type(output).__name__)}; the output "
                     "shape is that of its first tensor")
    shape: tuple[int, ...] = specs[0].shape if specs else ()
    leaves = [r for r in rows if not r.container and r.output_shape]
    if shapes_only and leaves and len(shape) >= 2 and len(leaves[-1].output_shape) >= 2 and \
            leaves[-1].output_shape[0] != shape[0] and first is not None and \
            len(first) >= 1 and first[0] != shape[0]:
        changed = next(r for r in leaves if r.output_shape[:1] != shape[:1])
        notes.append(
            f"the batch changed from {shape[0]} to {first[0]} (first seen at "
            f"{changed.name}, input {shape_list(changed.input_shape)}): a view/reshape "
            "with -1 in forward() may have folded features into the batch; flatten with "
            "x.flatten(1) or nn.Flatten() and size the Linear from this table")
    return notes

