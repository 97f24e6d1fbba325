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


# ---- verify ---------------------------------------------------------------------

def _finite(v):
    """JSON has no NaN/inf: those become null."""
    return None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v


def _err_str(v) -> str:
    if v is None:
        return "—"
    if v != v:
        return "nan"
    if v == 0:
        return "0"
    return f"{v:.2g}" if isinstance(v, float) and v < 1 else f"{v:,.4g}"


def verify_dict(report) -> dict:
    """`convcli verify --json`: stable keys (README)."""
    from convcli.verify import TOLERANCES

    checks = []
    for c in report.checks:
        item = {"name": c.name, "title": c.title, "cases": c.cases,
                "worst_error": _finite(c.worst_error), "passed": c.passed,
                "failures": c.failures, "tolerance": c.tolerance,
                "seconds": round(c.seconds, 3),
                "worst": None if c.worst is None else
                {k: _finite(v) for k, v in c.worst.as_dict().items()}}
        if c.name == "calculator":
            item["zero_size_quirks"] = c.quirks
        checks.append(item)
    configuration = None
    if report.spec is not None:
        configuration = {"layer": report.spec.torch_repr(), "conv": report.spec.as_dict(),
                         "input_shape": list(report.input_shape)}
    return {
        "version": JSON_VERSION,
        "passed": report.passed,
        "failed": [c.name for c in report.failed],
        "mode": report.mode,
        "configuration": configuration,
        "device": report.device,
        "dtype": report.dtype,
        "tolerance": {"atol": report.atol, "rtol": report.rtol,
                      "source": report.tolerance_source,
                      "rule": "|torch - expected| <= atol + rtol * |expected|"},
        "tolerances": {k: {"atol": a, "rtol": r} for k, (a, r) in TOLERANCES.items()},
        "seed": report.seed,
        "random_cases": report.random_cases,
        "torch": report.torch_version,
        "seconds": round(report.seconds, 3),
        "checks": checks,
        "skipped": [{"name": s.name, "reason": s.reason} for s in report.skipped],
    }


def verify_renderables(report) -> list:
    """The report as people read it: one row per check, then the worst case of each
    failing check, skipped checks and notes."""
    what = "built-in suite" if report.mode == "suite" else escape(report.configuration)
    t = table(f"convcli verify: {what}", "check", "what", "cases", "worst error", "result")
    t.columns[1].justify = "left"
    for c in report.checks:
        t.add_row(c.name, c.title, f"{c.cases:,}", _err_str(c.worst_error),
                  Text("pass", style="green") if c.passed else
                  Text(f"FAIL {c.failures}", style="bold red"))
    notes = [f"{report.device} · {report.dtype} · atol={report.atol:g} rtol={report.rtol:g} "
             f"({escape(report.tolerance_source)}) · seed {report.seed}"
             + (f" · {report.random_cases:,} random configs" if report.mode == "suite" else "")
             + f" · torch {report.torch_version} · {report.seconds:.1f} s",
             "numeric checks pass when |torch - expected| <= atol + rtol*|expected|; "
             "calculator and separable are exact"]
    for c in report.checks:
        if c.quirks:
            notes.append(
                f"calculator: {len(c.quirks)} transposed config(s) with an output size of "
                "exactly 0: torch's CPU backend returned an empty tensor, ConvSpec rejects "
                "them on purpose (documented quirk, counted as agreement)")
    for s in report.skipped:
        notes.append(f"skipped {s.name}: {escape(s.reason)}")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    parts = [t]
    for c in report.failed:
        w = c.worst
        d = table(f"worst case of '{c.name}' ({c.failures:,} of {c.cases:,} failed)", "", "",
                  show_header=False)
        d.columns[1].justify = "left"
        d.add_row("config", escape(w.configuration))
        d.add_row("where", escape(w.where))
        d.add_row("expected", escape(w.expected))
        d.add_row("got", escape(w.got))
        d.add_row("max abs error", _err_str(w.error))
        if w.message:
            d.add_row("why", escape(w.message))
        parts.append(d)
    parts.append(Text("PASSED" if report.passed else "FAILED: " + ", ".join(
        c.name for c in report.failed), style="bold green" if report.passed else "bold red"))
    return parts


def verify_summary(report) -> str:
    """One line for the `Error:` funnel when a check failed."""
    parts = []
    for c in report.failed:
        w = c.worst
        err = "" if w.error is None else f", max abs error {_err_str(w.error)}"
        parts.append(f"{c.name} ({c.failures} of {c.cases} cases; worst: {w.configuration}"
                     f" at {w.where}{err})")
    return f"verify found a mismatch in {len(parts)} check(s): " + "; ".join(parts)


def junit_xml(report) -> str:
    """JUnit XML for CI: one testcase per check (skipped checks as <skipped/>)."""
    import platform
    import xml.etree.ElementTree as ET
    from datetime import datetime, timezone

    n_tests = len(report.checks) + len(report.skipped)
    n_fail = len(report.failed)
    attrs = {"name": "convcli verify", "tests": str(n_tests), "failures": str(n_fail),
             "errors": "0", "skipped": str(len(report.skipped)),
             "time": f"{report.seconds:.3f}"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {
        **attrs, "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node()})
    props = ET.SubElement(suite, "properties")
    for k, v in (("mode", report.mode), ("configuration", report.configuration or ""),
                 ("device", report.device), ("dtype", report.dtype),
                 ("atol", f"{report.atol:g}"), ("rtol", f"{report.rtol:g}"),
                 ("seed", str(report.seed)), ("random_cases", str(report.random_cases)),
                 ("torch", report.torch_version)):
        ET.SubElement(props, "property", {"name": k, "value": v})
    from convcli.verify import CHECKS

    order = list(CHECKS)
    for c in sorted(report.checks + report.skipped, key=lambda c: order.index(c.name)):
        if not hasattr(c, "passed"):        # a check that did not run
            case = ET.SubElement(suite, "testcase", {
                "classname": "convcli.verify", "name": c.name, "time": "0"})
            ET.SubElement(case, "skipped", {"message": c.reason})
            continue
        case = ET.SubElement(suite, "testcase", {
            "classname": "convcli.verify", "name": c.name, "time": f"{c.seconds:.3f}"})
        if not c.passed:
            w = c.worst
            fail = ET.SubElement(case, "failure", {
                "type": "mismatch",
                "message": f"{c.title}: {c.failures} of {c.cases} cases failed; worst: "
                           f"{w.configuration} at {w.where}"})
            fail.text = "\n".join([
                f"check: {c.title} ({c.tolerance})", f"config: {w.configuration}",
                f"where: {w.where}", f"expected: {w.expected}", f"got: {w.got}",
                f"max abs error: {_err_str(w.error)}"] + ([w.message] if w.message else []))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (f"{c.title}: {c.cases} cases, worst error {_err_str(c.worst_error)}"
                        f" ({c.tolerance})")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def check_writable(path: str) -> None:
    """Fail before any long work when a report cannot be written (exit 3)."""
    import os
    import tempfile

    from convcli.errors import EnvironmentProblem

    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".convcli-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise EnvironmentProblem(f"cannot write {path!r}: {e.strerror}; choose a "
                                 "writable path") from None


def write_atomic(path: str, text: str) -> None:
    """Write text to path through a temporary file in the same folder, so that a
    reader never sees a partial file (parent folders are created, as pytest does)."""
    import os
    import tempfile

    from convcli.errors import EnvironmentProblem

    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".convcli-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise EnvironmentProblem(f"cannot write {path!r}: {e.strerror}; choose a "
                                 "writable path") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp makes it private (0600)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise EnvironmentProblem(f"cannot write {path!r}: {e.strerror}") from None
        raise


class verify_progress:
    """A rich progress bar on stderr (only when stderr is a terminal); the
    callback verify's checks report to: (check name, done, total)."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
            TimeElapsedColumn

        err = console(stderr=True)
        self.progress = None
        if err.is_terminal:
            self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=err, transient=True)
        self.tasks = {}

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False
