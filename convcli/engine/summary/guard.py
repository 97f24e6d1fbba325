"""The memory guard of summary's CPU pass: a forward that needs real data runs for real,
so it is held to ``run``'s budget (--max-memory, else 75% of the RAM available now,
within the process's cgroup limit).

Before each op runs, its outputs are worked out on the meta device (shapes only); if
the tensors the forward still holds plus the new ones would pass the limit, the op is
not run and the summary stops with exit 3 and the figures. After the op, its outputs
join the live set (each storage once, dropped when torch frees it). An allocation that
fails anyway (MemoryError, "can't allocate memory") is reported the same way.
torch is imported inside functions.
"""

from __future__ import annotations

from convcli.engine.summary.dispatch import tensors
from convcli.errors import EnvironmentProblem
from convcli.formatting import size


class MemoryGuard:
    """Live bytes of the tensors a forward pass created, checked against ``limit``."""

    def __init__(self, limit: int | None, source: str, fixed: int = 0):
        self.limit, self.source = limit, source
        self.fixed = fixed                      # inputs (the model is built already)
        self.live: dict = {}                    # storage key -> (weak ref, bytes)
        self.peak = 0
        self._ops = 0

    def live_bytes(self) -> int:
        if self._ops % 16 == 0:
            self.live = {k: v for k, v in self.live.items() if not v[0].expired()}
        return sum(n for ref, n in self.live.values() if not ref.expired())

    def before(self, func, args, kwargs, recorder) -> None:
        self._ops += 1
        if self.limit is None:
            return
        new = _predicted_bytes(func, args, kwargs)
        if not new:
            return
        need = self.fixed + self.live_bytes() + new
        if need > self.limit:
            where = recorder.stack[-1].name if recorder.stack else "forward()"
            raise EnvironmentProblem(
                f"the CPU pass would need about {size(need)} at {where!r} (op "
                f"{func._overloadpacket.__name__}: {size(new)} more) but the limit is "
                f"{size(self.limit)} ({self.source}); use a smaller --input, or raise "
                "--max-memory if you know it fits")

    def after(self, out, func=None) -> None:
        """``func``'s outputs join the live set; a view's allocate nothing (the view of
        a parameter, such as Linear's weight.t(), is not a tensor the forward created)."""
        from torch.multiprocessing.reductions import StorageWeakRef
        if func is not None and func.is_view:
            return
        for t in tensors(out):
            try:
                storage = t.untyped_storage()
            except (RuntimeError, NotImplementedError):
                continue
            key = storage._cdata
            if key not in self.live or self.live[key][0].expired():
                self.live[key] = (StorageWeakRef(storage), storage.nbytes())
        self.peak = max(self.peak, self.live_bytes())


def _predicted_bytes(func, args, kwargs) -> int:
    """Bytes of the new storages ``func`` would return, from its meta kernel (0 for
    views, in-place ops, and ops whose size depends on data)."""
    import torch
    from torch.utils._pytree import tree_map
    name = func._overloadpacket.__name__
    if func.is_view or name.endswith("_") or name in ("copy_", "_local_scalar_dense"):
        return 0

    def to_meta(t):
        return t.to("meta") if isinstance(t, torch.Tensor) and t.device.type != "meta" else t

    try:
        out = func(*tree_map(to_meta, args), **tree_map(to_meta, kwargs))
    except Exception:  # noqa: BLE001 - data-dependent ops: their size is not known here
        return 0
    return sum(t.numel() * t.element_size() for t in tensors(out))


def memory_error(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, MemoryError) or "can't allocate memory" in text or \
        "defaultcpuallocator" in text or "out of memory" in text
