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


# ---- run ------------------------------------------------------------------------

def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 \
        else f"{v:.3f}"


def _num(v) -> str:
    return "—" if v is None else f"{v:.6g}"


def run_dict(r) -> dict:
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


def run_table(r) -> Table:
    spec = r.spec
    t = table(f"{escape(spec.torch_repr())} on {r.device.name}, {r.dtype}"
              + (", channels_last" if r.channels_last else ""), "", "value",
              show_header=False)
    t.columns[1].justify = "left"
    t.add_row("input", f"{shape_str(r.input_shape)}  {escape(r.sources['input'])}")
    t.add_row("weight", f"{shape_str(spec.weight_shape)}  {escape(r.sources['weight'])}")
    t.add_row("bias", f"{shape_str(spec.bias_shape)}  {escape(r.sources['bias'])}"
              if spec.bias else "none")
    t.add_row("output", Text(shape_str(r.output_shape), style="bold green")
              + Text("  = predicted"))
    tm = r.timing
    t.add_row("time / call", Text(f"median {_ms(tm.median_ms)} ms", style="bold")
              + Text(f" · min {_ms(tm.min_ms)} ms · max {_ms(tm.max_ms)} ms"))
    t.add_row("calls", f"{tm.repeat} timed after {tm.warmup} warmup ({tm.method})")
    t.add_row("throughput", f"{r.gflops:,.1f} GFLOP/s ({count_str(r.flops)} FLOPs = 2*MACs)")
    est = r.estimate
    limit = "" if est.limit is None else f" of {bytes_str(est.limit)} limit"
    t.add_row("memory", f"peak {bytes_str(r.peak_memory)} · estimate "
              f"{bytes_str(est.total)}{limit}")
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


def tune_table(r) -> Table:
    """--tune: one row per variant, the fastest marked, and what to set."""
    rows = r.tune
    base = next((x for x in rows if x.requested), rows[0])
    t = table("Variants (same tensors; fastest marked ★; NHWC = channels_last)", "variant",
              "median ms", "min ms", "GFLOP/s", "vs yours", "max diff")
    t.columns[0].no_wrap = True
    for x in rows:
        style = "bold green" if x.fastest else ""
        label = ("★ " if x.fastest else "  ") + x.short_label + (" (yours)" if x.requested else "")
        if x.timing is None:
            t.add_row(Text(label, style="dim"), "—", "—", "—", "—", "unsupported")
            continue
        t.add_row(Text(label, style=style), _ms(x.timing.median_ms), _ms(x.timing.min_ms),
                  f"{x.gflops:,.1f}", f"{base.timing.median_ms / x.timing.median_ms:.2f}x",
                  "—" if x is base else f"{x.max_abs_diff:.3g}")
    best = next(x for x in rows if x.fastest)
    advice = []
    if best.requested:
        advice.append("your settings are already the fastest measured")
    else:
        if best.channels_last != base.channels_last:
            advice.append("model = model.to(memory_format=torch.channels_last) and the same for "
                          "inputs" if best.channels_last else
                          "keep tensors contiguous (no channels_last)")
        if best.cudnn_benchmark is not None and best.cudnn_benchmark != base.cudnn_benchmark:
            advice.append(f"torch.backends.cudnn.benchmark = {best.cudnn_benchmark}")
        if best.dtype != base.dtype:
            advice.append(f"run in {best.dtype} (model.to(torch.{best.dtype}) or torch.autocast)"
                          f"; max diff vs yours {best.max_abs_diff:.3g}")
    failed = [f"{x.short_label}: {x.error}" for x in rows if x.error]
    t.caption = "set: " + "; ".join(advice) + \
        "\nmax diff: largest absolute difference from your variant's output" + \
        "".join(f"\n{escape(f)}" for f in failed)
    t.caption_justify = "left"
    return t


class RunProgress:
    """A progress bar on stderr, shown only when stderr is a terminal and the work
    has taken more than ``delay`` seconds; never on stdout. Call as
    ``progress(done, total, label)``; ``close()`` removes it."""

    def __init__(self, delay: float = 0.5, console_: Console | None = None):
        self.delay = delay
        self.console = console_ or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self._t0 = None
        self._bar = None
        self._task = None
        self._label = None

    def __call__(self, done: int, total: int, label: str) -> None:
        import time

        if not self.enabled:
            return
        if self._bar is None:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            if now - self._t0 < self.delay:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(escape(label), total=total)
            self._label = label
        if label != self._label:
            self._bar.reset(self._task, total=total, description=escape(label))
            self._label = label
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
