"""The numpy reference convolution: hand-computed values from the definition, the
padding-mode mapping against torch's F.pad, and a property test against torch."""

from __future__ import annotations

import random

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

from hypothesis import given, settings, strategies as st  # noqa: E402

from convcli.engine import reference, torch_adapter  # noqa: E402
from convcli.calculator.random_cases import random_case  # noqa: E402
from convcli.errors import ConvError  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402


def test_conv1d_by_hand():
    spec = ConvSpec(1, 1, 1, 2, stride=2, padding=1)
    # padded [0, 1, 2, 3, 4, 0]; windows at 0, 2, 4: [0,1], [2,3], [4,0]
    y = reference.conv(spec, np.array([[[1.0, 2, 3, 4]]]), np.array([[[1.0, 10]]]),
                       np.array([0.5]))
    assert y.tolist() == [[[10.5, 32.5, 4.5]]]


def test_dilation_and_groups_by_hand():
    spec = ConvSpec(1, 2, 2, 2, dilation=2, groups=2, bias=False)
    x = np.array([[1.0, 2, 3], [10, 20, 30]])          # unbatched (C, L)
    w = np.array([[[1.0, 1]], [[1.0, -1]]])             # group 0 sums, group 1 differences
    y = reference.conv(spec, x, w)
    assert y.tolist() == [[4.0], [-20.0]]               # taps 0 and 2 of each channel


def test_transposed_by_hand():
    spec = ConvSpec(1, 1, 1, 3, stride=2, transposed=True, bias=False)
    # x[0]*w lands at 0..2, x[1]*w at 2..4: [1, 1, 1+2, 2, 2]
    y = reference.conv(spec, np.array([[[1.0, 2]]]), np.ones((1, 1, 3)))
    assert y.tolist() == [[[1.0, 1, 3, 2, 2]]]
    # padding=1 crops one each side; output_padding=1 adds one position at the end
    spec = ConvSpec(1, 1, 1, 3, stride=2, padding=1, output_padding=1, transposed=True,
                    bias=False)
    assert reference.conv(spec, np.array([[[1.0, 2]]]), np.ones((1, 1, 3))).tolist() == \
        [[[1.0, 3, 2, 2]]]


def test_same_padding_puts_the_odd_one_at_the_end():
    spec = ConvSpec(1, 1, 1, 4, padding="same", bias=False)
    assert spec.padding_pairs == ((1, 2),)
    x = np.arange(1.0, 6.0).reshape(1, 1, 5)            # padded [0, 1..5, 0, 0]
    y = reference.conv(spec, x, np.array([[[1.0, 0, 0, 0]]]))
    assert y.tolist() == [[[0.0, 1, 2, 3, 4]]]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_modes_match_torch_pad(mode):
    """torch 'reflect' = numpy 'reflect', 'replicate' = 'edge', 'circular' = 'wrap'."""
    spec = ConvSpec(2, 2, 2, 3, padding=(2, 3), padding_mode=mode)
    x = torch.arange(2 * 2 * 4 * 5, dtype=torch.float64).reshape(2, 2, 4, 5)
    torch_mode = "constant" if mode == "zeros" else mode
    expected = torch.nn.functional.pad(x, (3, 3, 2, 2), mode=torch_mode).numpy()
    assert np.array_equal(reference.pad(spec, x.numpy()), expected)


def test_rejects_what_torch_rejects():
    with pytest.raises(ConvError):
        reference.conv(ConvSpec(2, 3, 4, 3), np.zeros((1, 2, 8, 8)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ConvError, match="window must fit"):
        reference.conv(ConvSpec(1, 1, 1, 5), np.zeros((1, 1, 3)), np.zeros((1, 1, 5)))


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
def test_matches_torch_in_float64_on_random_configs(seed):
    rng = random.Random(seed)
    case = random_case(rng, allow_invalid=False)
    try:
        spec = ConvSpec(**case.args)
        spec.output_shape(case.input_shape)
    except ConvError:
        return
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(case.input_shape, generator=gen, dtype=torch.float64)
    w = torch.randn(spec.weight_shape, generator=gen, dtype=torch.float64)
    b = torch.randn(spec.out_channels, generator=gen, dtype=torch.float64) if spec.bias else None
    expected = torch_adapter.functional(spec, x, w, b).numpy()
    got = reference.conv(spec, x.numpy(), w.numpy(), None if b is None else b.numpy())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_float32_in_float32_out():
    spec = ConvSpec(2, 3, 4, 3, padding=1)
    y = reference.conv(spec, np.ones((1, 3, 5, 5), np.float32), np.ones((4, 3, 3, 3), np.float32),
                       np.zeros(4, np.float32))
    assert y.dtype == np.float32 and y[0, 0, 2, 2] == 27 and y[0, 0, 0, 0] == 12


def test_batch_chunks_give_the_same_result(monkeypatch):
    spec = ConvSpec(2, 3, 4, 3, padding=1, padding_mode="reflect")
    tspec = ConvSpec(1, 4, 2, 3, stride=2, transposed=True, output_padding=1, groups=2)
    rng = np.random.default_rng(0)
    cases = [(spec, rng.normal(size=(5, 3, 8, 8)), rng.normal(size=(4, 3, 3, 3))),
             (tspec, rng.normal(size=(7, 4, 6)), rng.normal(size=(4, 1, 3)))]
    whole = [reference.conv(s, x, w) for s, x, w in cases]
    monkeypatch.setattr(reference, "CHUNK_BYTES", 1)    # one sample per chunk
    for (s, x, w), expected in zip(cases, whole):
        assert np.array_equal(reference.conv(s, x, w), expected)
