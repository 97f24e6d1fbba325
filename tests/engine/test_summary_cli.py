"""`convcli summary` on any model, from the command line: several inputs, keyword
inputs and dtypes, importable and instance sources, --depth blocks, frozen params,
the CPU pass for data-dependent models and its memory guard; each number checked
against torch."""

import json
import textwrap

import pytest

torch = pytest.importorskip("torch")

import summary_models as sm  # noqa: E402
from test_summary_counting import built, real_inputs, reference  # noqa: E402

FILE = sm.__file__


@pytest.mark.parametrize("name", ["two_input", "keyword_input", "embedding_int64",
                                  "bool_mask", "det_head", "subclass_convs_linear"])
def test_cli_inputs_and_totals_equal_torch(cli, name):
    r = cli("summary", f"{FILE}:build_{name}", *sm.input_flags(name), "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    total, _ = reference(built(name), *real_inputs(name))
    assert data["total_macs"] == total and data["macs_complete"]
    assert data["inputs"] == sm.input_flags(name)[1::2]
    assert data["path"] == ("cpu" if name == "det_head" else "meta")


def test_data_dependent_head_says_which_path_and_why(cli):
    data = cli("summary", f"{FILE}:build_det_head", "--input", "1x3x64x64",
               "--json").json()
    assert data["path"] == "cpu" and "nonzero" in data["path_reason"]
    note = next(n for n in data["notes"] if "it ran once for real on the CPU" in n)
    assert "seed 0" in note and "peaked at" in note
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["roi"]["macs"] == 768 * 4 * 16  # every anchor kept on zeros (0.5 > 0.3)


def test_cpu_pass_memory_guard_refuses_before_allocating(cli, tmp_path):
    path = tmp_path / "dd.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(3, 8, 1)
                self.b = nn.Conv2d(8, 8, 1)
            def forward(self, x):
                y = self.a(x)
                if y.sum().item() > 1e30:
                    return y
                return self.b(y)
    """))
    r = cli("summary", f"{path}:M", "--input", "2x3x256x256", "--max-memory", "4MiB",
            "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert "the CPU pass would need about" in r.stderr and "'a'" in r.stderr
    assert "limit is 4.0 MiB (--max-memory)" in r.stderr and r.stderr.count("\n") == 1
    r = cli("summary", f"{path}:M", "--input", "2x3x256x256", "--max-memory", "1MiB")
    assert r.exit_code == 3 and "the inputs" in r.stderr  # 1.5 MiB of input alone
    r = cli("summary", f"{path}:M", "--input", "1x3x16x16", "--max-memory", "4MiB", "--json")
    assert r.exit_code == 0 and r.json()["total_macs"] == 256 * (8 * 3 + 8 * 8)


def test_depth_rows_roll_up_and_partition(cli):
    r = cli("summary", f"{FILE}:build_vit_sdpa", "--input", "1x3x64x64", "--depth", "2",
            "--json")
    data = r.json()
    rows = data["layers"]
    blocks = [x for x in rows if x["name"].startswith("blocks.") and x["depth"] == 2]
    assert [x["name"] for x in blocks] == ["blocks.0", "blocks.1", "blocks.2"]
    assert all(x["container"] and not x["expanded"] for x in blocks)
    seq = next(x for x in rows if x["name"] == "blocks")
    assert seq["expanded"] and seq["macs"] == sum(x["macs"] for x in blocks)
    flat = [x for x in rows if not x["expanded"]]
    assert sum(x["macs"] for x in flat) == data["total_macs"]
    assert sum(x["params"] for x in flat) == data["total_params"] - data["unused_params"]
    assert abs(sum(x["share"] for x in flat) - 1) < 1e-4
    own = next(x for x in rows if x["own_code"])
    assert own["name"] == "ViT" and own["params"] == 64 + 65 * 64  # cls token, pos embed
    table = cli("summary", f"{FILE}:build_vit_sdpa", "--input", "1x3x64x64", "--depth",
                "1").stdout
    assert "blocks" in table and "blocks.0" not in table and "%" in table


def test_frozen_params(cli, tmp_path):
    path = tmp_path / "frozen.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        def build():
            m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(2))
            m[0].requires_grad_(False)
            return m
    """))
    data = cli("summary", f"{path}:build", "--input", "1x3x6x6", "--json").json()
    assert data["frozen_params"] == 3 * 8 * 9 + 8
    assert data["trainable_params"] == data["total_params"] - data["frozen_params"]
    assert data["layers"][0]["frozen_params"] == data["layers"][0]["params"]
    assert "224 frozen" in cli("summary", f"{path}:build", "--input", "1x3x6x6").stdout


def test_module_level_instance_and_importable_module(cli, tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn
        MEAN = torch.zeros(1, 3, 1, 1)          # a module-level tensor forward() uses
        class Net(nn.Module):
            def __init__(self, width=4):
                super().__init__()
                self.conv = nn.Conv2d(3, width, 3)
            def forward(self, x):
                return self.conv(x - MEAN)
        model = Net(6)
    """))
    monkeypatch.chdir(tmp_path)
    data = cli("summary", "mypkg.nets:Net", "--args", "5", "--input", "1x3x8x8",
               "--json").json()
    assert data["output_shape"] == [1, 5, 6, 6] and data["model"] == "Net(5)"
    data = cli("summary", "mypkg/nets.py:model", "--input", "1x3x8x8", "--json").json()
    assert data["output_shape"] == [1, 6, 6, 6] and data["path"] == "meta"
    assert data["model"] == "model (a Net instance)"
    data = cli("summary", "mypkg.nets:model", "--input", "1x3x8x8", "--json").json()
    assert data["total_macs"] == 36 * 6 * 27
    r = cli("summary", "mypkg/nets.py", "--input", "1x3x8x8")
    assert r.exit_code == 2 and "classes: Net; module instances: model" in r.stderr
    r = cli("summary", "no_such_pkg_xyz.nets:Net", "--input", "1x3x8x8")
    assert r.exit_code == 3 and "no module named 'no_such_pkg_xyz'" in r.stderr


def test_conv_subclass_with_wrong_channels_is_caught_on_meta(cli, tmp_path):
    """Meta runs a conv with the wrong input channels; the op check stops it."""
    path = tmp_path / "sub.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        class MyConv(nn.Conv2d):
            pass
        def build():
            return nn.Sequential(MyConv(8, 4, 3))
    """))
    r = cli("summary", f"{path}:build", "--input", "1x6x8x8")
    assert r.exit_code == 2 and "module '0' (MyConv)" in r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("value,needle", [
    ("ids=1x128:int65", "dtype 'int65'"),
    ("1x3:bool,", "--input"),
    ("my-arg=1x3", "not an argument name"),
])
def test_bad_inputs(cli, value, needle):
    r = cli("summary", f"{FILE}:build_lstm", "--input", value, "--json")
    assert r.exit_code == 2 and needle in r.stderr and r.stdout == ""


def test_positional_after_keyword_is_refused(cli):
    r = cli("summary", f"{FILE}:build_lstm", "--input", "a=1x3", "--input", "1x3")
    assert r.exit_code == 2 and "positional input after a keyword input" in r.stderr


def test_json_is_one_strict_object(sh):
    r = sh("summary", f"{FILE}:build_attn_sdpa", "--input", "1x3x64x64", "--json")
    data = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(c))
    # patch conv 64 positions x 64 x 3*8*8; qkv and proj 64 tokens x 64 x (192 + 64);
    # attention 4 heads x 64 x 64 x (16 + 16)
    # (qkv on 3-d tokens is an mm of the flattened tokens; proj an addmm)
    assert data["macs_by_op"] == {"convolution": 786_432, "mm": 786_432, "bmm": 524_288,
                                  "addmm": 262_144}


def _leaf_call_outputs(model, args, kwargs) -> int:
    """torch's side of `activation_elements`: the outputs of the module calls inside
    which no other module was called (a module's first output when it returns several),
    on a real forward."""
    stack: list[list[bool]] = []
    total = [0]

    def pre(module, inputs):
        if stack:
            stack[-1][0] = True     # the caller is not a leaf call
        stack.append([False])

    def post(module, inputs, output):
        called_inside = stack.pop()[0]
        first = output[0] if isinstance(output, tuple) else output
        if not called_inside and isinstance(first, torch.Tensor):
            total[0] += first.numel()

    for m in model.modules():
        if m is not model:
            m.register_forward_pre_hook(pre)
            m.register_forward_hook(post)
    with torch.no_grad():
        model(*args, **kwargs)
    return total[0]


@pytest.mark.parametrize("name", ["two_input", "embedding_int64", "vit_sdpa",
                                  "mha_batch_first", "keyword_input", "lstm"])
def test_activations_are_every_layer_output_whatever_the_depth(cli, name):
    expected = _leaf_call_outputs(built(name), *real_inputs(name))
    for depth in ([], ["--depth", "1"], ["--depth", "2"]):
        data = cli("summary", f"{FILE}:build_{name}", *sm.input_flags(name), *depth,
                   "--json").json()
        assert data["activation_elements"] == expected, depth
        assert data["activation_bytes"]["float32"] == 4 * expected


@pytest.mark.parametrize("text, shape, dtype, name", [
    ("ids=1x8:int64", (1, 8), "int64", "ids"), ("x=1x3:fp64", (1, 3), "float64", "x"),
    ("1x3:torch.float16", (1, 3), "float16", None), ("1x2:long", (1, 2), "int64", None),
    ("m=2x2:BOOL", (2, 2), "bool", "m"), ("1x3:bf16", (1, 3), "bfloat16", None),
])
def test_input_dtypes_take_the_names_dtype_takes(text, shape, dtype, name):
    """--input's :DTYPE reads the names --dtype reads (one table), plus long/int; each is
    a dtype torch has."""
    from convcli.engine.summary.inputs import parse_input

    spec = parse_input(text)
    assert (spec.shape, spec.dtype, spec.name) == (shape, dtype, name)
    assert isinstance(getattr(torch, spec.dtype), torch.dtype)


def test_a_tensor_made_on_the_cpu_in_forward_takes_the_cpu_path(cli):
    """torch.eye() in forward() is a CPU tensor beside meta ones: the CPU pass runs and
    says why; the count is still FlopCounterMode's."""
    data = cli("summary", f"{FILE}:build_grid_sample", *sm.input_flags("grid_sample"),
               "--json").json()
    assert data["path"] == "cpu" and "not on the expected device meta" in data["path_reason"]
    total, _ = reference(built("grid_sample"), *real_inputs("grid_sample"))
    assert data["total_macs"] == total == 16 * 16 * 8 * 3 * 9 and data["macs_complete"]
