"""`summary --train` with ``--gpus`` / ``--strategy``: the per-GPU estimate
(strategies.py), ``--budget`` per GPU (the largest per-GPU batch with ``--gpus``, the
fewest GPUs per strategy without), and ``--measure --gpus N``: N local processes on
torch.distributed (dist_worker.py), one step each, measured per rank.

The processes: ``sys.executable -m convcli.engine.summary.dist_worker``, one per rank,
each in its own session (a Ctrl-C reaches this process only), on a port found free on
127.0.0.1; all of them are killed (their process groups) on every way out: a rank that
fails, the deadline (``CONVCLI_MEASURE_TIMEOUT`` seconds, 600 by default), Ctrl-C,
SIGTERM. torch is imported inside functions.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

from convcli.errors import ConvError, EnvironmentProblem
from convcli.network.sharding import check
from convcli.network.train_report import Budget, largest_batch

TIMEOUT = 600.0


def with_dist(report, step, step_at, specs, topts):
    """The TrainReport with its ``dist`` part (and --budget, --measure per GPU);
    ``step_at(n)``: (SavedPass, state, model) at batch n."""
    from convcli.engine.summary.strategies import estimate, fewest
    saved, state, model = step
    d = topts.dist
    check(d)
    dist = estimate(model, saved, state, report, d)
    if topts.budget is not None and d.gpus is None and d.strategy is not None:
        dist.fewest = fewest(dist, model, saved, state, report, d, topts.budget)
        dist.fewest_limit = topts.budget
    elif topts.budget is not None:
        dist.budget = _per_gpu_budget(dist, step_at, specs, topts)
    if topts.measure:
        dist.measured = measure(topts, specs, d)
    return replace(report, dist=dist)


def _per_gpu_budget(dist, step_at, specs, topts) -> Budget:
    """The largest per-GPU batch: the model state is fixed, the activations and the
    batch are fitted at 2 and 4 and checked at the answer and the next batch."""
    from convcli.engine.summary.strategies import activations
    from convcli.engine.summary.saved_tensors import with_batch
    g = dist.per_gpu
    static = g.total_bytes - g.activation_bytes - g.recompute_bytes - g.input_bytes
    cache: dict[int, tuple[int, int, int]] = {}

    def parts(n: int) -> tuple[int, int, int]:
        if n not in cache:
            saved, _, model = step_at(n)
            act, recompute, _ = activations(model, saved, topts.dist)
            cache[n] = (act, recompute, sum(s.nbytes(topts.dtype)
                                            for s in with_batch(specs, n)))
        return cache[n]

    def total(n: int) -> int:
        return static + sum(parts(n))

    per = (total(4) - total(2)) // 2
    fixed = total(2) - 2 * per
    n, at_n, at_next = largest_batch(topts.budget, fixed, per, total)
    shown = parts(n or 1)
    share = dict(g.parts(), activations=shown[0], recompute=shown[1])
    share["input batch"] = shown[2]
    return Budget(topts.budget, n, at_n, at_next, fixed, per, max(share, key=share.__getitem__))


def measure(topts, specs, d) -> list[dict]:
    """--measure --gpus N: one step on N local processes; a dict per rank."""
    if d.gpus is None and d.strategy is not None:
        raise ConvError("--measure with --strategy needs --gpus N: the number of local "
                        "processes to launch")
    world = d.gpus or 1
    if d.strategy in ("zero1", "zero2", "zero3"):
        raise ConvError(f"--measure runs torch's own wrappers (ddp, fsdp); {d.strategy} is "
                        "estimated from its definition only (DeepSpeed is not used here)")
    if topts.source is None:
        raise ConvError("--measure --gpus needs the model as FILE.py:NAME or "
                        "package.module:NAME (each process builds it again)")
    device = _device(topts.device, world)
    target, args, sets, freeze, unfreeze = topts.source
    job = {"target": target, "args": args, "set": sets, "freeze": freeze,
           "unfreeze": unfreeze, "inputs": [s.text() for s in specs],
           "dtype": topts.dtype, "amp": topts.amp, "optimizer": topts.optimizer,
           "strategy": d.strategy or ("ddp" if d.gpus else "none"),
           "shard_unit": d.shard_unit, "checkpoint": d.checkpoint, "offload": d.offload,
           "bucket_view": d.bucket_view}
    ranks = launch([job], world, device)
    return [r["results"][0] for r in ranks]


def _device(device: str, gpus: int) -> str:
    if device != "cuda":
        return "cpu"
    import torch
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if have < gpus:
        raise EnvironmentProblem(f"--measure --gpus {gpus} --device cuda: this machine has "
                                 f"{have} GPU(s); NCCL runs one process per GPU. Leave out "
                                 "--device to measure on the CPU with gloo")
    return "cuda"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(jobs: list[dict], world: int, device: str = "cpu",
           timeout: float | None = None) -> list[dict]:
    """Run ``jobs`` on ``world`` local ranks; each rank's parsed result, by rank."""
    timeout = timeout or float(os.environ.get("CONVCLI_MEASURE_TIMEOUT", TIMEOUT))
    tmp = tempfile.mkdtemp(prefix="convcli-dist-")
    with open(os.path.join(tmp, "jobs.json"), "w") as f:
        json.dump({"jobs": jobs, "device": device, "timeout": max(timeout - 5, 5)}, f)
    procs: list[subprocess.Popen] = []
    try:
        port = str(free_port())
        for rank in range(world):
            with open(os.path.join(tmp, f"rank-{rank}.err"), "w") as err:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "convcli.engine.summary.dist_worker",
                     os.path.join(tmp, "jobs.json"), str(rank), str(world), port, tmp],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    start_new_session=True, env=_env()))
        _wait(procs, tmp, time.monotonic() + timeout, timeout)
        return [_read(tmp, r) for r in range(world)]
    finally:
        _kill(procs)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def _env() -> dict:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _wait(procs, tmp: str, deadline: float, timeout: float) -> None:
    while True:
        codes = [p.poll() for p in procs]
        failed = [r for r, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            _kill(procs)
            first = _first_failure(tmp, failed)
            raise EnvironmentProblem(f"--measure: rank {first} failed: "
                                     f"{_why(tmp, first, codes[first])}")
        if all(c == 0 for c in codes):
            return
        if time.monotonic() > deadline:
            _kill(procs)
            raise EnvironmentProblem(f"--measure: the {len(procs)} processes did not finish "
                                     f"within {timeout:g} s (CONVCLI_MEASURE_TIMEOUT); "
                                     "all were stopped")
        time.sleep(0.05)


def _first_failure(tmp: str, failed: list[int]) -> int:
    """The rank that failed first, by when it wrote its report: once one rank fails,
    the others fail too, with only "Connection reset by peer" to say."""
    def written(rank: int) -> float:
        try:
            return os.stat(os.path.join(tmp, f"rank-{rank}.json")).st_mtime_ns
        except OSError:
            return float("inf")
    return min(failed, key=lambda rank: (written(rank), rank))


def _why(tmp: str, rank: int, code: int | None) -> str:
    try:
        with open(os.path.join(tmp, f"rank-{rank}.json")) as f:
            return json.load(f)["error"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(tmp, f"rank-{rank}.err"), errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        lines = []
    return lines[-1][:300] if lines else f"exit code {code}"


def _read(tmp: str, rank: int) -> dict:
    with open(os.path.join(tmp, f"rank-{rank}.json")) as f:
        return json.load(f)


def _kill(procs) -> None:
    """SIGKILL each rank's process group (start_new_session made one per rank)."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
