"""Where `convcli apply`'s input comes from: a shape filled with a pattern or seeded
random values, a .npy file, or an image (PNG, JPEG) read as float in [0, 1].

``plan_input`` decides the shape from the text, a .npy header or an image header
without decoding anything; ``make_input`` builds the tensor (torch, numpy and Pillow
are imported inside functions).

Patterns (the same in every sample and channel; over the spatial dims, W last):

* ``square``: 1 on a centred block of ``m`` in every dim, 0 elsewhere: ``m = L//2``,
  one more when ``L - m`` is odd (centred for every size), from ``(L - m)//2`` (an
  8x8 input: rows and columns 2..5; a 5x5 one: 1..3);
* ``impulse``: 1 at ``L//2`` in every dim, 0 elsewhere;
* ``checker``: 1 where the cell indices ``i // t`` sum to an even number, 0 elsewhere,
  with cells ``t = max(1, min(L) // 8)`` wide;
* ``ramp``: ``w / (W - 1)`` along W (0 when W is 1);
* ``stripes``: 1 on the columns where ``(w // t) % 2 == 0``, ``t = max(1, W // 8)``.

A nested list of numbers (``'[[0, 0, 0], [0, 1, 0], [0, 0, 0]]'``) is the input's
values, read with ``ast`` as --kernel's literals are (never evaluated): one level is a
(1, 1, L) sequence, two a (1, 1, H, W) image, three or more the shape as written.

Images: PNG or JPEG through Pillow (``pip install 'convcli[plot]'``); grey images
give 1 channel, colour ones 3 (alpha dropped), ``--gray`` 1 (Pillow's ITU-R 601-2
luma); 8-bit values are divided by 255, 16-bit ones by 65535. The batch is 1. The
size is the file's unless ``--resize`` asks (bilinear, Pillow's antialiased resize).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from convcli.calculator.parse import parse_ints, parse_shape
from convcli.engine.npy import NpyFile, is_npy_path, load_npy, npy_info
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import one_line

PATTERNS = ("square", "impulse", "checker", "ramp", "stripes")
IMAGE_FORMATS = ("PNG", "JPEG")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_PIXELS = 64 * 1024 ** 2     # decoded, before --resize
PIL_HINT = "pip install 'convcli[plot]'"
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N")


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

    @property
    def decoded_bytes(self) -> int:
        """Pillow's decoded copy (up to 4 bytes per pixel and band) and its float32."""
        return self.width * self.height * 4 * (self.channels + 1) * 2


@dataclass(frozen=True)
class InputPlan:
    """INPUT, decided without allocating: its shape and where the values come from."""

    text: str
    shape: tuple[int, ...]
    pattern: str | None = None
    npy: NpyFile | None = None
    image: ImageInfo | None = None
    values: tuple[float, ...] | None = None     # a literal's, row-major

    @property
    def kind(self) -> str:
        return ("pattern" if self.pattern else "npy" if self.npy else
                "image" if self.image else "literal" if self.values else "random")

    def describe(self, seed: int) -> str:
        if self.values is not None:
            return "the values given"
        if self.pattern:
            return f"pattern {self.pattern}"
        if self.npy:
            return f"{self.npy.path} ({self.npy.dtype})"
        if self.image:
            im = self.image
            size = f"{im.height}x{im.width}" + (
                f" resized to {im.resize[0]}x{im.resize[1]}" if im.resize else "")
            alpha = ", alpha dropped" if "A" in im.mode else ""
            grey = im.channels == 1 and im.mode not in _GRAY_MODES
            channels = "1 channel" + (" by --gray" if grey else "") if im.channels == 1 \
                else f"{im.channels} channels"
            return f"{os.path.basename(im.path)} ({im.format} {im.mode}, {size}, " \
                   f"{channels}{alpha})"
        return f"standard normal, seed {seed}"

    def as_dict(self, seed: int) -> dict:
        return {"kind": self.kind, "text": self.text, "pattern": self.pattern,
                "path": (self.npy.path if self.npy else self.image.path if self.image
                         else None),
                "seed": seed if self.kind == "random" else None,
                "description": self.describe(seed)}


def input_kind(text: str) -> str:
    """'npy', 'image' or 'shape': by the suffix, else by the first bytes of an existing
    file whose name is not a shape."""
    lower = text.lower()
    if lower.endswith(".npy"):
        return "npy"
    if lower.endswith(IMAGE_SUFFIXES):
        return "image"
    if not is_npy_path(text):     # not an existing file, or a file named like a shape
        return "shape"
    try:
        with open(text, "rb") as f:
            head = f.read(6)
    except OSError:
        return "image"            # image_info says why it cannot be read
    return "npy" if head == b"\x93NUMPY" else "image"


def plan_input(text: str, pattern: str | None, gray: bool, resize: str | None) -> InputPlan:
    """INPUT -> its plan. A shape takes --pattern (else seeded random values); a .npy
    or image file takes neither; --gray and --resize are for images."""
    if text.lstrip().startswith(("[", "(")) and "[" in text:
        return _literal_plan(text, pattern, gray, resize)
    kind = input_kind(text)
    if pattern is not None:
        pattern = pattern.strip().lower()
        if pattern not in PATTERNS:
            raise ConvError(f"--pattern {pattern!r}: choose one of {', '.join(PATTERNS)}")
        if kind != "shape":
            raise ConvError(f"--pattern {pattern} fills a shape, but INPUT {text!r} is a "
                            "file; give a shape like 1x1x8x8, or drop --pattern")
    if kind != "image" and (gray or resize is not None):
        which = "--gray" if gray else "--resize"
        raise ConvError(f"{which} is for image INPUTs (PNG, JPEG), but INPUT {text!r} is "
                        f"{'a .npy file' if kind == 'npy' else 'a shape'}; drop {which}")
    if kind == "shape":
        try:
            shape = parse_shape(text)
        except ConvError:
            if any(c.isalpha() and c not in "xX" for c in text) or "/" in text:
                raise ConvError(f"INPUT: {text!r} is neither a shape like 1x1x8x8 nor an "
                                "existing image (PNG, JPEG) or .npy file; check the spelling "
                                "or the path") from None
            raise
        return InputPlan(text, shape, pattern=pattern)
    if kind == "npy":
        info = npy_info(text, "INPUT")
        return InputPlan(text, info.shape, npy=info)
    image = image_info(text, gray, None if resize is None else parse_resize(resize))
    h, w = image.resize or (image.height, image.width)
    return InputPlan(text, (1, image.channels, h, w), image=image)


def parse_resize(text: str) -> tuple[int, int]:
    """--resize 28 (28x28) or HxW."""
    value = parse_ints(text, "--resize")
    hw = (value, value) if isinstance(value, int) else value
    if len(hw) != 2 or any(n < 1 for n in hw):
        raise ConvError(f"--resize {text!r}: give the new size as HxW (e.g. 28x28) or one "
                        "number for a square, each at least 1")
    if hw[0] * hw[1] > MAX_IMAGE_PIXELS:
        raise ConvError(f"--resize {text}: {hw[0] * hw[1]:,} pixels, more than the "
                        f"{MAX_IMAGE_PIXELS:,} apply reads; ask for a smaller size")
    return hw[0], hw[1]


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


def image_info(path: str, gray: bool, resize: tuple[int, int] | None) -> ImageInfo:
    """Read an image's header (nothing decoded): format, mode, size."""
    _check_file(path)
    Image = _pil()
    try:
        with Image.open(path) as im:
            fmt, mode, (w, h) = im.format, im.mode, im.size
    except Image.DecompressionBombError:
        raise ConvError(f"INPUT {path!r} has more pixels than Pillow opens safely; apply "
                        f"reads images up to {MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise EnvironmentProblem(f"INPUT {path!r} is not a readable PNG or JPEG image "
                                 f"({one_line(e)}); check the file") from None
    if fmt not in IMAGE_FORMATS:
        raise ConvError(f"INPUT {path!r} is a {fmt} image; apply reads PNG and JPEG: "
                        "convert it first")
    if w * h > MAX_IMAGE_PIXELS:
        raise ConvError(f"INPUT {path!r} is {w}x{h} ({w * h:,} pixels), more than the "
                        f"{MAX_IMAGE_PIXELS:,} apply reads; shrink it with an image tool")
    channels = 1 if gray or mode in _GRAY_MODES else 3
    return ImageInfo(path, fmt, mode, w, h, channels, resize)


# ---- the tensors ------------------------------------------------------------------------

def _literal_plan(text: str, pattern: str | None, gray: bool, resize: str | None
                  ) -> InputPlan:
    """INPUT given as its values: a nested list (calculator/kernels.py reads it)."""
    from convcli.calculator.kernels import parse_literal

    for given, option in ((pattern, "--pattern"), (gray or None, "--gray"),
                          (resize, "--resize")):
        if given is not None:
            raise ConvError(f"{option} does not apply to INPUT given as values; drop it")
    grid = parse_literal(text, "INPUT")
    shape = grid.shape
    if len(shape) <= 2:
        shape = (1, 1, *shape)     # a sequence or an image: one sample, one channel
    return InputPlan(" ".join(text.split()), shape, values=grid.values)


def make_input(plan: InputPlan, dims: int, seed: int):
    """The input as a float32 tensor of ``plan.shape``."""
    torch = import_torch()
    if plan.values is not None:
        return torch.tensor(plan.values, dtype=torch.float32).reshape(plan.shape)
    if plan.npy is not None:
        return torch.from_numpy(load_npy(plan.npy, "INPUT")).float()
    if plan.image is not None:
        return read_image(plan.image)
    if plan.pattern is None:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(plan.shape, generator=gen)
    return pattern(plan.pattern, plan.shape, dims)


def pattern(name: str, shape: tuple[int, ...], dims: int):
    """The pattern over the last ``dims`` dims of ``shape``, the same in every channel."""
    torch = import_torch()
    spatial = shape[len(shape) - dims:]
    axes = [torch.arange(n) for n in spatial]

    def along(i: int, values):   # a 1d tensor along spatial dim i, broadcastable
        view = [1] * dims
        view[i] = -1
        return values.reshape(view)

    grid = torch.ones(spatial)
    if name == "square":
        for i, n in enumerate(spatial):
            m = max(1, n // 2)
            m += (n - m) % 2          # the same margin on both sides
            lo = (n - m) // 2
            grid = grid * along(i, ((axes[i] >= lo) & (axes[i] < lo + m)).float())
    elif name == "impulse":
        for i, n in enumerate(spatial):
            grid = grid * along(i, (axes[i] == n // 2).float())
    elif name == "checker":
        cell = max(1, min(spatial) // 8) if spatial else 1
        total = sum(along(i, axes[i] // cell) for i in range(dims))
        grid = grid * ((total % 2) == 0).float()
    elif name == "ramp":
        w = spatial[-1]
        grid = grid * along(dims - 1, axes[-1].float() / max(w - 1, 1))
    else:   # stripes
        cell = max(1, spatial[-1] // 8)
        grid = grid * along(dims - 1, ((axes[-1] // cell) % 2 == 0).float())
    return grid.expand(shape).contiguous()


def read_image(info: ImageInfo):
    """Decode the image into a (1, C, H, W) float32 tensor in [0, 1]."""
    import numpy as np
    torch = import_torch()
    Image = _pil()
    try:
        with Image.open(info.path) as im:
            im.load()
            img = _convert(im, info)
            if info.resize is not None:
                h, w = info.resize
                img = img.resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as e:
        raise EnvironmentProblem(f"INPUT {info.path!r} could not be decoded "
                                 f"({one_line(e)}); check the file") from None
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
