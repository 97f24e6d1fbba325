"""convcli.engine.images: PNG and JPEG read as apply's INPUT, from a file or from
stdin's bytes alike: the header without decoding, then values equal to Pillow's pixels
scaled to [0, 1] (8-bit / 255, 16-bit / 65535, alpha dropped, --gray's luma); a damaged
file is exit 3, damaged bytes piped in exit 2."""

from __future__ import annotations

import pytest

from convcli.engine.images import GRAY_MODES, ImageInfo, image_info, read_image
from convcli.errors import ConvError, EnvironmentProblem

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def pictures(tmp_path):
    g = np.random.default_rng(3)
    rgba = (g.random((5, 7, 4)) * 255).astype(np.uint8)
    deep = (g.random((6, 4)) * 65535).astype(np.uint16)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(deep).save(tmp_path / "deep.png")
    return tmp_path, rgba, deep


def test_file_and_stdin_bytes_give_pillows_pixels_scaled(pictures):
    folder, rgba, deep = pictures
    for name, want, channels in (("rgba.png", rgba[..., :3] / 255.0, 3),
                                 ("deep.png", deep / 65535.0, 1)):
        path = folder / name
        on_disk = image_info(str(path), False, None)
        piped = image_info("-", False, None, path.read_bytes())
        assert (on_disk.width, on_disk.height, on_disk.channels) == \
            (piped.width, piped.height, piped.channels) == (want.shape[1], want.shape[0],
                                                            channels)
        x = read_image(on_disk)
        assert torch.equal(x, read_image(piped))
        expect = torch.from_numpy(want.astype(np.float32))
        expect = expect.unsqueeze(0) if channels == 1 else expect.permute(2, 0, 1)
        assert x.shape == (1, *expect.shape)
        assert torch.allclose(x[0], expect, atol=1e-6)
    assert "I;16" in GRAY_MODES


def test_gray_is_pillows_luma_and_resize_is_bilinear(pictures):
    folder, rgba, _ = pictures
    info = image_info(str(folder / "rgba.png"), True, (3, 4))
    assert isinstance(info, ImageInfo) and info.channels == 1 and info.resize == (3, 4)
    want = Image.open(folder / "rgba.png").convert("L").resize((4, 3), Image.Resampling.BILINEAR)
    assert torch.allclose(read_image(info)[0, 0],
                          torch.from_numpy(np.asarray(want, dtype=np.float32) / 255))


def test_damaged_file_is_environment_and_damaged_bytes_are_usage(pictures):
    folder, _, _ = pictures
    whole = (folder / "rgba.png").read_bytes()
    (folder / "cut.png").write_bytes(whole[:30])
    with pytest.raises(EnvironmentProblem, match="not a readable PNG or JPEG"):
        image_info(str(folder / "cut.png"), False, None)
    with pytest.raises(ConvError, match=r"^INPUT -: standard input is not a readable") as e:
        image_info("-", False, None, whole[:30])
    assert "BytesIO" not in str(e.value)
