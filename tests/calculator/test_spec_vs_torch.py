"""Property tests: ConvSpec against real CPU forward passes (not the meta device,
which accepts things the CPU rejects). Thousands of random configurations: dims
1-3, transposed, groups, dilation, strides, 'same', padding modes, output_padding,
tiny and unbatched inputs, empty batches, in_channels=0, negative padding with every
padding mode, ambiguous ranks read from command-line text, and invalid ones."""

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from convcli import ConvError, ConvSpec
from convcli.calculator.random_cases import Case, random_case
from convcli.calculator.interpret import read_spec

torch = pytest.importorskip("torch")
from convcli.engine.torch_adapter import build_module, torch_output_shape  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch_output_shape(case.args, case.input_shape), None
        except Exception as e:  # noqa: BLE001 - any rejection counts
            return None, f"{type(e).__name__}: {e}"


def spec_of(case):
    """The layer convcli builds: from the arguments, or read from the user's text."""
    if case.text is not None:
        return read_spec(**case.text, input_shape=case.input_shape)[0]
    return ConvSpec(**case.args)


def outcome_spec(case):
    try:
        return spec_of(case).output_shape(case.input_shape), None
    except ConvError as e:
        return None, str(e)


def zero_size_transposed_quirk(case, torch_shape, spec_error):
    """torch's CPU backends disagree about a transposed output of exactly 0;
    ConvSpec rejects it by design (torch-conv-rules.md)."""
    return (torch_shape is not None and case.args["transposed"] and spec_error
            and 0 in torch_shape[-case.args["dims"]:] and "output size of 0" in spec_error)


@settings(max_examples=examples(3000), **SETTINGS)
@given(st.randoms(use_true_random=False))
def test_validity_and_shape_match_torch(rng):
    case = random_case(rng)
    t_shape, t_err = outcome_torch(case)
    s_shape, s_err = outcome_spec(case)
    if zero_size_transposed_quirk(case, t_shape, s_err):
        return
    assert (t_shape is None) == (s_shape is None), (
        f"{case.describe()}: torch -> {t_shape or t_err}; convcli -> {s_shape or s_err}")
    assert t_shape == s_shape, case.describe()


@settings(max_examples=examples(400), **SETTINGS)
@given(st.randoms(use_true_random=False))
def test_params_and_macs_match_torch(rng):
    from torch.utils.flop_counter import FlopCounterMode

    case = random_case(rng, allow_invalid=False)
    try:
        spec = spec_of(case)
        spec.output_shape(case.input_shape)
    except ConvError:
        return
    module = build_module(spec)
    assert spec.num_params == sum(p.numel() for p in module.parameters())
    assert spec.weight_shape == tuple(module.weight.shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros(case.input_shape))
    assert 2 * spec.macs(case.input_shape) == counter.get_total_flops(), case.describe()


def test_worked_transposed_case_against_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    spec = ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        build_module(spec)(torch.zeros(1, 16, 8, 8))
    assert counter.get_total_flops() == 262_144 == 2 * spec.macs((1, 16, 8, 8))


@pytest.mark.parametrize("args, shape", [
    # cryptic torch messages, plain ones from convcli
    (dict(dims=2, in_channels=3, out_channels=4, kernel_size=5), (1, 3, 3, 3)),
    (dict(dims=2, in_channels=3, out_channels=4, kernel_size=3, padding="same", stride=2),
     (1, 3, 8, 8)),
    (dict(dims=1, in_channels=2, out_channels=2, kernel_size=3, padding=2,
          padding_mode="reflect"), (1, 2, 2)),
    (dict(dims=2, in_channels=2, out_channels=2, kernel_size=3, transposed=True, stride=2,
          output_padding=2), (1, 2, 4, 4)),
])
def test_both_reject_and_ours_names_the_rule(args, shape):
    case = Case({"transposed": False, **args}, shape)
    t_shape, t_err = outcome_torch(case)
    s_shape, s_err = outcome_spec(case)
    assert t_shape is None and s_shape is None
    assert any(w in s_err for w in ("use", "must", "needs")), s_err
