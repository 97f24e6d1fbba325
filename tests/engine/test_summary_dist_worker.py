"""engine/summary/dist_worker.py: one rank of `--measure --gpus`, run here in-process
as a world of one (gloo on 127.0.0.1, a free port): what it writes to rank-0.json is
torch's (the parameters' and AdamW state's bytes of a real step, the bytes autograd
saved on the forward); a failing job is reported in the file, exit code 1."""

from __future__ import annotations

import json
import socket

import pytest

from convcli.engine.summary import dist_worker

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("torch.distributed is not built in", allow_module_level=True)

import dist_models as dm  # noqa: E402
from torch_truth import saved_activation_bytes  # noqa: E402

TARGET, SHAPE = dm.DIST_MODELS["cnn"]


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def run(tmp_path, monkeypatch, jobs) -> tuple[int, dict]:
    monkeypatch.setattr(dist_worker, "_orphan_watch", lambda parent: None)  # no thread
    spec = tmp_path / "jobs.json"
    spec.write_text(json.dumps({"device": "cpu", "timeout": 60, "jobs": jobs}))
    code = dist_worker.main([str(spec), "0", "1", free_port(), str(tmp_path)])
    return code, json.loads((tmp_path / "rank-0.json").read_text())


def job(strategy: str, **more) -> dict:
    return {"target": f"{dm.__file__}:{TARGET}", "args": None,
            "inputs": ["x".join(map(str, (4, *SHAPE)))], "dtype": "float32",
            "optimizer": "adamw", "strategy": strategy, **more}


def test_one_rank_measures_torchs_bytes(tmp_path, monkeypatch):
    code, data = run(tmp_path, monkeypatch, [job("none"), job("ddp")])
    assert code == 0 and data["rank"] == 0
    plain, ddp = data["results"]
    torch.manual_seed(0)
    model = getattr(dm, TARGET)()
    x = torch.zeros(4, *SHAPE)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    saved = saved_activation_bytes(model, x)
    opt = torch.optim.AdamW(model.parameters())
    model(x).float().sum().backward()
    opt.step()
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values())
    for r in (plain, ddp):
        assert r["param_bytes"] == r["param_local_bytes"] == r["grad_bytes"] == params
        assert r["optimizer_state_bytes"] == state
    assert plain["saved_activation_bytes"] == saved
    assert "buckets" not in plain
    assert sum(ddp["buckets"]) == ddp["bucket_bytes"] == params   # a copy of the grads
    assert not (tmp_path / "rank-0.json.tmp").exists()


def test_a_failing_job_is_written_down_and_exits_1(tmp_path, monkeypatch):
    code, data = run(tmp_path, monkeypatch, [job("none", target="no_such_file.py:Net")])
    assert code == 1 and data["rank"] == 0
    assert data["error"].startswith("EnvironmentProblem: no_such_file.py: no such file")
    assert "Traceback" in data["traceback"]
    assert not torch.distributed.is_initialized()       # the group was destroyed


def test_a_rank_leaves_without_the_interpreter_s_teardown():
    """After its results are written a rank ends with os._exit: the teardown is where a
    gloo thread can abort it ("terminate called without an active exception")."""
    import subprocess
    import sys

    code = ("import atexit; from convcli.engine.summary.dist_worker import _leave; "
            "atexit.register(lambda: print('teardown ran')); print('written'); _leave(3)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 3 and r.stdout == "written\n", (r.returncode, r.stdout, r.stderr)
