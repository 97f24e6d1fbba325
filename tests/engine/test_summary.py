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
    assert "Tiny()" in r.stdout and "conv" in r.stdout and "1x8x16x16" in r.stdout
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
    assert "in the model's own code" in r.stderr and "after conv (Conv2d" in r.stderr
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
    (TINY, "{path}:Nope", 2, "has no 'Nope'; it holds nn.Module classes: Tiny; functions: "
                             "make"),
    ("x = (\n", "{path}:Net", 2, "SyntaxError"),
    ("import not_a_package_xyz\n", "{path}:Net", 3, "No module named 'not_a_package_xyz'"),
    ("raise ValueError('boom')\n", "{path}:Net", 2, "raised ValueError: boom (line 3)"),
    ("import sys\nsys.exit(4)\n", "{path}:Net", 2, "called exit(4)"),
    ("VALUE = 3\n", "{path}:VALUE", 2, "is an int, not an nn.Module class"),
    ("def f():\n    return 3\n", "{path}:f", 2, "f() returned an int, not an nn.Module"),
    ("class A(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n",
     "{path}:A", 2, "pass its arguments with --args \"{'n': ...}\""),
    ("class A(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
     "def build():\n    return A(3)\n", "{path}", 2,
     "has a function that builds a model without arguments: summarise {path}:build, or pass"),
    ("class A(nn.Identity): pass\nmodel = A()\n", "{path}", 2,
     "it holds nn.Module classes: A; module instances: model"),
    ("import os\nos._exit(0)\n", "{path}:Net", 2, "called os._exit(0)"),
    ("raise ValueError('first\\nsecond\\nthird')\n", "{path}:Net", 2,
     "ValueError: first second third"),
    ("class A(nn.Identity): pass\nclass B(nn.Identity): pass\n", "{path}", 2,
     "say which model"),
])
def test_loader_errors_are_one_line(cli, model_file, body, target, code, needle):
    path = model_file(body)
    r = cli("summary", target.format(path=path), "--input", "1x3x8x8", "--json")
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    assert needle.replace("{path}", path) in r.stderr, r.stderr
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_modules_without_a_rule_are_counted_by_their_ops(cli, model_file):
    """A module convcli has no rule for is counted by what it runs: x * 2 is no MAC
    work, so the total stays exact (no false alarm)."""
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
    data = cli("summary", f"{path}:Net", "--input", "1x3x4x4", "--json").json()
    assert data["layers"][1]["macs"] == 0 and data["uncounted_macs"] == []
    assert data["macs_complete"] and data["total_macs"] == 16 * 4 * 3


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
    assert data["path"] == "cpu" and "Tensor.item()" in data["path_reason"]
    assert any("it ran once for real on the CPU" in n for n in data["notes"])
    assert data["total_macs"] == 36 * 4 * 27 + 4 * 2


def test_attention_and_unused_parameters(cli, model_file):
    """MultiheadAttention computes with its own parameters and never calls its
    out_proj module: all its work is counted in its row; a Linear no op reads is in
    the total, in no row, and named in a note."""
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
                self.spare = nn.Linear(3, 3)

            def forward(self, x):
                return self.attn(x, x, x)
    """)
    data = cli("summary", f"{path}:Net", "--input", "2x5x16", "--json").json()
    assert data["macs_complete"] is True and data["output_shape"] == [2, 5, 16]
    # in/out projections 4 * (10 x 16 x 16), scores and values 2 * (2 heads x 2 x 5x5x8)
    assert data["total_macs"] == 4 * 10 * 16 * 16 + 2 * 2 * 2 * 5 * 5 * 8
    assert [row["name"] for row in data["layers"]] == ["attn"]
    assert data["layers"][0]["params"] == 4 * 16 * 16 + 4 * 16
    assert data["total_params"] == data["layers"][0]["params"] + 12
    assert data["unused_params"] == 12
    notes = " ".join(data["notes"])
    assert "12 params are read by no op of forward(): spare (12)" in notes
    assert "returned a tuple" in notes


def test_prints_in_the_users_code_do_not_break_json(sh, model_file):
    """print() and os.write(1, ...) at import and in forward() go to stderr."""
    path = model_file("""
        import os
        print("loading my model")
        os.write(1, b"import-time write\\n")

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                print("shape", x.shape)
                os.write(1, b"forward write\\n")
                return self.fc(x)
    """)
    r = sh("summary", f"{path}:Net", "--input", "3x4", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["output_shape"] == [3, 2]
    assert "loading my model" in r.stderr and "import-time write" in r.stderr
    assert "forward write" in r.stderr


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


def test_flatten_hint_only_where_a_linear_is_the_question(cli, model_file):
    """A failure in forward()'s own code that is not about sizes gets no in_features
    hint; one from a view or a matrix product does."""
    path = model_file("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 16, 3)

            def forward(self, x):
                x = self.conv(x)
                raise ValueError("the user's own check failed")
    """)
    r = cli("summary", f"{path}:Net", "--input", "1x3x10x10")
    assert r.exit_code == 2 and "the user's own check failed" in r.stderr
    assert "in_features" not in r.stderr and "Linear" not in r.stderr
