"""convcli.calculator.sweep_grid: --sweep texts read against the caller's names, every
combination answered in order, an impossible one kept as its error row."""

import pytest

from convcli.calculator.spec import ConvSpec
from convcli.calculator.sweep_grid import (MAX_COMBINATIONS, Sweep, SweepRow, label,
                                           parse_sweeps, sweep)
from convcli.errors import ConvError

NAMES = {"k": "kernel_size", "kernel-size": "kernel_size", "kernel_size": "kernel_size",
         "s": "stride", "stride": "stride", "p": "padding", "padding": "padding"}


def test_parse_reads_every_spelling_of_a_name():
    for text in ("k=3,5", "kernel-size=3,5", "kernel_size=3,5", "--k=3,5", " k = 3 , 5 "):
        assert parse_sweeps([text], NAMES) == [Sweep("kernel_size", text.split("=")[0]
                                                      .strip().lstrip("-"), ("3", "5"))]


def test_parse_keeps_per_dim_values_and_order():
    sweeps = parse_sweeps(["k=3x3,5x1", "s=1,2,3"], NAMES)
    assert [s.field for s in sweeps] == ["kernel_size", "stride"]
    assert sweeps[0].values == ("3x3", "5x1") and sweeps[1].values == ("1", "2", "3")


@pytest.mark.parametrize("texts, given, words", [
    (["k"], (), "write NAME=V1,V2,..."),
    (["=3,5"], (), "write NAME=V1,V2,..."),
    (["groups=1,2"], (), "'groups' is not a conv option; sweep one of k, p, s"),
    (["k="], (), "give values separated by commas, e.g. k=3,5,7"),
    (["k=3,,5"], (), "give values separated by commas"),
    (["k=3", "kernel-size=5"], (), "kernel_size is swept twice"),
    (["k=3,5"], ("kernel_size",), "--kernel-size is given too; sweep it or set it")])
def test_parse_errors_are_one_line_naming_the_text(texts, given, words):
    with pytest.raises(ConvError) as e:
        parse_sweeps(texts, NAMES, given)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert repr(texts[-1]) in str(e.value)


def test_parse_bounds_the_combinations():
    ten = ",".join(str(i) for i in range(1, 11))
    assert len(parse_sweeps([f"k={ten}", f"s={ten}", f"p={ten}"], NAMES)) == 3   # 1000
    with pytest.raises(ConvError, match=f"1,100 combinations; at most {MAX_COMBINATIONS:,}"):
        parse_sweeps([f"k={ten}", f"s={ten}", f"p={ten},11"], NAMES)
    with pytest.raises(ConvError) as e:
        parse_sweeps(["k=3,5,7"], NAMES, limit=2, why=" (each one is timed)")
    assert str(e.value) == "--sweep: 3 combinations; at most 2 in one command (each one is timed)"


def test_label_names_a_combination_as_typed():
    sweeps = parse_sweeps(["kernel-size=3,5", "s=1,2"], NAMES)
    assert label(sweeps, {"kernel_size": "5", "stride": "2"}) == "kernel-size=5, s=2"
    assert label([], {}) == ""


def _out_len(changes):
    spec = ConvSpec(1, 1, 1, int(changes["kernel_size"]), stride=int(changes["stride"]))
    return spec.output_shape((1, 1, 8))[-1]


def test_sweep_answers_every_combination_first_slowest_and_keeps_errors():
    torch = pytest.importorskip("torch")
    rows = sweep(parse_sweeps(["k=3,9", "s=1,2"], NAMES), _out_len)
    assert [r.values for r in rows] == [
        {"kernel_size": "3", "stride": "1"}, {"kernel_size": "3", "stride": "2"},
        {"kernel_size": "9", "stride": "1"}, {"kernel_size": "9", "stride": "2"}]
    for row in rows:
        k, s = int(row.values["kernel_size"]), int(row.values["stride"])
        conv = torch.nn.Conv1d(1, 1, k, stride=s)
        try:
            expected = conv(torch.zeros(1, 1, 8)).shape[-1]
        except RuntimeError:
            assert row.answer is None and "kernel 9" in row.error
            continue
        assert row == SweepRow(row.values, expected, None)


def test_sweep_gives_each_answer_its_own_dict():
    seen = []
    sweep([Sweep("stride", "s", ("1", "2"))], lambda c: seen.append(c) or c.pop("stride"))
    assert seen == [{}, {}]     # the answer mutated its copy, not the row's values


def test_sweep_all_failed_names_the_first():
    with pytest.raises(ConvError) as e:
        sweep(parse_sweeps(["k=9,10"], NAMES), lambda c: _out_len({**c, "stride": "1"}))
    assert str(e.value).startswith("--sweep: no combination is a conv torch runs; "
                                   "k=9: spatial dim 0")


def test_sweep_other_exceptions_are_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        sweep([Sweep("stride", "s", ("0",))], lambda c: 1 // int(c["stride"]))


def test_sweep_of_nothing_is_one_combination():
    assert sweep([], lambda c: len(c)) == [SweepRow({}, 0, None)]
