"""A user's nn.Module, layer by layer, from one forward pass on the meta device (shapes
only: no memory for activations or weights, no arithmetic).

``summarise(model, input_shape)`` registers hooks on every leaf module, runs the
forward pass and returns a NetReport (network/report.py) with one row per
leaf-module call. The pieces, as in torchinfo: ``Trace`` is the state one pass
shares; ``construct_pre_hook`` / ``construct_hook`` make the hooks; ``apply_hooks``
registers them; ``forward_pass`` owns the try/finally that runs the model (on meta,
or once on the CPU when forward() needs data) and removes every hook and patch.

The meta device accepts some configurations a real CPU forward rejects
(torch-conv-rules.md), so every conv is checked with ConvSpec, and every layer
convcli has a rule for with its network rule, before it runs; those rules also give
each conv its geometry and MACs (transposed convs counted per input element).
torch is imported inside functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Sequence

from dataclasses import dataclass, field, replace
from math import prod

from convcli.engine.summary.loading import meta_limit
from convcli.engine.summary.modules import call_of, short_repr
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError
from convcli.formatting import article, shape_list
from convcli.network.layer import Ctx, Layer
from convcli.network.report import NetReport, NetRow
from convcli.network.rules import build_layer

if TYPE_CHECKING:
    from torch.nn import Module


# leaf modules without a network rule that still do no multiply-accumulates
ZERO_MAC_EXTRA = {"Identity", "Dropout", "ReLU", "Flatten", "Unflatten", "Softmax",
                  "Sigmoid", "Tanh", "GELU", "SiLU", "Hardswish", "ChannelShuffle"}
# norms whose meta kernels import torch._dynamo (about 2 s): on meta they return an
# empty copy of their input, whose shape convcli's rule checked in the pre-hook
SHAPE_KEEPING = ("BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm", "LocalResponseNorm")


class _Failed(Exception):
    """Raised from a hook: convcli's own rules reject this module's input."""


@dataclass
class Trace:
    """What the hooks of one forward pass share."""

    input_shape: tuple[int, ...]
    leaves: dict[int, tuple[str, object]]        # id(module) -> (qualified name, module)
    rules: dict[int, Layer | None]
    kinds: dict[int, str]                        # the class before forward (lazy modules)
    rows: list[NetRow] = field(default_factory=list)
    stack: list[tuple[str, object, tuple | None]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    last: str | None = None                      # the last module, for messages
    last_shape: tuple | None = None

    def reset(self) -> None:
        self.rows.clear(), self.stack.clear(), self.calls.clear()
        self.last = self.last_shape = None


def leaf_modules(model) -> dict[int, tuple[str, object]]:
    leaves: dict[int, tuple[str, object]] = {}
    for qual, m in model.named_modules():
        if next(iter(m.children()), None) is None:
            leaves.setdefault(id(m), (qual or type(m).__name__, m))
    return leaves


def prepare(model, input_shape) -> Trace:
    """The leaves and their rules (convs get their ConvSpec attached for short_repr)."""
    leaves = leaf_modules(model)
    rules: dict[int, Layer | None] = {}
    for key, (_qual, m) in leaves.items():
        call = call_of(m)
        layer = None
        if call is not None:
            try:
                layer = build_layer(replace(call, text=short_repr(m)))
            except ConvError:
                layer = None  # torch built it; the forward pass will say what is wrong
        rules[key] = layer
        if layer is not None and layer.conv is not None:
            m._convcli_spec = layer.conv
    kinds = {key: type(m).__name__ for key, (_, m) in leaves.items()}
    return Trace(tuple(input_shape), leaves, rules, kinds)


def _first_tensor(torch, values):
    for x in values:
        if isinstance(x, torch.Tensor):
            return x
    return None


def construct_pre_hook(trace: Trace, torch):
    """Push the module; check its input with convcli's rule before torch runs it."""

    def pre_hook(m, inputs):
        qual, _ = trace.leaves[id(m)]
        x = _first_tensor(torch, inputs)
        shape = None if x is None else tuple(x.shape)
        trace.stack.append((qual, m, shape))
        layer = trace.rules.get(id(m))
        if layer is not None and shape is not None:
            first = trace.last is None
            ctx = Ctx(trace.last or f"the input {shape_list(trace.input_shape)}", first)
            try:
                layer.output(shape, ctx)
            except ConvError as e:
                raise _Failed(f"module {qual!r}: {e}") from None

    return pre_hook


def construct_hook(trace: Trace, torch):
    """Pop the module and record its row: shapes, own params, MACs by its rule."""

    def hook(m, inputs, output):
        qual, _ = trace.leaves[id(m)]
        _, _, shape_in = trace.stack.pop()
        outs = output if isinstance(output, (tuple, list)) else (output,)
        out = _first_tensor(torch, outs)
        out_shape = tuple(out.shape) if out is not None else ()
        layer = trace.rules.get(id(m))
        if layer is None and shape_in is not None and type(m).__name__ != trace.kinds[id(m)]:
            layer = _rule_for(m, shape_in)  # a lazy module that just became concrete
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if layer is not None and shape_in is not None:
            macs, geometry = layer.macs(shape_in, out_shape), layer.geometry()
            conv, note = layer.conv, layer.note(shape_in)
        else:
            macs, geometry, conv, note = None, None, None, ""
            if own == 0 and type(m).__name__ in ZERO_MAC_EXTRA:
                macs = 0
        if shape_in is None:
            note = (note + "; " if note else "") + "no tensor input"
        times = trace.calls[qual] = trace.calls.get(qual, 0) + 1
        trace.rows.append(NetRow(
            len(trace.rows) + 1, short_repr(m), type(m).__name__, shape_in or (), out_shape,
            0 if times > 1 else own, macs, conv, geometry,
            name=qual if times == 1 else f"{qual} (call {times})", note=note))
        trace.last = f"{qual} {short_repr(m)} (output {shape_list(out_shape)})"
        trace.last_shape = out_shape

    return hook


def apply_hooks(trace: Trace, torch) -> list:
    handles = []
    for _qual, m in trace.leaves.values():
        handles.append(m.register_forward_pre_hook(construct_pre_hook(trace, torch)))
        handles.append(m.register_forward_hook(construct_hook(trace, torch)))
    return handles


def forward_pass(model, trace: Trace, torch) -> tuple[object, str | None]:
    """Run the model once with the hooks on; (what forward() returned, why it ran on
    the CPU or None). Every hook, patch and attribute convcli added is removed."""
    handles = apply_hooks(trace, torch)
    fast = [m for key, (_, m) in trace.leaves.items()
            if trace.rules.get(key) is not None
            and type(m).__name__.startswith(SHAPE_KEEPING)]
    for m in fast:
        m.forward = _same_shape
    model.eval()
    try:
        try:
            with torch.device("meta"), torch.no_grad():
                return model(torch.empty(trace.input_shape, device="meta")), None
        except _Failed:
            raise
        except Exception as e:
            if not meta_limit(e):
                raise
            # data-dependent code (x.item(), nonzero, ...) cannot run on meta: run once
            # for real, on zeros, with zero weights (shapes are all we read)
            on_cpu = f"{type(e).__name__}: {' '.join(str(e).split())[:120]}"
        trace.reset()
        for m in fast:
            del m.forward
        fast = []
        _materialise_zeros(model, torch)
        with torch.no_grad():
            return model(torch.zeros(trace.input_shape)), on_cpu
    except _Failed as e:
        raise ConvError(str(e)) from None
    except Exception as e:  # the user's forward failed: say where
        raise ConvError(_failure(e, trace)) from None
    finally:
        for m in fast:
            del m.forward
        for h in handles:
            h.remove()
        for _, m in trace.leaves.values():
            if hasattr(m, "_convcli_spec"):
                del m._convcli_spec


def _materialise_zeros(model, torch) -> None:
    """The model on the CPU with defined values (to_empty leaves garbage, even NaN)."""
    model.to_empty(device="cpu")
    with torch.no_grad():
        for t in model.parameters():
            t.zero_()
        for key, t in model.named_buffers():
            t.fill_(1 if key.endswith("running_var") else 0)


def summarise(model: Module, input_shape: Sequence[int]) -> NetReport:
    """Rows for every leaf-module call of ``model(torch.empty(input_shape))`` on the
    meta device; ConvError naming the module where the forward pass failed."""
    torch = import_torch()
    trace = prepare(model, input_shape)
    result, on_cpu = forward_pass(model, trace, torch)
    owners = [(q or type(m).__name__, type(m).__name__) for q, m in model.named_modules()
              if id(m) not in trace.leaves and any(True for _ in m.parameters(recurse=False))]
    unknown = sorted({r.kind for r in trace.rows if r.macs is None})
    first = result if isinstance(result, torch.Tensor) else _first_tensor(
        torch, result.values() if isinstance(result, dict) else result
        if isinstance(result, (tuple, list)) else ())
    notes = _notes(model, trace, on_cpu, owners, unknown)
    if first is None:
        notes.append(f"forward() returned {article(type(result).__name__)}, not a tensor")
    elif not isinstance(result, torch.Tensor):
        notes.append(f"forward() returned {article(type(result).__name__)}; the output "
                     "shape is that of its first tensor")
    total = sum(p.numel() for p in _unique_params(model))
    return NetReport(trace.input_shape, trace.rows, total, notes,
                     macs_complete=not owners and not unknown,
                     final_shape=None if first is None else tuple(first.shape))


def _notes(model, trace: Trace, on_cpu, owners, unknown) -> list[str]:
    notes = []
    rows, input_shape = trace.rows, trace.input_shape
    if on_cpu:
        notes.append(f"forward() cannot run on the meta device ({on_cpu}); it ran once on "
                     "the CPU, on zeros")
    called = {r.name.split(" (call")[0] for r in rows if r.name}
    idle = [q for q, m in trace.leaves.values() if q not in called
            and sum(p.numel() for p in m.parameters(recurse=False))]
    if idle:
        notes.append(f"{len(idle)} module(s) with parameters were never called in forward(): "
                     + ", ".join(idle[:5]) + (" ..." if len(idle) > 5 else ""))
    if owners:
        own = sum(p.numel() for q, m in model.named_modules() if id(m) not in trace.leaves
                  for p in m.parameters(recurse=False))
        notes.append(f"{own:,} params belong to modules with children ("
                     + ", ".join(f"{q} {t}" for q, t in owners[:4])
                     + (" ..." if len(owners) > 4 else "") + "): in the total, not in a "
                     "row, and the MACs of their own computation are not counted")
    if rows and len(input_shape) >= 2 and len(rows[-1].output_shape) >= 2 and \
            rows[-1].output_shape[0] != input_shape[0]:
        changed = next(r for r in rows if r.output_shape[:1] != input_shape[:1])
        notes.append(
            f"the batch changed from {input_shape[0]} to {rows[-1].output_shape[0]} (first "
            f"seen at {changed.name}, input {shape_list(changed.input_shape)}): a view/reshape "
            "with -1 in forward() may have folded features into the batch; flatten with "
            "x.flatten(1) or nn.Flatten() and size the Linear from this table")
    if unknown:
        notes.append("MACs not counted for " + ", ".join(unknown)
                     + " (no convcli rule; shown as ?)")
    notes.append("functional calls in forward() (F.relu, torch.flatten, x + y, ...) are "
                 "not modules and have no row")
    return notes


def _rule_for(m, shape_in):
    call = call_of(m)
    if call is None:
        return None
    try:
        layer = build_layer(replace(call, text=short_repr(m)))
        layer.output(shape_in, Ctx("its input", True))
    except ConvError:
        return None
    return layer


def _same_shape(x, *args, **kwargs):
    return x.new_empty(x.shape)


def _unique_params(model):
    seen = set()
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            yield p


def _failure(e: Exception, trace: Trace) -> str:
    msg = " ".join(str(e).split())
    if len(msg) > 300:
        msg = msg[:297] + "..."
    if trace.stack:
        qual, m, shape = trace.stack[-1]
        text = (f"the forward pass failed in module {qual!r} {short_repr(m)} on input "
                f"{shape_list(shape) if shape else '(no tensor)'}: {type(e).__name__}: {msg}")
        if type(m).__name__ == "Linear" and shape:
            text += (f"; it receives {shape[-1]} features: use nn.Linear({shape[-1]}, "
                     f"{m.out_features})")
        return text
    where = (f"after {trace.last}" if trace.last
             else f"before any module ran (input {shape_list(trace.input_shape)})")
    text = f"the forward pass failed outside any module, {where}: {type(e).__name__}: {msg}"
    shape = trace.last_shape
    if shape and len(shape) > 2:
        text += (f"; per sample that output has {prod(shape[1:]):,} values "
                 f"({' * '.join(map(str, shape[1:]))}), the in_features a Linear after a "
                 "flatten needs")
    return text
