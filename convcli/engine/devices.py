"""--device: parsed without torch, resolved with it; a device that is not there is
an EnvironmentProblem that lists what is."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem


@dataclass(frozen=True)
class Device:
    name: str                 # 'cpu' or 'cuda:N', as torch spells it
    kind: str                 # 'cpu' | 'cuda'
    index: int | None
    description: str          # 'CPU, 2 threads' or the GPU's name

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"


def parse_device(text: str) -> tuple[str, int | None]:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> (kind, index); no torch needed."""
    t = text.strip().lower()
    if t in ("auto", "cpu", "cuda"):
        return t, None
    if t.startswith("cuda:") and t[5:].isdigit():
        return "cuda", int(t[5:])
    raise ConvError(f"--device {text!r} is not a device; use auto, cpu, cuda or cuda:N "
                    "(e.g. cuda:0)")


def available_devices() -> list[str]:
    """'cpu' plus one 'cuda:N (name)' per visible GPU."""
    torch = import_torch()
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                  for i in range(torch.cuda.device_count())]
    return names


def resolve_device(text: str) -> Device:
    """The torch device for --device; EnvironmentProblem listing what is available
    when the one asked for is not there."""
    kind, index = parse_device(text)
    torch = import_torch()
    has_cuda = torch.cuda.is_available()
    if kind == "auto":
        kind = "cuda" if has_cuda else "cpu"
    if kind == "cpu":
        n = torch.get_num_threads()
        return Device("cpu", "cpu", None, f"CPU, {n} thread{'s' * (n != 1)}")
    available = ", ".join(available_devices())
    if not has_cuda:
        why = ("this torch is a CPU-only build" if torch.version.cuda is None
               else "no CUDA device is visible (driver, CUDA_VISIBLE_DEVICES?)")
        raise EnvironmentProblem(
            f"--device {text}: CUDA is not available ({why}, torch {torch.__version__}); "
            f"available: {available}; use --device cpu or auto")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if index is None else index
    if index >= count:
        raise EnvironmentProblem(
            f"--device {text}: this machine has {count} CUDA device{'s' * (count != 1)} "
            f"(cuda:0..cuda:{count - 1}); available: {available}")
    return Device(f"cuda:{index}", "cuda", index, torch.cuda.get_device_name(index))


def max_threads() -> int:
    """The most CPU threads --threads may ask for: this machine's logical CPUs (more
    only oversubscribes them; tens of thousands crash OpenMP)."""
    return os.cpu_count() or 1


def check_threads(threads: int | None) -> None:
    """--threads within 1 .. the machine's CPUs (ConvError, exit 2); no torch needed."""
    if threads is None:
        return
    most = max_threads()
    if not 1 <= threads <= most:
        shown = threads if abs(threads) < 10 ** 30 else "(a huge number)"
        raise ConvError(f"--threads {shown}: this machine has {most} CPU"
                        f"{'s' * (most != 1)}; use 1 to {most}, or leave --threads out for "
                        "torch's default")


def ensure_threads_can_start(threads: int) -> None:
    """Start ``threads - 1`` idle threads and stop them again before torch's OpenMP
    pool is resized: when the OS refuses (a pids limit, RLIMIT_NPROC), libgomp would
    end the whole process with exit 1 ("Thread creation failed"); here it is an
    EnvironmentProblem (exit 3) instead."""
    import threading

    release = threading.Event()
    started = []
    try:
        for _ in range(threads - 1):
            t = threading.Thread(target=release.wait, daemon=True)
            t.start()
            started.append(t)
    except RuntimeError as e:
        raise EnvironmentProblem(
            f"--threads {threads}: this process may not start {threads} threads (only "
            f"{len(started) + 1} could run: {e}); use a smaller --threads, or raise the "
            "limit on processes/threads (ulimit -u, the container's pids limit)") from None
    finally:
        release.set()
        for t in started:
            t.join()


def gpu_possible() -> bool:
    """False when no CUDA/ROCm device can exist (Linux without the device nodes,
    macOS): then 'auto' means the CPU and the budget is checked before importing
    torch."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))
    return True


# ---- memory ----------------------------------------------------------------------
