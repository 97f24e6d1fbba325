"""Kernels written by hand for `convcli apply`: the named ones, sized by -k, and
nested-list literals, read with ``ast`` (nothing is evaluated but numbers and the
arithmetic between them). Pure Python: a kernel is a ``Grid`` (a shape and its values
in row-major order); the engine turns it into a weight tensor.

Named kernels (``x`` is the last spatial dim, W; ``y`` the one before it, H):

* ``edge-vertical``: +1 left of the centre column, 0 on it, -1 right of it (3x3:
  ``[[1, 0, -1]] * 3``); ``edge-horizontal``: the same along y;
* ``sobel-x`` / ``sobel-y``: the derivative ``binomial(k-1) * [-1, 1]`` along x / y
  times the binomial smoothing ``binomial(k)`` along the other dims (3x3:
  ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``, OpenCV's for 5 and 7 too);
* ``laplacian``: the 3-tap stencil, -2 per dim at the centre, 1 on each neighbour
  (2d: ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``); ``sharpen``: identity minus laplacian;
* ``box``: every tap ``1 / prod(k)``; ``gaussian``: binomial coefficients per dim,
  normalised to sum 1 (3x3: ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16``);
* ``identity``: 1 at index ``(k-1)//2`` per dim (what 'same' padding centres), 0
  elsewhere.

How a kernel meets a conv (``kernel_changes``): a grid with as many dims as the conv
has spatial dims is used for every (out, in) channel pair; one with two more dims
is the whole weight. The literal's shape fixes -k (and -o for a whole Conv weight).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb, isfinite, prod

from convcli.calculator.parse import parse_ints
from convcli.errors import ConvError
from convcli.formatting import shape_x

MAX_LITERAL_CHARS = 100_000
MAX_LITERAL_VALUES = 65_536
MAX_NAMED_TAPS = 1 << 20
_MAX_DEPTH = 5
_NAMES = ("edge-vertical", "edge-horizontal", "sobel-x", "sobel-y", "laplacian", "box",
          "gaussian", "identity", "sharpen")
KERNEL_NAMES = _NAMES


@dataclass(frozen=True)
class Grid:
    """A kernel's values: ``shape`` and the values in row-major order."""

    shape: tuple[int, ...]
    values: tuple[float, ...]

    def nested(self) -> list:
        """The values as nested lists, as torch.tensor takes them."""
        return _nest(list(self.values), self.shape)


@dataclass(frozen=True)
class Kernel:
    """What --kernel said: a name (sized later by -k) or a literal grid."""

    text: str
    name: str | None = None
    grid: Grid | None = None

    @property
    def describe(self) -> str:
        if self.name is not None:
            return self.name
        assert self.grid is not None
        return f"literal {shape_x(self.grid.shape)}"


def _nest(flat: list, shape: Sequence[int]) -> list:
    if len(shape) <= 1:
        return flat
    step = prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# ---- --kernel TEXT ------------------------------------------------------------------

def read_kernel(text: str) -> Kernel:
    """A named kernel or a nested-list literal (``[[1, 0, -1], ...]``)."""
    word = text.strip().lower().replace("_", "-")
    if word in _NAMES:
        return Kernel(text, name=word)
    if not text.strip().startswith(("[", "(")):
        raise ConvError(f"--kernel {_short(text)!r} is neither a named kernel ("
                        f"{', '.join(_NAMES)}) nor a nested list like "
                        "'[[1, 0, -1], [1, 0, -1], [1, 0, -1]]'")
    return Kernel(text, grid=parse_literal(text))


def _short(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[:most - 3] + "..."


def parse_literal(text: str, option: str = "--kernel") -> Grid:
    """A nested list (or tuple) of numbers -> Grid. Only numbers, unary +/- and the
    binary + - * / between numbers are read (``1/9`` is fine); nothing is evaluated."""
    if len(text) > MAX_LITERAL_CHARS:
        raise ConvError(f"{option}: the literal has {len(text):,} characters, more than "
                        f"{MAX_LITERAL_CHARS:,}; write big kernels to a .npy file instead")
    depth = 0
    for ch in text:   # before ast: deep nesting would exhaust the parser's stack
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if depth > _MAX_DEPTH:
            raise ConvError(f"{option}: the literal nests more than {_MAX_DEPTH} levels; a "
                            "kernel has 1 to 3 (one per spatial dim), a whole weight 2 more")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise ConvError(f"{option}: {_short(text)!r} is not a nested list of numbers "
                        f"({getattr(e, 'msg', e)}); write e.g. '[[1, 0, -1], [1, 0, -1], "
                        "[1, 0, -1]]'") from None
    if not isinstance(tree, (ast.List, ast.Tuple)):
        raise ConvError(f"{option}: {_short(text)!r} is not a list; write the kernel as "
                        "nested lists, e.g. '[1, 0, -1]' or '[[0, 1, 0], [1, -4, 1], [0, 1, 0]]'")
    shape, flat = _read_list(tree, option, ())
    if len(flat) > MAX_LITERAL_VALUES:
        raise ConvError(f"{option}: the literal holds {len(flat):,} values, more than "
                        f"{MAX_LITERAL_VALUES:,}; write it to a .npy file instead")
    return Grid(shape, tuple(flat))


def _read_list(node: ast.AST, option: str, where: tuple[int, ...]
               ) -> tuple[tuple[int, ...], list[float]]:
    """(shape, row-major values) of a rectangular nested list."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return (), [_number(node, option, where)]
    if not node.elts:
        raise ConvError(f"{option}: an empty list{_at(where)}; every kernel dim needs at "
                        "least one value")
    shapes, flat = [], []
    for i, child in enumerate(node.elts):
        s, values = _read_list(child, option, where + (i,))
        shapes.append(s)
        flat += values
    if any(s != shapes[0] for s in shapes):
        bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise ConvError(f"{option}: the literal is not rectangular: entry {bad}{_at(where)} "
                        f"has shape {_shape(shapes[bad])} but entry 0 has "
                        f"{_shape(shapes[0])}; every row needs the same length")
    return (len(node.elts),) + shapes[0], flat


def _at(where: tuple[int, ...]) -> str:
    return "" if not where else " at [" + "][".join(map(str, where)) + "]"


def _shape(shape: tuple[int, ...]) -> str:
    return "a number" if not shape else shape_x(shape)


_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}


def _number(node: ast.AST, option: str, where: tuple[int, ...]) -> float:
    """A number, a signed number, or + - * / between numbers; anything else refused."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
            not isinstance(node.value, bool):
        try:
            value = float(node.value)
        except OverflowError:
            value = float("inf")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand, option, where)
        value = -value if isinstance(node.op, ast.USub) else value
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _number(node.left, option, where), _number(node.right, option, where)
        if isinstance(node.op, ast.Div) and b == 0:
            raise ConvError(f"{option}: division by zero in the entry{_at(where)}")
        value = _BINARY[type(node.op)](a, b)
    else:
        raise ConvError(f"{option}: entry{_at(where)} is {_what(node)}; a kernel holds "
                        "numbers only (and + - * / between them, e.g. 1/9)")
    if not isfinite(value):
        raise ConvError(f"{option}: entry{_at(where)} is not a finite number")
    return value


def _what(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return f"{type(node.value).__name__} {_short(repr(node.value), 20)}"
    return f"an expression ({type(node).__name__})"


# ---- named kernels --------------------------------------------------------------------

def binomial(n: int) -> list[int]:
    """Row n-1 of Pascal's triangle: binomial(3) = [1, 2, 1]."""
    return [comb(n - 1, i) for i in range(n)]


def _derivative(n: int) -> list[int]:
    """binomial(n-1) convolved with [-1, 1]: 3 -> [-1, 0, 1], 5 -> [-1, -2, 0, 2, 1]."""
    b = binomial(n - 1)
    return [(b[i - 1] if i >= 1 else 0) - (b[i] if i < n - 1 else 0) for i in range(n)]


def _step(n: int) -> list[int]:
    """+1 before the centre, 0 on it (odd n), -1 after: 3 -> [1, 0, -1]."""
    return [(1 if 2 * i < n - 1 else -1 if 2 * i > n - 1 else 0) for i in range(n)]


def _separable(sizes: Sequence[int], along: int, line, rest) -> Grid:
    """The outer product: ``line(k)`` along dim ``along``, ``rest(k)`` along the others."""
    factors = [line(k) if i == along else rest(k) for i, k in enumerate(sizes)]
    flat = [1.0]
    for f in factors:
        flat = [a * b for a in flat for b in f]
    return Grid(tuple(sizes), tuple(float(v) for v in flat))


def named_kernel(name: str, kernel_size: Sequence[int]) -> Grid:
    """The named kernel with one size per spatial dim."""
    sizes = tuple(kernel_size)
    d = len(sizes)
    if prod(sizes) > MAX_NAMED_TAPS:
        raise ConvError(f"--kernel {name} with -k {shape_x(sizes)}: {prod(sizes):,} taps, "
                        f"more than the {MAX_NAMED_TAPS:,} apply builds; use a smaller -k")
    axis = {"x": d - 1, "y": d - 2}[
        "y" if name in ("edge-horizontal", "sobel-y") else "x"]
    if name in ("edge-horizontal", "sobel-y") and d < 2:
        raise ConvError(f"--kernel {name} varies along H, which a 1d conv does not have; "
                        f"use {'edge-vertical' if name.startswith('edge') else 'sobel-x'} "
                        "(along L)")
    if name in ("edge-vertical", "edge-horizontal"):
        _need(name, sizes, 2)
        return _separable(sizes, axis, _step, lambda k: [1] * k)
    if name in ("sobel-x", "sobel-y"):
        _need(name, sizes, 2)
        return _separable(sizes, axis, _derivative, binomial)
    if name == "box":
        return _separable(sizes, 0, lambda k: [1 / prod(sizes)] * k, lambda k: [1] * k)
    if name == "gaussian":
        total = prod(2 ** (k - 1) for k in sizes)
        return _separable(sizes, 0, lambda k: [v / total for v in binomial(k)], binomial)
    centre = tuple((k - 1) // 2 for k in sizes)
    if name == "identity":
        return _point(sizes, {centre: 1.0})
    if any(k != 3 for k in sizes):
        raise ConvError(f"--kernel {name} is the 3-tap stencil per dim, but -k is "
                        f"{shape_x(sizes)}; use -k 3, or write a bigger one as a literal")
    taps = {centre: -2.0 * d}
    for i in range(d):
        for step in (-1, 1):
            taps[tuple(c + step if j == i else c for j, c in enumerate(centre))] = 1.0
    if name == "sharpen":
        taps = {pos: -v for pos, v in taps.items()}
        taps[centre] += 1.0
    return _point(sizes, taps)


def _need(name: str, sizes: Sequence[int], least: int) -> None:
    if any(k < least for k in sizes):
        raise ConvError(f"--kernel {name} needs at least {least} taps per dim to tell one "
                        f"side from the other, but -k is {shape_x(sizes)}; use -k 3")


def _point(sizes: tuple[int, ...], taps: dict[tuple[int, ...], float]) -> Grid:
    flat = [0.0] * prod(sizes)
    for pos, value in taps.items():
        index = 0
        for p, k in zip(pos, sizes):
            index = index * k + p
        flat[index] = value
    return Grid(sizes, tuple(flat))


# ---- how a kernel meets the conv options ------------------------------------------------

@dataclass(frozen=True)
class KernelFit:
    """What a literal fixes in the conv options, and whether it is the whole weight."""

    changes: dict
    whole: bool


def kernel_changes(kernel: Kernel | None, *, kernel_size: str | None, dims: int | None,
                   out_channels: str | None, input_rank: int, transposed: bool,
                   groups: int) -> KernelFit:
    """The conv options a kernel fills in: -k (3 for a named kernel, the literal's
    shape for a literal), --dims from the literal's depth where INPUT's rank allows
    one reading only, and -o (1, or a whole Conv weight's first dim)."""
    changes: dict = {}
    if kernel is None or kernel.grid is None:
        changes["kernel_size"] = kernel_size or "3"
        changes["out_channels"] = out_channels or "1"
        return KernelFit(changes, False)
    shape = kernel.grid.shape
    depth = len(shape)
    whole = _whole(depth, dims, input_rank, shape)
    d = depth - 2 if whole else depth
    spatial = shape[2:] if whole else shape
    changes["dims"] = d
    changes["kernel_size"] = ",".join(map(str, spatial)) + ("," if d == 1 else "")
    if kernel_size is not None:
        given = parse_ints(kernel_size, "--kernel-size")
        given = (given,) * d if isinstance(given, int) else given
        if tuple(given) != tuple(spatial):
            raise ConvError(f"--kernel-size {kernel_size} disagrees with the --kernel literal "
                            f"of shape {shape_x(shape)} (kernel {shape_x(spatial)}); drop -k, "
                            "the literal sets it")
    if out_channels is None:
        out = shape[0] if whole and not transposed else (
            shape[1] * groups if whole else 1)
        changes["out_channels"] = str(out)
    return KernelFit(changes, whole)


def _whole(depth: int, dims: int | None, rank: int, shape: tuple[int, ...]) -> bool:
    """Is a literal of this depth the whole weight (True) or one kernel (False)?"""
    if dims is not None:
        if depth == dims:
            return False
        if depth == dims + 2:
            return True
        raise ConvError(f"--kernel: the literal has {depth} levels (shape {shape_x(shape)}); "
                        f"a {dims}d conv takes {dims} (one kernel for every channel pair) or "
                        f"{dims + 2} (the whole weight)")
    if 1 <= depth <= 3 and rank in (depth + 1, depth + 2):
        return False
    if 3 <= depth <= 5 and rank in (depth - 1, depth):
        return True
    raise ConvError(f"--kernel: the literal has {depth} level(s) (shape {shape_x(shape)}) "
                    f"but INPUT has rank {rank}; a kernel for d spatial dims has d levels "
                    "(one kernel for every channel pair) or d+2 (the whole weight), and "
                    "INPUT rank d+1 or d+2")


# --init NAME[:ARGS]: torch.nn.init's function and its arguments' names and defaults
INITS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "normal": ("normal_", (("mean", 0.0), ("std", 1.0))),
    "uniform": ("uniform_", (("a", 0.0), ("b", 1.0))),
    "kaiming": ("kaiming_normal_", (("a", 0.0),)),
    "kaiming_normal": ("kaiming_normal_", (("a", 0.0),)),
    "kaiming_uniform": ("kaiming_uniform_", (("a", 0.0),)),
    "xavier": ("xavier_uniform_", (("gain", 1.0),)),
    "xavier_uniform": ("xavier_uniform_", (("gain", 1.0),)),
    "xavier_normal": ("xavier_normal_", (("gain", 1.0),)),
    "constant": ("constant_", (("val", 0.0),)),
    "zeros": ("zeros_", ()),
    "ones": ("ones_", ()),
}


@dataclass(frozen=True)
class Init:
    """A weight init: torch.nn.init's function name and its keyword arguments."""

    name: str
    function: str
    kwargs: tuple[tuple[str, float], ...]

    @property
    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs)
        return f"torch.nn.init.{self.function}({args})" if args else \
            f"torch.nn.init.{self.function}()"


def parse_init(text: str) -> Init:
    """'normal:0,0.02' -> Init('normal', 'normal_', (('mean', 0.0), ('std', 0.02)))."""
    name, _, rest = text.strip().partition(":")
    key = name.strip().lower().replace("-", "_")
    if key not in INITS:
        raise ConvError(f"--init {text!r}: use one of {', '.join(INITS)}, with its "
                        "arguments after a colon, e.g. normal:0,0.02 or uniform:-1,1")
    function, params = INITS[key]
    given = [a.strip() for a in rest.split(",")] if rest.strip() else []
    if len(given) > len(params):
        names = ", ".join(n for n, _ in params) or "no arguments"
        raise ConvError(f"--init {text!r}: {key} takes {names}; got {len(given)} values")
    values = []
    for (arg, default), value in zip(params, given + [None] * len(params)):
        if value is None:
            values.append((arg, default))
            continue
        try:
            number = float(value)
        except ValueError:
            raise ConvError(f"--init {text!r}: {arg}={value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ConvError(f"--init {text!r}: {arg} must be a finite number")
        values.append((arg, number))
    if key == "uniform" and values[0][1] > values[1][1]:
        raise ConvError(f"--init {text!r}: uniform's a must not exceed b")
    if key == "normal" and values[1][1] < 0:
        raise ConvError(f"--init {text!r}: normal's std cannot be negative")
    return Init(key, function, tuple(values))
