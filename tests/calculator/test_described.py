"""convcli.calculator.described: a pasted constructor merged with the options typed
beside it (agreeing or named as disagreeing), -o/-k read from a weight's shape (torch's
own weight), and the one line for missing options."""

import pytest

from convcli.calculator.described import (code_values, example_values, merge_code,
                                          missing_message, weight_values)
from convcli.calculator.interpret import read_spec
from convcli.calculator.spec import ConvSpec
from convcli.cli.conv_args import FLAGS
from convcli.errors import ConvError

SPECS = [
    ConvSpec(2, 16, 32, 3, stride=2, padding=1),
    ConvSpec(1, 4, 8, 3, padding="same", dilation=2),
    ConvSpec(1, 4, 8, 5, padding=2, stride=3),
    ConvSpec(2, 4, 8, (3, 1), stride=2, padding=(1, 0), transposed=True,
             output_padding=1, bias=False, groups=2),
    ConvSpec(3, 6, 6, 3, groups=3, padding_mode="circular", padding=1),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.torch_repr())
def test_code_values_read_back_to_the_same_spec(spec):
    values = code_values(spec)
    assert all(isinstance(v, (str, bool)) for v in values.values())
    values["dims"] = int(values["dims"])
    assert read_spec(**values)[0] == spec


def test_one_dim_tuples_keep_their_length():
    values = code_values(ConvSpec(1, 4, 8, 3))
    assert values["kernel_size"] == "3," and values["dims"] == "1"


CONV = ConvSpec(2, 16, 32, 3, stride=2, padding=1)
TEXT = "Conv2d(16, 32, 3, stride=2, padding=1)"


@pytest.mark.parametrize("given", [
    {}, {"kernel_size": "3"}, {"kernel_size": "3x3"}, {"stride": "2,2"},
    {"padding": "1"}, {"out_channels": "32", "in_channels": "16"}, {"dims": "2"},
    {"padding_mode": "ZEROS"}])
def test_merge_accepts_options_that_agree(given):
    assert merge_code(CONV, TEXT, given, FLAGS) == code_values(CONV)


def test_merge_valid_agrees_with_zero_padding_and_same_with_same():
    zero = ConvSpec(2, 3, 3, 3)
    assert merge_code(zero, "Conv2d(3, 3, 3)", {"padding": "valid"}, FLAGS)["padding"] == "0,0"
    same = ConvSpec(2, 3, 3, 3, padding="same")
    assert merge_code(same, "x", {"padding": "same"}, FLAGS)["padding"] == "same"
    with pytest.raises(ConvError):
        merge_code(CONV, TEXT, {"padding": "valid"}, FLAGS)


@pytest.mark.parametrize("given, message", [
    ({"stride": "1"}, f"-s/--stride 1 disagrees with {TEXT}, which has stride=2; give the "
                      "conv once: drop -s/--stride, or change the constructor"),
    ({"kernel_size": "3x5"}, "-k/--kernel-size 3x5 disagrees with"),
    ({"in_channels": "8"}, "which has in_channels=16"),
    ({"bias": False}, f"--no-bias disagrees with {TEXT}, which has bias=True"),
    ({"transposed": True}, f"-t/--transposed disagrees with {TEXT}, which has "
                           "transposed=False"),
    ({"dims": "1"}, "which has 2 spatial dims"),
    ({"padding": "0,1"}, "which has padding=(1, 1)")])
def test_merge_names_the_option_that_disagrees(given, message):
    with pytest.raises(ConvError) as e:
        merge_code(CONV, TEXT, given, FLAGS)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_merge_bad_option_text_is_the_parsers_error():
    with pytest.raises(ConvError, match="--stride"):
        merge_code(CONV, TEXT, {"stride": "two"}, FLAGS)


@pytest.mark.parametrize("cls, args, kw, transposed, groups", [
    ("Conv2d", (4, 8, (3, 5)), {"groups": 2}, False, "2"),
    ("Conv1d", (2, 5, 7), {}, False, None),
    ("ConvTranspose2d", (4, 6, 3), {"groups": 2}, True, "2"),
    ("ConvTranspose3d", (3, 2, (1, 2, 3)), {}, True, "1")])
def test_weight_values_read_torchs_weight(cls, args, kw, transposed, groups):
    torch = pytest.importorskip("torch")
    layer = getattr(torch.nn, cls)(*args, **kw)
    found = weight_values(tuple(layer.weight.shape), transposed, groups)
    assert int(found["out_channels"]) == layer.out_channels
    k = tuple(int(v) for v in found["kernel_size"].rstrip(",").split(","))
    assert k == layer.kernel_size


@pytest.mark.parametrize("shape", [(8,), (8, 4), (1, 2, 3, 4, 5, 6)])
def test_weight_values_of_a_non_conv_weight_is_empty(shape):
    assert weight_values(shape, False, "1") == {}


def test_weight_values_bad_groups_is_an_error():
    with pytest.raises(ConvError, match="--groups"):
        weight_values((8, 4, 3, 3), True, "many")


@pytest.mark.parametrize("groups, c_in, c_out", [
    (None, 64, 128), ("1", 64, 128), ("4", 64, 128), ("3", 12, 24), ("96", 384, 768),
    ("0", 64, 128), ("-5", 64, 128), ("lots", 64, 128)])
def test_example_values_fit_the_groups(groups, c_in, c_out):
    given = {} if groups is None else {"groups": groups}
    ex = example_values(given)
    assert ex == {"in_channels": str(c_in), "out_channels": str(c_out), "kernel_size": "3"}
    g = int(groups) if groups and groups.lstrip("-").isdigit() and int(groups) > 0 else 1
    ConvSpec(2, c_in, c_out, 3, groups=g)      # the example is a conv torch builds


def test_missing_message_lists_all_and_gives_a_command():
    msg = missing_message("params", ["in_channels", "out_channels", "kernel_size"],
                          ["--groups", "4"], {"groups": "4"}, FLAGS,
                          {"in_channels": "--input"})
    assert msg == ("params needs -i/--in-channels (or --input), -o/--out-channels and "
                   "-k/--kernel-size, e.g. convcli params -i 64 -o 128 -k 3 --groups 4")


def test_missing_message_one_option_after_the_positionals():
    msg = missing_message("shape", ["kernel_size"], ["-o", "24", "-g", "3"], {"groups": "3"},
                          FLAGS, {}, ["1x12x8x8"])
    assert msg == "shape needs -k/--kernel-size, e.g. convcli shape 1x12x8x8 -k 3 -o 24 -g 3"
