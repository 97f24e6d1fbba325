"""convcli.cli.run_command: `convcli run` as a user calls it: the output torch computes
from the user's own input, weight and bias (.npy) is what --save writes; shapes and MACs
in --json are torch's; misuse is one Error line and its code."""

import json

import numpy as np
import pytest

from convcli.cli import run_command
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

FAST = ("--repeat", "1", "--warmup", "0", "--device", "cpu")


def test_the_module_registers_run():
    from convcli.cli.app import app
    assert run_command.run in [c.callback for c in app.registered_commands]


def test_run_saves_what_torch_computes_from_the_users_tensors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8)).astype("float32")
    w = rng.standard_normal((6, 2, 3, 3)).astype("float32")
    b = rng.standard_normal(6).astype("float32")
    for name, a in (("x", x), ("w", w), ("b", b)):
        np.save(tmp_path / f"{name}.npy", a)
    r = invoke("run", str(tmp_path / "x.npy"), "-o", "6", "-k", "3", "-s", "2", "-p", "1",
               "-g", "2", "--weight-file", str(tmp_path / "w.npy"), "--bias-file",
               str(tmp_path / "b.npy"), "--save", str(tmp_path / "y.npy"), "--json", *FAST)
    assert r.code == 0, r.err
    conv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(b))
        with FlopCounterMode(display=False) as counter:
            y = conv(torch.from_numpy(x))
    saved = np.load(tmp_path / "y.npy")
    assert saved.shape == tuple(y.shape)
    assert np.allclose(saved, y.numpy(), atol=1e-5)
    data = json.loads(r.out)
    assert data["output_shape"] == data["predicted_shape"] == list(y.shape)
    assert data["macs"] == counter.get_total_flops() // 2
    assert data["flops"] == counter.get_total_flops()
    assert data["sources"]["weight"] == f"{tmp_path / 'w.npy'} (float32)"


def test_run_table_at_80_columns():
    r = invoke("run", "1x3x8x8", "-o", "4", "-k", "3", *FAST)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "Conv2d(3, 4, 3) on cpu, float32"
    shape = list(torch.nn.Conv2d(3, 4, 3)(torch.zeros(1, 3, 8, 8)).shape)
    assert f"  output         {shape}  = predicted" in lines
    assert all(len(line) <= 80 for line in lines)


def test_an_unbatched_reading_is_noted():
    r = invoke("run", "3x8x8", "-o", "4", "-k", "3", "--json", *FAST)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["output_shape"] == list(torch.nn.Conv2d(3, 4, 3)(torch.zeros(3, 8, 8)).shape)
    assert data["interpretation"] is not None


@pytest.mark.parametrize("args, code, words", [
    (("1x3x8x8", "-o", "4", "-k", "3", "--dtype", "float32,float64"), 2,
     "--dtype: 'float32,float64' names 2 dtypes; give one, or add --tune"),
    (("1x3x8x8", "-o", "4", "-k", "9"), 2, "spatial dim 0"),
    (("1x3x8x8", "-k", "3"), 2, "run needs -o/--out-channels"),
    (("missing.npy", "-o", "4", "-k", "3"), 3, "missing.npy"),
    (("1x3x8x8", "-o", "4", "-k", "3", "--repeat", "0"), 2, "--repeat"),
])
def test_misuse_is_one_error_line(args, code, words):
    one_error_line(invoke("run", *args, *FAST[2:]), code, words)
