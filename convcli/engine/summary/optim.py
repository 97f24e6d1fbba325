"""What an optimizer keeps per parameter: found by running one real ``step()`` (on fake
parameters with fake gradients: no memory), not by a rule, so that what torch's
optimizers really allocate (Adam's 0-d ``step`` tensors, momentum buffers, their
dtypes) is what is counted. Frozen parameters get no gradient and no state.
torch is imported inside functions."""

from __future__ import annotations


def make_optimizer(name: str, params):
    import torch
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params)
    if name == "adamw":
        return torch.optim.AdamW(params)
    return None


def state_by_param(model, optimizer: str | None, fake: bool,
                   rule: bool = False) -> dict[str, int]:
    """Bytes of optimizer state per trainable parameter name, after one step (on fake
    tensors when ``fake``); by the rule (network/train_report.py) when ``rule`` or when the
    parameters are meta tensors."""
    import torch
    names = {id(p): n for n, p in model.named_parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer in (None, "none") or not params:
        return {}
    if rule or not fake and any(p.device.type == "meta" for p in params):
        from convcli.network.train_report import state_rule
        return {names[id(p)]: state_rule(p.numel() * p.element_size(), 1, optimizer)
                for p in params}
    for p in params:
        p.grad = torch.ones_like(p)
    opt = make_optimizer(optimizer, params)
    opt.step()
    out = {}
    for p in params:
        state = opt.state.get(p, {})
        out[names[id(p)]] = sum(v.numel() * v.element_size() for v in state.values()
                                if isinstance(v, torch.Tensor))
        p.grad = None
    return out
