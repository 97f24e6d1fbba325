"""`verify`: the checks table, the worst case of each failing check, the one-line
summary for the error funnel, and the --json dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text

from convcli.engine.verify.report import EPS, TOLERANCES
from convcli.views.console import JSON_VERSION, table

if TYPE_CHECKING:
    from convcli.engine.verify.report import VerifyReport


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
                         "input_shape": list(report.input_shape)}
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
    failing check, skipped checks and notes."""
    what = "built-in suite" if report.mode == "suite" else escape(report.configuration)
    t = table(f"convcli verify: {what}", "check", "what", "cases", "worst error", "result")
    t.columns[1].justify = "left"
    for c in report.checks:
        t.add_row(c.name, c.title, f"{c.cases:,}", err_str(c.worst_error),
                  Text("pass", style="green") if c.passed else
                  Text(f"FAIL {c.failures}", style="bold red"))
    tol = report.tolerance
    notes = [f"{report.device} · {report.dtype} · {tol.text()} "
             f"({escape(tol.source)}) · seed {report.seed}"
             + (f" · {report.random_cases:,} random configs" if report.mode == "suite" else "")
             + f" · torch {report.torch_version} · {report.seconds:.1f} s",
             f"numeric checks pass when {tol.rule()}; calculator and separable are exact"]
    for c in report.checks:
        if c.quirks:
            notes.append(
                f"calculator: {len(c.quirks)} transposed config(s) with an output size of "
                "exactly 0: torch's CPU backend returned an empty tensor, ConvSpec rejects "
                "them on purpose (documented quirk, counted as agreement)")
    notes += [f"{c.name}: {escape(n)}" for c in report.checks for n in c.notes]
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
        d.add_row("max abs error", err_str(w.error))
        if w.message:
            d.add_row("why", escape(w.message))
        parts.append(d)
    parts.append(Text("PASSED" if report.passed else "FAILED: " + ", ".join(
        c.name for c in report.failed), style="bold green" if report.passed else "bold red"))
    return parts


def verify_summary(report: VerifyReport) -> str:
    """One line for the `Error:` funnel when a check failed."""
    parts = []
    for c in report.failed:
        w = c.worst
        err = "" if w.error is None else f", max abs error {err_str(w.error)}"
        parts.append(f"{c.name} ({c.failures} of {c.cases} cases; worst: {w.configuration}"
                     f" at {w.where}{err})")
    return f"verify found a mismatch in {len(parts)} check(s): " + "; ".join(parts)
