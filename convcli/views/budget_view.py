"""Budgets and `diff` for people (rich tables) and machines (diff's --json dict, the
budgets' JUnit report). The markdown for pull requests is in markdown.py."""

from __future__ import annotations

import platform
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from convcli.formatting import count_short, size
from convcli.views.jsonout import JSON_VERSION

if TYPE_CHECKING:
    from rich.table import Table

    from convcli.engine.budgets import BudgetResult
    from convcli.engine.model_diff import Diff

METRIC_TITLES = {"params": "params", "macs": "MACs", "activations": "activations",
                 "train_memory": "train step"}
STATUS_MARKS = {"added": "added", "removed": "removed", "renamed": "renamed",
                "changed": "", "unchanged": ""}


def amount(value: int | None, unit: str, signed: bool = False) -> str:
    """A count (3 significant digits) or bytes (binary units), '+' before increases
    when ``signed``; '—' for unknown."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    text = count_short(abs(value)) if unit == "count" else size(abs(value))
    return sign + text


def unit_of(metric: str) -> str:
    return "count" if metric in ("params", "macs") else "bytes"


def percent(change: int | None, base: int | None) -> str:
    if change == 0:
        return "0%"
    if change is None or not base:
        return "—"
    pct = 100 * change / base
    return f"{pct:+.1f}%" if abs(pct) >= 0.05 or pct == 0 else f"{pct:+.2g}%"


def limit_text(r: BudgetResult) -> str:
    """The limit in the value's unit; a share of base also as given (5%)."""
    shown = amount(r.limit, r.unit)
    return f"{shown} ({r.text})" if r.text.endswith("%") else shown


def budget_table(results: list[BudgetResult]) -> Table:
    from convcli.views.console import table

    t = table("Budgets", "budget", "limit", "value", "margin", "result")
    for r in results:
        increase = r.name.endswith("_increase")
        t.add_row(r.option, limit_text(r), amount(r.value, r.unit, increase),
                  amount(r.margin, r.unit), "ok" if r.ok else "[bold red]FAILED[/]")
    return t


def budget_notes(results: list[BudgetResult]) -> list[str]:
    return [f"{r.option}: {r.note}" for r in results if r.note]


# ---- diff -----------------------------------------------------------------------


def metrics(d: Diff) -> list[str]:
    return [m for m in METRIC_TITLES if d.train or m != "train_memory"]


def row_label(r) -> str:
    if r.status == "renamed":
        return f"{r.name} (was {r.renamed_from})"
    if r.status in ("added", "removed"):
        return f"{r.name} ({r.status})"
    return r.name


def diff_tables(d: Diff) -> list:
    from rich.markup import escape
    from rich.text import Text

    from convcli.views.console import table

    shown = d.shown
    cols = metrics(d)
    sides = Text(f"base  {d.base_model}\nhead  {d.head_model}\n")
    t = table(f"{len(shown)} of {len(d.rows)} rows changed, largest first", "module",
              *(METRIC_TITLES[m] for m in cols))
    t.columns[0].overflow = "fold"
    for c in t.columns[1:]:
        c.no_wrap = True
    for r in shown:
        t.add_row(f"{escape(row_label(r))} [dim]{escape(r.kind)}[/dim]",
                  *(amount(r.change(m), unit_of(m), True) for m in cols))
    if d.folded:
        t.add_row(f"[dim]... {d.folded} unchanged row{'s' if d.folded != 1 else ''}[/dim]",
                  *("" for _ in cols))
    tot = table("Totals", "", "base", "head", "change", "%")
    for m in cols:
        unit = unit_of(m)
        tot.add_row(METRIC_TITLES[m], amount(d.base_totals[m], unit),
                    amount(d.head_totals[m], unit), amount(d.change(m), unit, True),
                    percent(d.change(m), d.base_totals[m]))
    notes = [Text(f"note: {n}", style="dim") for n in d.notes]
    return [sides, t if shown or d.folded else Text("no rows on either side"), tot, *notes]


def diff_dict(d: Diff) -> dict:
    """diff --json (the command adds `budgets`)."""
    cols = metrics(d)

    def values(v: dict | None) -> dict | None:
        return None if v is None else {k: v[k] for k in cols}

    return {
        "version": JSON_VERSION, "base": d.base_model, "head": d.head_model,
        "totals": {k: {"base": d.base_totals[k], "head": d.head_totals[k],
                       "change": d.change(k), "change_pct": _pct(d, k)} for k in cols},
        "rows": [{"name": r.name, "type": r.kind, "status": r.status,
                  "renamed_from": r.renamed_from, "base": values(r.base),
                  "head": values(r.head), "change": {k: r.change(k) for k in cols}}
                 for r in d.rows],
        "unchanged_rows": d.folded, "train": d.train, "notes": list(d.notes)}


def _pct(d: Diff, metric: str) -> float | None:
    old, change = d.base_totals.get(metric), d.change(metric)
    if change is None or not old:
        return None
    return round(100 * change / old, 4)


# ---- --junit --------------------------------------------------------------------


def budgets_junit(results: list[BudgetResult], suite: str, properties: dict) -> str:
    """One testcase per budget; the classname names the command, model, dtype and
    inputs, so that reports of a matrix never share a test id."""
    fails = sum(not r.ok for r in results)
    attrs = {"name": suite, "tests": str(len(results)), "failures": str(fails),
             "errors": "0", "skipped": "0", "time": "0"}
    root = ET.Element("testsuites", attrs)
    el = ET.SubElement(root, "testsuite", {
        **attrs, "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node()})
    props = ET.SubElement(el, "properties")
    for k, v in properties.items():
        ET.SubElement(props, "property", {"name": k, "value": str(v)})
    classname = ".".join([*suite.split(), *(
        re.sub(r"[^0-9A-Za-z]+", "_", str(properties[k])).strip("_")
        for k in ("model", "dtype", "inputs") if properties.get(k))])
    for r in results:
        case = ET.SubElement(el, "testcase", {"classname": classname,
                                              "name": r.option, "time": "0"})
        line = (f"{r.option} {r.text}: value {amount(r.value, r.unit)}, limit "
                f"{amount(r.limit, r.unit)}, margin {amount(r.margin, r.unit)}")
        if r.ok:
            ET.SubElement(case, "system-out").text = line
        else:
            fail = ET.SubElement(case, "failure", {"type": "budget", "message": line})
            fail.text = line + (f"\n{r.note}" if r.note else "")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
