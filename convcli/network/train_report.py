"""What training costs in memory: the data (TrainRow, TrainReport, Budget), the
optimizer state rule, the largest batch under a budget, and the layer-by-layer rules
`net --train` uses (no torch), each checked against torch's saved_tensors_hooks.

One definition (docs/training.md): per row and in total, parameter bytes, gradient
bytes (trainable parameters only, in their dtype), optimizer state (what the optimizer
keeps per trainable parameter: SGD nothing, momentum 1x, Adam/AdamW 2x plus a 4-byte
`step`), and activation bytes: the storages autograd saves for backward, each counted
once (in-place results and views share their input's storage), in the row of the layer
whose output they are. The input batch is counted apart; parameters that autograd saves
are already counted as parameters. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convcli.errors import ConvError

if TYPE_CHECKING:
    from convcli.network.sharding import DistReport

OPTIMIZERS = ("none", "sgd", "sgd-momentum", "adam", "adamw")
# (copies of each trainable parameter, bytes per parameter tensor: Adam's 0-d fp32 step)
STATE_RULE = {"none": (0, 0), "sgd": (0, 0), "sgd-momentum": (1, 0), "adam": (2, 4),
              "adamw": (2, 4)}
F32 = 4


@dataclass(frozen=True)
class TrainRow:
    """Bytes one row holds during a training step."""

    param_bytes: int = 0
    grad_bytes: int = 0
    state_bytes: int = 0
    activation_bytes: int = 0

    def __add__(self, other: TrainRow) -> TrainRow:
        return TrainRow(self.param_bytes + other.param_bytes,
                        self.grad_bytes + other.grad_bytes,
                        self.state_bytes + other.state_bytes,
                        self.activation_bytes + other.activation_bytes)

    @property
    def total(self) -> int:
        return self.param_bytes + self.grad_bytes + self.state_bytes + self.activation_bytes


@dataclass(frozen=True)
class Budget:
    """The largest batch whose step fits ``limit``: fixed parts and a per-sample part."""

    limit: int
    largest_batch: int               # 0: not even a batch of 1 fits
    total_at_largest: int | None
    total_at_next: int               # the batch one larger: over the limit
    fixed_bytes: int                 # params, buffers, grads, state, batch-independent saves
    per_sample_bytes: int            # activations and input per sample
    dominant: str                    # what takes the most at largest_batch (or at 1)


@dataclass(frozen=True)
class TrainReport:
    dtype: str
    amp: str | None
    optimizer: str
    batch: int
    param_bytes: int
    buffer_bytes: int
    grad_bytes: int
    state_bytes: int
    activation_bytes: int
    input_bytes: int
    saved_param_bytes: int = 0       # parameters autograd saves (already in param_bytes)
    method: str = "rules"            # fake-cpu | meta | cpu-real | rules
    notes: list[str] = field(default_factory=list)
    budget: Budget | None = None
    measured: dict | None = None
    dist: DistReport | None = None   # --gpus / --strategy: per GPU (network/sharding.py)

    @property
    def total_bytes(self) -> int:
        return (self.param_bytes + self.buffer_bytes + self.grad_bytes + self.state_bytes
                + self.activation_bytes + self.input_bytes)

    def parts(self) -> dict[str, int]:
        return {"parameters": self.param_bytes, "buffers": self.buffer_bytes,
                "gradients": self.grad_bytes, "optimizer state": self.state_bytes,
                "activations": self.activation_bytes, "input batch": self.input_bytes}

    @property
    def dominant(self) -> str:
        parts = self.parts()
        return max(parts, key=lambda k: parts[k])


def check_optimizer(name: str) -> str:
    if name not in OPTIMIZERS:
        raise ConvError(f"--optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    return name


def state_rule(trainable_bytes: int, trainable_tensors: int, optimizer: str) -> int:
    copies, per_tensor = STATE_RULE[optimizer]
    return copies * trainable_bytes + per_tensor * trainable_tensors


def largest_batch(limit: int, fixed: int, per_sample: int,
                  total_at=None) -> tuple[int, int | None, int]:
    """The largest N with fixed + per_sample * N <= limit (checked, and walked, with
    ``total_at(N)`` when given: models need not be exactly linear in N). Returns (N,
    total at N or None, total at N + 1)."""
    def total(n: int) -> int:
        return total_at(n) if total_at is not None else fixed + per_sample * n

    if per_sample <= 0:
        raise ConvError("the activations do not grow with the batch here, so no batch size "
                        "is the largest; check --input's first dim is the batch")
    n = max((limit - fixed) // per_sample, 0)
    while n > 0 and total(n) > limit:
        n -= 1
    while total(n + 1) <= limit:
        n += 1
    return n, (total(n) if n else None), total(n + 1)
