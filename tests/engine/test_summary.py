"""`convcli summary` on users' files: loading, --args, and the errors a careless
user meets (each one line, the documented exit code)."""

import textwrap

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture
def model_file(tmp_path):
    def write(body: str, name: str = "model.py"):
        path = tmp_path / name
        path.write_text("import torch\nimport torch.nn as nn\n" + textwrap.dedent(body))
        return str(path)
    return write


TINY = """
class Tiny(nn.Module):
    def __init__(self, c=3, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(c, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))


def make(classes=5):
    return Tiny(classes=classes)
"""


def test_class_function_args_and_default_name(cli, model_file):
    path = model_file(TINY)
    r = cli("summary", f"{path}:Tiny", "--input", "2x3x16x16", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["output_shape"] == [2, 10]
    assert [row["name"] for row in data["layers"]] == ["conv", "pool", "fc"]
    assert data["layers"][0]["layer"] == "Conv2d(3, 8, 3, padding=1)"
    assert data["layers"][0]["macs"] == 2 * 16 * 16 * 8 * 3 * 9
    assert data["total_params"] == 3 * 8 * 9 + 8 + 8 * 10 + 10
    assert cli("summary", f"{path}:make", "--input", "1x3x8x8",
               "--json").json()["output_shape"] == [1, 5]
    r = cli("summary", f"{path}:Tiny", "--input", "1x1x8x8", "--args", "{'c': 1, 'classes': 2}",
            "--json")
    assert r.json()["output_shape"] == [1, 2]
    assert cli("summary", f"{path}:make", "--input", "1x3x8x8", "--args", "7",
               "--json").json()["output_shape"] == [1, 7]
    # NAME left out: the file defines one nn.Module class
    assert cli("summary", path, "--input", "1x3x8x8", "--json").json()["model"] == "Tiny()"


def test_summary_table(cli, model_file):
    r = cli("summary", f"{model_file(TINY)}:Tiny", "--input", "1x3x16x16")
    assert r.exit_code == 0
    assert "Tiny()" in r.stdout and "conv" in r.stdout and "[1, 8, 16, 16]" in r.stdout
    assert "3/1/1/1/1" in r.stdout


def test_linear_that_does_not_fit_names_module_and_fix(cli, model_file):
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.MaxPool2d(2))
                self.head = nn.Linear(16 * 5 * 5, 10)

            def forward(self, x):
                return self.head(torch.flatten(self.features(x), 1))
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x3x32x32", "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "'head'" in r.stderr and "receives 3600 features" in r.stderr
    assert "use Linear(3600, 10)" in r.stderr


def test_view_that_does_not_fit_reports_flatten_size(cli, model_file):
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 16, 3)
                self.fc = nn.Linear(1000, 10)

            def forward(self, x):
                return self.fc(self.conv(x).view(-1, 1000))
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x3x10x10")
    assert r.exit_code == 2
    assert "outside any module, after conv" in r.stderr
    assert "1,024 values (16 * 8 * 8)" in r.stderr


def test_conv_channel_mismatch_caught_although_meta_accepts_it(cli, model_file):
    """The meta device lets a ConvTranspose with the wrong input channels through;
    convcli's own rules stop it at the module."""
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)

            def forward(self, x):
                return self.up(x)
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x6x4x4")
    assert r.exit_code == 2
    assert "module 'up'" in r.stderr and "receives 6 channels" in r.stderr
    assert "use ConvTranspose2d(6, 4, 2, stride=2)" in r.stderr


@pytest.mark.parametrize("body,target,code,needle", [
    (TINY, "missing.py:Tiny", 3, "no such file"),
    (TINY, "{path}:Nope", 2, "has no 'Nope'; it defines: Tiny, make"),
    ("x = (\n", "{path}:Net", 2, "SyntaxError"),
    ("import not_a_package_xyz\n", "{path}:Net", 3, "No module named 'not_a_package_xyz'"),
    ("raise ValueError('boom')\n", "{path}:Net", 2, "raised ValueError: boom (line 3)"),
    ("import sys\nsys.exit(4)\n", "{path}:Net", 2, "called exit(4)"),
    ("VALUE = 3\n", "{path}:VALUE", 2, "is an int, not an nn.Module class"),
    ("def f():\n    return 3\n", "{path}:f", 2, "f() returned an int, not an nn.Module"),
    ("class A(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n",
     "{path}:A", 2, "pass constructor arguments with --args"),
    ("class A(nn.Identity): pass\nclass B(nn.Identity): pass\n", "{path}", 2,
     "say which model"),
])
def test_loader_errors_are_one_line(cli, model_file, body, target, code, needle):
    path = model_file(body)
    r = cli("summary", target.format(path=path), "--input", "1x3x8x8", "--json")
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    assert needle in r.stderr, r.stderr
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_unknown_leaf_modules_are_not_silent_zeros(cli, model_file):
    path = model_file("""
        class Scale(nn.Module):
            def forward(self, x):
                return x * 2

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 1)
                self.scale = Scale()

            def forward(self, x):
                return self.scale(self.conv(x))
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x3x4x4", "--json")
    data = r.json()
    assert data["layers"][1]["macs"] is None
    assert data["uncounted_macs"] == ["scale"]
    assert any("MACs not counted for Scale" in n for n in data["notes"])
    assert "?" in cli("summary", f"{path}:Net", "--input", "1x3x4x4").stdout


def test_data_dependent_code_falls_back_to_one_cpu_pass(cli, model_file):
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.gain = float(torch.ones(1).sum().item())  # fails on meta
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                x = self.conv(x)
                if x.abs().sum().item() >= 0:  # data-dependent: fails on meta
                    x = x.mean((2, 3))
                return self.fc(x)
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x3x8x8", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert [row["output_shape"] for row in data["layers"]] == [[1, 4, 6, 6], [1, 2]]
    assert any("ran once on the CPU" in n for n in data["notes"])


def test_uncounted_work_is_flagged_not_hidden(cli, model_file):
    """MultiheadAttention computes with its own parameters (it is not a leaf) and
    never calls its out_proj module: the MACs total says it is incomplete."""
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
                self.spare = nn.Linear(3, 3)

            def forward(self, x):
                return self.attn(x, x, x)
    """)
    r = cli("summary", f"{path}:Net", "--input", "2x5x16", "--json")
    data = r.json()
    assert data["macs_complete"] is False
    assert data["output_shape"] == [2, 5, 16]
    notes = " ".join(data["notes"])
    assert "never called in forward(): attn.out_proj, spare" in notes
    assert "attn MultiheadAttention" in notes and "returned a tuple" in notes
    assert "at least" in cli("summary", f"{path}:Net", "--input", "2x5x16").stdout


def test_prints_in_the_users_code_do_not_break_json(cli, model_file):
    path = model_file("""
        print("loading my model")

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                print("shape", x.shape)
                return self.fc(x)
    """)
    r = cli("summary", f"{path}:Net", "--input", "3x4", "--json")
    assert r.exit_code == 0
    assert r.json()["output_shape"] == [3, 2]
    assert "loading my model" in r.stderr


def test_lazy_modules_are_counted_once_concrete(cli, model_file):
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.f = nn.Sequential(nn.LazyConv2d(8, 3), nn.LazyBatchNorm2d(),
                                       nn.Flatten(), nn.LazyLinear(10))

            def forward(self, x):
                return self.f(x)
    """)
    data = cli("summary", f"{path}:Net", "--input", "2x3x8x8", "--json").json()
    assert [r["layer"] for r in data["layers"]] == [
        "Conv2d(3, 8, 3)", "BatchNorm2d(8)", "Flatten()", "Linear(288, 10)"]
    assert data["total_params"] == 224 + 16 + 2890
    assert data["total_macs"] == 2 * 36 * 8 * 27 + 2 * 288 * 10 and data["macs_complete"]
