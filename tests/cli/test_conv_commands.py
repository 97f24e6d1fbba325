"""`convcli shape` and `convcli params` as a user runs them: argv -> numbers,
exit codes, one-line errors, JSON, start-up imports, help with examples."""

import os
import sys

import pytest

from conftest import ROOT, run_subprocess

from convcli.cli import app


# ---- argv -> the layer convcli understood (one table, as in pypa/build) ---------
@pytest.mark.parametrize("argv, layer, out", [
    (["4x3x64x64", "-o", "16", "-k", "3"], "Conv2d(3, 16, 3)", [4, 16, 62, 62]),
    (["3x64x64", "-o", "16", "-k", "3", "--dims", "2"], "Conv2d(3, 16, 3)", [16, 62, 62]),
    (["4x6x64x64", "-o", "12", "-k", "3", "-g", "2"], "Conv2d(6, 12, 3, groups=2)",
     [4, 12, 62, 62]),
    (["1x1x8x8", "-o", "1", "-k", "3", "-s", "2", "-p", "1"],
     "Conv2d(1, 1, 3, stride=2, padding=1)", [1, 1, 4, 4]),
    (["2x3x8x10", "-o", "4", "-k", "3,5", "-p", "same"], "Conv2d(3, 4, (3, 5), padding='same')",
     [2, 4, 8, 10]),
    (["3x50", "-o", "4", "-k", "5", "--dims", "1", "--padding-mode", "reflect", "-p", "2"],
     "Conv1d(3, 4, 5, padding=2, padding_mode='reflect')", [4, 50]),
    (["1x16x8x8", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "--transposed"],
     "ConvTranspose2d(16, 32, 4, stride=2, padding=1, groups=4)", [1, 32, 16, 16]),
    (["1x4x5x5x5", "-o", "8", "-k", "3", "-d", "2", "--no-bias"],
     "Conv3d(4, 8, 3, bias=False, dilation=2)", [1, 8, 1, 1, 1]),
    (["1x2x7", "-o", "2", "-k", "3", "-s", "2", "-t", "--output-padding", "1", "--dims", "1"],
     "ConvTranspose1d(2, 2, 3, stride=2, output_padding=1)", [1, 2, 16]),
])
def test_shape_argv(cli, argv, layer, out):
    r = cli("shape", *argv, "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["layer"] == layer
    assert data["output_shape"] == out


def test_shape_json_keys_and_numbers(cli):
    r = cli("shape", "1x16x8x8", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "-t",
            "--json")
    d = r.json()
    for key in ("input_shape", "output_shape", "weight_shape", "bias_shape", "params", "macs",
                "flops", "bias_adds", "bytes", "dtype", "conv", "groups_layout", "counting",
                "explain"):
        assert key in d
    assert d["macs"] == 131_072 and d["flops"] == 262_144
    assert d["weight_shape"] == [16, 8, 4, 4] and d["bias_shape"] == [32]
    assert d["params"] == 16 * 8 * 16 + 32
    assert d["bytes"]["output"] == 32 * 16 * 16 * 4
    assert d["groups_layout"][1]["weight_rows"] == [4, 8]


def test_shape_table_shows_what_matters(cli):
    r = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "--explain")
    assert r.exit_code == 0
    for text in ("Conv2d(3, 16, 3)", "[4, 16, 62, 62]", "[16, 3, 3, 3]", "448",
                 "floor((64+0+0-1*(3-1)-1)/1)+1", "MACs", "FLOPs"):
        assert text in r.stdout


def test_shape_explain_shows_same_split(cli):
    r = cli("shape", "1x3x10x10", "-o", "8", "-k", "4", "-p", "same", "--explain")
    assert "'same' pads 1 before and 2 after" in r.stdout


def test_shape_dtype_changes_bytes(cli):
    d32 = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "--json").json()
    d16 = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "--json", "--dtype", "bfloat16").json()
    assert d32["bytes"]["total"] == 2 * d16["bytes"]["total"]


def test_in_channels_must_match_input(cli):
    r = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "-i", "5")
    assert r.exit_code == 2 and r.stdout == ""
    assert "--in-channels 5 fits no reading of INPUT 4x3x64x64" in r.stderr
    assert "(N, C, H, W) it has 3 channels, as (C, D, H, W) 4" in r.stderr
    r = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "-i", "4", "--dims", "2")
    assert r.exit_code == 2
    assert "input has 3 channels" in r.stderr and "in_channels=4" in r.stderr


def test_params_everyday_call(cli):
    d = cli("params", "-i", "64", "-o", "128", "-k", "3", "--groups", "4", "--json").json()
    assert d["weight_shape"] == [128, 16, 3, 3]
    assert d["params"] == 128 * 16 * 9 + 128
    assert d["macs"] is None and d["input_shape"] is None
    assert [g["in_channels"] for g in d["groups_layout"]] == [[0, 16], [16, 32], [32, 48],
                                                              [48, 64]]


def test_params_layout_table_answers_16_8_1_1(cli):
    r = cli("params", "-i", "16", "-o", "16", "-k", "1", "-g", "2")
    assert "weight is ONE tensor [16, 8, 1, 1]" in r.stdout
    assert "weight[8:16]" in r.stdout and "[8, 8, 1, 1]" in r.stdout


def test_params_compare_groups(cli):
    d = cli("params", "-i", "64", "-o", "128", "-k", "3", "--compare-groups", "--json").json()
    rows = {r["label"]: r for r in d["compare_groups"]}
    assert rows["groups=1"]["params"] == 73_856
    assert rows["groups=2"]["params"] == 36_992
    assert rows["depthwise 64->64"]["params"] == 640
    assert rows["groups=2"]["saving"] == pytest.approx(1 - 36_992 / 73_856, abs=1e-6)


def test_params_with_input_adds_macs(cli):
    d = cli("params", "-i", "64", "-o", "128", "-k", "3", "-p", "1", "1x64x8x8",
            "--json").json()
    assert d["macs"] == 64 * 128 * 64 * 9 and d["flops"] == 2 * d["macs"]


def test_params_needs_in_channels(cli):
    r = cli("params", "-o", "8", "-k", "3")
    assert r.exit_code == 2 and r.stderr == (
        "Error: params needs -i/--in-channels (or --input), e.g. convcli params -i 64 "
        "--out-channels 8 --kernel-size 3\n")


# ---- a careless user ------------------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["shape", "4x3x64x64", "-o", "16", "-k", "3", "-g", "5"], ["groups=5", "not divisible"]),
    (["shape", "3x", "-o", "16", "-k", "3"], ["INPUT", "empty entry"]),
    (["shape", "-1x3x8x8", "-o", "16", "-k", "3"], ["No such option: -1", "cannot start"]),
    (["shape", "-o", "16", "-k", "3", "--", "-1x3x8x8"], ["INPUT", "cannot be negative"]),
    (["shape", "1x3x8x8", "-k", "3"], ["shape needs -o/--out-channels, e.g. convcli shape 1x3x8x8 -o 128 --kernel-size 3"]),
    (["shape", "1x3x8x8", "-k", "3", "-o", "4", "--bogus"], ["No such option: --bogus"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3", "-s", "-1"], ["stride=(-1, -1)", "at least 1"]),
    (["shape", "nan", "-o", "16", "-k", "3"], ["INPUT", "'nan'"]),
    (["shape", "", "-o", "16", "-k", "3"], ["INPUT", "empty value"]),
    (["shape", "4x3x8x8", "-o", "x", "-k", "3"], ["--out-channels"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3,3,3,3"], ["--kernel-size has 4 entries"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3,3", "--dims", "3"], ["--dims says a 3-d conv but --kernel-size a 2-d one"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3,3", "-s", "1,1,1"], ["tuple options disagree"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3", "-p", "same", "-s", "2"],
     ["padding='same' needs stride 1"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "9"], ["padded input is 8", "kernel 9"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3", "--dtype", "int3"], ["--dtype 'int3'", "(or fp32, fp64, fp16/half, bf16)"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3", "--padding-mode", "mirror"], ["'mirror'"]),
    (["shape", "8", "-o", "4", "-k", "3"], ["INPUT 8 has 1 dims"]),
    (["shape", "1x3x4x8x8x8", "-o", "4", "-k", "3"], ["6 dims"]),
    (["params", "-i", "3", "-o", "4", "-k", "3", "1x3"], ["input has 1 channels"]),
    (["params", "-i", "3", "-o", "4", "-k", "3", "1x3", "--dims", "2"], ["2 dims"]),
    (["shape", "4x3x8x8", "-o", "4", "-k", "3", "-p", "[red]x"], ["[red]x"]),
])
def test_bad_input_one_line_exit_2(cli, argv, words):
    r = cli(argv[0], "--json", *argv[1:])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    for w in words:
        assert w in lines[0]


def test_unknown_exception_is_one_line_exit_70_without_debug(monkeypatch, cli):
    import convcli.calculator.costs

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(convcli.calculator.costs, "analyse", boom)
    monkeypatch.delenv("CONVCLI_DEBUG")
    from typer.testing import CliRunner
    r = CliRunner(env={"CONVCLI_DEBUG": None}).invoke(app, ["shape", "1x1x4x4", "-o", "1", "-k", "1"])
    assert r.exit_code == 70
    assert "internal error (RuntimeError: kaboom)" in r.stderr and "Traceback" not in r.stderr


def test_unknown_exception_reraised_under_debug(monkeypatch, cli):
    import convcli.calculator.costs

    monkeypatch.setattr(convcli.calculator.costs, "analyse", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli("shape", "1x1x4x4", "-o", "1", "-k", "1")


# ---- as a process -----------------------------------------------------------------
def test_python_m_convcli_and_exit_code_2_in_a_real_process():
    ok = run_subprocess("shape", "4x3x64x64", "-o", "16", "-k", "3")
    assert ok.exit_code == 0 and "[4, 16, 62, 62]" in ok.stdout
    bad = run_subprocess("shape", "4x3x64x64", "--out-channels=16", "--kernel-size=3",
                         "--groups=5")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Error: groups=5")


@pytest.mark.parametrize("argv", [
    ["shape", "4x3x64x64", "-o", "16", "-k", "3", "--explain"],
    ["params", "-i", "64", "-o", "128", "-k", "3", "--compare-groups"],
    ["--help"], ["shape", "--help"], ["params", "--help"],
])
def test_calculator_imports_neither_torch_nor_numpy(argv):
    code = (   # main() ends with os._exit: look at the modules on the way out
        "import os, sys\n"
        f"sys.argv = ['convcli', *{argv!r}]\n"
        "leave = os._exit\n"
        "def report(code):\n"
        "    heavy = {'torch', 'numpy'} & set(sys.modules)\n"
        "    sys.stderr.write('HEAVY=' + ','.join(sorted(heavy)))\n"
        "    sys.stderr.flush()\n"
        "    leave(code)\n"
        "os._exit = report\n"
        "from convcli.main import main\n"
        "main()\n"
    )
    import subprocess
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                            "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
    assert p.returncode == 0, p.stderr
    assert p.stderr.endswith("HEAVY="), p.stderr


def test_every_command_has_help_with_an_example(cli):
    from convcli.cli.app import COMMANDS
    names = list(COMMANDS)
    assert {"shape", "params"} <= set(names)
    for name in names:
        r = cli(name, "--help")
        assert r.exit_code == 0
        assert "Example:" in r.stdout and f"convcli {name}" in r.stdout, name


def test_version(cli):
    from convcli import __version__
    assert cli("--version").stdout.strip() == f"convcli {__version__}"


@pytest.mark.parametrize("alias, name", [("fp16", "float16"), ("half", "float16"),
                                         ("bf16", "bfloat16"), ("torch.bfloat16", "bfloat16"),
                                         ("FP32", "float32"), ("double", "float64")])
def test_dtype_aliases_are_the_torch_names(cli, alias, name):
    """--dtype takes what mixed-precision recipes write (as --amp bf16 does) and says
    torch's name; the bytes are that dtype's element size."""
    import torch

    size = torch.empty(0, dtype=getattr(torch, name)).element_size()
    data = cli("shape", "1x3x8x8", "-o", "4", "-k", "3", "--dtype", alias, "--json").json()
    assert data["dtype"] == name and data["bytes"]["input"] == 3 * 64 * size
    data = cli("params", "-i", "3", "-o", "4", "-k", "3", "--dtype", alias, "--json").json()
    assert data["bytes"]["parameters"] == 112 * size


# ---- cli/conv_commands.py by name: its commands' numbers are torch's ----------------

from convcli.cli import conv_commands  # noqa: E402


def test_the_module_registers_shape_and_params():
    from convcli.cli.app import app
    callbacks = [c.callback for c in app.registered_commands]
    assert conv_commands.shape in callbacks and conv_commands.params in callbacks


@pytest.mark.parametrize("argv, module, shape", [
    (["-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "-t"],
     "ConvTranspose2d(16, 32, 4, stride=2, padding=1, groups=4)", (1, 16, 8, 8)),
    (["-o", "8", "-k", "3,5", "-p", "same", "-d", "2", "--padding-mode", "reflect"],
     "Conv2d(16, 8, (3, 5), padding='same', dilation=2, padding_mode='reflect')",
     (2, 16, 9, 11)),
    (["-o", "6", "-k", "3", "--no-bias", "--dims", "1"], "Conv1d(3, 6, 3, bias=False)",
     (3, 20))])
def test_shape_and_params_numbers_are_torchs(cli, argv, module, shape):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    m = eval("torch.nn." + module)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = m(torch.zeros(shape))
    text = "x".join(map(str, shape))
    d = cli("shape", text, *argv, "--json").json()
    assert d["output_shape"] == list(y.shape) and d["weight_shape"] == list(m.weight.shape)
    assert d["macs"] == counter.get_total_flops() // 2
    assert d["params"] == sum(p.numel() for p in m.parameters())
    p = cli("params", text, *argv, "--json").json()
    assert p["params"] == d["params"] and p["macs"] == d["macs"]
