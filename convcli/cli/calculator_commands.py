"""The bodies of `shape`, `params` and `net` without Typer: a ConvArgs (strings) and
the command's own options as the option table read them (option_values.read: --dtype
is canonical, --optimizer checked), an ``Answer`` out (the --json dict and a function that
builds the tables). The Typer commands (conv_commands.py, net_summary_commands.py) and the fast path
(fast_path.py) both call these, so both print the same bytes and raise the same errors.
Neither typer nor rich is imported here; rich only inside ``tables``, which runs only
for people (and for --field's picture, which Typer answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from convcli.calculator.parse import parse_shape
from convcli.errors import ConvError
from convcli.views.jsonout import write_json

if TYPE_CHECKING:   # net reads no conv options: conv_args and interpret stay unloaded
    from convcli.cli.conv_args import ConvArgs


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
          padding_from: str | None = None, sweep: list[str] | None = None) -> Answer:
    from convcli.calculator.costs import analyse
    from convcli.calculator.explain import explain as explain_dims
    from convcli.views import conv_data

    input_shape = parse_shape(input)
    if sweep:
        return _swept(conv, sweep, input_shape, dtype)
    if padding_from is not None:
        return _shape_ported(input_shape, padding_from, conv, explain, dtype)
    spec, reading = conv.read(input_shape)
    counts = analyse(spec, input_shape, dtype)
    explanation = explain_dims(spec, input_shape)
    data = conv_data.counts_dict(counts, reading)
    data["explain"] = conv_data.explain_dicts(explanation)

    def tables() -> list:
        from convcli.views import conv_view as view
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
    from convcli.views import conv_data

    framework, word = normalise_word(framework, conv.padding or "0")
    spec, reading = conv.read(input_shape, padding="0")
    ported = port_padding(spec, input_shape, framework, word)
    counts = ported_counts(ported, dtype)
    data = conv_data.counts_dict(counts, reading)
    data["explain"] = conv_data.explain_dicts(ported.explanation)
    data.update(ported.as_dict())

    def tables() -> list:
        from convcli.views import conv_view as view
        parts = [view.ported_counts_table(counts, ported), view.notes_text(counts, reading),
                 view.ported_table(ported)]
        if explain:
            parts.append(view.explain_table(ported.spec, ported.explanation))
        return parts

    return Answer(data, tables)


def params(conv: ConvArgs, input: str | None = None, compare_groups: bool = False,
           dtype: str = "float32", conventions: bool = False,
           sweep: list[str] | None = None) -> Answer:
    from convcli.calculator.costs import analyse
    from convcli.views import conv_data

    input_shape = None if input is None else parse_shape(input, "--input")
    if sweep:
        if compare_groups or conventions:
            raise ConvError("--sweep gives one row per combination; ask --compare-groups or "
                            "--conventions of one conv, without --sweep")
        return _swept(conv, sweep, input_shape, dtype)
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
        from convcli.calculator.other_tools import peer_counts
        report = peer_counts(spec, input_shape)
        data["conventions"] = report.as_dict()

    def tables() -> list:
        from convcli.views import conv_view as view
        parts = [view.counts_table(counts), view.notes_text(counts, reading)]
        if spec.groups > 1:
            parts.append(view.layout_table(spec))
        if rows is not None:
            parts.append(view.groups_table(rows))
        if report is not None:
            parts.append(view.peers_table(report))
        return parts

    return Answer(data, tables)


def _swept(conv: ConvArgs, texts: list[str], input_shape, dtype: str) -> Answer:
    """--sweep: the counts of every combination, one row each."""
    from convcli.calculator.costs import analyse
    from convcli.calculator.sweep_grid import names, sweep
    from convcli.views import conv_data
    from convcli.views.sweep_view import sweep_dict

    sweeps = conv.sweeps(texts, input_shape)

    def answer(changes: dict):
        spec, reading = conv.read(input_shape, **changes)
        return analyse(spec, input_shape, dtype), reading

    rows = sweep(sweeps, answer)
    data = sweep_dict(sweeps, rows, lambda a: conv_data.counts_dict(*a))

    def tables() -> list:
        from convcli.formatting import count_short, shape_list
        from convcli.views.sweep_view import sweep_table
        columns = ["layer"] + (["output"] if input_shape is not None else []) + [
            "weight", "params"] + (["MACs"] if input_shape is not None else [])

        def cells(a) -> dict:
            c = a[0]
            return {"layer": c.spec.torch_repr(), "weight": shape_list(c.spec.weight_shape),
                    "params": f"{c.spec.num_params:,}",
                    "output": shape_list(c.output_shape) if c.output_shape else "",
                    "MACs": count_short(c.macs) if c.macs is not None else ""}
        return [sweep_table(f"{len(rows)} combinations of {names(sweeps)}", sweeps, rows,
                            columns, cells)]

    return Answer(data, tables)


def net(input: str, layers: str | None = None, file: str | None = None,
        set_: list[str] | None = None, train: bool = False, optimizer: str = "adamw",
        rf: bool = False, field: str | None = None, png: str | None = None,
        svg: str | None = None, dtype: str = "float32") -> Answer:
    """A stack of layers walked shape by shape (network world); --train's bytes and
    --rf's fields import their rules only when asked for."""
    from convcli.calculator.costs import dtype_size
    from convcli.network.reading import parse_names, read_layers
    from convcli.network.rules import build_layer
    from convcli.network.text import parse_layers
    from convcli.network.walk import analyse_net
    from convcli.views.net_data import net_dict

    input_shape = parse_shape(input)
    names = parse_names(set_ or [])
    text, source = read_layers(layers, file)
    try:
        calls = parse_layers(text, source, names)
    except ConvError as e:
        if file and file.endswith(".py"):   # Python code, not a layer list
            raise ConvError(f"{e}; {file} is Python code: `convcli summary {file}:NAME "
                            f"--input {input}` runs its model") from None
        raise
    report = analyse_net(input_shape, calls)
    fields = bool(rf or field or png or svg)
    # the walk built (and checked) each layer; --train and the fields need them again
    built = [build_layer(c) for c in calls] if train or fields else []
    if train:
        from convcli.network.train_rules import net_training
        report, _ = net_training(report, built, dtype_size(dtype), optimizer, dtype)
    if fields:
        from dataclasses import replace

        from convcli.network.field_walk import net_fields
        report, notes = net_fields(report, built)
        report = replace(report, notes=list(report.notes) + notes)
    report = with_picture(report, field, png, svg)

    def tables() -> list:
        from convcli.views.net_view import renderables
        return renderables(report, dtype)

    return Answer(net_dict(report, dtype), tables)


def with_picture(report, field: str | None, png: str | None, svg: str | None):
    """--field: the picture of one output's input region (drawn to --png/--svg too);
    without a row (--png, --svg or --at alone), the last row that has a field."""
    if field is None and png is None and svg is None:
        return report
    from dataclasses import replace

    from convcli.network.field_walk import select
    from convcli.network.receptive_fields import picture
    from convcli.views.field_view import draw
    layer, at, pos = (field or "").partition("@")
    if not layer.strip():
        spatial = [r for r in report.rows if r.rf is not None]
        if not spatial:
            raise ConvError("--png/--svg/--at draw a row's receptive field, and no row has a "
                            "spatial one here")
        field = f"{spatial[-1].index}{at}{pos}"
    assert field is not None      # given, or the last row with a field
    i, position = select(report, field)
    row = report.rows[i]
    label = f"{row.name} ({row.kind})" if row.name else f"layer {row.index} {row.layer}"
    pic = picture(label, row.rf, position, tuple(report.input_shape[2:]))
    for path, kind in ((png, "png"), (svg, "svg")):
        if path is not None:
            draw(pic, path, kind)
    return replace(report, picture=pic)
