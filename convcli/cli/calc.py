"""The bodies of `shape` and `params` without Typer: strings in (a ConvArgs and the
command's own options), an ``Answer`` out (the --json dict and a function that builds
the tables). conv.py's Typer commands and the fast path (fast.py) both call these, so
both print the same bytes and raise the same errors. Neither typer nor rich is
imported here; rich only inside ``tables``, which runs only for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from convcli.calculator.parse import parse_shape
from convcli.cli.conv_args import ConvArgs
from convcli.views import conv_data
from convcli.views.jsonout import write_json


@dataclass(frozen=True)
class Answer:
    """What a command prints: ``data`` for --json, ``tables()`` for people."""

    data: dict
    tables: Callable[[], Sequence]

    def emit(self, json_mode: bool) -> None:
        """`--json`: the dict; otherwise the tables (rich is imported only here)."""
        if json_mode:
            write_json(self.data)
            return
        from convcli.views.console import Output

        Output(False).emit(self.data, *self.tables())


def shape(conv: ConvArgs, input: str, dtype: str = "float32", explain: bool = False,
          padding_from: str | None = None) -> Answer:
    from convcli.calculator.costs import analyse

    input_shape = parse_shape(input)
    if padding_from is not None:
        return _shape_ported(input_shape, padding_from, conv, explain, dtype)
    spec, reading = conv.read(input_shape)
    counts = analyse(spec, input_shape, dtype)
    explanation = spec.explain(input_shape)
    data = conv_data.counts_dict(counts, reading)
    data["explain"] = conv_data.explain_dicts(explanation)

    def tables() -> list:
        from convcli.views import conv as view
        parts = [view.counts_table(counts), view.notes_text(counts, reading)]
        if explain:
            parts.append(view.explain_table(spec, explanation))
        return parts

    return Answer(data, tables)


def _shape_ported(input_shape, framework: str, conv: ConvArgs, explain: bool,
                  dtype: str) -> Answer:
    """`shape --padding-from`: the foreign padding word -> explicit pairs, then the
    counts of the conv torch runs after F.pad (input bytes are the user's input)."""
    from convcli.calculator.porting import normalise_word, port_padding, ported_counts

    framework, word = normalise_word(framework, conv.padding or "0")
    spec, reading = conv.read(input_shape, padding="0")
    ported = port_padding(spec, input_shape, framework, word)
    counts = ported_counts(ported, dtype)
    data = conv_data.counts_dict(counts, reading)
    data["explain"] = conv_data.explain_dicts(ported.explanation)
    data.update(ported.as_dict())

    def tables() -> list:
        from convcli.views import conv as view
        parts = [view.ported_counts_table(counts, ported), view.notes_text(counts, reading),
                 view.ported_table(ported)]
        if explain:
            parts.append(view.explain_table(ported.spec, ported.explanation))
        return parts

    return Answer(data, tables)


def params(conv: ConvArgs, input: str | None = None, compare_groups: bool = False,
           dtype: str = "float32", conventions: bool = False) -> Answer:
    from convcli.calculator.costs import analyse

    input_shape = None if input is None else parse_shape(input, "--input")
    spec, reading = conv.read(input_shape)
    counts = analyse(spec, input_shape, dtype)
    data = conv_data.counts_dict(counts, reading)
    rows = report = None
    if compare_groups:
        from convcli.calculator.groups import compare_groups as compare
        rows = compare(spec, input_shape)
        data["compare_groups"] = conv_data.groups_rows_dict(rows)
        data["compare_groups_omitted"] = conv_data.compare_groups_omitted(rows)
    if conventions:
        from convcli.calculator.peers import peer_counts
        report = peer_counts(spec, input_shape)
        data["conventions"] = report.as_dict()

    def tables() -> list:
        from convcli.views import conv as view
        parts = [view.counts_table(counts), view.notes_text(counts, reading)]
        if spec.groups > 1:
            parts.append(view.layout_table(spec))
        if rows is not None:
            parts.append(view.groups_table(rows))
        if report is not None:
            parts.append(view.peers_table(report))
        return parts

    return Answer(data, tables)
