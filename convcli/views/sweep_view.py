"""--sweep: one row per combination, a column per swept option, then the answer's
own columns (shape and params: the layer, shapes, params and MACs; run: the timing).
A combination torch would refuse is a row that says why. ``sweep_dict`` is the
--json form: ``sweep`` rows with the swept values and each row's usual keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from convcli.calculator.sweep_grid import Sweep, SweepRow
from convcli.views.jsonout import JSON_VERSION


def sweep_dict(sweeps: Sequence[Sweep], rows: Sequence[SweepRow],
               row_dict: Callable[[Any], dict]) -> dict:
    """`--json`: the swept options and one object per combination (its usual keys, or
    ``error``)."""
    out = []
    for r in rows:
        entry: dict = {"swept": dict(r.values)}
        if r.error is None:
            usual = row_dict(r.answer)
            usual.pop("version", None)
            entry.update(usual)
            entry["error"] = None
        else:
            entry["error"] = r.error
        out.append(entry)
    return {"version": JSON_VERSION,
            "sweep_options": [{"option": s.field, "name": s.name, "values": list(s.values)}
                              for s in sweeps],
            "sweep": out}


def sweep_table(title: str, sweeps: Sequence[Sweep], rows: Sequence[SweepRow],
                columns: Sequence[str], cells: Callable[[Any], dict[str, str]],
                optional: Sequence[str] = ("weight", "layer", "bytes"),
                notes: Sequence[Any] = (), left: Sequence[str] = ()):
    """The table: swept values first, then ``columns`` filled by ``cells(answer)``;
    a combination torch refuses says so, and why under the table, then ``notes``.
    ``optional``: the columns left out, first first, where the width is short;
    ``left``: columns read as text (left-justified), besides the first answer's."""
    from rich.text import Text

    from convcli.views.console import Fitted, table
    from convcli.views.fit_width import below, left_out_note, titled

    names = [s.name for s in sweeps]
    refused = [", ".join(f"{s.name}={r.values[s.field]}" for s in sweeps) + f": {r.error}"
               for r in rows if r.error is not None]

    def build(left_out: set[str]):
        cols = [c for c in columns if c not in left_out]
        t = table(None, *names, *cols)
        for c in t.columns:
            c.no_wrap = True
        if cols:
            t.columns[len(names)].justify = "left"
        for i, name in enumerate(cols):
            if name in left:
                t.columns[len(names) + i].justify = "left"
        for r in rows:
            swept = [r.values[s.field] for s in sweeps]
            if r.error is None:
                got = cells(r.answer)
                t.add_row(*swept, *(got.get(c, "") for c in cols))
            else:
                t.add_row(*swept, Text("torch refuses it (below)", style="red"),
                          *([""] * (len(cols) - 1)))
        return below(t, [*refused, *notes, *left_out_note(left_out, list(columns))])

    # narrow (shape, params): the weight shape goes first, then the layer (the swept
    # values say it)
    return titled(title, Fitted(build, [c for c in optional if c in columns]))
