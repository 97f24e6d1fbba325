"""engine/summary/guard.py: the CPU pass's memory guard. An op whose outputs (worked
out on meta) would take the live tensors past the limit is not run: one
EnvironmentProblem names the module, the op and the sizes. Views and in-place ops
need nothing new; the live set and the peak are the storages torch really holds."""

from __future__ import annotations

import pytest

from convcli.engine.summary.dispatch import Recorder, counted_forward
from convcli.engine.summary.guard import MemoryGuard, _predicted_bytes, memory_error
from convcli.errors import EnvironmentProblem
from convcli.formatting import size

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

aten = torch.ops.aten


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 1000), nn.ReLU(), nn.Linear(1000, 10)).eval()


def test_an_op_past_the_limit_is_not_run_and_named():
    m = model()
    out = m[0](torch.zeros(1, 10))
    one = out.numel() * out.element_size()              # torch's bytes for one output
    guard = MemoryGuard(limit=one + one // 2, source="--max-memory 6 KB", fixed=0)
    with pytest.raises(EnvironmentProblem) as e:
        counted_forward(m, (torch.zeros(1, 10),), {}, Recorder(m), guard)
    text = str(e.value)
    assert f"would need about {size(2 * one)} at '1' (op relu: {size(one)} more)" in text
    assert f"but the limit is {size(one + one // 2)} (--max-memory 6 KB)" in text
    assert "\n" not in text


def test_under_the_limit_the_peak_is_what_torch_held():
    m = model()
    guard = MemoryGuard(limit=10 ** 9, source="test")
    counted_forward(m, (torch.zeros(1, 10),), {}, Recorder(m), guard)
    x = torch.zeros(1, 10)
    a = m[0](x)
    b = m[1](a)
    # the Linear's output and the ReLU's are alive together at the most; the
    # Linear's weight, viewed by t(), is the model's, not a tensor the forward made
    assert guard.peak == a.untyped_storage().nbytes() + b.untyped_storage().nbytes()


def test_without_a_limit_nothing_is_predicted():
    guard = MemoryGuard(limit=None, source="none")
    guard.before(aten.relu.default, (torch.zeros(10 ** 3),), {}, None)   # no error
    assert guard.live == {}


def test_predicted_bytes_are_the_meta_kernels_outputs():
    x = torch.zeros(3, 5)
    assert _predicted_bytes(aten.mm.default, (x, torch.zeros(5, 7)), {}) == 3 * 7 * 4
    assert _predicted_bytes(aten.t.default, (x,), {}) == 0                # a view
    assert _predicted_bytes(aten.relu_.default, (x,), {}) == 0            # in place
    assert _predicted_bytes(aten.nonzero.default, (x,), {}) == 0          # data-dependent


def test_the_fixed_bytes_count_against_the_limit():
    guard = MemoryGuard(limit=100, source="test", fixed=90)
    with pytest.raises(EnvironmentProblem, match="at 'forward\\(\\)'"):
        guard.before(aten.mm.default, (torch.zeros(2, 2), torch.zeros(2, 2)), {},
                     Recorder(nn.Identity()))


@pytest.mark.parametrize("e,want", [(MemoryError(), True),
                                    (RuntimeError("DefaultCPUAllocator: can't allocate memory"),
                                     True),
                                    (RuntimeError("CUDA out of memory"), True),
                                    (RuntimeError("shape mismatch"), False)])
def test_memory_error(e, want):
    assert memory_error(e) is want
