"""Layer text is bounded (size, nesting, arithmetic and its results, for every layer
type) with a clear message, and parsed in linear time; values torch cannot hold
(Upsample(scale_factor=1e300)) are refused. Speed itself is measured by
benchmarks/net_parse.py, not here."""

import pytest

from conftest import sample
from convcli.errors import ConvError, EnvironmentProblem
from convcli.network.reading import read_layers, read_layers_file
from convcli.network.rules import KNOWN_LAYERS
from convcli.network.text import MAX_OPERATORS, MAX_TEXT, parse_layers
from convcli.network.walk import analyse_net


def test_long_expression_is_refused_not_a_recursion_error():
    text = "Conv2d(3, " + "+".join(["1"] * 20_000) + ", 3)"
    with pytest.raises(ConvError, match="19,999 operators"):
        parse_layers(text)
    ok = "Conv2d(3, " + "+".join(["1"] * MAX_OPERATORS) + ", 3)"
    assert parse_layers(ok)[0].args[1] == MAX_OPERATORS


def test_text_size_and_nesting_are_bounded():
    with pytest.raises(ConvError, match="more layer text than convcli reads"):
        parse_layers("ReLU(), " * (MAX_TEXT // 8 + 1))
    with pytest.raises(ConvError, match="nested more than 100 deep"):
        parse_layers("Linear(" + "(" * 150 + "3" + ")" * 150 + ", 2)")
    with pytest.raises(ConvError, match="Exceeds the limit|digits"):
        parse_layers("Linear(" + "9" * 5000 + ", 2)")


def test_three_thousand_layers_in_one_sequential_and_a_long_layer():
    text = "nn.Sequential(\n" + "Conv2d(3, 3, 3, padding=1),\n" * 3000 + ")"
    calls = parse_layers(text)
    assert len(calls) == 3000 and calls[-1].line == 3001
    assert analyse_net((1, 3, 8, 8), calls).output_shape == (1, 3, 8, 8)
    long = "Conv2d(3, 16, 3" + " " * 100_000 + ")"
    assert parse_layers(long)[0].text == "Conv2d(3, 16, 3 )"


def test_comments_strings_and_lines():
    calls = parse_layers("ReLU(),  # a comment, with (brackets\n"
                         "Conv2d(3, 8, 3, padding_mode='reflect'),  # 'quote\n"
                         "\n  Upsample(scale_factor=2, mode=\"nearest\")")
    assert [(c.name, c.line) for c in calls] == [("ReLU", 1), ("Conv2d", 2), ("Upsample", 4)]
    with pytest.raises(ConvError, match="line 2: a string is not closed"):
        parse_layers("ReLU()\nConv2d(3, 8, 3, padding='same)")
    with pytest.raises(ConvError, match="line 1: '\\)' closes a bracket"):
        parse_layers("ReLU())")


@pytest.mark.parametrize("scale", ["1e300", "1e200, 1e200", "float('nan')", "1e308 * 10"])
def test_upsample_scale_torch_cannot_hold_is_refused(scale):
    with pytest.raises(ConvError):
        analyse_net((1, 3, 8, 8), parse_layers(f"Upsample(scale_factor=({scale}))"))


def test_upsample_beyond_int64_is_refused_with_the_rule():
    with pytest.raises(ConvError, match="2\\*\\*63 - 1"):
        analyse_net((1, 3, 8, 8), parse_layers("Upsample(scale_factor=1e300)"))


def test_group_norm_with_huge_channels_answers_fast():
    with pytest.raises(ConvError, match="valid num_groups: 1, 2, 4, 5, 8, 10, ..."):
        parse_layers_built("GroupNorm(3, 10 ** 12)")


def parse_layers_built(text):
    from convcli.network.rules import build_layer
    return [build_layer(c) for c in parse_layers(text)]


def test_files_that_never_end_are_refused(tmp_path):
    with pytest.raises(EnvironmentProblem, match="not a regular file"):
        read_layers_file("/dev/zero")
    big = tmp_path / "big.txt"
    big.write_text("ReLU()\n" * (MAX_TEXT // 7 + 1))
    with pytest.raises(ConvError, match="more than 1,048,576 characters"):
        read_layers(None, str(big))
    with pytest.raises(ConvError, match="either as LAYERS or with --file"):
        read_layers(None, None)


HUGE = "*".join(["(4294967296 ** 64)"] * 8)      # 2**16384: over 4,300 digits


# rule 3 (tests/conftest.py): a sample of this grid in the fast loop
@pytest.mark.parametrize("kind", sample(sorted(KNOWN_LAYERS), keep=15))
def test_arithmetic_past_the_digit_limit_is_one_line_and_exit_2(kind, cli):
    r = cli("net", "1x3x8x8", f"{kind}({HUGE})")
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: LAYERS line 1")
    assert "gives a number of about 2**2048; layer arguments stop at 2**256" in r.stderr


def test_arithmetic_results_are_bounded_operands_within():
    with pytest.raises(ConvError, match="about 2\\*\\*256; layer arguments stop"):
        parse_layers("Linear(2 ** 64 * 2 ** 64 * 2 ** 64 * 2 ** 64 * 2, 2)")
    assert parse_layers("Linear(2 ** 64 * 2 ** 64 * 2 ** 64 * 2 ** 63 // 2 ** 64 // 2 ** 64"
                        " // 2 ** 64, 2)")[0].args[0] == 2 ** 63
    with pytest.raises(ConvError, match="torch's limit|64-bit"):
        analyse_net((1, 3, 8, 8), parse_layers(
            "Upsample(scale_factor=2 ** 64 * 2 ** 64 * 2 ** 64 * 2 ** 63)"))
