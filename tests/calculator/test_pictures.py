"""`convcli show`: golden pictures at 80 columns, the receptive field and the unread
inputs against torch autograd, --png/--svg (atomic, optional extra), errors."""

from __future__ import annotations

import random
import sys

import pytest

from convcli.calculator.picture_data import picture
from convcli.calculator.spec import ConvSpec

def _torch_reads(spec: ConvSpec, shape, position, channel):
    """Input positions (c, h, w) whose gradient for output [0, channel, *position] is
    non-zero with all-ones weights: exactly what that output reads."""
    torch = pytest.importorskip("torch")
    from convcli.engine.torch_adapter import build_module

    m = build_module(spec, dtype=torch.float64)
    with torch.no_grad():
        m.weight.fill_(1.0)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = m(x)
    y[(0, channel, *position)].backward()
    return {tuple(i) for i in (x.grad[0] != 0).nonzero().tolist()}, y.shape


@pytest.mark.parametrize("seed", range(16))
def test_receptive_field_matches_torch_autograd(seed):
    pytest.importorskip("torch")
    rng = random.Random(seed)
    g = rng.choice([1, 2])
    transposed = seed % 2 == 1
    k, s, dl = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
    p = rng.randint(0, dl * (k - 1) + (1 if transposed else 0))
    op = rng.randint(0, max(s, dl) - 1) if transposed else 0
    spec = ConvSpec(2, 2 * g, 2 * g, (k, k), stride=s, padding=p, dilation=dl, groups=g,
                    transposed=transposed, output_padding=op)
    shape = (1, 2 * g, rng.randint(dl * k, 9), rng.randint(dl * k, 9))
    try:
        out = spec.output_shape(shape)
    except Exception:
        pytest.skip("not a valid conv for this draw")
    pos = (rng.randrange(out[2]), rng.randrange(out[3]))
    channel = rng.randrange(2 * g)
    pic = picture(spec, shape, at=pos, channel=channel)
    f = pic.field
    ours = {(c, h, w) for c in range(*f.in_channels) for h in f.dims[0].inputs
            for w in f.dims[1].inputs}
    theirs, y_shape = _torch_reads(spec, shape, pos, channel)
    assert tuple(y_shape) == pic.output_shape
    assert ours == theirs
    if not transposed:  # dense count: every tap times the group's channels
        assert f.macs == k * k * (2 * g // g)


@pytest.mark.parametrize("args", [(10, 3, 3, 1, 0), (10, 2, 4, 1, 0), (17, 3, 2, 3, 1),
                                  (8, 1, 3, 1, 0)])
def test_unread_inputs_match_torch(args):
    torch = pytest.importorskip("torch")
    n, k, s, dl, p = args
    spec = ConvSpec(1, 1, 1, k, stride=s, padding=p, dilation=dl, bias=False)
    view = picture(spec, (1, 1, n)).window
    x = torch.ones(1, 1, n, requires_grad=True)
    torch.nn.functional.conv1d(x, torch.ones(1, 1, k), stride=s, padding=p,
                               dilation=dl).sum().backward()
    assert view.unread == [i for i in range(n) if x.grad[0, 0, i] == 0]


def test_same_split_is_visible_in_the_window():
    view = picture(ConvSpec(2, 1, 1, 4, padding="same"), (1, 1, 8, 8)).window
    assert view.pad == (1, 2)
    assert [c.kind for c in view.cells[:1]] == ["pad"] and \
        [c.kind for c in view.cells[-2:]] == ["pad", "pad"]
    assert view.windows[0].taps == (-1, 0, 1, 2)


def test_transposed_view_is_zero_stuffed():
    view = picture(ConvSpec(1, 1, 1, 3, stride=2, padding=1, transposed=True),
                   (1, 1, 3)).window
    kinds = "".join({"input": "i", "zero": "0", "pad": "p", "crop": "x"}[c.kind]
                    for c in view.cells)
    assert kinds == "pi0i0ip"  # 3*(2)-1 stuffed, padded 1*(3-1)-1 = 1 each side
    assert len(view.windows) == 5


def test_json_has_everything(cli):
    r = cli("show", "1x4x7x7", "-o", "4", "-k", "3", "-s", "2", "-p", "1", "-g", "2",
            "--at", "0,3", "--channel", "3", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["groups"]["slices"][1]["weight_rows"] == [2, 4]
    assert data["window"]["windows"][3]["taps"] == [5, 6, 7]
    assert data["receptive_field"]["in_channels"] == [2, 4]
    assert [d["inputs"] for d in data["receptive_field"]["dims"]] == [[0, 1], [5, 6]]


@pytest.mark.parametrize("args,words", [
    (("--along", "2"), "--along 2"),
    (("--at", "9,9"), "outside 0..3"),
    (("--at", "1,2,3"), "one output index per spatial dim"),
    (("--channel", "7"), "0..3"),
])
def test_errors(cli, args, words):
    r = cli("show", "1x4x7x7", "-o", "4", "-k", "3", "-s", "2", "-p", "1", *args, "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("Error: ") and words in r.stderr


def test_dim_without_input_is_refused(cli):
    r = cli("show", "-i", "4", "-o", "4", "-k", "3", "--at", "1,1")
    assert r.exit_code == 2 and "need INPUT" in r.stderr


@pytest.mark.loop       # rule 4 (tests/conftest.py): the one drawing in the fast loop
def test_png_and_svg_are_written(cli, tmp_path):
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / "a.png", tmp_path / "a.svg"
    r = cli("show", "1x16x8x8", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "-t",
            "--png", str(png), "--svg", str(svg), "--json")
    assert r.exit_code == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:400]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.svg"]  # no temp left
    assert r.json()["files"] == [str(png), str(svg)]


def test_png_into_a_missing_folder_is_exit_3(cli, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "nope" / "a.png"
    r = cli("show", "1x4x7x7", "-o", "4", "-k", "3", "--png", str(target))
    assert r.exit_code == 3 and "does not exist" in r.stderr
    assert not target.exists()


def test_missing_matplotlib_is_one_line_exit_3(cli, tmp_path, monkeypatch):
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "a.png"
    r = cli("show", "1x4x7x7", "-o", "4", "-k", "3", "--png", str(target), "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.strip() == ("Error: --png/--svg draw with matplotlib, which is not "
                                "installed: pip install 'convcli[plot]'")
    assert not target.exists()
