"""--format markdown: GitHub-flavoured tables for a pull request comment or
$GITHUB_STEP_SUMMARY (summary, net, diff and their budgets). Built from the --json
dicts, so the numbers are the ones --json prints. Plain strings: no rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcli.formatting import count_short, size
from convcli.views.budget_view import (METRIC_TITLES, amount, limit_text, metrics, percent,
                              row_label, unit_of)

if TYPE_CHECKING:
    from convcli.engine.budgets import BudgetResult
    from convcli.engine.model_diff import Diff

OK, FAILED = "✅ ok", "❌ **over**"


def cell(text: object) -> str:
    """Table cell text: pipes escaped, one line, no HTML."""
    out = " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
    return out.replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    return "`" + cell(text).replace("`", "'") + "`"


def md_table(headers: list[str], rows: list[list[str]], right: int = 1) -> str:
    """A GFM table; columns from ``right`` on are right-aligned."""
    align = ["---" if i < right else "--:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def budgets_md(results: list[BudgetResult]) -> str:
    if not results:
        return ""
    rows = [[code(r.option), cell(limit_text(r)),
             cell(amount(r.value, r.unit, r.name.endswith("_increase"))),
             cell(amount(r.margin, r.unit)), OK if r.ok else FAILED] for r in results]
    failed = sum(not r.ok for r in results)
    head = (f"**{failed} of {len(results)} budgets failed**" if failed
            else f"All {len(results)} budgets kept")
    notes = "".join(f"\n- {cell(r.option)}: {cell(r.note)}" for r in results if r.note)
    return head + "\n\n" + md_table(["budget", "limit", "value", "margin", "result"],
                                    rows) + ("\n" + notes if notes else "")


def _inputs(data: dict) -> str:
    return ", ".join(data.get("inputs") or ["x".join(map(str, data["input_shape"]))])


def report_md(data: dict, results: list[BudgetResult], command: str) -> str:
    """summary / net: the totals, the budgets, the rows folded under <details>."""
    model = data.get("model") or "layers"
    dtype = data.get("dtype", "float32")
    macs = count_short(data["total_macs"]) + ("" if data.get("macs_complete", True)
                                              else " (at least)")
    facts = [f"**{count_short(data['total_params'])} params**", f"**{macs} MACs**",
             f"activations {size(data['activation_bytes'][dtype])} ({dtype})",
             f"input {cell(_inputs(data))}"]
    if data.get("train"):
        t = data["train"]
        facts.append(f"training step {size(t['total_bytes'])} ({cell(t['optimizer'])}, "
                     f"batch {t['batch']})")
    parts = [f"### convcli {command}: {code(model)}", " · ".join(facts)]
    if results:
        parts.append(budgets_md(results))
    rows = [r for r in data["layers"] if not r.get("expanded")]
    table = md_table(["#", "layer", "output", "params", "MACs", "share"], [
        [str(r["index"]), code(r.get("name") or r["layer"]) + f" {cell(r['type'])}",
         "x".join(map(str, r["output_shape"])), count_short(r["params"]),
         count_short(r["macs"]),
         "" if r.get("share") is None else f"{100 * r['share']:.1f}%"] for r in rows],
        right=3)
    parts.append(f"<details><summary>{len(rows)} rows</summary>\n\n{table}\n\n</details>")
    parts += [f"- {cell(n)}" for n in data.get("notes", [])]
    return "\n\n".join(parts) + "\n"


def diff_md(d: Diff, results: list[BudgetResult]) -> str:
    """diff: the totals, the budgets, the changed rows (largest first)."""
    cols = metrics(d)
    parts = [f"### convcli diff: {code(d.base_model)} → {code(d.head_model)}"]
    parts.append(md_table(["", "base", "head", "change", ""], [
        [METRIC_TITLES[m], amount(d.base_totals[m], unit_of(m)),
         amount(d.head_totals[m], unit_of(m)), amount(d.change(m), unit_of(m), True),
         percent(d.change(m), d.base_totals[m])] for m in cols]))
    if results:
        parts.append(budgets_md(results))
    shown = d.shown
    if shown:
        rows = [[code(row_label(r)) + f" {cell(r.kind)}",
                 *(amount(r.change(m), unit_of(m), True) for m in cols)] for r in shown]
        folded = (f"\n\n{d.folded} unchanged row{'s' if d.folded != 1 else ''} not shown."
                  if d.folded else "")
        parts.append(f"<details open><summary>{len(shown)} of {len(d.rows)} rows changed"
                     f"</summary>\n\n"
                     + md_table(["module", *(METRIC_TITLES[m] for m in cols)], rows)
                     + folded + "\n\n</details>")
    else:
        parts.append(f"No row changed ({len(d.rows)} rows).")
    parts += [f"- {cell(n)}" for n in d.notes]
    return "\n\n".join(parts) + "\n"
