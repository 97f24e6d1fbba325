"""nn.LSTM, nn.GRU and nn.RNN as the backends run them: their MACs in closed form, their
outputs on meta without a step-by-step decomposition, and the workspace oneDNN keeps
for backward.

**Counting.** One layer, one direction does ``rows * (w_ih + w_hh + w_hr)`` MACs
(every step multiplies its input by ``w_ih``, the hidden state by ``w_hh``, and an
LSTM with ``proj_size`` its cell output by ``w_hr``); ``rows`` is time steps x batch,
or the packed data's length. On meta, torch decomposes a recurrent layer into a few
ops per time step (seconds at thousands of steps); ``closed_form_rnns`` swaps the
``torch._VF`` kernels nn.RNNBase calls for a stand-in that makes the outputs' shapes
and counts the MACs at once. The module's own forward (argument checks, initial
states, unbatched inputs, PackedSequence handling) still runs. On a real device the
stand-in calls torch's kernel.

**oneDNN's workspace.** On the CPU nn.LSTM runs ``mkldnn_rnn_layer`` (one call per
layer and direction), whose training workspace autograd saves; the fake-tensor pass
sees it as empty (torch's meta kernel). ``onednn_lstm_workspace`` is its size:
seven parts, each rounded up to a 4 KiB page (oneDNN's ``rnn_utils::set_offsets``):
gates ``T*N*ld(4H)*4``, the hidden output ``T*N*ld(H)``, the layer states, the
diff layer and diff iter states ``2*(T+1)*N*ld(max(I, H))``, the cell state and its
diff ``2*(T+1)*N*H*4`` (``ld``: rounded up to 64 bytes, plus 64 when a multiple of
1 KiB). ``workspace_mode`` puts a fake tensor of that size in place of the empty one,
so that saved_tensors_hooks count it. The rule is checked against the real op over a
grid of sizes (tests/engine/test_summary_recurrent.py). GRU and RNN run torch's own
per-step kernels on the CPU (no workspace). torch is imported inside functions.
"""

from __future__ import annotations

import contextlib
from math import prod
from typing import Any, Callable

KERNELS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
PAGE = 4096


def layer_macs(rows: int, weights) -> int:
    """rows x (the elements of the 2-D weights): one layer and direction, or a whole
    call from its flat weights (w_ih, w_hh[, b_ih, b_hh][, w_hr] per layer and
    direction; a later layer's w_ih takes the earlier layer's output)."""
    return rows * sum(prod(w.shape) for w in weights if len(w.shape) == 2)


def _up(n: int, m: int) -> int:
    return -(-n // m) * m


def good_ld(dim: int, item: int) -> int:
    """oneDNN's leading dimension: 64-byte aligned, never a multiple of 256 elements."""
    ld = _up(dim, 64 // item)
    return ld + 64 // item if ld % 256 == 0 else ld


def onednn_lstm_workspace(steps: int, batch: int, input_size: int, hidden: int,
                          item: int = 4) -> int:
    """Bytes of the training workspace of one ``mkldnn_rnn_layer`` (one layer, one
    direction, no projection); ``item``: the states' element size (4 for float32;
    the gates, cell states and diffs are float32 in every configuration)."""
    t, n = steps, batch
    states = 2 * (t + 1) * n
    widest = max(input_size, hidden)
    parts = [t * n * good_ld(4 * hidden, 4) * 4,          # gates
             t * n * good_ld(hidden, item) * item,        # hidden output
             states * good_ld(widest, item) * item,       # layer states
             states * hidden * 4,                         # cell states
             states * good_ld(widest, 4) * 4,             # diff layer states
             states * good_ld(widest, 4) * 4,             # diff iter states
             states * hidden * 4]                         # diff cell states
    return sum(_up(p, PAGE) for p in parts)


def _packed(args) -> bool:
    """_VF.lstm(input, hx, params, ...) or, packed, (data, batch_sizes, hx, params, ...)."""
    return len(args) > 3 and isinstance(args[3], (list, tuple))


def _stand_in(name: str, original: Callable, count: Callable[[str, int, Any], None]):
    import torch

    def kernel(*args, **kwargs):
        x = args[0]
        if not (isinstance(x, torch.Tensor) and x.device.type == "meta"):
            return original(*args, **kwargs)
        packed = _packed(args)
        hx = args[2] if packed else args[1]
        params = args[3] if packed else args[2]
        bidirectional = bool(args[8] if packed else args[7])
        states = list(hx) if isinstance(hx, (list, tuple)) else [hx]
        rows = x.shape[0] if packed else prod(x.shape[:-1])
        count(name, layer_macs(rows, params), params)
        width = (2 if bidirectional else 1) * states[0].shape[-1]
        out = torch.empty((*x.shape[:-1], width), dtype=x.dtype, device="meta")
        return (out, *(torch.empty_like(s) for s in states))

    return kernel


@contextlib.contextmanager
def closed_form_rnns(count: Callable[[str, int, Any], None]):
    """While it is open, recurrent layers on meta are one stand-in call each;
    ``count(op name, MACs, weights)`` is told their work."""
    from torch import _VF
    saved = {}
    for name in KERNELS:
        original = getattr(_VF, name, None)
        if original is None:
            continue
        saved[name] = vars(_VF).get(name)
        setattr(_VF, name, _stand_in(name, original, count))
    try:
        yield
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(_VF, name)     # _VF resolves the name on use again
            else:
                setattr(_VF, name, original)


def _mkldnn_layer_size(args) -> int:
    """The workspace bytes of one mkldnn_rnn_layer call (its arguments)."""
    x, w_ih, w_hh = args[0], args[1], args[2]
    # (time first: nn.LSTM transposes a batch_first input before the layer calls, and
    # passes the flag on all the same)
    steps, batch = x.shape[0], x.shape[1]
    hidden = w_hh.shape[1]
    item = x.element_size()
    return onednn_lstm_workspace(steps, batch, w_ih.shape[1], hidden, item)


_MODE: list = []


def workspace_mode():
    """A TorchDispatchMode that gives mkldnn_rnn_layer's training workspace its real
    size (an empty tensor of that many bytes: free under FakeTensorMode)."""
    if not _MODE:
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode

        class WorkspaceMode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if func._overloadpacket.__name__ == "mkldnn_rnn_layer" and \
                        out[3].numel() == 0 and _training(args):
                    size = _mkldnn_layer_size(args)
                    out = (*out[:3], torch.empty(size, dtype=torch.uint8,
                                                  device=out[3].device))
                return out

        _MODE.append(WorkspaceMode)
    return _MODE[0]()


def _training(args) -> bool:
    return bool(args[15]) if len(args) > 15 else False
