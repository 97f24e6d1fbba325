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

``-`` reads standard input (files.stdin_for): a .npy, a PNG or JPEG image (told by
their first bytes) or text, a shape or a nested list, each within a bound.

Images: PNG or JPEG, read by images.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from convcli.calculator.parse import parse_ints, parse_shape
from convcli.engine.images import (GRAY_MODES, MAX_IMAGE_PIXELS, ImageInfo, image_info,
                                   read_image)
from convcli.engine.npy import (NPY_MAGIC, NpyFile, is_npy_path, load_npy, npy_info,
                               stdin_npy)
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem

PATTERNS = ("square", "impulse", "checker", "ramp", "stripes")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_STDIN_IMAGE = 256 * 1024 ** 2     # bytes of a PNG or JPEG on stdin
MAX_STDIN_TEXT = 1024 ** 2            # bytes of a shape or a literal on stdin
STDIN_EXAMPLE = "convcli apply - < photo.png"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


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
            return f"{self.npy.shown} ({self.npy.dtype})"
        if self.image:
            im = self.image
            size = f"{im.height}x{im.width}" + (
                f" resized to {im.resize[0]}x{im.resize[1]}" if im.resize else "")
            alpha = ", alpha dropped" if "A" in im.mode else ""
            grey = im.channels == 1 and im.mode not in GRAY_MODES
            channels = "1 channel" + (" by --gray" if grey else "") if im.channels == 1 \
                else f"{im.channels} channels"
            name = "stdin" if im.path == "-" else os.path.basename(im.path)
            return f"{name} ({im.format} {im.mode}, {size}, " \
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
    return "npy" if head == NPY_MAGIC else "image"


def plan_input(text: str, pattern: str | None, gray: bool, resize: str | None) -> InputPlan:
    """INPUT -> its plan. A shape takes --pattern (else seeded random values); a .npy
    or image file takes neither; --gray and --resize are for images."""
    if text.lstrip().startswith(("[", "(")) and "[" in text:
        return _literal_plan(text, pattern, gray, resize)
    if text == "-":
        return _stdin_plan(pattern, gray, resize)
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


def _stdin_plan(pattern: str | None, gray: bool, resize: str | None) -> InputPlan:
    """INPUT - : standard input, told by its first bytes: .npy, PNG/JPEG, else text."""
    from convcli.files import read_stdin, stdin_for

    stream = stdin_for("INPUT", STDIN_EXAMPLE)
    head = read_stdin(stream, 8, "INPUT", STDIN_EXAMPLE, first=True)
    if head.startswith(NPY_MAGIC):
        _no_options("a .npy on stdin", pattern, gray, resize)
        info = stdin_npy("INPUT", head)
        return InputPlan("-", info.shape, npy=info)
    if head.startswith(_IMAGE_MAGIC):
        _no_options("an image on stdin", pattern, False, None)
        data = head + _rest(stream, MAX_STDIN_IMAGE, len(head), "an image")
        image = image_info("-", gray, None if resize is None else parse_resize(resize), data)
        h, w = image.resize or (image.height, image.width)
        return InputPlan("-", (1, image.channels, h, w), image=image)
    raw = head + _rest(stream, MAX_STDIN_TEXT, len(head), "text")
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as e:
        raise ConvError(f"INPUT -: standard input is neither a .npy, a PNG or JPEG image, nor "
                        f"UTF-8 text (byte {e.start:,}); {STDIN_EXAMPLE}") from None
    if not text:
        raise ConvError(f"INPUT -: standard input holds only white space; pipe a shape, "
                        f"values, a .npy or an image in ({STDIN_EXAMPLE})")
    if text.startswith(("[", "(")) and "[" in text:
        return _literal_plan(text, pattern, gray, resize)
    _no_options("a shape on stdin", None, gray, resize)
    try:
        return InputPlan(text, parse_shape(text), pattern=pattern)
    except ConvError as e:
        raise ConvError(f"INPUT -: standard input is text but not a shape or a nested list "
                        f"({e})") from None


def _rest(stream, limit: int, read: int, what: str) -> bytes:
    """What follows the ``read`` bytes already taken, up to ``limit`` in all (nothing
    is fine: the head was all)."""
    try:
        data = stream.read(limit - read + 1)
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"INPUT -: cannot read standard input ({e})") from None
    if read + len(data) > limit:
        raise ConvError(f"INPUT -: {what} of more than {limit:,} bytes on standard input, "
                        "more than apply reads; save it to a file")
    return data


def _no_options(what: str, pattern: str | None, gray: bool, resize: str | None) -> None:
    for given, option, fits in ((pattern, "--pattern", "a shape"),
                                (gray or None, "--gray", "an image"),
                                (resize, "--resize", "an image")):
        if given is not None:
            raise ConvError(f"{option} is for {fits}, but INPUT - is {what}; drop {option}")


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
