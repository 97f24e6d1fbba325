"""CI options of summary, net and diff (--max-params, --max-macs, --max-activations,
--max-train-memory, --format, --junit) and how a command ends with them: the budgets
checked, the report printed as a table, JSON or markdown, the JUnit file written, and
exit 1 (a check failed) when a budget is exceeded."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Callable

from convcli.errors import ConvError, Mismatch

FORMATS = ("table", "json", "markdown")


def limits(params: str | None, macs: str | None, activations: str | None,
           train_memory: str | None, junit: str | None, increase: dict | None = None):
    """The budgets given (checked before any work), and --junit's file checked."""
    from convcli.engine.budgets import parse_limits

    out = parse_limits({"params": params, "macs": macs, "activations": activations,
                        "train_memory": train_memory})
    out += parse_limits(increase or {}, increase=True)
    if junit is not None:
        if not out:
            raise ConvError(f"--junit {junit!r} writes one test per budget: give a budget "
                            "too (--max-params 25M, --max-macs 4.1G, ...)")
        target = os.path.realpath(junit)
        if not junit.strip() or os.path.exists(target) and not os.path.isfile(target):
            # a folder, or a device such as /dev/full that a rename would replace
            raise ConvError(f"--junit {junit!r}: give a file path such as budgets.xml "
                            "(this is not a regular file)")
        from convcli.files import check_writable
        check_writable(junit, "--junit")
    return out


def prepare(fmt: str, json: bool, junit: str | None, params: str | None, macs: str | None,
            activations: str | None, train_memory: str | None):
    """--format (or --json) read, and the four budgets given (summary, net)."""
    return output_format(fmt, json), limits(params, macs, activations, train_memory, junit)


def output_format(fmt: str, json: bool) -> str:
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ConvError(f"--format {fmt!r}: use table, json or markdown")
    if json and fmt == "markdown":
        raise ConvError("--json and --format markdown: choose one")
    return "json" if json else fmt


def finish(data: dict, tables: Callable[[], Sequence], markdown: Callable[[list], str],
           limits: list, fmt: str, junit: str | None, properties: dict,
           base: dict | None = None, checked: dict | None = None) -> None:
    """Check the budgets on ``checked`` (default: ``data``; and the change from
    ``base``), write --junit, print ``data`` in ``fmt``; raise Mismatch (exit 1) when a
    budget failed."""
    from convcli.engine.budgets import check, failed_line
    from convcli.views.jsonout import write_json

    results = check(limits, data if checked is None else checked, base)
    if limits:
        data["budgets"] = [r.as_dict() for r in results]
    if junit is not None:
        from convcli.views.budget_view import budgets_junit
        from convcli.views.junit import write_atomic
        write_atomic(junit, budgets_junit(results, f"convcli {properties['command']}",
                                          properties))
    if fmt == "json":
        write_json(data)
    elif fmt == "markdown":
        sys.stdout.write(markdown(results))
        sys.stdout.flush()
    else:
        from rich.text import Text

        from convcli.views.budget_view import budget_notes, budget_table
        from convcli.views.console import Output
        extra = [budget_table(results), *(Text(n, style="dim") for n in
                                          budget_notes(results))] if results else []
        Output(False).emit(data, *tables(), *extra)
    if not all(r.ok for r in results):
        raise Mismatch(failed_line(results))


def report_properties(command: str, data: dict) -> dict:
    return {"command": command, "model": data.get("model") or "layers",
            "dtype": data.get("dtype", ""),
            "inputs": ", ".join(data.get("inputs") or
                                ["x".join(map(str, data["input_shape"]))])}


def markdown(data: dict, results: list, command: str = "summary") -> str:
    from convcli.views.markdown import report_md
    return report_md(data, results, command)


def end_summary(report, dtype: str, budgets: list, fmt: str, junit: str | None) -> None:
    """summary's report printed in ``fmt`` with its budgets checked."""
    from convcli.views.net_view import renderables
    from convcli.views.net_data import net_dict

    data = net_dict(report, dtype)
    finish(data, lambda: renderables(report, dtype), lambda r: markdown(data, r),
           budgets, fmt, junit, report_properties("summary", data))
