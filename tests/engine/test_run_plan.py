"""`convcli run` without torch: option parsing, the memory estimate and budget, and the
faults that must be answered before torch is imported (or when it is missing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from convcli.engine import devices, memory
from convcli.engine.conv_run import parse_dtypes
from convcli.formatting import size
from convcli.errors import ConvError, EnvironmentProblem
from convcli.calculator.parse import parse_bytes
from convcli.calculator.spec import ConvSpec

HUGE = ("run", "100000x64x1024x1024", "-o", "64", "-k", "3")


@pytest.mark.parametrize("text, value", [
    ("8GiB", 8 * 1024 ** 3), ("8G", 8 * 1024 ** 3), ("512M", 512 * 1024 ** 2),
    ("1.5GB", 1_500_000_000), ("1000B", 1000), ("64 KiB", 65536), ("50%", 0.5),
    ("100%", 1.0),
])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["0B", "x", "8 parsecs", "0%", "150%", "-1G", "", "8"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ConvError, match="--max-memory"):
        parse_bytes(text)


@pytest.mark.parametrize("text, want", [
    ("auto", ("auto", None)), ("CPU", ("cpu", None)), ("cuda", ("cuda", None)),
    ("cuda:3", ("cuda", 3)),
])
def test_parse_device(text, want):
    assert devices.parse_device(text) == want


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "mps0", "cuda:-1"])
def test_parse_device_rejects(text):
    with pytest.raises(ConvError, match="auto, cpu, cuda or cuda:N"):
        devices.parse_device(text)


def test_parse_dtypes():
    assert parse_dtypes("float32", False) == ("float32",)
    assert parse_dtypes("float32,bfloat16,float32", True) == ("float32", "bfloat16")
    with pytest.raises(ConvError, match="add --tune"):
        parse_dtypes("float32,float16", False)
    with pytest.raises(ConvError, match="--dtype 'int8': use one of float32"):
        parse_dtypes("int8", False)
    # the names mixed-precision recipes use
    assert parse_dtypes("fp32, bf16,torch.float16", True) == ("float32", "bfloat16", "float16")
    assert parse_dtypes("half", False) == ("float16",)


@pytest.mark.parametrize("version, gpu", [
    ("cuda: Optional[str] = '12.4'\nhip: Optional[str] = None\n", True),
    ("cuda: Optional[str] = None\nhip: Optional[str] = '6.2.41133'\n", True),
    ("cuda: Optional[str] = None\nhip: Optional[str] = None\n", False)])
def test_the_baseline_before_torch_is_imported_is_its_builds(tmp_path, version, gpu):
    """A CUDA or ROCm build of torch holds far more once imported (its GPU libraries,
    even with no GPU: cu130 494-545 MiB, the CPU build 217), read from torch/version.py
    without importing torch (a fake torch here raises if it is imported)."""
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise SystemExit('torch was imported')\n")
    (fake / "version.py").write_text("from typing import Optional\n" + version)
    code = ("import sys; from convcli.engine import memory; "
            "print(memory.gpu_build(), memory.process_baseline() >> 20, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
                       timeout=60)
    assert r.stdout.split() == [str(gpu), "560" if gpu else "240", "False"], r.stderr


def test_the_installed_torchs_build_is_read_as_torch_reports_it():
    torch = pytest.importorskip("torch")
    code = ("import sys; from convcli.engine import memory; "
            "print(memory.gpu_build(), 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    gpu = bool(torch.version.cuda or torch.version.hip)
    assert r.stdout.split() == [str(gpu), "False"], r.stderr
    assert memory.gpu_build() == gpu                      # and once torch is imported


def test_estimate_counts_every_tensor():
    spec = ConvSpec(2, 4, 8, 3, padding=1)
    est = memory.estimate_memory(spec, (2, 4, 10, 10), "float32", threads=1)
    assert est.input == 2 * 4 * 10 * 10 * 4
    assert est.output == 2 * 8 * 10 * 10 * 4
    assert est.weight == 8 * 4 * 9 * 4 and est.bias == 8 * 4
    assert est.padded_input == 0 and est.tune == 0
    assert est.staging == 0                 # float32 from float32: .to() makes no copy
    assert est.baseline == memory.process_baseline()
    # oneDNN's output copy, channels padded to 16, or the stats chunk: the larger
    assert est.workspace == max(2 * 16 * 100 * 4, 2 * 8 * 100 * memory.STATS_BYTES)
    assert est.total == (est.tensors + est.workspace + est.margin + est.baseline)
    f64 = memory.estimate_memory(spec, (2, 4, 10, 10), "float64", threads=1)
    assert f64.input == 2 * est.input and f64.output == 2 * est.output
    assert f64.staging == est.input                  # the float32 source copy stays
    assert memory.cpu_workspace(spec, (2, 4, 10, 10), (2, 8, 10, 10), "float64", 1) == \
        4 * 9 * 100 * 8                              # im2col: one sample per thread


def test_estimate_pads_few_channel_1x1_convs_as_onednn_does():
    """issue 15: 1x1x8192x8192 -o 1 -k 1 was estimated at 1.1 GiB and peaked at 4.6
    GiB (AVX2) / 8.5 GiB (AVX-512): oneDNN reorders input and output into layouts
    with channels padded to 16."""
    spec = ConvSpec(2, 1, 1, 1)
    shape = (1, 1, 8192, 8192)
    est = memory.estimate_memory(spec, shape, "float32", threads=1)
    plane = 8192 * 8192 * 4
    assert est.workspace == 2 * 16 * plane
    assert est.total > 8 * 1024 ** 3
    three_by_three = memory.cpu_workspace(ConvSpec(2, 1, 1, 3, padding=1), shape, shape,
                                          "float32", 1)
    assert three_by_three == 16 * plane     # only the output is reordered for k > 1


def test_estimate_padding_mode_tune_and_cuda():
    spec = ConvSpec(2, 4, 8, 3, padding=(1, 2), padding_mode="reflect")
    est = memory.estimate_memory(spec, (1, 4, 10, 10), "float32", tune_dtypes=("float32",))
    assert est.padded_input == 4 * 12 * 14 * 4
    # a float32 reference and one output at a time; both layouts' input and weight
    assert est.tune == 2 * est.output + 2 * (est.input + est.weight)
    cuda = memory.estimate_memory(spec, (1, 4, 10, 10), "float32", cuda=True)
    assert cuda.staging == 0 and cuda.workspace == 0        # host side, cuDNN in margin
    assert cuda.baseline == 0                               # the GPU holds no interpreter
    t = memory.cpu_workspace(ConvSpec(1, 4, 6, 5, transposed=True), (1, 4, 7), (1, 6, 11),
                             "float32", 1)
    assert t == 6 * 5 * 7 * 4                               # C_out * k * L_in columns


def test_estimate_counts_the_copy_of_same_with_an_even_kernel():
    even = memory.estimate_memory(ConvSpec(2, 2, 2, 4, padding="same"), (1, 2, 8, 8), "float32")
    assert even.padded_input == 2 * 11 * 11 * 4        # 3 total per dim: 1 before, 2 after
    odd = memory.estimate_memory(ConvSpec(2, 2, 2, 3, padding="same"), (1, 2, 8, 8), "float32")
    assert odd.padded_input == 0                       # symmetric: torch pads in the kernel


def test_budget_message_names_estimate_and_limit():
    spec = ConvSpec(2, 3, 4, 3)
    est = memory.estimate_memory(spec, (1, 3, 8, 8), "float32")
    with pytest.raises(EnvironmentProblem) as e:
        memory.check_budget(est, 1000, "--max-memory", "cpu", True)
    msg = str(e.value)
    assert size(est.total) in msg and "1,000 B (--max-memory)" in msg
    assert "use a smaller batch" in msg
    ok = memory.check_budget(est, est.total, "x", "cpu", True)
    assert ok.limit == est.total


def test_default_limit_is_a_share_of_available_ram(monkeypatch):
    monkeypatch.setattr(memory, "own_rss", lambda: 1000)
    free, _ = memory.available_ram()
    limit, source = memory.memory_limit("cpu", None)
    assert free and abs(limit - (int(free * memory.CPU_SHARE) + 1000)) < 64 * 1024 ** 2
    assert "75%" in source and "this process holds" in source
    half, source = memory.memory_limit("cpu", 0.5)
    assert source.startswith("50% of") and 0 < half < free
    assert memory.memory_limit("cpu", 12345) == (12345, "--max-memory")


def test_human_bytes():
    assert size(512) == "512 B"
    assert size(3 * 1024 ** 4) == "3.0 TiB"


def _no_torch(tmp_path):
    """A PYTHONPATH entry whose torch.py fails to import, as if torch were missing."""
    (tmp_path / "torch.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    from tests.conftest import ROOT
    return {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}


def test_torch_missing_says_how_to_install(sh, tmp_path):
    r = sh("run", "1x3x8x8", "-o", "4", "-k", "3", "--json", env=_no_torch(tmp_path))
    assert r.exit_code == 3
    assert "torch is not installed" in r.stderr
    # commands that work anywhere, for torch's CPU build (never the bare extra, which
    # pulls a CUDA build of several GB)
    assert "pip install torch numpy --index-url https://download.pytorch.org/whl/cpu" \
        in r.stderr
    assert "convcli[torch]" not in r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr


def test_huge_run_refused_before_torch_is_imported(sh, tmp_path):
    # torch is unimportable here: the refusal must come from the estimate alone
    t0 = time.perf_counter()
    r = sh(*HUGE, "--device", "cpu", env=_no_torch(tmp_path))
    elapsed = time.perf_counter() - t0
    assert r.exit_code == 3, r.stderr
    assert r.stderr.startswith("Error: this run needs about") and "TiB" in r.stderr
    assert "75% of" in r.stderr and "--max-memory" in r.stderr
    assert elapsed < 10  # generous; benchmarks/ time it, this only catches a hang


@pytest.mark.skipif(devices.gpu_possible(), reason="auto may mean a GPU here")
def test_huge_run_on_auto_refused_without_torch_where_no_gpu_can_exist(sh, tmp_path):
    r = sh(*HUGE, env=_no_torch(tmp_path))
    assert r.exit_code == 3 and "this run needs about" in r.stderr


def test_explicit_max_memory_refuses_without_torch(sh, tmp_path):
    r = sh("run", "1x3x64x64", "-o", "4", "-k", "3", "--max-memory", "100K", "--json",
           env=_no_torch(tmp_path))
    assert r.exit_code == 3 and r.stdout == ""
    assert "the limit is 100.0 KiB (--max-memory)" in r.stderr


def test_parse_bytes_wants_a_unit():
    with pytest.raises(ConvError, match="'8' has no unit; write 8GiB, 8MiB or 8B"):
        parse_bytes("8")


# ---- the process's own cgroup chain ------------------------------------------------

def _cgroup_tree(tmp_path, line, files):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cgroup").write_text(line + "\n")
    for rel, (limit_name, limit, usage_name, usage) in files.items():
        d = tmp_path / "cg" / rel
        d.mkdir(parents=True, exist_ok=True)
        (d / limit_name).write_text(limit + "\n")
        (d / usage_name).write_text(usage + "\n")
    return str(tmp_path / "proc" / "cgroup"), str(tmp_path / "cg")


def test_cgroup_v1_limit_of_the_process_own_cgroup_is_read(tmp_path):
    """The root's file says 'no limit'; the process's own cgroup (from
    /proc/self/cgroup) and its parent set the real ones: the tightest wins."""
    from convcli.engine import ram

    v1 = ("memory.limit_in_bytes", "memory.usage_in_bytes")
    proc, root = _cgroup_tree(tmp_path, "4:memory:/jobs/a1", {
        "memory": (v1[0], "9223372036854771712", v1[1], "5000000000"),
        "memory/jobs": (v1[0], str(8 * 2 ** 30), v1[1], str(7 * 2 ** 30)),
        "memory/jobs/a1": (v1[0], str(4 * 2 ** 30), v1[1], str(2 ** 30)),
    })
    left, where = ram.cgroup_left(proc, root)
    assert left == 2 ** 30 and where.endswith("memory/jobs")     # 8 - 7 GiB beats 4 - 1
    avail, source = ram.available_ram(proc, root)
    assert avail == 2 ** 30 and "cgroup limit" in source


def test_cgroup_v2_max_means_no_limit(tmp_path):
    from convcli.engine import ram

    v2 = ("memory.max", "memory.current")
    proc, root = _cgroup_tree(tmp_path, "0::/user.slice/job", {
        "": (v2[0], "max", v2[1], "100"),
        "user.slice": (v2[0], "max", v2[1], "100"),
        "user.slice/job": (v2[0], "3000", v2[1], "1000"),
    })
    assert ram.cgroup_left(proc, root) == (2000, str(tmp_path / "cg" / "user.slice/job"))
    proc2, root2 = _cgroup_tree(tmp_path / "b", "0::/", {"": (v2[0], "max", v2[1], "1")}) \
        if (tmp_path / "b").mkdir() is None else None
    assert ram.cgroup_left(proc2, root2) is None
