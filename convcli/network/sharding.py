"""Training memory per GPU under data parallelism, as arithmetic on parameter shapes
(`summary --train --gpus N --strategy ...`; docs/training.md). Pure Python.

Every strategy keeps a full copy of the buffers, the activations of its own batch
(``--input`` is what one GPU's forward receives) and that batch. What differs is the
model state:

* ``ddp``: parameters, gradients and optimizer state in full; DDP's gradient buckets
  (``bucket_cap_mb``, the first bucket 1 MiB) hold another copy of the gradients unless
  ``gradient_as_bucket_view`` makes the gradients views of the buckets;
* ``zero1``: the optimizer state of the full model over N (rounded up), ``zero2`` the
  gradients too, ``zero3`` the parameters too, plus the unsharded parameters (and, in
  backward, gradients) of the model's remaining parameters and of its largest unit;
* ``fsdp``: torch's FSDP2 ``fully_shard``: each parameter is cut on dim 0 by
  ``torch.chunk`` into N pieces; every rank stores a piece padded to the first
  piece's size (``_fsdp_param.py``); a unit's gradients are one flat reduce-scatter
  output, padded the same way; the optimizer state is ``zeros_like`` of the unpadded
  local piece. During a unit's forward and backward its parameters are all-gathered
  (padded: piece size x N), and the root's (the parameters no unit holds) stay gathered
  for the whole step (``_fsdp_param_group.py``).

``--offload optimizer`` (zero1-3) moves the optimizer state to host memory; ``--offload
params`` (zero3, fsdp: FSDP2's CPUOffloadPolicy) moves the sharded parameters, their
gradients and the optimizer state (the step runs on the host).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convcli.errors import ConvError
from convcli.network.train_report import Budget

STRATEGIES = ("ddp", "zero1", "zero2", "zero3", "fsdp")
OFFLOADS = ("optimizer", "params")
FIRST_BUCKET_BYTES = 1024 * 1024          # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES
MB = 1024 * 1024                          # DDP's _MB_TO_BYTES


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as sharding sees it."""

    name: str
    shape: tuple[int, ...]
    elem: int                     # bytes per element
    trainable: bool
    unit: str                     # the shard unit holding it ('' the root)
    state: int = 0                # optimizer state bytes for the full parameter
    state_fixed: int = 0          # of which bytes do not scale with the size (Adam's step)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * self.elem

    def chunk_rows(self, world: int) -> int:
        """torch.chunk's piece size on dim 0 (the first piece, the padded size)."""
        d0 = self.shape[0] if self.shape else 1
        return -(-d0 // world)

    def padded_numel(self, world: int) -> int:
        return self.chunk_rows(world) * (self.numel // max(self.shape[0], 1)
                                         if self.shape else 1)

    def local_numel(self, world: int, rank: int) -> int:
        """The unpadded piece rank ``rank`` holds (0: torch.chunk made fewer pieces)."""
        d0 = self.shape[0] if self.shape else 1
        c = self.chunk_rows(world)
        rows = max(0, min(c, d0 - rank * c))
        return rows * (self.numel // d0 if d0 else 0)

    def local_state(self, world: int, rank: int) -> int:
        if not self.numel:
            return self.state
        scaled = self.state - self.state_fixed
        return scaled * self.local_numel(world, rank) // self.numel + self.state_fixed


@dataclass(frozen=True)
class PerGpu:
    """Bytes one GPU (one rank) holds at the peak of a step; ``host_bytes`` apart."""

    param_bytes: int
    grad_bytes: int
    optimizer_state_bytes: int
    activation_bytes: int
    buffer_bytes: int
    input_bytes: int
    bucket_bytes: int = 0           # DDP's gradient buckets (a copy of the gradients)
    gathered_bytes: int = 0         # all-gathered parameters + unsharded gradients
    recompute_bytes: int = 0        # --checkpoint: one block's activations, recomputed
    host_bytes: int = 0             # --offload: moved to host memory

    @property
    def total_bytes(self) -> int:
        return (self.param_bytes + self.grad_bytes + self.optimizer_state_bytes
                + self.activation_bytes + self.buffer_bytes + self.input_bytes
                + self.bucket_bytes + self.gathered_bytes + self.recompute_bytes)

    def parts(self) -> dict[str, int]:
        return {"parameters": self.param_bytes, "gradients": self.grad_bytes,
                "optimizer state": self.optimizer_state_bytes,
                "activations": self.activation_bytes, "buffers": self.buffer_bytes,
                "input batch": self.input_bytes, "DDP buckets": self.bucket_bytes,
                "gathered": self.gathered_bytes, "recompute": self.recompute_bytes}


@dataclass(frozen=True)
class DistOptions:
    gpus: int | None = None
    strategy: str | None = None
    shard_unit: str | None = None
    checkpoint: str | None = None
    offload: str | None = None
    bucket_cap_mb: float = 25.0
    bucket_view: bool = False
    measure: bool = False


@dataclass(frozen=True)
class Fewest:
    """--budget without --gpus: the fewest GPUs one strategy needs (0: none do)."""

    strategy: str
    gpus: int
    total_bytes: int | None         # per GPU at that count


@dataclass
class DistReport:
    gpus: int
    strategy: str
    shard_units: list[str]
    checkpointed: list[str]
    offload: str | None
    per_gpu: PerGpu                 # rank 0 (the largest: it always holds a full piece)
    per_rank: list[PerGpu]
    buckets: list[int] = field(default_factory=list)   # DDP bucket sizes in bytes
    notes: list[str] = field(default_factory=list)
    budget: Budget | None = None                       # --budget: per GPU
    fewest: list[Fewest] = field(default_factory=list)  # --budget without --gpus
    fewest_limit: int | None = None
    measured: list[dict] | None = None                 # --measure: one dict per rank


def check(options: DistOptions) -> None:
    """The usage rules, before anything runs."""
    if options.strategy is not None and options.strategy not in STRATEGIES:
        raise ConvError(f"--strategy {options.strategy!r}: use one of "
                        f"{', '.join(STRATEGIES)}")
    if options.gpus is not None and not 1 <= options.gpus <= 65536:
        raise ConvError(f"--gpus {options.gpus}: give a number of GPUs from 1 to 65536")
    if options.offload is not None and options.offload not in OFFLOADS:
        raise ConvError(f"--offload {options.offload!r}: use optimizer or params")
    strategy = options.strategy or ("ddp" if options.gpus else "none")
    if options.offload == "optimizer" and strategy in ("ddp", "fsdp"):
        raise ConvError(f"--offload optimizer needs --strategy zero1, zero2 or zero3 "
                        f"(ZeRO-Offload); {strategy} cannot move the optimizer state alone"
                        + ("; FSDP2 offloads with --offload params" if strategy == "fsdp"
                           else ""))
    if options.offload is not None and strategy == "none":
        raise ConvError(f"--offload {options.offload} needs --strategy zero1, zero2, zero3 "
                        "or fsdp (and --gpus N)")
    if options.offload == "params" and strategy not in ("zero3", "fsdp"):
        raise ConvError(f"--offload params needs sharded parameters: --strategy zero3 or "
                        f"fsdp, not {strategy}")
    if options.shard_unit is not None and strategy not in ("zero3", "fsdp"):
        raise ConvError("--shard-unit is for --strategy fsdp or zero3 (the units whose "
                        "parameters are gathered together)"
                        + ("" if strategy == "none" else f", not {strategy}"))


def ddp_buckets(grad_sizes: list[tuple[int, str]], cap_mb: float) -> list[int]:
    """Bucket sizes in bytes as torch's _compute_bucket_assignment_by_size makes them:
    gradients in reverse registration order, per dtype, a bucket closed once it
    reaches its limit (the first bucket's limit 1 MiB, then ``cap_mb``)."""
    cap = int(cap_mb * MB)
    first = FIRST_BUCKET_BYTES if cap_mb == 25.0 else cap
    limits = [first, cap]
    open_: dict[str, list[int]] = {}        # dtype -> [bytes, limit index]
    closed: list[int] = []
    for nbytes, dtype in reversed(grad_sizes):
        b = open_.setdefault(dtype, [0, 0])
        b[0] += nbytes
        if b[0] >= limits[b[1]]:
            closed.append(b[0])
            open_[dtype] = [0, min(b[1] + 1, 1)]
    closed += [b[0] for b in open_.values() if b[0]]
    return closed


def per_rank(params: list[ParamInfo], world: int, rank: int, strategy: str,
             fixed: PerGpu, offload: str | None = None, bucket_view: bool = False) -> PerGpu:
    """What rank ``rank`` of ``world`` holds; ``fixed`` carries the activations,
    buffers, input and recompute bytes (the same on every rank)."""
    full_p = sum(p.nbytes for p in params)
    full_g = sum(p.nbytes for p in params if p.trainable)
    full_s = sum(p.state for p in params if p.trainable)
    if strategy == "fsdp":
        pb = sum(p.padded_numel(world) * p.elem for p in params)
        gb = sum(p.padded_numel(world) * p.elem for p in params if p.trainable)
        sb = sum(p.local_state(world, rank) for p in params if p.trainable)
        gathered = _gathered(params, lambda p: p.padded_numel(world) * world * p.elem)
    else:
        shard = {"none": 0, "ddp": 0, "zero1": 1, "zero2": 2, "zero3": 3}[strategy]
        pb = _over(full_p, world) if shard >= 3 else full_p
        gb = _over(full_g, world) if shard >= 2 else full_g
        sb = _over(full_s, world) if shard >= 1 else full_s
        gathered = _gathered(params, lambda p: p.nbytes) if shard >= 3 else 0
    host = 0
    if offload == "optimizer":
        host, sb = sb, 0
    elif offload == "params":
        host, pb, gb, sb = pb + gb + sb, 0, 0, 0
    bucket = full_g if strategy == "ddp" and not bucket_view else 0
    return PerGpu(pb, gb, sb, fixed.activation_bytes, fixed.buffer_bytes, fixed.input_bytes,
                  bucket, gathered, fixed.recompute_bytes, host)


def _over(nbytes: int, world: int) -> int:
    return -(-nbytes // world)


def _gathered(params: list[ParamInfo], size) -> int:
    """The root's parameters (gathered all step) and the largest unit's, each with its
    unsharded gradients during backward (trainable ones)."""
    units: dict[str, int] = {}
    for p in params:
        units[p.unit] = units.get(p.unit, 0) + size(p) * (2 if p.trainable else 1)
    root = units.pop("", 0)
    return root + max(units.values(), default=0)


def fewest_gpus(params: list[ParamInfo], strategy: str, fixed: PerGpu, limit: int,
                offload: str | None, bucket_view: bool, most: int = 4096) -> Fewest:
    """The fewest GPUs (1..most) whose rank 0 fits ``limit``; 0 when none does."""
    for world in range(1, most + 1):
        total = per_rank(params, world, 0, strategy, fixed, offload, bucket_view).total_bytes
        if total <= limit:
            return Fewest(strategy, world, total)
        if strategy == "ddp":
            break
    return Fewest(strategy, 0, None)


def matches(qual: str, kind: str, patterns: list[str]) -> bool:
    """--shard-unit / --checkpoint: a class name, or a module-name prefix (``layers``
    matches ``layers.0`` and ``layers.0.attn``; the caller keeps the outermost)."""
    return any(kind == p or qual == p or qual.startswith(p + ".") for p in patterns)


def patterns(text: str, option: str) -> list[str]:
    out = [p.strip() for p in text.split(",") if p.strip()]
    if not out:
        raise ConvError(f"{option} {text!r}: give a class name (TransformerBlock) or a "
                        "module-name prefix (layers), several separated by commas")
    return out
