"""`run --sweep` in the engine (engine/run_sweep.py): every row's output shape against
the torch module built from the same arguments, its FLOPs against FlopCounterMode, the
refusals made before the first run, one input tensor for every row, the options on
every row, a row torch refuses or disagrees on."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from convcli.calculator.spec import ConvSpec  # noqa: E402
from convcli.calculator.sweep_grid import Sweep  # noqa: E402
from convcli.engine import conv_run, memory, run_sweep as rs, run_tensors  # noqa: E402
from convcli.engine.conv_run import RunOptions  # noqa: E402
from convcli.errors import ConvError, EnvironmentProblem  # noqa: E402

QUICK = RunOptions(repeat=2, warmup=0, threads=1)


def _value(text: str):
    if text.isalpha():
        return text
    return tuple(int(v) for v in text.split("x")) if "x" in text else int(text)


def _sweep(base: dict, sweeps: list[Sweep], input_shape, options=QUICK):
    """Plan and run a sweep of ConvSpec(**base) with each combination's changes."""
    def read(changes):
        return ConvSpec(**{**base, **{k: _value(v) for k, v in changes.items()}}), None
    planned = rs.plan_sweep(sweeps, read, input_shape, options)
    return rs.run_sweep(sweeps, planned)


def _torch_module(kw: dict):
    kw = dict(kw)
    dims, transposed = kw.pop("dims"), kw.pop("transposed", False)
    cls = getattr(torch.nn, f"{'ConvTranspose' if transposed else 'Conv'}{dims}d")
    return cls(kw.pop("in_channels"), kw.pop("out_channels"), kw.pop("kernel_size"), **kw)


SWEEPS = [
    (dict(dims=2, in_channels=4, out_channels=8, kernel_size=3), (2, 4, 13, 11),
     [Sweep("kernel_size", "k", ("1", "3", "5", "3x5")), Sweep("stride", "s", ("1", "2"))]),
    (dict(dims=1, in_channels=6, out_channels=6, kernel_size=3), (1, 6, 40),
     [Sweep("dilation", "d", ("1", "4")), Sweep("groups", "g", ("1", "2", "3", "6"))]),
    (dict(dims=2, in_channels=4, out_channels=6, kernel_size=4, transposed=True),
     (1, 4, 5, 6),
     [Sweep("stride", "s", ("1", "2", "3")), Sweep("padding", "p", ("0", "1"))]),
    (dict(dims=3, in_channels=2, out_channels=4, kernel_size=3), (1, 2, 6, 5, 7),
     [Sweep("padding", "p", ("0", "1")), Sweep("padding_mode", "padding-mode",
                                                ("zeros", "reflect", "circular"))]),
]


@pytest.mark.parametrize("base, input_shape, sweeps", SWEEPS,
                         ids=["2d-k-s", "1d-d-g", "transposed-s-p", "3d-p-mode"])
def test_every_row_is_torchs_shape_and_flop_count(base, input_shape, sweeps):
    done = _sweep(base, sweeps, input_shape)
    assert len(done.rows) == np.prod([len(s.values) for s in sweeps])
    assert done.mismatch is None
    x = torch.randn(input_shape)
    for row in done.rows:
        assert row.error is None, row.error
        kw = {**base, **{k: _value(v) for k, v in row.values.items()}}
        module = _torch_module(kw)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = module(x)
        r = row.answer.result
        assert r.output_shape == tuple(y.shape), row.values
        assert r.flops == counter.get_total_flops(), row.values
        assert r.output is None                 # not kept from one row to the next


def test_a_combination_torch_refuses_is_a_row_that_says_why_and_the_rest_run():
    base = dict(dims=2, in_channels=3, out_channels=4, kernel_size=3)
    done = _sweep(base, [Sweep("kernel_size", "k", ("3", "9", "5"))], (1, 3, 7, 7))
    assert [r.values["kernel_size"] for r in done.rows] == ["3", "9", "5"]
    assert done.rows[1].answer is None and "kernel" in done.rows[1].error
    assert [r.answer.result.output_shape for r in done.rows if r.answer] == [
        (1, 4, 5, 5), (1, 4, 3, 3)]
    with pytest.raises(ConvError, match="no combination"):
        _sweep(base, [Sweep("kernel_size", "k", ("8", "9"))], (1, 3, 7, 7))


def test_the_input_is_made_once_and_is_the_plain_runs_input(monkeypatch):
    made = []
    real = torch.randn

    def counted(*a, **k):
        made.append(a[0])
        return real(*a, **k)
    monkeypatch.setattr(torch, "randn", counted)
    base = dict(dims=2, in_channels=3, out_channels=4, kernel_size=3)
    done = _sweep(base, [Sweep("stride", "s", ("1", "2", "3"))], (2, 3, 9, 9))
    assert made == [(2, 3, 9, 9)]
    alone = conv_run.run(ConvSpec(**base, stride=2), (2, 3, 9, 9), QUICK)
    assert done.rows[1].answer.result.stats == alone.stats      # the same values


def test_a_rows_output_is_let_go_before_the_next_row_runs(monkeypatch):
    import gc
    import weakref
    real, outputs = conv_run.run, []

    def run(*a, **k):
        gc.collect()
        assert all(ref() is None for ref in outputs)     # the rows before: freed
        r = real(*a, **k)
        outputs.append(weakref.ref(r.output))
        return r
    monkeypatch.setattr(conv_run, "run", run)
    base = dict(dims=2, in_channels=3, out_channels=4, kernel_size=3)
    done = _sweep(base, [Sweep("stride", "s", ("1", "2", "3"))], (1, 3, 9, 9))
    assert len(outputs) == 3 and all(r.answer.result.output is None for r in done.rows)


def test_a_npy_input_is_read_once(tmp_path, monkeypatch):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype("float32"))
    reads = []
    real = run_tensors.load_npy
    monkeypatch.setattr(run_tensors, "load_npy",
                        lambda info, option: reads.append(option) or real(info, option))
    base = dict(dims=2, in_channels=3, out_channels=2, kernel_size=3)
    done = _sweep(base, [Sweep("padding", "p", ("0", "1", "2"))], str(path))
    assert reads == ["INPUT"]
    assert [r.answer.result.output_shape[-1] for r in done.rows] == [6, 8, 10]
    assert all(r.answer.result.sources["input"].endswith("x.npy (float32)")
               for r in done.rows)


def test_the_options_apply_to_every_row():
    options = RunOptions(repeat=3, warmup=1, threads=1, dtype="float64", seed=5)
    base = dict(dims=1, in_channels=2, out_channels=2, kernel_size=3)
    progress = []
    sweeps = [Sweep("kernel_size", "k", ("1", "3"))]
    planned = rs.plan_sweep(sweeps, lambda c: (ConvSpec(**{**base, "kernel_size": int(
        c["kernel_size"])}), None), (1, 2, 16), options)
    before = torch.get_num_threads()
    done = rs.run_sweep(sweeps, planned, lambda d, t, label: progress.append((d, t, label)))
    for row in done.rows:
        r = row.answer.result
        assert (r.dtype, r.threads, r.seed, r.timing.repeat, r.timing.warmup) == (
            "float64", 1, 5, 3, 1)
    assert torch.get_num_threads() == before
    # one bar over both runs' calls: (1+3) * 2
    assert [d for d, _, _ in progress] == list(range(1, 9))
    assert {t for _, t, _ in progress} == {8} and len({lb for *_, lb in progress}) == 1


@pytest.mark.parametrize("options, tune, words", [
    (QUICK, True, "with --tune"),
    (RunOptions(save="y.npy"), False, "with --save"),
    (RunOptions(weight="w.npy"), False, "--weight-file 'w.npy' fixes --kernel-size"),
    (RunOptions(bias="b.npy"), False, None),             # a bias file fixes only -o
])
def test_what_cannot_combine_is_refused(options, tune, words):
    sweeps = [Sweep("kernel_size", "k", ("1", "3"))]
    if words is None:
        rs.check_sweep(sweeps, options, tune)
        with pytest.raises(ConvError, match="--bias-file 'b.npy' fixes --out-channels"):
            rs.check_sweep([Sweep("out_channels", "o", ("1", "3"))], options)
        return
    with pytest.raises(ConvError, match=words):
        rs.check_sweep(sweeps, options, tune)


@pytest.mark.parametrize("field", rs.WEIGHT_FIXES)
def test_a_weight_file_fixes_its_options_and_not_the_others(field):
    with pytest.raises(ConvError, match="drop --weight-file"):
        rs.check_sweep([Sweep(field, field, ("1", "2"))], RunOptions(weight="w.npy"))
    for free in ("stride", "padding", "dilation", "padding_mode"):
        rs.check_sweep([Sweep(free, free, ("1", "2"))], RunOptions(weight="w.npy"))


def test_the_number_of_runs_is_bounded_and_the_message_says_the_bound():
    ok = [Sweep("kernel_size", "k", tuple("1357")), Sweep("stride", "s", tuple("12345")),
          Sweep("dilation", "d", tuple("12345"))]
    rs.check_sweep(ok, QUICK)                                        # 100
    over = ok + [Sweep("padding", "p", ("0", "1"))]
    with pytest.raises(ConvError, match=f"200 combinations; at most {rs.MAX_RUNS} in one "
                                        "command, since run times each one"):
        rs.check_sweep(over, QUICK)


def test_a_row_over_the_memory_budget_refuses_the_sweep_before_any_run(monkeypatch):
    ran = []
    monkeypatch.setattr(conv_run, "run", lambda *a, **k: ran.append(a))
    base = dict(dims=2, in_channels=8, out_channels=8, kernel_size=1)
    with pytest.raises(EnvironmentProblem, match=r"^--sweep k=1, o=4096: this run needs "):
        _sweep(base, [Sweep("kernel_size", "k", ("1",)),
                      Sweep("out_channels", "o", ("8", "4096"))], (64, 8, 128, 128),
               RunOptions(repeat=1, max_memory=memory.process_baseline() + 360 * 2 ** 20))
    assert ran == []


@pytest.mark.slow
def test_a_kept_input_is_counted_once_in_a_later_rows_budget(monkeypatch):
    """From the second row on, the input the sweep keeps is in the process's resident
    size, and the estimate counts it as the input: the baseline leaves it out, so a
    budget the first row fits with half the input to spare is not refused at the second
    (it was: the input counted twice)."""
    shape = (1, 16, 2048, 2048)                  # a 256 MiB float32 input
    input_bytes = torch.zeros(shape).nbytes
    base = dict(dims=2, in_channels=16, out_channels=1, kernel_size=1)
    sweeps = [Sweep("stride", "s", ("1", "2"))]
    real, seen = conv_run.device_and_budget, []

    def spy(*a, **k):
        dev, est = real(*a, **k)
        seen.append(est)
        return dev, est
    monkeypatch.setattr(conv_run, "device_and_budget", spy)
    _sweep(base, sweeps, shape)
    first, second = seen
    assert first.input == second.input == input_bytes
    assert second.baseline - first.baseline < input_bytes / 4
    budget = RunOptions(repeat=2, warmup=0, threads=1,
                        max_memory=first.total + input_bytes // 2)
    seen.clear()
    done = _sweep(base, sweeps, shape, budget)
    assert [r.error for r in done.rows] == [None, None] and len(seen) == 2


def test_a_row_whose_output_disagrees_is_kept_apart_as_a_bug(monkeypatch):
    from convcli.engine import torch_adapter
    real = torch_adapter.functional

    def wrong_for_k3(spec, x, w, b):
        y = real(spec, x, w, b)
        return y[..., :-1] if spec.kernel_size == (3, 3) and x.shape[-1] > 3 else y
    monkeypatch.setattr(torch_adapter, "functional", wrong_for_k3)
    base = dict(dims=2, in_channels=2, out_channels=2, kernel_size=1)
    done = _sweep(base, [Sweep("kernel_size", "k", ("1", "3", "5"))], (1, 2, 9, 9))
    assert [r.error is None for r in done.rows] == [True, False, True]
    assert "torch produced 1x2x7x6 but convcli predicted 1x2x7x7" in done.rows[1].error
    assert done.mismatch == done.rows[1].error
