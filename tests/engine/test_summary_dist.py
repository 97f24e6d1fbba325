"""summary --train --gpus/--strategy against torch.distributed: for a CNN, a
transformer block and a model with uneven parameter sizes, the per-rank estimate
against one real step on 2 and 4 gloo processes (DDP and FSDP2 fully_shard):
parameter, gradient and optimizer-state bytes exact, saved activations within 5%
(checkpointed too); DDP's buckets; `--measure --gpus 2` end to end; the launcher's
clean-up when a rank fails, hangs, or the user presses Ctrl-C; the CUDA peak where a
GPU exists."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import dist_models as dm  # noqa: E402

FILE = dm.__file__
ROOT = Path(__file__).resolve().parents[2]
EXACT = ("param_bytes", "grad_bytes", "optimizer_state_bytes")


def estimate(cli, name, world, strategy, *extra):
    target, shape = dm.DIST_MODELS[name]
    r = cli("summary", f"{FILE}:{target}", "--input", "x".join(map(str, (4, *shape))),
            "--gpus", str(world), "--strategy", strategy, *extra, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()["train"]


def job(name, strategy, **more):
    target, shape = dm.DIST_MODELS[name]
    return {"target": f"{FILE}:{target}", "args": None,
            "inputs": ["x".join(map(str, (4, *shape)))], "dtype": "float32",
            "optimizer": "adamw", "strategy": strategy, **more}


CASES = [(name, s, {}) for name in dm.DIST_MODELS for s in ("ddp", "fsdp")] + [
    ("block", "fsdp", {"checkpoint": "mlp"}), ("block", "ddp", {"checkpoint": "qkv,mlp"}),
    ("cnn", "fsdp", {"shard_unit": "Conv2d"})]


def _extra(more):
    out = []
    for key, option in (("checkpoint", "--checkpoint"), ("shard_unit", "--shard-unit")):
        if key in more:
            out += [option, more[key]]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_estimate_equals_a_real_step_on_gloo_ranks(cli, world):
    from convcli.engine.summary.distributed import launch
    ranks = launch([job(n, s, **more) for n, s, more in CASES], world, timeout=400)
    assert [r["rank"] for r in ranks] == list(range(world))
    for i, (name, strategy, more) in enumerate(CASES):
        est = estimate(cli, name, world, strategy, *_extra(more))
        assert len(est["per_rank"]) == world
        for rank in range(world):
            got, want = ranks[rank]["results"][i], est["per_rank"][rank]
            where = (name, strategy, more, rank)
            for key in EXACT:
                assert got[key] == want[key], (where, key, got[key], want[key])
            saved = got["saved_activation_bytes"]
            assert abs(want["activation_bytes"] - saved) <= 0.05 * saved, (where, saved)
            if strategy == "ddp":
                assert got["bucket_bytes"] == want["bucket_bytes"] == want["grad_bytes"]
        if strategy == "fsdp" and name == "uneven":   # padding: ranks differ in state
            states = {r["optimizer_state_bytes"] for r in est["per_rank"]}
            assert len(states) > 1 and est["per_gpu"] == est["per_rank"][0]


def test_zero_strategies_follow_their_definitions(cli):
    full = estimate(cli, "block", 1, "ddp")["per_gpu"]
    for world in (2, 3, 4):
        z1, z2, z3 = (estimate(cli, "block", world, s)["per_gpu"]
                      for s in ("zero1", "zero2", "zero3"))
        over = lambda n: -(-n // world)  # noqa: E731
        assert z1["optimizer_state_bytes"] == over(full["optimizer_state_bytes"])
        assert (z1["param_bytes"], z1["grad_bytes"]) == (full["param_bytes"],
                                                         full["grad_bytes"])
        assert z2["grad_bytes"] == over(full["grad_bytes"])
        assert z2["optimizer_state_bytes"] == z1["optimizer_state_bytes"]
        assert z3["param_bytes"] == over(full["param_bytes"])
        assert z3["gathered_bytes"] > 0 and z1["bucket_bytes"] == z2["gathered_bytes"] == 0
        for z in (z1, z2, z3):
            assert z["activation_bytes"] == full["activation_bytes"]
        assert z1["total_bytes"] > z2["total_bytes"]


def test_offload_moves_bytes_to_the_host(cli):
    plain = estimate(cli, "block", 2, "zero2")["per_gpu"]
    off = estimate(cli, "block", 2, "zero2", "--offload", "optimizer")["per_gpu"]
    assert off["optimizer_state_bytes"] == 0
    assert off["host_bytes"] == plain["optimizer_state_bytes"]
    assert off["total_bytes"] == plain["total_bytes"] - plain["optimizer_state_bytes"]
    fsdp = estimate(cli, "block", 2, "fsdp")["per_gpu"]
    off = estimate(cli, "block", 2, "fsdp", "--offload", "params")["per_gpu"]
    assert off["host_bytes"] == sum(fsdp[k] for k in EXACT)
    assert off["param_bytes"] == off["grad_bytes"] == off["optimizer_state_bytes"] == 0


@pytest.mark.slow
def test_measure_gpus_2_from_the_command_line(sh):
    target, shape = dm.DIST_MODELS["uneven"]
    r = sh("summary", f"{FILE}:{target}", "--input", "4x3x8x8", "--gpus", "2", "--strategy",
           "fsdp", "--measure", "--json", env={"CONVCLI_MEASURE_TIMEOUT": "240"}, timeout=300)
    assert r.exit_code == 0, r.stderr
    train = r.json()["train"]
    assert (train["gpus"], train["strategy"]) == (2, "fsdp")
    measured = train["measured_per_rank"]
    assert len(measured) == 2
    for got, want in zip(measured, train["per_rank"]):
        assert all(got[k] == want[k] for k in EXACT)
    text = sh("summary", f"{FILE}:{target}", "--input", "4x3x8x8", "--gpus", "2",
              "--measure", env={"CONVCLI_MEASURE_TIMEOUT": "240"}, timeout=300)
    assert text.exit_code == 0, text.stderr
    assert "measured: one step on 2 processes (cpu, gloo)" in text.stdout
    assert "1 measured" in text.stdout and "DDP buckets" in text.stdout


@pytest.mark.slow
def test_measure_gpus_passes_set_and_freeze_to_every_rank(sh):
    """Each rank builds the model again: with --set's keyword values (NeedsWidth has no
    default width) and --freeze applied, or the measured bytes would differ."""
    r = sh("summary", f"{FILE}:NeedsWidth", "--input", "4x8", "--set", "width=24",
           "--freeze", "first", "--gpus", "2", "--measure", "--json",
           env={"CONVCLI_MEASURE_TIMEOUT": "200"}, timeout=240)
    assert r.exit_code == 0, r.stderr
    train = r.json()["train"]
    measured = train["measured_per_rank"]
    assert len(measured) == 2
    # width 24: head 24*3+3 trainable; first 8*24+24 frozen (no grad, no adamw state)
    head = (24 * 3 + 3) * 4
    for got, want in zip(measured, train["per_rank"]):
        assert all(got[k] == want[k] for k in EXACT), (got, want)
        assert got["param_bytes"] == head + (8 * 24 + 24) * 4
        # adamw: exp_avg and exp_avg_sq per trainable element, a float32 step per tensor
        assert got["grad_bytes"] == head and got["optimizer_state_bytes"] == 2 * head + 2 * 4


def _workers() -> list[int]:
    """PIDs of dist_worker processes still alive that this test process launched, by
    inheritance: under xdist, only those whose environment names this xdist worker (a
    test on another worker may be running ranks of its own at the same moment; an
    orphaned rank keeps its environment, not its parent)."""
    ours = os.environ.get("PYTEST_XDIST_WORKER")
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"convcli.engine.summary.dist_worker" not in f.read():
                    continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if ours is None or f"PYTEST_XDIST_WORKER={ours}".encode() in f.read().split(b"\0"):
                    out.append(int(pid))
        except (OSError, ValueError):
            pass
    return out


@pytest.mark.slow
def test_a_failing_rank_stops_every_rank():
    from convcli.engine.summary.distributed import launch
    from convcli.errors import EnvironmentProblem
    before = set(_workers())
    j = job("uneven", "ddp")
    j["target"], j["inputs"] = f"{FILE}:FailsOnRank1", ["2x8"]
    with pytest.raises(EnvironmentProblem, match="rank 1 failed: ValueError: rank 1 refuses"):
        launch([j], 2, timeout=200)
    assert set(_workers()) - before == set()


@pytest.mark.slow
def test_a_hanging_rank_is_stopped_at_the_deadline():
    from convcli.engine.summary.distributed import launch
    from convcli.errors import EnvironmentProblem
    before = set(_workers())
    j = job("uneven", "ddp")
    j["target"], j["inputs"] = f"{FILE}:HangsOnRank1", ["2x8"]
    start = time.monotonic()
    with pytest.raises(EnvironmentProblem, match="did not finish within 40 s|rank 0 failed"):
        launch([j], 2, timeout=40)
    assert time.monotonic() - start < 60
    assert set(_workers()) - before == set()


@pytest.mark.slow
def test_ctrl_c_stops_the_ranks():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONVCLI_MEASURE_TIMEOUT": "120"}
    env.pop("CONVCLI_DEBUG", None)
    before = set(_workers())
    p = subprocess.Popen([sys.executable, "-m", "convcli", "summary", f"{FILE}:HangsOnRank1",
                          "--input", "2x8", "--gpus", "2", "--measure"], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 100
        while len(set(_workers()) - before) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(set(_workers()) - before) == 2
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130
    time.sleep(0.5)
    assert set(_workers()) - before == set()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_per_rank_against_the_estimate(sh):
    gpus = str(min(torch.cuda.device_count(), 2))
    for strategy in ("ddp", "fsdp"):
        r = sh("summary", f"{FILE}:TransformerBlock", "--input", "32x256x64", "--gpus", gpus,
               "--strategy", strategy, "--measure", "--device", "cuda", "--json",
               timeout=300)
        assert r.exit_code == 0, r.stderr
        train = r.json()["train"]
        for got, want in zip(train["measured_per_rank"], train["per_rank"]):
            assert all(got[k] == want[k] for k in EXACT)
            # the estimate counts what stays (a floor for the peak); backward's
            # activation gradients and the optimizer's temporaries come on top
            peak, est = got["peak_bytes"], want["total_bytes"]
            assert 0.95 * est <= peak <= 2 * est, (strategy, peak, est)


def _at(cli, batch, *extra):
    r = cli("summary", f"{FILE}:TransformerBlock", "--input", f"{batch}x16x64", *extra, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()["train"]


def test_budget_per_gpu_is_the_largest_batch_that_fits(cli):
    opts = ("--gpus", "4", "--strategy", "fsdp", "--checkpoint", "mlp")
    limit = _at(cli, 8, *opts)["per_gpu"]["total_bytes"] + 1000
    b = _at(cli, 1, *opts, "--budget", f"{limit}B")["per_gpu_budget"]
    n = b["largest_batch"]
    assert n >= 8
    assert _at(cli, n, *opts)["per_gpu"]["total_bytes"] == b["total_at_largest_bytes"] <= limit
    assert _at(cli, n + 1, *opts)["per_gpu"]["total_bytes"] == b["total_at_next_bytes"] > limit


def test_fewest_gpus_per_strategy(cli):
    one = _at(cli, 4, "--gpus", "1", "--strategy", "zero3")["per_gpu"]
    state = one["param_bytes"] + one["grad_bytes"] + one["optimizer_state_bytes"]
    limit = one["total_bytes"] - state // 2
    rows = {f["strategy"]: f for f in
            _at(cli, 4, "--strategy", "zero3", "--budget", f"{limit}B")["fewest_gpus"]}
    assert list(rows) == ["ddp", "zero1", "zero2", "zero3", "fsdp"]
    assert rows["ddp"]["gpus"] is None
    for strategy in ("zero1", "zero2", "zero3", "fsdp"):
        g = rows[strategy]["gpus"]
        at = lambda n: _at(cli, 4, "--gpus", str(n), "--strategy",  # noqa: E731
                           strategy)["per_gpu"]["total_bytes"]
        assert g is not None and g > 1, strategy
        assert at(g) == rows[strategy]["total_bytes"] <= limit
        assert at(g - 1) > limit


@pytest.mark.loop       # rule 4 (tests/conftest.py): the zoo's sample in the fast loop
def test_the_per_gpu_table_shows_the_json_numbers(cli):
    """The table of `--gpus` (views/dist.py) in a person's terms: each row the JSON's
    bytes, the strategy named as torch names it."""
    from convcli.formatting import size

    opts = ("--gpus", "4", "--strategy", "fsdp")
    per_gpu = _at(cli, 4, *opts)["per_gpu"]
    r = cli("summary", f"{FILE}:TransformerBlock", "--input", "4x16x64", *opts)
    assert r.exit_code == 0, r.stderr
    table = r.stdout.partition("per GPU: FSDP2 fully_shard on 4 GPUs")[2]
    rows = {line.rpartition("  ")[0].strip(): line.rpartition("  ")[2].split(";")[0]
            for line in table.splitlines()[:9] if line.startswith("  ")}
    for label, key in (("parameters", "param_bytes"), ("gradients", "grad_bytes"),
                       ("optimizer state", "optimizer_state_bytes"),
                       ("activations", "activation_bytes"), ("gathered", "gathered_bytes"),
                       ("total", "total_bytes")):
        assert rows[label] == size(per_gpu[key]), (label, rows)


def test_the_rank_that_failed_first_is_the_one_reported(tmp_path):
    """Once one rank fails, the others fail with only a lost peer to say: the report
    names the rank whose report was written first (rank order breaks a tie)."""
    from convcli.engine.summary.distributed import _first_failure

    for rank, when in ((0, 2_000_000_000), (1, 1_000_000_000)):
        path = tmp_path / f"rank-{rank}.json"
        path.write_text("{}")
        os.utime(path, ns=(when, when))
    assert _first_failure(str(tmp_path), [0, 1]) == 1
    assert _first_failure(str(tmp_path), [0, 2]) == 0          # rank 2 wrote nothing
    os.utime(tmp_path / "rank-0.json", ns=(1_000_000_000, 1_000_000_000))
    assert _first_failure(str(tmp_path), [1, 0]) == 0
