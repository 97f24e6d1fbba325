"""PNG and JPEG images through Pillow (``pip install 'convcli[plot]'``), for apply's
INPUT: the header read without decoding (format, mode, size, channels), then the
decoded (1, C, H, W) float32 tensor in [0, 1], from a file or from standard input's
bytes (``-``; bad bytes there are exit 2, a bad file exit 3).

Grey images give 1 channel, colour ones 3 (alpha dropped), ``--gray`` 1 (Pillow's
ITU-R 601-2 luma); 8-bit values are divided by 255, 16-bit ones by 65535. The batch
is 1. The size is the file's unless ``--resize`` asks (bilinear, Pillow's antialiased
resize). Pillow, torch and numpy are imported inside functions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import one_line

IMAGE_FORMATS = ("PNG", "JPEG")
MAX_IMAGE_PIXELS = 64 * 1024 ** 2     # decoded, before --resize
PIL_HINT = "pip install 'convcli[plot]'"
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N")


@dataclass(frozen=True)
class ImageInfo:
    """What an image header says, and what apply makes of it."""

    path: str
    format: str
    mode: str
    width: int
    height: int
    channels: int
    resize: tuple[int, int] | None      # (H, W) when --resize asked
    data: bytes | None = field(default=None, repr=False, compare=False)   # from stdin

    @property
    def decoded_bytes(self) -> int:
        """Pillow's decoded copy (up to 4 bytes per pixel and band) and its float32."""
        return self.width * self.height * 4 * (self.channels + 1) * 2


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise EnvironmentProblem(
            f"reading images needs Pillow, which is not installed: {PIL_HINT}") from None
    return Image


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise EnvironmentProblem(f"INPUT: file {path!r} not found; check the path")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"INPUT: {path!r} is a directory, not an image")
    if not os.path.isfile(path):   # a FIFO would block the read, a device never end
        raise EnvironmentProblem(f"INPUT: {path!r} is not a regular file (a FIFO, socket "
                                 "or device); save the image to a file and pass that")
    if not os.access(path, os.R_OK):
        raise EnvironmentProblem(f"INPUT: {path!r} is not readable (permission denied)")


def image_info(path: str, gray: bool, resize: tuple[int, int] | None,
               data: bytes | None = None) -> ImageInfo:
    """Read an image's header (nothing decoded): format, mode, size. ``data``: the
    image's bytes when ``path`` is - (stdin)."""
    if data is None:
        _check_file(path)
    Image = _pil()
    try:
        with Image.open(_source(path, data)) as im:
            fmt, mode, (w, h) = im.format, im.mode, im.size
    except Image.DecompressionBombError:
        raise ConvError(f"INPUT {path!r} has more pixels than Pillow opens safely; apply "
                        f"reads images up to {MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise _unreadable(path, data, "is not a readable PNG or JPEG image", e) from None
    if fmt not in IMAGE_FORMATS:
        raise ConvError(f"INPUT {path!r} is a {fmt} image; apply reads PNG and JPEG: "
                        "convert it first")
    if w * h > MAX_IMAGE_PIXELS:
        raise ConvError(f"INPUT {path!r} is {w}x{h} ({w * h:,} pixels), more than the "
                        f"{MAX_IMAGE_PIXELS:,} apply reads; shrink it with an image tool")
    channels = 1 if gray or mode in GRAY_MODES else 3
    return ImageInfo(path, fmt, mode, w, h, channels, resize, data)


def _unreadable(path: str, data: bytes | None, what: str, e: BaseException) -> Exception:
    """A damaged file is the environment's (exit 3); damaged bytes piped in, usage (2)."""
    reason = re.sub(r" ?<_io\.BytesIO object at 0x[0-9a-f]+>", "", one_line(e))
    if data is None:
        return EnvironmentProblem(f"INPUT {path!r} {what} ({reason}); check the file")
    return ConvError(f"INPUT -: standard input {what} ({reason}); pipe the whole file")


def _source(path: str, data: bytes | None):
    """What Pillow opens: the file, or stdin's bytes."""
    if data is None:
        return path
    import io
    return io.BytesIO(data)


def read_image(info: ImageInfo):
    """Decode the image into a (1, C, H, W) float32 tensor in [0, 1]."""
    import numpy as np
    torch = import_torch()
    Image = _pil()
    try:
        with Image.open(_source(info.path, info.data)) as im:
            im.load()
            img = _convert(im, info)
            if info.resize is not None:
                h, w = info.resize
                img = img.resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as e:
        raise _unreadable(info.path, info.data, "could not be decoded", e) from None
    scale = 65535.0 if img.mode.startswith("I") else 255.0
    x = torch.from_numpy(arr.astype(np.float32) / scale).clamp_(0.0, 1.0)
    x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
    return x.unsqueeze(0).contiguous()


def _convert(im, info: ImageInfo):
    """The decoded image in a mode with the channels ``info`` promised."""
    mode = im.mode
    if mode.startswith("I"):              # 16-bit grey: keep every bit
        return im.convert("I") if mode != "I" else im
    if info.channels == 1:
        return im.convert("L")
    return im.convert("RGB")
