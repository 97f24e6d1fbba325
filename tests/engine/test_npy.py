"""engine/npy.py: `run`'s .npy files. Headers read without loading (shape, dtype,
truncation, non-regular files), weight and bias files checked against the layer's
torch shapes, --save written whole in native order, refused over an input."""

from __future__ import annotations

import os

import numpy as np
import pytest

from convcli.calculator.spec import ConvSpec
from convcli.engine.npy import (Saved, check_bias_file, check_save_path, check_weight_file,
                                is_npy_path, load_npy, npy_info, parse_input, save_output)
from convcli.errors import ConvError, EnvironmentProblem

torch = pytest.importorskip("torch")


def saved(tmp_path, arr, name="a.npy") -> str:
    path = str(tmp_path / name)
    np.save(path, arr)
    return path


def test_header_is_read_without_loading_and_matches_numpy(tmp_path):
    arr = np.zeros((2, 3, 5), dtype=">f4")                     # big-endian on disk
    path = saved(tmp_path, arr)
    info = npy_info(path, "INPUT")
    assert info.shape == arr.shape and info.nbytes == arr.nbytes and info.dtype == "float32"
    assert parse_input(path) == (path, (2, 3, 5))
    loaded = load_npy(info, "INPUT")
    assert loaded.dtype.isnative and np.array_equal(loaded, arr)
    assert torch.from_numpy(loaded).shape == (2, 3, 5)          # torch takes it as is


def test_shapes_and_paths_are_told_apart(tmp_path):
    assert parse_input("1x3x8x8") == ((1, 3, 8, 8), (1, 3, 8, 8))
    assert is_npy_path("x.NPY") and not is_npy_path("1x3x8x8")
    with pytest.raises(ConvError, match="is neither a shape like 4x3x64x64 nor an existing "
                                        ".npy file"):
        parse_input("data/input")


@pytest.mark.parametrize("make,cls,match", [
    (lambda p: None, EnvironmentProblem, "not found"),
    (lambda p: os.mkdir(p), EnvironmentProblem, "is a directory"),
    (lambda p: open(p, "wb").write(b"not numpy"), EnvironmentProblem,
     "is not a readable .npy file"),
    (lambda p: np.save(p, np.zeros(3, dtype=np.int64)), ConvError,
     "holds int64 values; a convolution needs floating point"),
    (lambda p: os.mkfifo(p), EnvironmentProblem, r"is a FIFO \(named pipe\)"),
])
def test_bad_files_are_one_line(tmp_path, make, cls, match):
    path = str(tmp_path / "f.npy")
    make(path)
    with pytest.raises(cls, match=match) as e:
        npy_info(path, "--weight-file")
    assert str(e.value).startswith("--weight-file") and "\n" not in str(e.value)


def test_a_truncated_file_is_caught_from_its_header(tmp_path):
    path = saved(tmp_path, np.zeros((4, 4), dtype=np.float32))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 10)
    with pytest.raises(EnvironmentProblem, match=r"is truncated: its header says 4x4 float32 "
                                                 r"\(64 bytes\) but only 54 bytes follow"):
        npy_info(path, "INPUT")


def test_weight_and_bias_files_against_torchs_parameters(tmp_path):
    spec = ConvSpec(2, 4, 6, 3, groups=2)
    m = torch.nn.Conv2d(4, 6, 3, groups=2)
    good = npy_info(saved(tmp_path, m.weight.detach().numpy(), "w.npy"), "--weight-file")
    check_weight_file(spec, good)                                # torch's own weight fits
    check_bias_file(spec, npy_info(saved(tmp_path, m.bias.detach().numpy(), "b.npy"),
                                   "--bias-file"))
    t = torch.nn.ConvTranspose2d(4, 6, 3, groups=2)
    swapped = npy_info(saved(tmp_path, t.weight.detach().numpy(), "t.npy"), "--weight-file")
    with pytest.raises(ConvError, match="that is the layout of a ConvTranspose weight: add "
                                        "--transposed"):
        check_weight_file(spec, swapped)
    check_weight_file(spec.replace(transposed=True), swapped)
    with pytest.raises(ConvError, match=r"has 2 dims \(6x2\)"):
        check_weight_file(spec, npy_info(saved(tmp_path, np.zeros((6, 2), "f4"), "x.npy"), "w"))
    with pytest.raises(ConvError, match="was given with --no-bias"):
        check_bias_file(spec.replace(bias=False), good)
    with pytest.raises(ConvError, match="needs a bias of shape 6"):
        check_bias_file(spec, good)


def test_save_refuses_an_input_a_directory_and_other_suffixes(tmp_path):
    src = saved(tmp_path, np.zeros(3, "f4"))
    info = npy_info(src, "INPUT")
    link = tmp_path / "link.npy"
    link.symlink_to(src)
    with pytest.raises(ConvError, match="is also an input file; refusing to overwrite it"):
        check_save_path(str(link), [info])
    with pytest.raises(ConvError, match="must end in .npy"):
        check_save_path(str(tmp_path / "out.txt"), [])
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(ConvError, match="is a directory"):
        check_save_path(str(tmp_path / "d.npy"), [])
    with pytest.raises(EnvironmentProblem, match="does not exist; create it first"):
        check_save_path(str(tmp_path / "no" / "out.npy"), [])
    assert check_save_path(str(tmp_path / "out.npy"), [info]) == str(tmp_path / "out.npy")


@pytest.mark.parametrize("dtype,saved_as", [(torch.float32, "float32"),
                                            (torch.float16, "float16"),
                                            (torch.bfloat16, "float32")])
def test_save_output_round_trips_torchs_values(tmp_path, dtype, saved_as):
    y = torch.randn(2, 3, 4).to(dtype)
    path = str(tmp_path / "y.npy")
    got = save_output(path, y)
    assert isinstance(got, Saved) and got.dtype == saved_as
    assert ("numpy has no bfloat16" in got.note) == (dtype == torch.bfloat16)
    back = torch.from_numpy(np.load(path))
    assert torch.equal(back, y.float() if dtype == torch.bfloat16 else y)
    assert os.listdir(tmp_path) == ["y.npy"]
