"""engine/torch_errors.py: what torch raises while running a conv becomes the convcli
error with its exit code: out of memory and a missing kernel are the environment (3),
anything else a refusal convcli did not predict (1). The errors are torch's own."""

from __future__ import annotations

import pytest

from convcli.calculator.spec import ConvSpec
from convcli.engine.devices import Device
from convcli.engine.torch_errors import is_out_of_memory, is_unsupported, torch_failure
from convcli.errors import EnvironmentProblem, ExitCode, Mismatch

torch = pytest.importorskip("torch")

CPU = Device("cpu", "cpu", None, "CPU")
SPEC = ConvSpec(2, 3, 8, 3)


def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test wants what torch raised
        return e
    raise AssertionError("torch raised nothing")


def test_torchs_shape_refusal_is_a_mismatch_naming_the_prediction():
    e = raised(lambda: torch.nn.functional.conv2d(torch.zeros(1, 3, 2, 2),
                                                  torch.zeros(8, 3, 3, 3)))
    assert not is_unsupported(e) and not is_out_of_memory(e)
    out = torch_failure(e, SPEC, "float32", CPU, (1, 8, 0, 0))
    assert isinstance(out, Mismatch) and out.exit_code == ExitCode.MISMATCH
    text = str(out)
    assert text.startswith("torch refused Conv2d(3, 8, 3) that convcli predicted would give "
                           "1x8x0x0 (")
    assert "\n" not in text and "bug in convcli's rules" in text


def test_a_kernel_torch_lacks_is_the_environment():
    e = raised(lambda: torch.nn.functional.conv2d(torch.zeros(1, 3, 4, 4, dtype=torch.bool),
                                                  torch.zeros(8, 3, 3, 3, dtype=torch.bool)))
    assert is_unsupported(e), str(e)
    out = torch_failure(e, SPEC, "bool", CPU, (1, 8, 2, 2))
    assert isinstance(out, EnvironmentProblem) and out.exit_code == ExitCode.ENVIRONMENT
    assert str(out).startswith(f"--dtype bool: torch {torch.__version__} cannot run Conv2d "
                               "in bool on cpu (")
    assert "float32 works everywhere" in str(out)


@pytest.mark.parametrize("e", [MemoryError(), RuntimeError("CUDA out of memory. Tried ..."),
                               RuntimeError("[enforce fail] can't allocate memory: 1 GB")])
def test_out_of_memory_in_every_spelling(e):
    assert is_out_of_memory(e)
    out = torch_failure(e, SPEC, "float32", CPU, (1, 8, 2, 2))
    assert isinstance(out, EnvironmentProblem)
    assert "cpu ran out of memory running Conv2d(3, 8, 3)" in str(out)
    assert "lower --max-memory share" in str(out)


def test_torchs_out_of_memory_class_counts():
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    assert is_out_of_memory(oom("no luck"))
    assert not is_out_of_memory(RuntimeError("expected 4D input"))


def test_unsupported_matches_both_wordings():
    assert is_unsupported(RuntimeError('"addmm" not implemented for \'Half\''))
    assert is_unsupported(RuntimeError("This dtype is Not Supported here"))
    assert not is_unsupported(ValueError("padding must be non-negative"))
