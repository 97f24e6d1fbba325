"""`convcli run` answers extreme and hostile input at once, with exit 2 or 3 and one
line: seeds torch cannot take, more threads than the machine has (or than the OS lets
it start), sizes past a float, files that are not regular files, --save through a
link, and a slow dtype announced before the run."""

from __future__ import annotations

import os
import threading

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

BASE = ("run", "1x3x8x8", "-o", "4", "-k", "3", "--repeat", "1", "--warmup", "0",
        "--device", "cpu")


def one_error(r, code, *words):
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("seed, ok", [(2 ** 64 - 1, True), (-2 ** 63, True),
                                      (2 ** 64, False), (-2 ** 63 - 1, False)])
def test_seed_range_is_torchs(cli, seed, ok):
    r = cli(*BASE, "--seed", str(seed), "--json")
    if ok:
        assert r.exit_code == 0, r.stderr
        assert r.json()["seed"] == seed
        # the same seed torch would take gives the same input
        x = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(seed))
        assert r.json()["sources"]["input"] == f"standard normal, seed {seed}"
        assert x.shape == (1, 3, 8, 8)
    else:
        one_error(r, 2, f"--seed {seed}", "-2**63 to 2**64 - 1")


@pytest.mark.parametrize("threads", ["99999999999", str(2 ** 31), str((os.cpu_count() or 1) + 1)])
def test_threads_are_bounded_by_the_machine(cli, threads):
    one_error(cli(*BASE, "--threads", threads), 2, f"--threads {threads}",
              f"this machine has {os.cpu_count()} CPU", f"use 1 to {os.cpu_count()}")


def test_threads_the_os_refuses_are_an_environment_problem(cli, monkeypatch):
    """libgomp ends the process with exit 1 when it cannot start its threads; convcli
    tries first and answers exit 3."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs a machine with 2 CPUs or more")
    real_start = threading.Thread.start

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    r = cli(*BASE, "--threads", "2")
    monkeypatch.setattr(threading.Thread, "start", real_start)
    one_error(r, 3, "--threads 2: this process may not start 2 threads", "ulimit -u")


def test_max_memory_past_a_float_is_a_usage_error(cli):
    one_error(cli(*BASE, "--max-memory", "9" * 400 + "GiB"), 2, "--max-memory",
              "more memory than any machine has")


def test_a_fifo_is_refused_without_blocking(cli, tmp_path):
    fifo = tmp_path / "x.npy"
    os.mkfifo(fifo)
    one_error(cli("run", str(fifo), "-o", "4", "-k", "3"), 3, "is a FIFO (named pipe)")
    one_error(cli(*BASE, "--weight-file", str(fifo)), 3, "--weight-file", "FIFO")


def test_a_device_file_is_refused(cli):
    one_error(cli(*BASE, "--weight-file", "/dev/zero"), 3,
              "--weight-file: '/dev/zero' is a device")


def _x(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32))
    return path


def test_save_over_the_input_through_a_hard_link_is_refused(cli, tmp_path):
    x = _x(tmp_path)
    os.link(x, tmp_path / "same.npy")
    before = x.read_bytes()
    r = cli("run", str(x), "-o", "4", "-k", "3", "--repeat", "1", "--device", "cpu",
            "--save", str(tmp_path / "same.npy"))
    one_error(r, 2, "is also an input file")
    assert x.read_bytes() == before


def test_save_onto_a_symlink_writes_through_it(cli, tmp_path):
    x = _x(tmp_path)
    target = tmp_path / "out" / "y.npy"
    target.parent.mkdir()
    np.save(target, np.zeros(2))
    link = tmp_path / "link.npy"
    link.symlink_to(target)
    r = cli("run", str(x), "-o", "4", "-k", "3", "--repeat", "1", "--device", "cpu",
            "--save", str(link), "--json")
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    weight_free = np.load(target)
    assert weight_free.shape == (1, 4, 6, 6)
    assert sorted(os.listdir(target.parent)) == ["y.npy"]


def test_float16_on_the_cpu_warns_before_running(cli):
    r = cli(*BASE, "--dtype", "float16", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["dtype"] == "float16"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Warning: float16 on the CPU")
    quiet = cli(*BASE, "--dtype", "bfloat16", "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.parametrize("args", [
    ("1x1x2048x2048", "-o", "1", "-k", "1"),                  # oneDNN pads 1 channel to 16
    ("1x8x512x512", "-o", "8", "-k", "3", "--dtype", "float64"),   # im2col columns
])
def test_the_estimate_covers_the_measured_peak(sh, args):
    """The estimate counts what torch's CPU kernels allocate and the process itself:
    a fresh process's peak resident size (VmHWM) stays under it, and not far."""
    r = sh("run", *args, "--repeat", "1", "--warmup", "0", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    peak, est = d["peak_memory"]["bytes"], d["memory_estimate"]["total"]
    assert "VmHWM" in d["peak_memory"]["what"]
    # the allocator and transparent huge pages move a fresh process's peak with the
    # machine's state (the same run measured 424 MB alone and 512-612 MB late in a
    # full suite, against estimates of 496-556 MB): covered within a fifth. The 1-channel
    # case's estimate counts oneDNN's 16-channel padded buffer (880 MB), whose pages are
    # not all touched: a quiet machine measured 537 MB resident (1.64x below it)
    assert peak <= 1.2 * est and est <= 1.7 * peak, (peak, est)


def test_the_peak_is_this_programs_not_its_parents(sh, tmp_path):
    """ru_maxrss carries the parent's resident size over fork and exec: a tiny run
    started from a process holding 1 GiB read 1 GiB. The peak is the run's own."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    code = ("import subprocess, sys\n"
            "big = bytearray(1 << 30)\n"
            "big[::4096] = b'\\x01' * (len(big) // 4096)\n"
            "r = subprocess.run([sys.executable, '-m', 'convcli', 'run', '1x1x32x32', '-o', "
            "'1', '-k', '1', '-r', '1', '--device', 'cpu', '--json'], capture_output=True, "
            "text=True)\n"
            "sys.stdout.write(r.stdout)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    import json
    peak = json.loads(p.stdout)["peak_memory"]["bytes"]
    assert 50 << 20 < peak < 700 << 20, peak     # torch and a tiny conv, not 1 GiB more
