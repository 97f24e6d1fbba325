"""`summary --train`: what one training step keeps in memory, per module call.

Activations are what autograd really saves: every tensor the pack hook of
``torch.autograd.graph.saved_tensors_hooks`` sees, counted once per storage (keyed by
``untyped_storage()._cdata``: views and in-place results share it), in the row of the
module call whose output it is (else of the call that saved it: BatchNorm statistics,
pool indices, masks). Saved parameters and buffers are resident anyway (kind param /
buffer), and the input batch is counted apart.

The estimate runs the model on fake tensors (``FakeTensorMode``, private torch API,
pinned by a test; plain meta with a note if it is missing): tensors that claim to be
CPU tensors, so that autocast and kernel choice (SDPA's flash kernel) are what a real
CPU step does, with no memory at any batch size. The optimizer's state comes from one
real ``step()`` on fake parameters. A model that cannot run on fake tensors (data-
dependent code) runs for real on the CPU under the memory guard. oneDNN's LSTM
workspace, which the fake kernel makes empty, gets its real size (recurrent.py).
torch is imported inside functions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from convcli.engine.summary.dispatch import Recorder, _mode_class, tensors
from convcli.engine.summary.inputs import InputSpec
from convcli.errors import ConvError
from convcli.engine.summary.inputs import make as make_inputs

AMP = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}


@dataclass
class Saved:
    saver: int | None            # the call running when it was saved
    key: Any
    nbytes: int
    kind: str                    # activation | param | buffer | input
    call: int | None = None      # the call whose output it is (else the saver)


class SavingRecorder(Recorder):
    """A Recorder that also remembers which call produced each output storage."""

    def __init__(self, model):
        super().__init__(model)
        self.produced: dict = {}
        self.inputs: dict[int, list[tuple]] = {}    # call -> its tensor inputs' storages

    def pre(self, m, args) -> None:
        super().pre(m, args)
        self.inputs[self.calls[-1].index] = [storage_key(t) for t in tensors(args)]

    def post(self, m, args, out) -> None:
        super().post(m, args, out)
        if self.last is None or self.last.module is not m:
            return
        from torch.multiprocessing.reductions import StorageWeakRef
        for t in tensors(out):
            key = storage_key(t)[0]
            old = self.produced.get(key)
            if old is None or old[0].expired():   # a freed storage's address, reused
                self.produced[key] = (StorageWeakRef(t.untyped_storage()), self.last.index)


def storage_key(t) -> tuple:
    """(identity, bytes) of the storage behind ``t``; works on cpu, cuda, meta and fake
    tensors (data_ptr() is 0 for every meta storage, so it cannot be the key)."""
    try:
        s = t.untyped_storage()
        return s._cdata, s.nbytes()
    except (RuntimeError, NotImplementedError):  # sparse / nested: no single storage
        return ("object", id(t)), t.numel() * t.element_size()


@dataclass
class SavedPass:
    records: list[Saved] = field(default_factory=list)
    rec: SavingRecorder | None = None
    output: Any = None

    def total(self, kind: str = "activation") -> int:
        return sum(r.nbytes for r in self.records if r.kind == kind)

    def by_call(self, kind: str = "activation") -> dict[int | None, int]:
        out: dict[int | None, int] = {}
        for r in self.records:
            if r.kind == kind:
                out[r.call] = out.get(r.call, 0) + r.nbytes
        return out


def saved_tensors(model, args, kwargs, amp: str | None = None, device_type: str = "cpu",
                  guard=None) -> SavedPass:
    """Run ``model(*args, **kwargs)`` in train mode with grad on under the pack hook;
    one Saved per storage. Works unchanged on real, meta and fake tensors."""
    import torch
    rec = SavingRecorder(model)
    params = {storage_key(p)[0] for p in model.parameters()}
    buffers = {storage_key(b)[0] for b in model.buffers()}
    inputs = {storage_key(t)[0] for t in tensors((args, kwargs))}
    result = SavedPass(rec=rec)
    seen: set = set()

    def pack(t):
        key, nbytes = storage_key(t)
        old = rec.produced.get(key)
        if old is not None and old[0].expired():
            del rec.produced[key]
        if key not in seen:
            seen.add(key)
            kind = ("param" if key in params else "buffer" if key in buffers
                    else "input" if key in inputs else "activation")
            saver = rec.stack[-1].index if rec.stack else None
            result.records.append(Saved(saver, key, nbytes, kind))
        return t

    hooks = torch.nn.modules.module
    handles = [hooks.register_module_forward_pre_hook(rec.pre),
               hooks.register_module_forward_hook(rec.post)]
    autocast = (torch.autocast(device_type=device_type, dtype=getattr(torch, AMP[amp]))
                if amp else contextlib.nullcontext())
    mode = _mode_class()(rec, guard) if guard is not None else contextlib.nullcontext()
    model.train()
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, _same), \
                autocast, mode:
            result.output = model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    for r in result.records:   # after the forward: an op may save its own output
        produced = rec.produced.get(r.key)
        r.call = produced[1] if produced is not None else r.saver
    return result


def _same(t):
    return t


def fake_mode():
    """FakeTensorMode (torch._subclasses, private): None where this torch lacks it."""
    try:
        from torch._subclasses.fake_tensor import FakeTensorMode
    except ImportError:
        return None
    return FakeTensorMode(allow_non_fake_inputs=True)


def with_batch(specs: list[InputSpec], batch: int | None) -> list[InputSpec]:
    """The inputs with their batch set to ``batch``: a tensor's first dim; a list's
    length (its first element repeated: a list of images); a tuple or dict has none."""
    if batch is None:
        return list(specs)
    out = []
    for s in specs:
        if s.kind == "list":
            out.append(InputSpec(s.shape, None, s.name, "list", (s.items[0],) * batch))
        elif s.kind != "tensor":
            raise ConvError(f"--budget: the input {s.text()} is a {s.kind}, which has no "
                            "batch to vary; give the batch as a tensor or a list")
        else:
            out.append(InputSpec((batch, *s.shape[1:]) if s.shape else s.shape, s.dtype,
                                 s.name))
    return out


def batch_of(spec: InputSpec) -> int:
    """A tensor's first dim, a list's length (1 for anything else)."""
    if spec.kind == "list":
        return len(spec.items)
    return spec.shape[0] if spec.kind == "tensor" and spec.shape else 1


def estimate_pass(model, specs: list[InputSpec], dtype: str, amp: str | None,
                  optimizer: str | None):
    """(SavedPass, optimizer state bytes by parameter name) on fake tensors (or plain
    meta when FakeTensorMode is missing). ``model`` is on the meta device, in
    ``dtype`` already; it is materialised as fake CPU tensors."""
    from convcli.engine.summary.optim import state_by_param
    mode = fake_mode()
    if mode is None:
        args, kwargs = make_inputs(specs, "meta", dtype)
        return saved_tensors(model, args, kwargs, None), \
            state_by_param(model, optimizer, fake=False)
    from convcli.engine.summary.recurrent import workspace_mode
    with mode:
        model.to_empty(device="cpu")
        args, kwargs = make_inputs(specs, "cpu", dtype)
        with workspace_mode():
            saved = saved_tensors(model, args, kwargs, amp)
        state = state_by_param(model, optimizer, fake=True)
    return saved, state


def real_pass(model, specs: list[InputSpec], dtype: str, amp: str | None, guard):
    """Ground truth: a real forward on the CPU (the tests' measure, and --measure)."""
    args, kwargs = make_inputs(specs, "cpu", dtype)
    return saved_tensors(model, args, kwargs, amp, guard=guard)
