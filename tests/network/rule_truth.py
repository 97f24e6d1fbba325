"""What torch says about one layer, for the tests of each rule module
(tests/network/test_<family>.py): the layer built from the family's own RULES (not the
registry), torch's signature for it, and one real CPU forward of torch's module in train
mode, read for the output shape, params, buffers, MACs (FlopCounterMode / 2) and what
autograd saves for backward (saved_tensors_hooks, as a Saves)."""

import inspect
import warnings

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convcli.errors import ConvError
from convcli.network.binding import REQUIRED, STAR, bind
from convcli.network.layer import Ctx, Saves
from convcli.network.text import parse_layers

CTX = Ctx("the input", True)


def build(rules, text):
    """One layer from a family's RULES dict, bound as build_layer binds it."""
    (call,) = parse_layers(text)
    signature, builder = rules[call.name]
    layer = builder(call, bind(call, signature))
    layer.signature = signature
    return layer


def torch_module(text):
    (call,) = parse_layers(text)
    return getattr(torch.nn, call.name)(*call.args, **call.kwargs)


def both_refuse_forward(rules, text, shape, words):
    """torch's module (built, in train mode as built) fails a forward on zeros of this
    shape, and the family's rule refuses the shape in one line that names ``words``."""
    module = torch_module(text)
    with pytest.raises((RuntimeError, ValueError, IndexError, NotImplementedError)), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module(torch.zeros(shape))
    with pytest.raises(ConvError) as e:
        build(rules, text).output(shape, CTX)
    assert words in str(e.value) and "\n" not in str(e.value)


def refused_when_built(rules, text, words):
    """The family's rule refuses the call itself, naming ``words``."""
    with pytest.raises(ConvError) as e:
        build(rules, text)
    assert words in str(e.value)


def torch_signature(name):
    """torch's constructor arguments as (name, default), REQUIRED where it has none,
    (STAR, None) where its keyword-only arguments begin."""
    params = list(inspect.signature(getattr(torch.nn, name).__init__).parameters.values())[1:]
    out = []
    for p in params:
        if p.kind is p.KEYWORD_ONLY and (STAR, None) not in out:
            out.append((STAR, None))
        out.append((p.name, REQUIRED if p.default is inspect.Parameter.empty else p.default))
    return out


class Measured:
    """One forward of torch's module on ``shape`` (train mode, input requiring grad)."""

    def __init__(self, text, shape, dtype=torch.float32):
        module = torch_module(text).to(dtype).train()
        x = torch.randn(shape, dtype=dtype, requires_grad=True)
        seen = {}

        def pack(t):
            s = t.untyped_storage()
            seen.setdefault(s._cdata, s.nbytes())
            return t

        with FlopCounterMode(display=False) as counter, \
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = module(x)
        own = {t.untyped_storage()._cdata for t in [*module.parameters(), *module.buffers()]}
        xs, ys = x.untyped_storage()._cdata, y.untyped_storage()._cdata
        view = xs == ys
        self.shape = tuple(y.shape)
        self.params = sum(p.numel() for p in module.parameters())
        self.buffer_bytes = sum(b.numel() * b.element_size() for b in module.buffers())
        self.macs = counter.get_total_flops() // 2
        self.saves = Saves(input=xs in seen, output=not view and ys in seen,
                           extra=sum(n for s, n in seen.items() if s not in own | {xs, ys}),
                           view=view)
        self.module = module


def check_against_torch(layer, text, shape, size=4, dtype=torch.float32):
    """Every number the rule states for this layer on this input equals torch's."""
    m = Measured(text, shape, dtype)
    out = layer.output(tuple(shape), CTX)
    assert out == m.shape, (text, out, m.shape)
    assert layer.params == m.params, text
    assert layer.macs(tuple(shape), out) == m.macs, text
    assert layer.buffer_bytes(tuple(shape), size) == m.buffer_bytes, text
    assert layer.param_tensors() == len(list(m.module.parameters())), text
    assert layer.saves(tuple(shape), out, size) == m.saves, (text, m.saves)
    return m
