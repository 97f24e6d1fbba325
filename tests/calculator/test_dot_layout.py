"""`apply --dot`'s index arithmetic (calculator/dot_indices.py): the input elements and
channels one output reads, against torch autograd on random convolutions of every
kind (1d-3d, stride, dilation, groups, padding modes, transposed)."""

from __future__ import annotations

import random
from collections import Counter
from itertools import product

import pytest

from conftest import examples
from convcli.calculator.random_cases import runnable_case
from convcli.calculator.dot_indices import INPUT, NONE, PAD, dot_layout
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError


def random_case(seed: int):
    """A random conv torch runs, its input shape, and the generator."""
    rng = random.Random(seed)
    spec, case = runnable_case(rng, max_size=6)
    return spec, case.input_shape, rng


def _autograd_reads(spec, shape, index):
    """Input element -> how many kernel taps read it, for output ``index``: the
    gradient of that output with all-ones weights and inputs."""
    torch = pytest.importorskip("torch")
    from convcli.engine.torch_adapter import functional

    w = torch.ones(spec.weight_shape, dtype=torch.float64)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = functional(spec, x, w)
    y[index].backward()
    grad = x.grad[0] if len(shape) == spec.dims + 2 else x.grad
    return {tuple(i): int(grad[tuple(i)]) for i in (grad != 0).nonzero().tolist()}


@pytest.mark.parametrize("seed", range(examples(80)))   # rule 3 (tests/conftest.py)
def test_the_layout_reads_what_torch_reads(seed):
    torch = pytest.importorskip("torch")
    spec, shape, rng = random_case(seed)
    out = spec.output_shape(shape)
    position = tuple(rng.randrange(n) for n in out[-spec.dims:])
    oc = rng.randrange(spec.out_channels)
    layout = dot_layout(spec, shape, position, oc)
    want = _autograd_reads(spec, shape, layout.output_index)
    got: Counter = Counter()
    for c in layout.in_channels:
        for taps in product(*[dd.taps for dd in layout.dims]):
            if all(t.source is not None for t in taps):
                got[(c,) + tuple(t.source for t in taps)] += 1
    assert dict(got) == want, (spec.torch_repr(), position, oc)
    assert torch is not None


def test_forward_taps_name_the_padding_and_what_it_copies():
    spec = ConvSpec(dims=1, in_channels=1, out_channels=1, kernel_size=3, padding=2,
                    padding_mode="reflect")
    dd = dot_layout(spec, (1, 1, 5), (0,)).dims[0]
    assert [(t.position, t.source, t.kind) for t in dd.taps] == [
        (-2, 2, PAD), (-1, 1, PAD), (0, 0, INPUT)]
    for mode, sources in (("replicate", [0, 0, 0]), ("circular", [3, 4, 0]),
                          ("zeros", [None, None, 0])):
        s2 = spec.replace(padding_mode=mode)
        assert [t.source for t in dot_layout(s2, (1, 1, 5), (0,)).dims[0].taps] == sources


def test_transposed_taps_say_which_input_reaches_the_output():
    # ConvTranspose1d k=3, s=2, p=1: input i reaches output i*2 - 1 + t through tap t
    spec = ConvSpec(dims=1, in_channels=1, out_channels=1, kernel_size=3, stride=2,
                    padding=1, transposed=True)
    taps = dot_layout(spec, (1, 1, 4), (3,)).dims[0].taps
    assert [(t.tap, t.source, t.kind) for t in taps] == [
        (0, 2, INPUT), (1, None, NONE), (2, 1, INPUT)]
    for t in taps:
        if t.source is not None:
            assert t.source * 2 - 1 + t.tap == 3


def test_groups_pick_the_channels_and_the_weight_entries():
    spec = ConvSpec(dims=2, in_channels=6, out_channels=4, kernel_size=1, groups=2)
    lay = dot_layout(spec, (1, 6, 3, 3), None, out_channel=3)
    assert list(lay.in_channels) == [3, 4, 5] and lay.position == (1, 1)
    assert lay.weight_index(4) == (3, 1)
    t = ConvSpec(dims=2, in_channels=6, out_channels=4, kernel_size=1, groups=2,
                 transposed=True)
    lay = dot_layout(t, (6, 3, 3), 0, out_channel=3)
    assert lay.weight_index(4) == (4, 1) and lay.sample is None
    assert lay.output_index == (3, 0, 0)


@pytest.mark.parametrize("shape, at, channel, words", [
    ((1, 1, 8, 8), (6, 0), 0, "output index 6 on spatial dim 0 \\(H\\) is outside 0..5"),
    ((1, 1, 8, 8), (1, 2, 3), 0, "one output index per spatial dim \\(2: H, W\\)"),
    ((1, 1, 8, 8), (1, 1), 2, "--channel 2: output channels are 0..0"),
    ((0, 1, 8, 8), (1, 1), 0, "empty batch"),
])
def test_positions_outside_the_output_are_refused(shape, at, channel, words):
    spec = ConvSpec(dims=2, in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(ConvError, match=words):
        dot_layout(spec, shape, at, channel)
