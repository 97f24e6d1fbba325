"""One counted forward pass: every module call (torch's global module hooks) and every
aten op (a TorchDispatchMode), each op's MACs attributed to the innermost module whose
forward() was running when it ran.

``Recorder`` keeps the calls in the order their forward() started (``Call``: name,
depth, parent, shapes, own MACs by op, uncounted ops, the conv ops' arguments);
``counted_forward`` runs ``model(*args, **kwargs)`` under the hooks and the mode and
removes both however it ends. Ops inside a kernel's own decomposition are not seen
twice: the mode is off while its kernel runs.

Recurrent layers on meta are counted in closed form (recurrent.py), not step by step.
Also here: ``no_mha_fastpath`` (nn.MultiheadAttention's fused CPU kernel hides its
work). torch is imported inside functions.
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from convcli.engine.summary.counting import (FORMULAS, conv_geometry, is_zero_mac,
                                             op_name)


@dataclass
class Call:
    """One call of one module's forward()."""

    index: int
    qual: str                      # dotted name in the model ('' is the model itself)
    module: Any
    number: int                    # 1 for its first call, 2 for the second, ...
    depth: int                     # 0 for the model, 1 for its children, ...
    parent: int | None
    input_shape: tuple | None
    output_shape: tuple | None = None
    children: list[int] = field(default_factory=list)
    own_macs: int = 0
    ops: Counter = field(default_factory=Counter)         # op name -> MACs
    uncounted: set[str] = field(default_factory=set)      # ops with work not counted
    convs: list[dict] = field(default_factory=list)       # conv ops' arguments

    @property
    def name(self) -> str:
        return self.qual if self.number == 1 else f"{self.qual} (call {self.number})"


class Recorder:
    """The calls and op counts of one forward pass. ``check_conv`` (optional) sees the
    arguments of every convolution op before it runs and may raise."""

    def __init__(self, model, param_ids: dict[int, str] | None = None,
                 check_conv: Callable[[dict, Call | None], None] | None = None):
        self.names: dict[int, str] = {}
        for qual, m in model.named_modules(remove_duplicate=False):
            self.names.setdefault(id(m), qual)
        self.calls: list[Call] = []
        self.stack: list[Call] = []
        self.times: Counter = Counter()
        self.total = 0
        self.by_op: Counter = Counter()
        self.uncounted: dict[str, set[str]] = {}
        self.param_ids = param_ids or {}
        self.used: set[int] = set()
        self.check_conv = check_conv
        self.check_module: Callable[[Call], None] | None = None
        self.last: Call | None = None            # the call that returned last
        self.last_op: Any = None                 # the aten op dispatched last

    def _qual(self, m) -> str:
        qual = self.names.get(id(m))
        if qual is None:  # built in forward(), or not registered as a child
            parent = self.stack[-1].qual if self.stack else ""
            qual = f"{parent}.<{type(m).__name__}>".lstrip(".")
            self.names[id(m)] = qual
        return qual

    def pre(self, m, args) -> None:
        qual = self._qual(m)
        self.times[qual] += 1
        parent = self.stack[-1] if self.stack else None
        call = Call(len(self.calls), qual, m, self.times[qual], len(self.stack),
                    None if parent is None else parent.index, first_shape(args))
        if parent is not None:
            parent.children.append(call.index)
        self.calls.append(call)
        self.stack.append(call)
        if self.check_module is not None:
            self.check_module(call)

    def post(self, m, args, out) -> None:
        qual = self._qual(m)
        while self.stack:  # a child whose exception forward() caught left no post
            call = self.stack.pop()
            if call.qual == qual:
                call.output_shape = first_shape(out)
                self.last = call
                break

    def op(self, func, args, kwargs, out) -> None:
        name = op_name(func)
        current = self.stack[-1] if self.stack else None
        if self.param_ids:
            self._mark_used(args)
        formula = FORMULAS.get(name)
        if formula is not None:
            self.count(name, formula(args, kwargs, out))
        elif not is_zero_mac(func, name):
            where = current.qual if current is not None else ""
            self.uncounted.setdefault(name, set()).add(where)
            if current is not None:
                current.uncounted.add(name)

    def count(self, name: str, macs: int, weights=()) -> None:
        """``macs`` of op ``name``, in the row of the call running now; ``weights``:
        parameters it read (a recurrent layer's stand-in runs no aten op)."""
        current = self.stack[-1] if self.stack else None
        self.total += macs
        self.by_op[name] += macs
        if current is not None:
            current.own_macs += macs
            current.ops[name] += macs
        if weights and self.param_ids:
            self._mark_used(weights)

    def before_op(self, func, args, kwargs) -> None:
        self.last_op = func
        if func._overloadpacket.__name__ in ("convolution", "_convolution"):
            geometry = conv_geometry(args, kwargs)
            current = self.stack[-1] if self.stack else None
            if current is not None:
                current.convs.append(geometry)
            if self.check_conv is not None:
                self.check_conv(geometry, current)

    def _mark_used(self, args) -> None:
        ids = self.param_ids
        for a in args:
            if isinstance(a, (list, tuple)):
                for b in a:
                    if id(b) in ids:
                        self.used.add(id(b))
            elif id(a) in ids:
                self.used.add(id(a))


def tensors(x):
    """Every tensor in a value: a tensor, or inside tuples, lists and dicts."""
    torch = sys.modules["torch"]
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from tensors(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from tensors(y)


def first_tensor(values):
    """The first tensor of a module's output (a tensor, or in a tuple, list or dict)."""
    torch = sys.modules["torch"]
    if isinstance(values, torch.Tensor):
        return values
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, (list, tuple)):
        for v in values:
            t = first_tensor(v)
            if t is not None:
                return t
    return None


def first_shape(values) -> tuple | None:
    """The shape of the first tensor in a module's arguments or output."""
    torch = sys.modules["torch"]
    if isinstance(values, torch.Tensor):
        return tuple(values.shape)
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, (list, tuple)):
        for v in values:
            if isinstance(v, torch.Tensor):
                return tuple(v.shape)
        for v in values:
            if isinstance(v, (list, tuple, dict)):
                shape = first_shape(v)
                if shape is not None:
                    return shape
    return None


_MODE: list = []


def _mode_class():
    """The TorchDispatchMode, defined on first use (torch is imported lazily)."""
    if not _MODE:
        from torch.utils._python_dispatch import TorchDispatchMode

        class CountingMode(TorchDispatchMode):
            def __init__(self, recorder: Recorder, guard=None):
                super().__init__()
                self.recorder, self.guard = recorder, guard

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                self.recorder.before_op(func, args, kwargs)
                if self.guard is not None:
                    self.guard.before(func, args, kwargs, self.recorder)
                out = func(*args, **kwargs)
                if self.guard is not None:
                    self.guard.after(out, func)
                self.recorder.op(func, args, kwargs, out)
                return out

        _MODE.append(CountingMode)
    return _MODE[0]


def counted_forward(model, args, kwargs, recorder: Recorder, guard=None):
    """``model(*args, **kwargs)`` in eval mode, no_grad, under the hooks and the mode."""
    import torch

    from convcli.engine.summary.recurrent import closed_form_rnns
    hooks = torch.nn.modules.module
    handles = [hooks.register_module_forward_pre_hook(recorder.pre),
               hooks.register_module_forward_hook(recorder.post)]
    try:
        with torch.no_grad(), no_mha_fastpath(), closed_form_rnns(recorder.count), \
                _mode_class()(recorder, guard):
            return model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def no_mha_fastpath():
    """nn.MultiheadAttention and nn.TransformerEncoderLayer on the CPU under eval and
    no_grad run one fused kernel; with the fast path off they run F.linear and SDPA,
    which the counter sees op by op (torch >= 2.3 has the switch)."""
    import torch
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    old = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(old)
