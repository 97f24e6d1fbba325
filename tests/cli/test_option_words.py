"""Option words read once, the same way on every command (cli/option_values.py): the
dtype and device words, counts and sizes in ASCII digits only, choices checked whether
or not the option that uses them is given; the old spellings with their note."""

from __future__ import annotations

import pytest

from convcli.cli.option_values import read

ARABIC_5 = "\u0665"         # '٥', a digit to str.isdigit and int(), not to convcli


@pytest.mark.parametrize("command, option, value", [
    ("run", "--max-memory", f"{ARABIC_5}GiB"),
    ("run", "--max-memory", f"{ARABIC_5}0%"),
    ("verify", "--max-memory", f"{ARABIC_5}GiB"),
    ("verify", "--atol", ARABIC_5),
    ("verify", "--rtol", f"1e-{ARABIC_5}"),
    ("verify", "--cases", ARABIC_5),
    ("summary", "--depth", ARABIC_5),
    ("summary", "--max-memory", f"{ARABIC_5}GiB"),
    ("apply", "--max-memory", f"{ARABIC_5}GiB"),
    ("run", "--repeat", ARABIC_5),
])
def test_non_ascii_digits_are_refused_like_the_conv_options(cli, command, option, value):
    args = {"run": ["run", "1x1x4x4", "-o", "1", "-k", "1"],
            "verify": ["verify"] if option == "--cases" else
                      ["verify", "1x1x4x4", "-o", "1", "-k", "1"],
            "summary": ["summary", "examples/models/cifar_cnn.py:CifarCNN", "--input",
                        "1x3x32x32"],
            "apply": ["apply", "1x1x4x4"]}[command]
    r = cli(*args, option, value)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert r.stderr.startswith(f"Error: {option}") and r.stderr.count("\n") == 1, r.stderr


def test_ascii_numbers_still_read():
    assert read("verify", {"atol": "1e-3", "rtol": ".5", "cases": "7"}) == {
        "atol": 1e-3, "rtol": 0.5, "cases": 7}
    assert read("summary", {"depth": "3", "max_memory": "50%"}) == {
        "depth": 3, "max_memory": 0.5}


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "1e400", "", "1,2"])
def test_a_tolerance_is_a_finite_number_at_least_zero(cli, text):
    r = cli("verify", "1x1x4x4", "-o", "1", "-k", "1", f"--atol={text}")
    assert r.exit_code == 2 and "--atol" in r.stderr


def test_the_dtype_words_are_the_same_on_every_command():
    for command in ("shape", "params", "net", "summary", "verify", "apply"):
        assert read(command, {"dtype": "half"})["dtype"] == "float16", command
        assert read(command, {"dtype": "torch.bfloat16"})["dtype"] == "bfloat16", command
    assert read("run", {"dtype": "half, bf16"})["dtype"] == ("float16", "bfloat16")


@pytest.mark.parametrize("word, amp", [("half", "fp16"), ("float16", "fp16"),
                                       ("fp16", "fp16"), ("bfloat16", "bf16"),
                                       ("BF16", "bf16"), ("torch.bfloat16", "bf16")])
def test_summary_amp_takes_the_dtype_words(word, amp):
    assert read("summary", {"amp": word})["amp"] == amp


def test_summary_amp_refuses_a_full_precision_dtype(cli):
    r = cli("summary", "examples/models/cifar_cnn.py:CifarCNN", "--input", "1x3x32x32",
            "--train", "--amp", "float32")
    assert r.exit_code == 2 and "--amp 'float32': use bf16 or fp16" in r.stderr


@pytest.mark.parametrize("word, device", [("cuda:0", "cuda:0"), ("CUDA", "cuda"),
                                          (" auto ", "auto"), ("cpu", "cpu")])
def test_the_device_words_are_the_same_on_every_command(word, device):
    for command in ("run", "verify", "summary"):
        assert read(command, {"device": word})["device"] == device


def test_every_device_defaults_to_auto():
    from convcli.cli.command_options import COMMANDS, default_of
    assert {default_of(c, "device") for c in COMMANDS if "device" in COMMANDS[c].uses} == {
        "auto"}


def test_summary_measure_on_cuda_0_is_the_environment_not_usage(cli):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the measure would run")
    r = cli("summary", "examples/models/cifar_cnn.py:CifarCNN", "--input", "1x3x32x32",
            "--measure", "--device", "cuda:0")
    assert r.exit_code == 3 and "CUDA" in r.stderr or "cuda" in r.stderr, r.stderr


def test_net_optimizer_is_checked_without_train(cli):
    r = cli("net", "1x3x8x8", "Conv2d(3, 4, 3)", "--optimizer", "adamm")
    assert r.exit_code == 2
    assert r.stderr == ("Error: --optimizer 'adamm': use one of sgd, sgd-momentum, adam, "
                        "adamw, none\n")


@pytest.mark.parametrize("extra", [["-i", "3"], ["-o", "8"], ["--in-channels", "3",
                                                               "--out-channels", "8"]])
def test_solve_refuses_channels_it_would_ignore(cli, extra):
    r = cli("solve", "--input-size", "32", "--output-size", "16", *extra)
    assert r.exit_code == 2 and "only fill in the printed layers" in r.stderr


def test_solve_channels_still_fill_in_the_decoder(cli):
    r = cli("solve", "--transposed", "--input-size", "32", "-k", "3", "-s", "2", "-p", "1",
            "-i", "8", "-o", "16", "--json")
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("old, new", [
    (["solve", "--input", "32", "--output", "16"],
     ["solve", "--input-size", "32", "--output-size", "16"]),
    (["params", "-o", "8", "-k", "3", "--input", "1x4x8x8"],
     ["params", "1x4x8x8", "-o", "8", "-k", "3"]),
    (["verify", "-o", "2", "-k", "1", "--input", "1x2x4x4"],
     ["verify", "1x2x4x4", "-o", "2", "-k", "1"]),
    (["show", "1x1x5x5", "-o", "1", "-k", "3", "--dim", "0"],
     ["show", "1x1x5x5", "-o", "1", "-k", "3", "--along", "0"]),
    (["apply", "1x1x5x5", "--kernel", "sobel-x"],
     ["apply", "1x1x5x5", "--weight", "sobel-x"]),
])
def test_old_spellings_work_for_one_version_with_a_note(cli, old, new):
    a, b = cli(*old, "--json"), cli(*new, "--json")
    assert a.exit_code == b.exit_code == 0, a.stderr
    assert _steady(a.json()) == _steady(b.json())
    assert b.stderr == ""
    olds = [w for w in old if w.startswith("--") and w not in new]
    assert a.stderr.splitlines() == [
        f"Note: {old[0]} {w} is now {n}; the old spelling goes in the next version"
        for w, n in zip(olds, [_NEW[w, old[0]] for w in olds])]


_NEW = {("--input", "solve"): "--input-size", ("--output", "solve"): "--output-size",
        ("--input", "params"): "INPUT (positional)", ("--input", "verify"): "INPUT (positional)",
        ("--dim", "show"): "--along", ("--kernel", "apply"): "--weight"}


def _steady(data):
    """The JSON without what changes from run to run (free memory, seconds)."""
    if isinstance(data, dict):
        return {k: _steady(v) for k, v in data.items()
                if k not in ("limit", "limit_source", "seconds", "memory")}
    if isinstance(data, list):
        return [_steady(v) for v in data]
    return data


def test_an_old_and_a_new_spelling_together_is_refused(cli):
    r = cli("solve", "--input", "32", "--input-size", "32", "--output-size", "16")
    assert r.exit_code == 2 and "--input is the old spelling of --input-size" in r.stderr


def test_net_png_without_field_draws_the_last_row_with_a_field(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "f.svg"
    r = cli("net", "1x1x8x8", "Conv2d(1, 1, 3), ReLU(), Flatten()", "--svg", str(out),
            "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["field"]["row"] == "layer 2 ReLU()" and out.stat().st_size > 0


def test_net_at_is_the_position_of_field(cli):
    a = cli("net", "1x1x8x8", "Conv2d(1, 1, 3), Conv2d(1, 1, 3)", "--field", "2",
            "--at", "1,2", "--json")
    b = cli("net", "1x1x8x8", "Conv2d(1, 1, 3), Conv2d(1, 1, 3)", "--field", "2@1,2",
            "--json")
    assert a.exit_code == 0 and a.stdout == b.stdout, a.stderr


def test_apply_draws_an_svg_as_show_does(cli, tmp_path):
    pytest.importorskip("matplotlib")
    svg, png = tmp_path / "a.svg", tmp_path / "a.png"
    r = cli("apply", "1x1x6x6", "--pattern", "square", "--weight", "box", "--svg", str(svg),
            "--png", str(png), "--json")
    assert r.exit_code == 0, r.stderr
    assert "<svg" in svg.read_text() and png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(r.json()["files"]) == sorted([str(svg), str(png)])
