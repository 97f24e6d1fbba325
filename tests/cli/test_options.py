"""convcli.cli.options: the option table turned into Typer parameters. A command
declared with @conv_options/@table_options (as convcli's own are) receives values the
table's parsers read once: a ConvArgs whose ConvSpec gives torch's output shape, parsed
words, old spellings folded in with their note; a signature that strays from the table
is refused when the module loads."""

from typing import List, Optional

import pytest
import typer
from typer.testing import CliRunner

from convcli.cli.command_errors import errors_to_exit_code

from convcli.cli.options import CONV_PANEL, ConvArgs, conv_options, table_options


def _app(command, body):
    app = typer.Typer()
    app.command(name=command)(body)

    @app.command()
    def other():
        """A second command, so that the first is named on the command line."""

    return app


def invoke(app, *args):
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def params_app():
    seen = {}

    @errors_to_exit_code
    @conv_options("params")
    @table_options("params")
    def params(conv: ConvArgs, input: Optional[str], compare_groups: bool, dtype: str,
               json: bool, conventions: bool, sweep: Optional[List[str]]):
        seen.update(conv=conv, input=input, compare_groups=compare_groups, dtype=dtype,
                    json=json, conventions=conventions, sweep=sweep)

    return _app("params", params), seen


def test_the_body_gets_conv_args_whose_spec_is_torchs_layer(params_app):
    torch = pytest.importorskip("torch")
    app, seen = params_app
    code, _, err = invoke(app, "params", "1x6x9x9", "-o", "4", "-k", "3", "-s", "2",
                          "-g", "2", "--json", "--compare-groups")
    assert code == 0, err
    conv = seen["conv"]
    assert isinstance(conv, ConvArgs) and conv.command == "params"
    assert (conv.out_channels, conv.kernel_size, conv.stride, conv.groups) == \
        ("4", "3", "2", "2")
    spec = conv.spec((1, 6, 9, 9))
    module = torch.nn.Conv2d(6, 4, 3, stride=2, groups=2)
    assert spec.output_shape((1, 6, 9, 9)) == tuple(module(torch.zeros(1, 6, 9, 9)).shape)
    assert spec.num_params == sum(p.numel() for p in module.parameters())
    assert seen["input"] == "1x6x9x9" and seen["json"] is True
    assert seen["compare_groups"] is True and seen["conventions"] is False
    assert seen["dtype"] == "float32" and seen["sweep"] in (None, [])


def test_words_are_read_by_the_table(params_app):
    app, seen = params_app
    code, _, err = invoke(app, "params", "-i", "4", "-o", "4", "-k", "1", "--dtype", "half")
    assert code == 0, err
    assert seen["dtype"] == "float16"
    code, _, err = invoke(app, "params", "-i", "4", "-o", "4", "-k", "1", "--dtype", "int3")
    assert code == 2 and err.startswith("Error: --dtype") and err.count("\n") == 1


def test_an_old_spelling_is_folded_in_with_a_note(params_app):
    app, seen = params_app
    code, _, err = invoke(app, "params", "--input", "1x4x8x8", "-o", "4", "-k", "3")
    assert code == 0 and seen["input"] == "1x4x8x8"
    assert "--input" in err and err.count("\n") == 1


def test_constructor_text_becomes_the_conv(params_app):
    app, seen = params_app
    code, _, err = invoke(app, "params", "1x16x8x8", "Conv2d(16, 32, 3, stride=2)")
    assert code == 0, err
    conv = seen["conv"]
    assert conv.code is None and conv.dims_by == "Conv2d"       # resolved into options
    assert (conv.in_channels, conv.out_channels, conv.stride) == ("16", "32", "2,2")


def test_help_lists_the_tables_options_in_their_panels(params_app):
    app, _ = params_app
    code, out, _ = invoke(app, "params", "--help")
    assert code == 0
    for flag in ("--out-channels", "--kernel-size", "--compare-groups", "--dtype", "--json",
                 "--conventions", "--sweep"):
        assert flag in out, flag
    assert CONV_PANEL in out
    assert "--input" not in out.split("Usage")[1].split("INPUT")[0]   # old: hidden


def test_a_signature_that_strays_from_the_table_is_refused():
    with pytest.raises(TypeError, match=r"shape: parameters .* are not the table's"):
        @table_options("shape")
        def shape(input: str, dtype: str, json: bool):
            pass

    with pytest.raises(TypeError, match="shape: parameter extra is neither in the table"):
        @table_options("shape")
        def shape2(input: str, dtype: str, explain: bool, json: bool,
                   padding_from: Optional[str], sweep: Optional[List[str]], extra: int):
            pass


def test_every_command_takes_json_and_dtype_from_the_table():
    """No command declares an option by hand (diff did): --json and --dtype are the
    table's on each command that has them."""
    import typer.main

    from convcli.cli import app as convcli_app
    built = typer.main.get_command(convcli_app).commands
    for name in ("shape", "net", "summary", "diff"):
        params = {p.name: p for p in built[name].params}
        assert params["json"].opts == ["--json"], name
        assert params["dtype"].opts == ["--dtype"] and params["dtype"].help, name
