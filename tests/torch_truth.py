"""Ground truths from real forwards, for the tests of --train and --rf.

* saved activations: the storages the pack hook of saved_tensors_hooks sees on a real
  forward in train mode, each once, less the parameters, buffers and the input;
* receptive fields: the nonzero input gradient of one output element, with positive
  weights and nothing that cuts the gradient (float64, eval mode, weights in [0.5, 1],
  biases 0, ReLUs as Identity, max pools as average pools over the same window)."""

import copy
import math

import torch
import torch.nn as nn


def positive_copy(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model).double().eval()

    def swap(parent):
        for name, child in parent.named_children():
            if isinstance(child, (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Dropout)):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, (nn.MaxPool1d, nn.MaxPool2d)):
                cls = nn.AvgPool1d if isinstance(child, nn.MaxPool1d) else nn.AvgPool2d
                setattr(parent, name, cls(child.kernel_size, child.stride, child.padding,
                                          ceil_mode=child.ceil_mode))
            else:
                swap(child)
    swap(m)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) * 0.5 + 0.5)
    return m


def grad_sets(model, input_shape, position, channel=0, upto=None):
    """Per spatial dim: the input indices where d out[0, channel, *position] / d x is
    nonzero (the projection of the support onto each axis). ``upto``: a function
    returning the tensor to differentiate instead of the model's output."""
    x = torch.ones(input_shape, dtype=torch.float64, requires_grad=True)
    y = model(x) if upto is None else upto(model, x)
    y[(0, channel, *position)].backward()
    nz = x.grad[0].abs().sum(0) > 0
    sets = []
    for d in range(nz.dim()):
        other = [i for i in range(nz.dim()) if i != d]
        proj = nz
        for i in sorted(other, reverse=True):
            proj = proj.any(dim=i)
        sets.append({int(i) for i in torch.nonzero(proj).flatten()})
    return sets


def saved_activation_bytes(model, x, amp=None):
    skip = {t.untyped_storage()._cdata for t in [*model.parameters(), *model.buffers(), x]}
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        if s._cdata not in skip:
            seen.setdefault(s._cdata, s.nbytes())
        return t

    ctx = torch.autocast("cpu", dtype=amp) if amp else torch.autocast("cpu", enabled=False)
    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
        model(x)
    return sum(seen.values())


def check_budget_against_real_steps(train: dict, zoo: dict, name: str, limit: int) -> dict:
    """`--train --budget LIMIT`'s answer for one zoo model: its largest batch fits LIMIT
    and the next does not, and each total is, within 1%, the step's static bytes plus
    the float32 input batch plus what a real step at that batch saves."""
    b = train["budget"]
    n = b["largest_batch"]
    assert n > 4 and b["total_at_largest_bytes"] <= limit < b["total_at_next_bytes"]
    static = (train["param_bytes"] + train["buffer_bytes"] + train["grad_bytes"]
              + train["optimizer_state_bytes"])
    per_sample = math.prod(zoo[name][1]) * 4
    for batch, key in ((n, "total_at_largest_bytes"), (n + 1, "total_at_next_bytes")):
        total = static + zoo_saved_bytes(zoo, name, batch) + batch * per_sample
        assert abs(total - b[key]) <= 0.01 * total, (batch, total, b[key])
    return b


def zoo_saved_bytes(zoo: dict, name: str, batch: int, amp=None) -> int:
    """saved_activation_bytes of one model of a test zoo ({name: (build, input shape
    without the batch)}) on a seeded random batch."""
    build, shape = zoo[name]
    torch.manual_seed(0)
    return saved_activation_bytes(build(), torch.randn(batch, *shape), amp)
