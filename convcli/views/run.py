"""`run`: the run table, the --tune table and the --json dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import CONVENTION
from convcli.formatting import count, shape_list, size
from convcli.views.console import JSON_VERSION, table

if TYPE_CHECKING:
    from convcli.engine.run import RunResult


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


def run_table(r: RunResult) -> Table:
    spec = r.spec
    t = table(f"{escape(spec.torch_repr())} on {r.device.name}, {r.dtype}"
              + (", channels_last" if r.channels_last else ""), "", "value",
              show_header=False)
    t.columns[1].justify = "left"
    t.add_row("input", f"{shape_list(r.input_shape)}  {escape(r.sources['input'])}")
    t.add_row("weight", f"{shape_list(spec.weight_shape)}  {escape(r.sources['weight'])}")
    t.add_row("bias", f"{shape_list(spec.bias_shape)}  {escape(r.sources['bias'])}"
              if spec.bias else "none")
    t.add_row("output", Text(shape_list(r.output_shape), style="bold green")
              + Text("  = predicted"))
    tm = r.timing
    t.add_row("time / call", Text(f"median {_ms(tm.median_ms)} ms", style="bold")
              + Text(f" · min {_ms(tm.min_ms)} ms · max {_ms(tm.max_ms)} ms"))
    t.add_row("calls", f"{tm.repeat} timed after {tm.warmup} warmup ({tm.method})")
    t.add_row("throughput", f"{r.gflops:,.1f} GFLOP/s ({count(r.flops)} FLOPs = 2*MACs)")
    est = r.estimate
    limit = "" if est.limit is None else f" of {size(est.limit)} limit"
    t.add_row("memory", f"peak {size(r.peak_memory)} · estimate "
              f"{size(est.total)}{limit}")
    s = r.stats
    t.add_row("output stats", f"mean {_num(s.mean)} · std {_num(s.std)} · min {_num(s.min)} · "
              f"max {_num(s.max)}")
    bad = Text(f"{s.nan:,} NaN, {s.inf:,} Inf",
               style="bold red" if s.nonfinite else "")
    t.add_row("non-finite", bad)
    t.add_row("device", escape(r.device.description) + f" · torch {r.torch_version}"
              + ("" if r.cudnn_benchmark is None else
                 f" · cudnn.benchmark {'on' if r.cudnn_benchmark else 'off'}")
              + (" · TF32 allowed" if r.cudnn_allow_tf32 and r.dtype == "float32" else ""))
    if r.saved is not None:
        t.add_row("saved", escape(r.saved.path) + f" ({r.saved.dtype})"
                  + (f"; {r.saved.note}" if r.saved.note else ""))
    return t


def _vs_yours(x) -> tuple[str, str]:
    """(speed-up cell, interval cell): '≈' marks a variant within the spread."""
    if x.requested:
        return "1.00x", "—"
    sp = x.speedup
    mark = "≈" if x.within_spread or x.control else ""
    return f"{mark}{sp.ratio:.2f}x", f"{sp.low:.2f}-{sp.high:.2f}"


def tune_table(r: RunResult) -> Table:
    """--tune: one row per variant (yours and its A/A control among them), each
    speed-up with its 95% interval, the fastest marked, and what to set."""
    rows = r.tune
    t = table("Variants, timed round-robin (fastest ★; NHWC = channels_last)", "variant",
              "ms", "GFLOP/s", "vs yours", "95% CI", "max diff")
    for c in t.columns:
        c.no_wrap = True
    for x in rows:
        style = "bold green" if x.fastest else "dim" if x.control else ""
        label = ("★ " if x.fastest else "  ") + x.short_label + (
            " (yours)" if x.requested else " (A/A)" if x.control else "")
        if x.timing is None:
            t.add_row(Text(label, style="dim"), "—", "—", "—", "—", "unsupported")
            continue
        speed, interval = _vs_yours(x)
        t.add_row(Text(label, style=style), _ms(x.timing.median_ms), f"{x.gflops:,.1f}",
                  speed, interval, "—" if x.requested else f"{x.max_abs_diff:.3g}")
    t.caption = "\n".join([f"set: {_advice(rows)}", _spread_note(rows),
                           "max diff: largest absolute difference from your variant's output"]
                          + [escape(f"{x.short_label}: {x.error}") for x in rows if x.error])
    t.caption_justify = "left"
    return t


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
