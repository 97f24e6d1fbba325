"""The layer model every rule implements, and the shape checks the rules share.

A ``Layer`` is a bound call, and everything convcli knows about it (its facets):
``output(shape, ctx)`` the output shape, or ConvError where torch would fail;
``params``; ``macs(in, out)``; ``geometry()`` for convs and pools; ``saves(in, out,
size)`` what autograd keeps for backward (``net --train``); ``field(in, out, d)`` how
it maps positions along spatial dim d (``net --rf``, the steps of receptive_fields.py). A rule
that lacks a facet raises FacetMissing, and tests/network/test_layer_facets.py walks
the registry for it. ``Ctx`` says where a layer's input came from, for messages.
Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from convcli.formatting import spatial_names
from convcli.errors import ConvError
from convcli.formatting import shape_list
from convcli.network.binding import compact_text
from convcli.network.text import LayerCall

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Shape = tuple[int, ...]
Step = tuple                             # one field step (receptive_fields.py)
Signature = list[tuple[str, Any]]        # (argument name, default) in torch's order
Rule = tuple[Signature, Callable[..., "Layer"]]   # a signature and the Layer builder


class FacetMissing(NotImplementedError):
    """A rule that does not state one of the facets (a bug in convcli, caught by the
    registry walk in the tests)."""


class Saves:
    """What a layer's forward keeps for backward, on torch's CPU kernels in train mode
    (measured with saved_tensors_hooks): its input's storage, its output's, and
    ``extra`` bytes of tensors of its own (statistics, masks, indices, copies). ``view``:
    the output is the input's storage (a view, or the op ran in place). A plain class:
    a dataclass costs every `net` a fraction of a millisecond to define."""

    __slots__ = ("input", "output", "extra", "view")

    def __init__(self, input: bool = False, output: bool = False, extra: int = 0,
                 view: bool = False):
        self.input, self.output, self.extra, self.view = input, output, extra, view

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Saves) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Saves(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


class Layer:
    """A bound layer and its facets: ``output(shape, ctx)`` -> shape (ConvError where
    torch fails); ``params``; ``macs(in, out)``; ``saves``; ``field``."""

    kind = ""
    params = 0
    signature: Signature = []      # torch's, set by build_layer
    conv: ConvSpec | None = None

    def __init__(self, call: LayerCall, values: dict):
        self.call = call
        self.values = values

    def output(self, shape: Shape, ctx: "Ctx") -> Shape:
        raise NotImplementedError

    def macs(self, shape_in: Shape, shape_out: Shape) -> int:
        return 0

    def geometry(self) -> dict | None:
        return None

    def note(self, shape_in: Shape) -> str:
        return ""

    def saves(self, shape_in: Shape, shape_out: Shape, size: int) -> Saves:
        """The training facet: what backward needs, ``size`` bytes per element."""
        raise FacetMissing(f"{self.kind}: no rule for what it saves for backward")

    def field(self, shape_in: Shape, shape_out: Shape, d: int) -> list[Step] | None:
        """The field facet: the steps along spatial dim ``d`` (receptive_fields.py), or None
        where the spatial dims end (or move in a way no step follows)."""
        raise FacetMissing(f"{self.kind}: no rule for its receptive field")

    def buffer_bytes(self, shape_in: Shape, size: int) -> int:
        """Buffers the module holds (running statistics)."""
        return 0

    def param_tensors(self) -> int:
        """Parameter tensors (Adam keeps a 4-byte step for each): weight, and bias."""
        return 0 if not self.params else 1 + bool(self.values.get("bias", True))

    def text(self) -> str:
        """The call in as few arguments as torch needs (binding.compact_text)."""
        if not self.signature:
            return str(self.call)
        return compact_text(self.call.name, self.values, self.signature)


@dataclass(frozen=True)
class Ctx:
    """Where the input of a layer comes from, for messages."""

    source: str        # "the input [1, 3, 32, 32]" or "Flatten() (layer 10, output [1, 1024])"
    first: bool

    def receives(self, call, what: str) -> str:
        return f"{call} receives {what} {'from' if self.first else 'after'} {self.source}"

    def at(self, call) -> str:
        return f"{call} {'on' if self.first else 'after'} {self.source}"


def rank_check(layer: Layer, shape: Shape, ctx: Ctx, ranks: tuple[int, ...], names: str):
    if len(shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ConvError(
            f"{ctx.receives(layer.call, f'a {len(shape)}d tensor {shape_list(shape)}')}; "
            f"{layer.kind} takes {want} dims ({names})"
            + ("; insert Flatten() or reshape before it" if len(shape) > max(ranks) else ""))


def spatial_rank_check(layer: Layer, shape: Shape, ctx: Ctx, d: int,
                       non_empty: bool = False) -> None:
    """A d-spatial-dim layer takes (N, C, *spatial) or unbatched (C, *spatial);
    ``non_empty``: and no empty dim but the batch (pools)."""
    names = spatial_names(d)
    rank_check(layer, shape, ctx, (d + 1, d + 2), f"N, C, {names}, or unbatched C, {names}")
    if non_empty:
        no_empty(layer, shape, ctx, len(shape) == d + 2)


def no_empty(layer: Layer, shape: Shape, ctx: Ctx, batched: bool):
    """Pools take an empty batch (N=0) but no other empty dim. (AdaptiveAvgPool2d alone
    accepts empty dims and returns NaN means; convcli rejects that too.)"""
    for i, n in enumerate(shape[1:] if batched else shape):
        if n == 0:
            raise ConvError(f"{ctx.at(layer.call)}: dim {i + (1 if batched else 0)} is 0; "
                            f"{layer.kind} needs every non-batch dim >= 1")
