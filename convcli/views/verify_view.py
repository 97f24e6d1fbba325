"""`verify`: the checks table, the worst case of each failing check, the one-line
summary for the one `Error:` line, and the --json dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text

from convcli.engine.verify.verify_results import EPS, TOLERANCES
from convcli.views.console import JSON_VERSION, Fitted, table
from convcli.views.fit_width import Prose, below, left_out_note, titled

if TYPE_CHECKING:
    from convcli.engine.verify.verify_results import VerifyReport


def _finite(v):
    """JSON has no NaN/inf: those become null."""
    return None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v


def err_str(v) -> str:
    if v is None:
        return "—"
    if v != v:
        return "nan"
    if v == 0:
        return "0"
    return f"{v:.2g}" if isinstance(v, float) and v < 1 else f"{v:,.4g}"


def _error_cell(v) -> str:
    """The table's worst errors in one format: 9.5e-07, 1.0e-06, 7.7e-03 (exact: 0)."""
    if v is None or v != v or v == 0:
        return err_str(v)
    return f"{v:.1e}"


def verify_dict(report: VerifyReport) -> dict:
    """`convcli verify --json`: stable keys (README)."""
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
        if c.notes:
            item["notes"] = c.notes
        checks.append(item)
    configuration = None
    if report.spec is not None:
        configuration = {"layer": report.spec.torch_repr(), "conv": report.spec.as_dict(),
                         "input_shape": list(report.input_shape or ())}
    return {
        "version": JSON_VERSION,
        "passed": report.passed,
        "failed": [c.name for c in report.failed],
        "mode": report.mode,
        "configuration": configuration,
        "device": report.device,
        "dtype": report.dtype,
        "tolerance": report.tolerance.as_dict(),
        "tolerances": {k: {"eps": EPS[k], "factor": report.tolerance.factor, "atol": a, "rtol": r}
                       for k, (a, r) in TOLERANCES.items()},
        "memory": report.memory,
        "seed": report.seed,
        "random_cases": report.random_cases,
        "torch": report.torch_version,
        "seconds": round(report.seconds, 3),
        "checks": checks,
        "skipped": [{"name": s.name, "reason": s.reason} for s in report.skipped],
    }


def verify_renderables(report: VerifyReport) -> list:
    """The report as people read it: one row per check, then the worst case of each
    failing check, skipped checks and notes. Narrow: without the "what" column."""
    what = "built-in suite" if report.mode == "suite" else report.configuration
    names = ["check", "what", "cases", "worst error", "result"]

    def build(left_out: set[str]) -> RenderableType:
        keep = [n for n in names if n not in left_out]
        t = table(None, *keep)
        for col in t.columns:
            col.no_wrap = col.header != "what"
            col.justify = "left" if col.header in ("check", "what") else "right"
        for c in report.checks:
            cells: dict[str, str | Text] = {
                     "check": c.name, "what": c.title, "cases": f"{c.cases:,}",
                     "worst error": _error_cell(c.worst_error),
                     "result": Text("pass", style="green") if c.passed else
                     Text(f"FAIL {c.failures}", style="bold red")}
            t.add_row(*[cells[n] for n in keep])
        return below(t, _notes(report) + left_out_note(left_out, names))

    parts: list = [titled(f"convcli verify: {what}", Fitted(build, ["what"]))]
    for c in report.failed:
        w = c.worst
        assert w is not None, "a failed check keeps its worst case"
        d = table(None, "", "", show_header=False)
        d.columns[0].no_wrap = True
        d.columns[1].justify = "left"
        d.add_row("config", Prose(w.configuration))
        d.add_row("where", Prose(w.where))
        d.add_row("expected", Prose(w.expected))
        d.add_row("got", Prose(w.got))
        d.add_row("max abs error", err_str(w.error))
        if w.message:
            d.add_row("why", Prose(w.message))
        parts.append(titled(f"worst case of '{c.name}' ({c.failures:,} of {c.cases:,} "
                            "failed)", d))
    parts.append(Text("PASSED" if report.passed else "FAILED: " + ", ".join(
        c.name for c in report.failed), style="bold green" if report.passed else "bold red"))
    return parts


def _notes(report: VerifyReport) -> list:
    tol = report.tolerance
    rule, _, eps = tol.rule().partition(", eps = ")
    notes: list = [
        Prose.parts([report.device, report.dtype, f"{tol.text()} ({tol.source})",
                     f"seed {report.seed}"]
                    + ([f"{report.random_cases:,} random configs"]
                       if report.mode == "suite" else [])
                    + [f"torch {report.torch_version}", f"{report.seconds:.1f} s"],
                    sep=" · ", hang=2),
        Prose.parts(["numeric checks pass when", rule + ("," if eps else ";")]
                    + ([f"eps = {eps};"] if eps else [])
                    + ["calculator and separable are exact"], hang=2)]
    for c in report.checks:
        if c.quirks:
            notes.append(
                f"calculator: {len(c.quirks)} transposed config(s) with an output size of "
                "exactly 0: torch's CPU backend returned an empty tensor, ConvSpec rejects "
                "them on purpose (documented quirk, counted as agreement)")
    notes += [f"{c.name}: {n}" for c in report.checks for n in c.notes]
    notes += [f"skipped {s.name}: {s.reason}" for s in report.skipped]
    return notes


def verify_summary(report: VerifyReport) -> str:
    """One line for the `Error:` line when a check failed."""
    parts = []
    for c in report.failed:
        w = c.worst
        assert w is not None, "a failed check keeps its worst case"
        err = "" if w.error is None else f", max abs error {err_str(w.error)}"
        parts.append(f"{c.name} ({c.failures} of {c.cases} cases; worst: {w.configuration}"
                     f" at {w.where}{err})")
    return f"verify found a mismatch in {len(parts)} check(s): " + "; ".join(parts)
