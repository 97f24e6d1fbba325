"""`run`: the run table, the --tune table and the --json dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import CONVENTION
from convcli.formatting import count, shape_list, size
from convcli.views.console import JSON_VERSION, Fitted, table
from convcli.views.fit_width import Prose, below, left_out_note, titled

if TYPE_CHECKING:
    from convcli.engine.conv_run import RunResult
    from convcli.engine.run_sweep import SweepRuns, SweptRun


def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 \
        else f"{v:.3f}"


def _num(v) -> str:
    return "—" if v is None else f"{v:.6g}"


def run_dict(r: RunResult) -> dict:
    """`convcli run --json`: one object; keys documented in the README."""
    spec = r.spec
    return {
        "version": JSON_VERSION,
        "layer": spec.torch_repr(),
        "conv": spec.as_dict(),
        "input_shape": list(r.input_shape),
        "predicted_shape": list(r.predicted_shape),
        "output_shape": list(r.output_shape),
        "device": r.device.name,
        "device_name": r.device.description,
        "dtype": r.dtype,
        "channels_last": r.channels_last,
        "cudnn_benchmark": r.cudnn_benchmark,
        "cudnn_allow_tf32": r.cudnn_allow_tf32,
        "seed": r.seed,
        "sources": dict(r.sources),
        "timing": r.timing.as_dict(),
        "macs": r.macs,
        "flops": r.flops,
        "gflops": r.gflops,
        "peak_memory": {"bytes": r.peak_memory, "what": r.peak_memory_what},
        "memory_estimate": r.estimate.as_dict(),
        "stats": r.stats.as_dict(),
        "saved": None if r.saved is None else {"path": r.saved.path, "dtype": r.saved.dtype,
                                               "note": r.saved.note},
        "tune": [{"label": t.label, **t.as_dict()} for t in r.tune],
        "torch": r.torch_version,
        "threads": r.threads,
        "counting": CONVENTION,
    }


def run_table(r: RunResult) -> Group:
    """The run as label/value rows; a value wraps only between its parts."""
    t = _run_rows(r)
    note = r.timing.spread_note()
    return titled(f"{r.spec.torch_repr()} on {r.device.name}, {r.dtype}"
                  + (", channels_last" if r.channels_last else ""),
                  below(t, [note], style="yellow") if note else t)


def _run_rows(r: RunResult) -> Table:
    spec = r.spec
    t = table(None, "", "value", show_header=False)
    t.columns[0].no_wrap = True
    t.columns[1].justify = "left"
    for name, shape in (("input", r.input_shape), ("weight", spec.weight_shape),
                        ("bias", spec.bias_shape)):
        if name == "bias" and not spec.bias:
            t.add_row("bias", "none")
            continue
        t.add_row(name, Prose.parts([shape_list(shape), r.sources[name]], sep="  "))
    t.add_row("output", Text(shape_list(r.output_shape), style="bold green")
              + Text("  = predicted"))
    tm = r.timing
    t.add_row("time / call", Prose.parts(
        [Text(f"median {_ms(tm.median_ms)} ms", style="bold"), f"min {_ms(tm.min_ms)} ms",
         f"max {_ms(tm.max_ms)} ms"], sep=" · "))
    t.add_row("calls", Prose(f"{tm.repeat} timed after {tm.warmup} warmup ({tm.method})"))
    t.add_row("throughput", Prose.parts([f"{r.gflops:,.1f} GFLOP/s",
                                         f"({count(r.flops)} FLOPs = 2*MACs)"]))
    est = r.estimate
    t.add_row("memory", Prose.parts([f"peak {size(r.peak_memory)}", f"estimate "
                                     f"{size(est.total)}" + ("" if est.limit is None else
                                                             f" of {size(est.limit)} limit")],
                                    sep=" · "))
    s = r.stats
    t.add_row("output stats", Prose.parts([f"mean {_num(s.mean)}", f"std {_num(s.std)}",
                                           f"min {_num(s.min)}", f"max {_num(s.max)}"],
                                          sep=" · "))
    t.add_row("non-finite", Text(f"{s.nan:,} NaN, {s.inf:,} Inf",
                                 style="bold red" if s.nonfinite else ""))
    t.add_row("device", Prose.parts(
        [r.device.description, f"torch {r.torch_version}"]
        + ([] if r.cudnn_benchmark is None else
           [f"cudnn.benchmark {'on' if r.cudnn_benchmark else 'off'}"])
        + (["TF32 allowed"] if r.cudnn_allow_tf32 and r.dtype == "float32" else []),
        sep=" · "))
    if r.saved is not None:
        where = "stdout" if r.saved.path == "-" else r.saved.path
        t.add_row("saved", Prose(where + f" ({r.saved.dtype})"
                                 + (f"; {r.saved.note}" if r.saved.note else "")))
    return t


def _vs_yours(x) -> tuple[str, str]:
    """(speed-up cell, interval cell): '≈' marks a variant within the spread."""
    if x.requested:
        return "1.00x", "—"
    sp = x.speedup
    mark = "≈" if x.within_spread or x.control else ""
    return f"{mark}{sp.ratio:.2f}x", f"{sp.low:.2f}-{sp.high:.2f}"


def tune_table(r: RunResult) -> Group:
    """--tune: one row per variant (yours and its A/A control among them), each
    speed-up with its 95% interval, the fastest marked, and what to set. Narrow:
    without max diff, then GFLOP/s, then the interval."""
    rows = r.tune
    names = ["variant", "ms", "GFLOP/s", "vs yours", "95% CI", "max diff"]
    cells: list[list[RenderableType]] = []
    for x in rows:
        style = "bold green" if x.fastest else "dim" if x.control else ""
        label = ("★ " if x.fastest else "  ") + x.short_label + (
            " (yours)" if x.requested else " (A/A)" if x.control else "")
        if x.timing is None:
            cells.append([Text(label, style="dim"), "—", "—", "—", "—", "unsupported"])
            continue
        speed, interval = _vs_yours(x)
        cells.append([Text(label, style=style), _ms(x.timing.median_ms), f"{x.gflops:,.1f}",
                      speed, interval, "—" if x.requested else f"{x.max_abs_diff:.3g}"])

    def build(left_out: set[str]) -> RenderableType:
        keep = [i for i, n in enumerate(names) if n not in left_out]
        t = table(None, *[names[i] for i in keep])
        for c in t.columns:
            c.no_wrap = True
        for row in cells:
            t.add_row(*[row[i] for i in keep])
        notes = [f"set: {_advice(rows)}", _spread_note(rows)]
        if "max diff" not in left_out:
            notes.append("max diff: largest absolute difference from your variant's output")
        notes += [f"{x.short_label}: {x.error}" for x in rows if x.error]
        return below(t, [*notes, *left_out_note(left_out, names)], gap=False)

    return titled("Variants, timed round-robin (fastest ★; NHWC = channels_last)",
                  Fitted(build, ["max diff", "GFLOP/s", "95% CI"]))


def _spread_note(rows) -> str:
    control = next(x for x in rows if x.control)
    n = control.timing.repeat if control.timing else 0
    aa = control.speedup
    drift = "" if aa is None else f" drifted {aa.low:.2f}-{aa.high:.2f}"
    return (f"ms: median per call; vs yours: speed-up, median of {n} interleaved rounds, "
            f"its 95% bootstrap interval; ≈ within the measured spread (A/A: yours timed "
            f"twice{drift})")


def _advice(rows) -> str:
    base = next(x for x in rows if x.requested)
    best = next(x for x in rows if x.fastest)
    if best.requested:
        return "your settings are already the fastest measured"
    if best.within_spread:
        return (f"nothing: the fastest measured ({best.short_label}) is within the measured "
                "spread of yours")
    advice = []
    if best.channels_last != base.channels_last:
        advice.append("model = model.to(memory_format=torch.channels_last) and the same for "
                      "inputs" if best.channels_last else
                      "keep tensors contiguous (no channels_last)")
    if best.cudnn_benchmark is not None and best.cudnn_benchmark != base.cudnn_benchmark:
        advice.append(f"torch.backends.cudnn.benchmark = {best.cudnn_benchmark}")
    if best.dtype != base.dtype:
        advice.append(f"run in {best.dtype} (model.to(torch.{best.dtype}) or torch.autocast)"
                      f"; max diff vs yours {best.max_abs_diff:.3g}")
    return "; ".join(advice)


# ---- run --sweep ---------------------------------------------------------------------

SWEEP_COLUMNS = ["layer", "output", "ms", "spread", "GFLOP/s", "notes"]


def sweep_run_dict(done: SweepRuns) -> dict:
    """`run --sweep --json`: ``sweep_options`` and a ``sweep`` row per combination with
    each run's usual keys (run_dict's, and ``interpretation``) or its ``error``."""
    from convcli.views.sweep_view import sweep_dict

    def row(a: SweptRun) -> dict:
        data = run_dict(a.result)
        data["interpretation"] = (None if a.reading is None else
                                  a.reading.as_dict(a.result.spec.transposed))
        return data
    return sweep_dict(done.sweeps, done.rows, row)


def _spread(t) -> str:
    """The interquartile range of the timed calls as a share of their median; ``*``
    marks a wide one (the note under the table says which and what to do)."""
    if t.spread is None:
        return "—"
    return f"{t.spread:.0%}" + ("*" if t.spread_note() else "")


def _sweep_cells(a: SweptRun) -> dict[str, str]:
    r = a.result
    return {"layer": r.spec.torch_repr(), "output": shape_list(r.output_shape),
            "ms": _ms(r.timing.median_ms), "spread": _spread(r.timing),
            "GFLOP/s": f"{r.gflops:,.1f}",
            "notes": f"{r.stats.nan:,} NaN, {r.stats.inf:,} Inf" if r.stats.nonfinite else ""}


def _sweep_notes(done: SweepRuns, first: RunResult) -> list:
    """Under the table, once: which rows' timings spread widely (first: the docs test
    leaves this paragraph out, as it comes and goes with the machine's load), what
    every row shares, what the columns mean."""
    from convcli.calculator.sweep_grid import label

    tm = first.timing
    wide = [label(done.sweeps, r.values) for r in done.rows
            if r.answer is not None and r.answer.result.timing.spread_note()]
    notes: list = []
    if wide:
        notes.append(f"the timings spread widely in {'; '.join(wide)} (*: the middle half "
                     "of the calls spread over more than 25% of the median), so the machine "
                     "was likely busy; --threads 1 or a larger --repeat "
                     f"(now {tm.repeat}) gives steadier numbers")
    notes.append(Prose.parts([f"input {shape_list(first.input_shape)} "
                              f"{first.sources['input']}", f"{tm.repeat} timed calls after "
                              f"{tm.warmup} warmup per run ({tm.method})",
                              first.device.description, f"torch {first.torch_version}"],
                             sep=" · "))
    notes.append("ms: median per call; spread: the interquartile range of the calls over "
                 "the median; GFLOP/s = 2*MACs / median")
    return notes


def sweep_run_parts(done: SweepRuns) -> list:
    """The sweep's table: a row per combination (swept values, layer, output shape,
    median ms, spread, GFLOP/s; notes where an output has NaN or Inf); under it, once,
    which rows' timings spread widely, what every row shares (the input, the calls,
    the device) and the reading of INPUT's rank."""
    from convcli.calculator.sweep_grid import names as swept_names
    from convcli.views.conv_view import reading_text
    from convcli.views.sweep_view import sweep_table

    ran = [r.answer for r in done.rows if r.answer is not None]
    names = swept_names(done.sweeps)
    if not ran:      # every run was refused by torch: the reasons are the table
        return [sweep_table(f"{len(done.rows)} runs of {names}", done.sweeps, done.rows,
                            SWEEP_COLUMNS[:2], _sweep_cells)]
    first = ran[0].result
    title = (f"{len(done.rows)} runs of {names} on {first.device.name}, {first.dtype}"
             + (", channels_last" if first.channels_last else ""))
    columns = [c for c in SWEEP_COLUMNS
               if c != "notes" or any(_sweep_cells(a)["notes"] for a in ran)]
    table_ = sweep_table(title, done.sweeps, done.rows, columns, _sweep_cells,
                         optional=["layer", "spread"], notes=_sweep_notes(done, first),
                         left=["notes"])
    return [table_, reading_text(ran[0].reading, first.spec.transposed)]
