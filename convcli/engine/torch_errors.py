"""What torch raised while running a convolution -> the convcli error that says why:
out of memory (exit 3), no kernel for this dtype on this device (exit 3), or a
refusal convcli did not predict (a Mismatch, exit 1: a bug in convcli's rules)."""

from __future__ import annotations

from convcli.calculator.spec import ConvSpec
from convcli.engine.devices import Device
from convcli.engine.torch_adapter import import_torch
from convcli.errors import EnvironmentProblem, Mismatch
from convcli.formatting import one_line, shape_x


def is_unsupported(e: Exception) -> bool:
    """torch has no kernel for this dtype (or layout) on this device."""
    text = str(e)
    return "not implemented for" in text or "not supported" in text.lower()


def is_out_of_memory(e: BaseException) -> bool:
    """Python's MemoryError, torch's OutOfMemoryError, or an allocator's refusal."""
    torch = import_torch()
    text = str(e).lower()
    return isinstance(e, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))) or \
        "out of memory" in text or "can't allocate memory" in text


def torch_failure(e: Exception, spec: ConvSpec, dtype: str, device: Device, predicted):
    """Translate what torch raised during the conv into a convcli error."""
    text = one_line(e)
    torch = import_torch()
    if is_out_of_memory(e):
        return EnvironmentProblem(
            f"{device.name} ran out of memory running {spec.torch_repr()} ({text}); use a "
            "smaller input or a lower --max-memory share")
    if is_unsupported(e):
        return EnvironmentProblem(
            f"--dtype {dtype}: torch {torch.__version__} cannot run {spec.kind_name} in "
            f"{dtype} on {device.name} ({text}); use another --dtype (float32 works "
            "everywhere) or another --device")
    return Mismatch(
        f"torch refused {spec.torch_repr()} that convcli predicted would give "
        f"{shape_x(predicted)} ({text}); this is a bug in convcli's rules, please report it")
