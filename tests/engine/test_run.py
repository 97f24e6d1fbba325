"""`convcli run` with torch: exact equality with torch's own modules on given tensors,
seeded defaults, the JSON report, files, --save, devices, dtypes, layouts, --tune."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from convcli.engine import stats, torch_adapter  # noqa: E402
from convcli.engine.timing import time_calls  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402

# (ConvSpec kwargs, input shape): every family torch distinguishes
CASES = [
    (dict(dims=1, in_channels=3, out_channels=4, kernel_size=3), (2, 3, 11)),
    (dict(dims=1, in_channels=4, out_channels=6, kernel_size=4, padding="same",
          dilation=2, groups=2), (1, 4, 9)),
    (dict(dims=1, in_channels=2, out_channels=2, kernel_size=3, padding=2,
          padding_mode="circular"), (2, 9)),                                   # unbatched
    (dict(dims=2, in_channels=6, out_channels=12, kernel_size=3, groups=2), (2, 6, 9, 8)),
    (dict(dims=2, in_channels=4, out_channels=4, kernel_size=(3, 2), stride=(2, 1),
          padding=(1, 0), groups=4, bias=False), (1, 4, 7, 6)),                # depthwise
    (dict(dims=2, in_channels=3, out_channels=5, kernel_size=3, padding=2,
          padding_mode="reflect"), (1, 3, 6, 7)),
    (dict(dims=2, in_channels=3, out_channels=5, kernel_size=3, padding=(1, 2),
          padding_mode="replicate", dilation=2), (2, 3, 8, 8)),
    (dict(dims=2, in_channels=2, out_channels=3, kernel_size=(4, 2), padding="same",
          padding_mode="reflect"), (1, 2, 6, 5)),                          # odd pad at the end
    (dict(dims=2, in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1,
          output_padding=1, groups=2, transposed=True), (1, 4, 5, 5)),
    (dict(dims=3, in_channels=2, out_channels=4, kernel_size=3, padding=1), (1, 2, 5, 4, 6)),
    (dict(dims=3, in_channels=4, out_channels=2, kernel_size=(2, 3, 3), stride=(1, 2, 2),
          dilation=(2, 1, 1), groups=2, transposed=True), (1, 4, 3, 4, 4)),
    (dict(dims=3, in_channels=2, out_channels=2, kernel_size=2, padding=1,
          padding_mode="circular"), (2, 3, 3, 3)),                             # unbatched
]


def _args(kw: dict, in_shape) -> list[str]:
    """ConvSpec kwargs -> the CLI options that build the same layer."""
    def t(v):
        return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
    out = ["-o", str(kw["out_channels"]), "-k", t(kw["kernel_size"]), "--dims", str(kw["dims"]),
           "-i", str(kw["in_channels"])]
    for key, opt in (("stride", "-s"), ("padding", "-p"), ("dilation", "-d"),
                     ("groups", "-g"), ("output_padding", "--output-padding"),
                     ("padding_mode", "--padding-mode")):
        if key in kw:
            out += [opt, t(kw[key])]
    if kw.get("transposed"):
        out.append("--transposed")
    if kw.get("bias") is False:
        out.append("--no-bias")
    return out


def _module(kw: dict):
    """torch's own nn.ConvNd for the case (the oracle; independent of convcli.runner)."""
    kw = dict(kw)
    dims, transposed = kw.pop("dims"), kw.pop("transposed", False)
    cls = getattr(torch.nn, f"{'ConvTranspose' if transposed else 'Conv'}{dims}d")
    return cls(kw.pop("in_channels"), kw.pop("out_channels"), kw.pop("kernel_size"), **kw)


def _write(path, arr):
    np.save(path, arr)
    return str(path)


@pytest.mark.parametrize("kw, in_shape", CASES,
                         ids=[f"{ConvSpec(**kw).torch_repr()}@{'x'.join(map(str, s))}"
                              for kw, s in CASES])
def test_output_equals_torch_exactly_on_given_tensors(cli, tmp_path, kw, in_shape):
    spec = ConvSpec(**kw)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(in_shape, dtype=np.float32)
    w = rng.standard_normal(spec.weight_shape, dtype=np.float32)
    files = ["--weight-file", _write(tmp_path / "w.npy", w)]
    b = None
    if spec.bias:
        b = rng.standard_normal(spec.out_channels, dtype=np.float32)
        files += ["--bias-file", _write(tmp_path / "b.npy", b)]
    r = cli("run", _write(tmp_path / "x.npy", x), *_args(kw, in_shape), *files,
            "--save", str(tmp_path / "y.npy"), "--repeat", "1", "--warmup", "0",
            "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    m = _module(kw)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        if b is not None:
            m.bias.copy_(torch.from_numpy(b))
        want = m(torch.from_numpy(x)).numpy()
    assert y.shape == want.shape and y.dtype == np.float32
    assert np.array_equal(y, want)             # bit for bit
    # and the functional form nn.ConvNd runs (F.pad first for non-'zeros' modes)
    F = torch.nn.functional
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    bt = None if b is None else torch.from_numpy(b)
    d = spec.dims
    if spec.transposed:
        ref = getattr(F, f"conv_transpose{d}d")(xt, wt, bt, spec.stride, spec.padding,
                                                  spec.output_padding, spec.groups,
                                                  spec.dilation)
    elif spec.padding_mode != "zeros":
        pad = [p for pair in reversed(spec.padding_pairs) for p in pair]
        ref = getattr(F, f"conv{d}d")(F.pad(xt, pad, mode=spec.padding_mode), wt, bt,
                                      spec.stride, 0, spec.dilation, spec.groups)
    else:
        ref = getattr(F, f"conv{d}d")(xt, wt, bt, spec.stride, spec.padding, spec.dilation,
                                      spec.groups)
    assert torch.equal(torch.from_numpy(y), ref)
    data = r.json()
    assert data["output_shape"] == data["predicted_shape"] == list(want.shape)
    assert data["stats"]["mean"] == pytest.approx(float(want.astype(np.float64).mean()),
                                                  rel=1e-9, abs=1e-12)


def test_seeded_defaults_are_the_module_init_and_standard_normal(cli, tmp_path):
    r = cli("run", "2x6x9x9", "-o", "4", "-k", "3", "-g", "2", "--seed", "5", "--repeat", "1",
            "--warmup", "0", "--save", str(tmp_path / "y.npy"), "--json")
    assert r.exit_code == 0, r.stderr
    torch.manual_seed(5)
    m = torch.nn.Conv2d(6, 4, 3, groups=2)
    x = torch.randn((2, 6, 9, 9), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = m(x).numpy()
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
    assert r.json()["sources"] == {"input": "standard normal, seed 5",
                                   "weight": "default init of Conv2d, seed 5",
                                   "bias": "default init of Conv2d, seed 5"}


def test_same_seed_same_numbers_other_seed_other_numbers(cli):
    args = ("run", "1x3x16x16", "-o", "8", "-k", "3", "--repeat", "1", "--json")
    a, b = cli(*args).json()["stats"], cli(*args).json()["stats"]
    c = cli(*args, "--seed", "1").json()["stats"]
    assert a == b and a["mean"] != c["mean"]


def test_run_does_not_disturb_the_global_rng(cli):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    assert cli("run", "1x3x8x8", "-o", "2", "-k", "3", "--repeat", "1").exit_code == 0
    assert torch.equal(torch.rand(3), before)


def test_json_report(cli, tmp_path):
    r = cli("run", "2x4x12x12", "-o", "8", "-k", "3", "-p", "1", "--repeat", "4",
            "--warmup", "1", "--save", str(tmp_path / "y.npy"), "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    for key in ("output_shape", "predicted_shape", "device", "dtype", "timing", "gflops",
                "stats", "macs", "flops", "peak_memory", "memory_estimate", "sources",
                "seed", "channels_last", "tune", "torch", "threads", "counting", "layer"):
        assert key in d, key
    assert d["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")
    assert d["dtype"] == "float32" and d["output_shape"] == [2, 8, 12, 12]
    t = d["timing"]
    assert t["repeat"] == 4 and t["warmup"] == 1
    assert 0 < t["min_ms"] <= t["median_ms"] <= t["max_ms"]
    macs = 2 * 12 * 12 * 8 * 4 * 9
    assert d["macs"] == macs and d["flops"] == 2 * macs
    assert d["gflops"] == pytest.approx(2 * macs / (t["median_ms"] / 1e3) / 1e9)
    y = np.load(tmp_path / "y.npy").astype(np.float64)
    s = d["stats"]
    assert s["mean"] == pytest.approx(y.mean(), abs=1e-9)
    assert s["std"] == pytest.approx(y.std(), rel=1e-6)
    assert (s["min"], s["max"]) == (pytest.approx(y.min()), pytest.approx(y.max()))
    assert s["nonfinite"] == 0
    est = d["memory_estimate"]
    assert est["input"] == 2 * 4 * 144 * 4 and est["total"] <= est["limit"]
    assert d["saved"]["path"].endswith("y.npy") and d["saved"]["dtype"] == "float32"


def test_table_report(cli):
    r = cli("run", "1x3x16x16", "-o", "4", "-k", "3", "--repeat", "2")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "Conv2d(3, 4, 3) on" in out and "[1, 4, 14, 14]  = predicted" in out
    assert "median" in out and "GFLOP/s" in out and "0 NaN, 0 Inf" in out
    assert r.stderr == ""


def test_nonfinite_values_are_counted_not_averaged(cli, tmp_path):
    x = np.ones((1, 1, 5), dtype=np.float32)
    x[0, 0, 0] = np.nan
    w = np.ones((1, 1, 1), dtype=np.float32)
    r = cli("run", _write(tmp_path / "x.npy", x), "-o", "1", "-k", "1", "--no-bias",
            "--weight-file", _write(tmp_path / "w.npy", w), "--repeat", "1", "--json",
            "--device", "cpu", "--dims", "1")
    s = r.json()["stats"]
    assert s["nan"] == 1 and s["nonfinite"] == 1 and s["mean"] == 1.0 and s["std"] == 0.0
    assert s["count"] == 5


def test_output_stats_chunked_matches_numpy(monkeypatch):
    monkeypatch.setattr(stats, "STATS_CHUNK", 7)
    a = np.random.default_rng(1).standard_normal((3, 5, 4)).astype(np.float32) * 100 + 3
    a[0, 1, 2], a[2, 0, 0], a[1, 4, 3] = np.inf, np.nan, -np.inf
    t = torch.from_numpy(a).permute(2, 0, 1)             # non-contiguous on purpose
    s = stats.output_stats(t)
    fin = a[np.isfinite(a)].astype(np.float64)
    assert (s.nan, s.inf, s.count) == (1, 2, 60)
    assert s.mean == pytest.approx(fin.mean(), rel=1e-12)
    assert s.std == pytest.approx(fin.std(), rel=1e-12)
    assert (s.min, s.max) == (fin.min(), fin.max())
    empty = stats.output_stats(torch.full((3,), float("nan")))
    assert empty.mean is None and empty.nan == 3


def test_time_calls_counts_and_orders():
    calls = []
    seen = []
    timing, out = time_calls(lambda: calls.append(1) or len(calls), repeat=5, warmup=3,
                                    progress=lambda d, t, label: seen.append((d, t)))
    assert len(calls) == 8 and out == 8 and len(timing.times_ms) == 5
    assert timing.min_ms <= timing.median_ms <= timing.max_ms
    assert seen[-1] == (8, 8) and len(seen) == 8


# ---- files ------------------------------------------------------------------------

def test_npy_faults(cli, tmp_path):
    good = _write(tmp_path / "x.npy", np.zeros((1, 3, 8, 8), np.float32))
    base = ("run", good, "-o", "4", "-k", "3", "--repeat", "1", "--json")
    cases = []
    (tmp_path / "bad.npy").write_bytes(b"not a numpy file at all")
    cases.append((("--weight-file", str(tmp_path / "bad.npy")), 3, "not a readable .npy"))
    np.save(tmp_path / "trunc.npy", np.zeros((4, 3, 3, 3), np.float32))
    raw = (tmp_path / "trunc.npy").read_bytes()
    (tmp_path / "trunc.npy").write_bytes(raw[:-10])
    cases.append((("--weight-file", str(tmp_path / "trunc.npy")), 3, "truncated"))
    cases.append((("--weight-file", str(tmp_path / "nope.npy")), 3, "not found"))
    cases.append((("--weight-file", str(tmp_path)), 3, "is a directory"))
    cases.append((("--weight-file", _write(tmp_path / "i.npy", np.zeros((4, 3, 3, 3), np.int64))),
                   2, "holds int64 values; a convolution needs floating point"))
    cases.append((("--weight-file", _write(tmp_path / "c.npy",
                                            np.zeros((4, 3, 3, 3), np.complex64))), 2,
                   "holds complex64"))
    cases.append((("--weight-file", _write(tmp_path / "r.npy", np.zeros((4, 3, 3), np.float32))),
                   2, "has 3 dims (4x3x3) but Conv2d(3, 4, 3) needs a weight of shape 4x3x3x3"))
    cases.append((("--weight-file", _write(tmp_path / "ch.npy",
                                            np.zeros((4, 2, 3, 3), np.float32))), 2,
                   "has shape 4x2x3x3"))
    cases.append((("--weight-file", _write(tmp_path / "t.npy",
                                            np.zeros((3, 4, 3, 3), np.float32))), 2,
                   "add --transposed"))
    cases.append((("--bias-file", _write(tmp_path / "b.npy", np.zeros(5, np.float32))), 2,
                   "needs a bias of shape 4"))
    cases.append((("--bias-file", _write(tmp_path / "b4.npy", np.zeros(4, np.float32)),
                   "--no-bias"), 2, "with --no-bias"))
    for extra, code, text in cases:
        r = cli(*base, *extra)
        assert r.exit_code == code, (extra, r.stderr)
        assert r.stderr.startswith("Error: ") and text in r.stderr, (extra, r.stderr)
        assert r.stdout == ""


def test_input_npy_faults(cli, tmp_path):
    r = cli("run", str(tmp_path / "missing.npy"), "-o", "4", "-k", "3")
    assert r.exit_code == 3 and "INPUT: file" in r.stderr and "not found" in r.stderr
    x = _write(tmp_path / "x.npy", np.zeros((1, 5, 8, 8), np.float32))
    r = cli("run", x, "-i", "3", "-o", "4", "-k", "3")
    assert r.exit_code == 2 and "(N, C, H, W) it has 5 channels" in r.stderr
    x = _write(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    r = cli("run", x, "-o", "4", "-k", "3")
    assert r.exit_code == 2 and "holds object values" in r.stderr
    x = _write(tmp_path / "r.npy", np.zeros((2,), np.float32))
    r = cli("run", x, "-o", "4", "-k", "1")
    assert r.exit_code == 2 and "has 1 dims" in r.stderr


def test_input_npy_dtype_and_byte_order(cli, tmp_path):
    x = np.random.default_rng(0).standard_normal((1, 2, 6)).astype(">f8")   # big-endian f64
    r = cli("run", _write(tmp_path / "x.npy", x), "-o", "3", "-k", "2", "--repeat", "1",
            "--save", str(tmp_path / "y.npy"), "--json", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    assert r.json()["dtype"] == "float64"                  # the file's dtype by default
    assert np.load(tmp_path / "y.npy").dtype == np.float64


# ---- --save -----------------------------------------------------------------------

def test_save_refuses_bad_targets_before_running(cli, tmp_path):
    x = _write(tmp_path / "x.npy", np.zeros((1, 3, 8, 8), np.float32))
    base = ("run", x, "-o", "4", "-k", "3", "--repeat", "1")
    r = cli(*base, "--save", x)
    assert r.exit_code == 2 and "also an input file; refusing to overwrite" in r.stderr
    assert np.load(x).shape == (1, 3, 8, 8)
    r = cli(*base, "--save", str(tmp_path / "y.txt"))
    assert r.exit_code == 2 and "must end in .npy" in r.stderr
    r = cli(*base, "--save", str(tmp_path / "no" / "y.npy"))
    assert r.exit_code == 3 and "does not exist" in r.stderr


def test_save_is_atomic(cli, tmp_path, monkeypatch):
    target = tmp_path / "y.npy"
    np.save(target, np.arange(3.0))
    real_save = np.save

    def half_then_fail(f, arr, **kw):
        f.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", half_then_fail)
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--repeat", "1", "--save", str(target),
            "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert "cannot write" in r.stderr and "nothing was written" in r.stderr and "No space left" in r.stderr
    monkeypatch.setattr(np, "save", real_save)
    assert np.array_equal(np.load(target), np.arange(3.0))     # the old file, intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.npy"]   # no temp file left


def test_save_bfloat16_as_float32(cli, tmp_path):
    r = cli("run", "1x2x6x6", "-o", "2", "-k", "3", "--dtype", "bfloat16", "--repeat", "1",
            "--save", str(tmp_path / "y.npy"), "--json", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    assert d["dtype"] == "bfloat16" and d["saved"]["dtype"] == "float32"
    assert "bfloat16" in d["saved"]["note"]
    y = np.load(tmp_path / "y.npy")
    # every value is a bfloat16 value: its low 16 bits are zero
    assert not (y.view(np.uint32) & 0xFFFF).any()


# ---- devices, dtypes, layouts, shape check ----------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_lists_devices(cli):
    for dev in ("cuda", "cuda:1"):
        r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--device", dev, "--json")
        assert r.exit_code == 3 and r.stdout == ""
        assert "CUDA is not available" in r.stderr and "available: cpu" in r.stderr


def test_bad_options_are_usage_errors(cli):
    base = ("run", "1x3x8x8", "-o", "4", "-k", "3")
    for extra, text in ((("--repeat", "0"), "--repeat 0"), (("--warmup", "-1"), "--warmup -1"),
                        (("--repeat", "ten"), "--repeat"), (("--device", "gpu"), "'gpu'"),
                        (("--dtype", "int8"), "int8"), (("--dtype", "float32,float16"),
                                                        "add --tune"),
                        (("--max-memory", "lots"), "--max-memory"),
                        (("--seed", "1.5"), "--seed")):
        r = cli(*base, *extra)
        assert r.exit_code == 2 and r.stderr.startswith("Error: ") and text in r.stderr, \
            (extra, r.stderr)


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_dtypes_run_and_match_torch(cli, tmp_path, dtype):
    r = cli("run", "1x4x10x10", "-o", "4", "-k", "3", "--dtype", dtype, "--repeat", "1",
            "--device", "cpu", "--save", str(tmp_path / "y.npy"), "--json")
    if r.exit_code == 3:   # a torch build without this dtype on CPU must say so
        assert f"--dtype {dtype}: torch" in r.stderr
        return
    assert r.exit_code == 0, r.stderr
    torch.manual_seed(0)
    tdt = getattr(torch, dtype)
    m = torch.nn.Conv2d(4, 4, 3).to(tdt)
    x = torch.randn((1, 4, 10, 10), generator=torch.Generator().manual_seed(0)).to(tdt)
    with torch.no_grad():
        want = m(x).float().numpy()
    assert np.array_equal(np.load(tmp_path / "y.npy").astype(np.float32), want)


def test_dtype_missing_on_device_is_an_environment_error(cli, monkeypatch):
    real = torch_adapter.functional

    def no_half(spec, x, weight, bias=None):
        if x.dtype == torch.float16:
            raise RuntimeError("\"slow_conv2d_cpu\" not implemented for 'Half'")
        return real(spec, x, weight, bias)

    monkeypatch.setattr(torch_adapter, "functional", no_half)
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--dtype", "float16", "--device", "cpu",
            "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert "--dtype float16: torch" in r.stderr and "cannot run Conv2d in float16 on cpu" \
        in r.stderr and "not implemented for 'Half'" in r.stderr


def test_shape_disagreement_is_exit_1_with_both_shapes(cli, monkeypatch):
    real = ConvSpec.output_shape

    def off_by_one(self, input_shape):
        shape = real(self, input_shape)
        return shape[:-1] + (shape[-1] + 1,)

    monkeypatch.setattr(ConvSpec, "output_shape", off_by_one)
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--repeat", "1", "--json")
    assert r.exit_code == 1 and r.stdout == ""
    assert "torch produced 1x4x6x6 but convcli predicted 1x4x6x7" in r.stderr


def test_channels_last(cli, tmp_path):
    base = ("run", "2x4x10x10", "-o", "6", "-k", "3", "--repeat", "1", "--device", "cpu")
    r = cli(*base, "--channels-last", "--save", str(tmp_path / "cl.npy"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["channels_last"] is True
    assert cli(*base, "--save", str(tmp_path / "c.npy")).exit_code == 0
    np.testing.assert_allclose(np.load(tmp_path / "cl.npy"), np.load(tmp_path / "c.npy"),
                               rtol=1e-5, atol=1e-5)
    for bad in (("run", "1x4x10", "-o", "4", "-k", "3", "--channels-last"),
                ("run", "4x10x10", "-o", "4", "-k", "3", "--dims", "2", "--channels-last")):
        r = cli(*bad)
        assert r.exit_code == 2 and "--channels-last: applies to batched 2d" in r.stderr


def test_tune(cli):
    r = cli("run", "2x4x12x12", "-o", "8", "-k", "3", "--tune", "--dtype", "float32,bfloat16",
            "--repeat", "2", "--warmup", "0", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    d = r.json()
    rows = d["tune"]
    assert [(x["dtype"], x["channels_last"], x["control"]) for x in rows] == [
        ("float32", False, False), ("float32", True, False), ("bfloat16", False, False),
        ("bfloat16", True, False), ("float32", False, True)]
    assert sum(x["fastest"] for x in rows) == 1 and sum(x["requested"] for x in rows) == 1
    fastest = next(x for x in rows if x["fastest"])
    assert not fastest["control"]
    assert fastest["timing"]["median_ms"] == min(x["timing"]["median_ms"] for x in rows
                                                 if not x["control"])
    mine, control = rows[0], rows[-1]
    # yours is timed in the same interleaved rounds, not reused from the run's timing
    assert mine["requested"] and mine["timing"]["method"] == "perf_counter, interleaved"
    assert mine["timing"]["repeat"] == 5             # 2 rounds, rounded up to 5 variants
    assert all(x["timing"]["repeat"] == 5 for x in rows)
    assert mine["max_abs_diff"] == 0 and mine["speedup"] is None
    assert control["max_abs_diff"] == 0 and control["label"].endswith("(A/A control)")
    for x in rows[1:]:
        low, high = x["speedup_interval"]
        assert low <= x["speedup"] <= high and isinstance(x["within_spread"], bool)
    assert rows[1]["max_abs_diff"] < 1e-4 < rows[2]["max_abs_diff"] < 0.1  # bf16 rounds
    t = cli("run", "2x4x12x12", "-o", "8", "-k", "3", "--tune", "--repeat", "1",
            "--device", "cpu")
    text = " ".join(t.stdout.split())     # the notes wrap where the terminal ends
    assert "timed round-robin" in text and "set: " in text
    assert "within the measured spread" in text and "(A/A)" in text
    one_d = cli("run", "2x4x12", "-o", "8", "-k", "3", "--tune", "--repeat", "1", "--json",
                "--device", "cpu").json()["tune"]
    assert [(x["channels_last"], x["control"]) for x in one_d] == [(False, False),
                                                                   (False, True)]


def test_progress_bar_only_on_a_terminal_after_the_delay():
    from rich.console import Console

    from convcli.views.progress import RunProgress

    buf = io.StringIO()
    p = RunProgress(delay=0, console_=Console(file=buf, force_terminal=True, width=80))
    p(1, 4, "Conv2d float32")
    p(2, 4, "Conv2d float32")
    p.close()
    assert "Conv2d float32" in buf.getvalue()
    quiet = io.StringIO()
    p = RunProgress(delay=3600, console_=Console(file=quiet, force_terminal=True, width=80))
    p(1, 4, "x")
    p.close()
    assert quiet.getvalue() == ""
    piped = RunProgress(delay=0, console_=Console(file=io.StringIO(), force_terminal=False))
    assert piped.enabled is False


def test_run_help_imports_neither_torch_nor_numpy(sh):
    import subprocess
    import sys

    from tests.conftest import ROOT
    code = ("import sys; from typer.testing import CliRunner; from convcli.cli import app; "
            "r = CliRunner().invoke(app, ['run', '--help']); assert r.exit_code == 0; "
            "assert 'convcli run 4x6x64x64' in r.stdout, r.stdout; "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


# ---- CUDA (run for real where a GPU is present) ------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
def test_cuda_run_matches_cpu_and_uses_events(cli, tmp_path):
    base = ("run", "2x8x16x16", "-o", "8", "-k", "3", "-p", "1", "--repeat", "3", "--json")
    g = cli(*base, "--device", "cuda", "--save", str(tmp_path / "g.npy"))
    c = cli(*base, "--device", "cpu", "--save", str(tmp_path / "c.npy"))
    assert g.exit_code == 0 and c.exit_code == 0, g.stderr + c.stderr
    d = g.json()
    assert d["device"].startswith("cuda:") and d["timing"]["method"] == "cuda events"
    assert d["peak_memory"]["bytes"] > 0 and "CUDA max allocated" in d["peak_memory"]["what"]
    np.testing.assert_allclose(np.load(tmp_path / "g.npy"), np.load(tmp_path / "c.npy"),
                               rtol=1e-3, atol=1e-3)       # TF32 may be on


@cuda
def test_cuda_index_out_of_range_lists_devices(cli):
    n = torch.cuda.device_count()
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--device", f"cuda:{n}")
    assert r.exit_code == 3 and f"has {n} CUDA device" in r.stderr and "cuda:0 (" in r.stderr


@cuda
def test_cuda_tune_tries_cudnn_benchmark(cli):
    before = torch.backends.cudnn.benchmark
    r = cli("run", "2x8x16x16", "-o", "8", "-k", "3", "--tune", "--repeat", "2", "--json",
            "--device", "cuda")
    assert r.exit_code == 0, r.stderr
    rows = r.json()["tune"]
    assert {x["cudnn_benchmark"] for x in rows} == {False, True}
    assert len([x for x in rows if not x["control"]]) == 4 and rows[-1]["control"]
    assert torch.backends.cudnn.benchmark == before


@cuda
def test_cuda_budget_uses_free_gpu_memory(cli):
    free, _ = torch.cuda.mem_get_info()
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--json", "--device", "cuda")
    est = r.json()["memory_estimate"]
    assert est["limit"] <= free and "free on the GPU" in est["limit_source"]


def test_threads_apply_to_the_run_and_are_restored(cli):
    before = torch.get_num_threads()
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--threads", "1", "--repeat", "1",
            "--json", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    assert r.json()["threads"] == 1 and r.json()["device_name"] == "CPU, 1 thread"
    assert torch.get_num_threads() == before
    r = cli("run", "1x3x8x8", "-o", "4", "-k", "3", "--threads", "0")
    assert r.exit_code == 2 and "--threads 0" in r.stderr


def test_no_torch_warning_for_same_with_an_even_kernel(cli):
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = cli("run", "1x2x8x8", "-o", "2", "-k", "4", "-p", "same", "--repeat", "1",
                "--device", "cpu")
    assert r.exit_code == 0 and "[1, 2, 8, 8]" in r.stdout
    assert not [w for w in caught if "padding='same'" in str(w.message)]
    assert "Warning" not in r.stderr


def test_tune_marks_a_dtype_the_device_lacks_instead_of_failing(cli, monkeypatch):
    real = torch_adapter.functional

    def no_half(spec, x, weight, bias=None):
        if x.dtype == torch.float16 and x.numel() > 100:   # the probe is small: let it pass
            raise RuntimeError("\"slow_conv2d_cpu\" not implemented for 'Half'")
        return real(spec, x, weight, bias)

    monkeypatch.setattr(torch_adapter, "functional", no_half)
    r = cli("run", "2x4x12x12", "-o", "8", "-k", "3", "--tune", "--dtype", "float32,float16",
            "--repeat", "1", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.stderr
    rows = r.json()["tune"]
    half = [x for x in rows if x["dtype"] == "float16"]
    assert len(half) == 2 and all(x["timing"] is None and "not implemented for 'Half'"
                                  in x["error"] for x in half)
    assert not any(x["fastest"] for x in half) and sum(x["fastest"] for x in rows) == 1
    t = cli("run", "2x4x12x12", "-o", "8", "-k", "3", "--tune", "--dtype", "float32,float16",
            "--repeat", "1", "--device", "cpu")
    assert t.exit_code == 0 and "unsupported" in t.stdout
