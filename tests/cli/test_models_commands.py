"""`convcli net` and `convcli summary` as a user meets them: tables, --json keys,
one-line errors with exit codes, and start-up without torch or numpy."""

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

CIFAR = ("Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2),\n"
         "    Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2),\n"
         "    Conv2d(32, 64, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(1024, 10)")


def test_net_json_keys_and_values(cli):
    r = cli("net", "1x3x32x32", CIFAR, "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert {"layers", "output_shape", "total_params", "total_macs"} <= set(data)
    assert [row["output_shape"] for row in data["layers"]][:3] == [
        [1, 16, 32, 32], [1, 16, 32, 32], [1, 16, 16, 16]]
    assert data["output_shape"] == [1, 10]
    assert data["total_params"] == 448 + 4640 + 18496 + 10250
    # conv MACs: out positions * C_out * C_in * k*k; Linear: in * out
    assert data["layers"][0]["macs"] == 32 * 32 * 16 * 3 * 9
    assert data["layers"][-1]["macs"] == 1024 * 10
    assert data["total_macs"] == sum(row["macs"] for row in data["layers"])
    assert data["layers"][0]["geometry"]["padding"] == [[1, 1], [1, 1]]
    assert data["layers"][2]["geometry"]["stride"] == [2, 2]  # stride defaults to kernel
    assert data["activation_bytes"]["float16"] * 2 == data["activation_bytes"]["float32"]
    assert data["activation_elements"] == sum(
        math.prod(row["output_shape"]) for row in data["layers"])


def test_net_table_rows_and_totals(cli):
    r = cli("net", "1x3x32x32", CIFAR)
    assert r.exit_code == 0
    out = r.stdout
    assert "Linear(1024, 10)" in out and "1x64x4x4" in out and "1x1024" in out
    assert "33,834" in out  # total params at the foot
    assert "3/1/1/1/1" in out and "2/2/0/1/-" in out  # k/s/p/d/g actually used
    assert "activations" in out and "KiB (float32)" in out


def test_the_flatten_size_question(cli):
    r = cli("net", "1x3x32x32", CIFAR.replace("Linear(1024", "Linear(1000"), "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "layer 11: Linear(1000, 10) receives 1024 features after Flatten()" in r.stderr
    assert "use Linear(1024, 10)" in r.stderr
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_the_flatten_size_for_a_bigger_input(cli):
    r = cli("net", "1x3x64x64", CIFAR)
    assert r.exit_code == 2
    assert "receives 4096 features" in r.stderr and "use Linear(4096, 10)" in r.stderr


def test_conv_channel_mismatch_names_layer_and_fix(cli):
    r = cli("net", "1x3x32x32", CIFAR.replace("Conv2d(32, 64", "Conv2d(16, 64"))
    assert r.exit_code == 2
    assert "layer 7: Conv2d(16, 64, 3, padding=1) receives 32 channels after MaxPool2d(2)" \
        in r.stderr
    assert "use Conv2d(32, 64, 3, padding=1)" in r.stderr


@pytest.mark.parametrize("layers,needle", [
    ("Conv2d(3, 8, 3), Frobnicate()", "no rule for the layer 'Frobnicate'"),
    ("Conv2d(3, 8, 3), Relu()", "did you mean ReLU?"),
    ("ReLU(inplce=True)", "no argument 'inplce'; did you mean inplace="),
    ("Conv2d(3, 8, k)", "'k' is a variable"),
    ("Conv2d(3, 8, 3", "not closed"),
    ("__import__('os').system('echo hi')", "must be a name like Conv2d"),
    ("Linear(10)", "Linear needs out_features"),
    ("MaxPool2d(3, padding=2)", "torch allows padding <= kernel_size // 2"),
    ("GroupNorm(5, 3)", "valid num_groups: 1, 3"),
    ("Flatten(), Conv2d(3, 8, 3)", "Conv2d takes 3 or 4 dims"),
    ("Conv2d(3, 8, 3, stride=2), Linear(15, 4), Linear(3, 2)", "receives 4 features"),
    ("MaxPool2d(2, return_indices=True)", "return_indices=True"),
    ("Upsample(scale_factor=2, mode='linear')", "needs a 3d input"),
    ("LayerNorm(3)", "use LayerNorm(32)"),
])
def test_bad_layers_are_one_line_errors(cli, layers, needle):
    r = cli("net", "1x3x32x32", layers, "--json")
    assert r.exit_code == 2, r.stdout
    assert r.stdout == ""
    assert needle in r.stderr
    assert r.stderr.count("\n") == 1


def test_file_and_stdin_and_usage(cli, tmp_path):
    f = tmp_path / "layers.txt"
    f.write_text("features = nn.Sequential(\n    nn.Conv2d(1, 4, 5),  # 28 -> 24\n"
                 "    nn.MaxPool2d(2),\n)\n")
    r = cli("net", "1x1x28x28", "--file", str(f), "--json")
    assert r.exit_code == 0 and r.json()["output_shape"] == [1, 4, 12, 12]
    r = cli("net", "1x1x28x28", "--file", str(tmp_path / "missing.txt"))
    assert r.exit_code == 3 and "no such file" in r.stderr
    r = cli("net", "1x1x28x28")
    assert r.exit_code == 2 and "either as LAYERS or with --file" in r.stderr
    r = cli("net", "1x1x28x28", "ReLU()", "--file", str(f))
    assert r.exit_code == 2
    p = subprocess.run([sys.executable, "-m", "convcli", "net", "1x1x28x28", "--file", "-",
                        "--json"], input="Conv2d(1, 2, 3)\nFlatten()\n", capture_output=True,
                       text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["output_shape"] == [1, 2 * 26 * 26]


def test_markup_in_user_text_is_not_interpreted(cli):
    r = cli("net", "1x3x8x8", "Conv2d(3, 4, 3, padding_mode='[bold]x')")
    assert r.exit_code == 2 and "[bold]x" in r.stderr


def test_net_starts_without_torch_or_numpy():
    code = textwrap.dedent("""
        import sys
        from typer.testing import CliRunner
        from convcli.cli import app
        r = CliRunner().invoke(app, ["net", "1x3x32x32", "Conv2d(3, 8, 3), ReLU(), "
                                     "MaxPool2d(2), Flatten(), Linear(1800, 10)"])
        assert r.exit_code == 0, r.output
        heavy = [m for m in ("torch", "numpy") if m in sys.modules]
        assert not heavy, heavy
        print("ok")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_help_says_summary_runs_the_file(cli):
    r = cli("summary", "--help")
    assert r.exit_code == 0
    assert "runs FILE.py" in " ".join(r.stdout.split()) or "RUN" in r.stdout
    r = cli("net", "--help")
    assert r.exit_code == 0 and "Example: convcli net" in " ".join(r.stdout.split())


PRINTED = """Sequential(
  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (1): ReLU(inplace=True)
  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (3): Flatten(start_dim=1, end_dim=-1)
  (4): Linear(in_features=4096, out_features=10, bias=True)
)"""


def test_net_reads_printed_models_and_set_names(cli):
    data = cli("net", "1x3x32x32", PRINTED, "--json").json()
    assert data["output_shape"] == [1, 10] and data["total_params"] == 448 + 40970
    r = cli("net", "1x3x32x32", "Net(\n  (conv): Conv2d(3, 16, kernel_size=(3, 3))\n)")
    assert r.exit_code == 2 and "convcli summary" in r.stderr and r.stderr.count("\n") == 1
    data = cli("net", "1x100x1x1", "ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False)",
               "--set", "nz=100,ngf=64", "--json").json()
    assert data["output_shape"] == [1, 512, 4, 4]
    r = cli("net", "1x100x1x1", "ConvTranspose2d(nz, 8, 4)")
    assert r.exit_code == 2 and "--set nz=" in r.stderr


@pytest.mark.parametrize("args,code,needle", [
    (["1x3x8x8", "Conv2d(3, " + "+".join(["1"] * 20_000) + ", 3)"], 2, "operators"),
    (["1x3x8x8", "--file", "/dev/zero"], 3, "not a regular file"),
    (["1x3x8x8", "Upsample(scale_factor=1e300)"], 2, "2**63 - 1"),
    (["1x3x8x8", "Upsample(scale_factor=1e308 * 10)"], 2, "not a finite number"),
    (["1x3x8x8", "GroupNorm(7, 10 ** 12)"], 2, "valid num_groups"),
])
def test_net_refuses_what_it_cannot_hold_in_one_line(cli, args, code, needle):
    r = cli("net", *args, "--json")
    assert r.exit_code == code and r.stdout == ""
    assert needle in r.stderr and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_a_very_long_stack_shows_its_head_and_tail(cli):
    """A terminal cannot show thousands of layers (and rich would take seconds to draw
    them): the table keeps the first 300 and the last 100 rows; --json has every one."""
    layers = "Conv2d(3, 3, 3, padding=1), " + ", ".join(["ReLU()"] * 999)
    r = cli("net", "1x3x8x8", layers)
    assert r.exit_code == 0
    assert "⋮ 600 more rows (--json has them all)" in r.stdout
    assert r.stdout.count("ReLU()") == 399
    j = cli("net", "1x3x8x8", layers, "--json").json()
    assert len(j["layers"]) == 1000 and j["total_params"] == 84


def test_a_python_file_given_to_net_and_a_layer_list_given_to_summary(cli):
    """Each command names the other when given the other's file."""
    r = cli("net", "1x3x32x32", "--file", "examples/models/cifar_cnn.py")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert ("examples/models/cifar_cnn.py is Python code: `convcli summary "
            "examples/models/cifar_cnn.py:NAME --input 1x3x32x32` runs its model") in r.stderr
    pytest.importorskip("torch")
    r = cli("summary", "examples/models/cifar_cnn.txt", "--input", "1x3x32x32")
    assert r.exit_code == 3 and r.stderr.count("\n") == 1
    assert ("a list of layers is read by `convcli net SHAPE --file "
            "examples/models/cifar_cnn.txt`") in r.stderr
