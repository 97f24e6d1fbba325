"""`run --tune`'s timing: round-robin rounds with yours among them, paired ratios with a
bootstrap interval, and an A/A control that says when a margin is noise. A modelled
machine (a fake clock) makes the load deterministic: the issue's "1.5x read as 1.05x"
must read as 1.5x."""

from __future__ import annotations

import statistics

import pytest

pytest.importorskip("torch")

from convcli.engine.timing import spread, time_round_robin  # noqa: E402
from convcli.engine.tune import TuneRow, _judge  # noqa: E402


class Machine:
    """A modelled 2-core box: a call costs its work in ms, times 1.43 while a
    neighbour's job runs (the first ``busy_ms`` of the clock), plus a small
    deterministic jitter."""

    def __init__(self, busy_ms: float):
        self.now_ns = 0
        self.busy_ns = busy_ms * 1e6
        self.n = 0

    def clock(self) -> int:
        return int(self.now_ns)

    def work(self, ms: float):
        def call():
            self.n += 1
            slow = 1.43 if self.now_ns < self.busy_ns else 1.0
            jitter = 1 + 0.02 * ((self.n * 7919) % 5 - 2) / 2
            self.now_ns += ms * 1e6 * slow * jitter
        return call


def test_rounds_rotate_the_order_and_round_up():
    order = []
    calls = [lambda i=i: order.append(i) for i in range(3)]
    times = time_round_robin(calls, rounds=4, warmup=0, clock=lambda: 0)
    assert [len(t) for t in times] == [6, 6, 6]          # 4 rounded up to a multiple of 3
    rounds = [order[i:i + 3] for i in range(0, 18, 3)]
    assert rounds[:3] == [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    firsts = [r[0] for r in rounds]
    assert sorted(firsts) == [0, 0, 1, 1, 2, 2]          # each goes first equally often


def test_warmup_and_before_run_outside_the_timing():
    log = []
    calls = [lambda: log.append("a"), lambda: log.append("b")]
    before = [lambda: log.append("set a"), None]
    time_round_robin(calls, rounds=2, warmup=1, before=before, clock=lambda: 0)
    assert log[:3] == ["set a", "a", "b"]                # warmup, then the rounds
    assert log.count("set a") == 1 + 2 and log.count("a") == 3


def test_a_load_at_the_start_no_longer_hides_a_margin():
    """yours (1 ms of work) and B (1.5 ms) under a neighbour that slows the machine
    1.43x for the first 40 ms: timed round-robin, B reads 1.5x slower, and the
    copy of yours reads as the same."""
    m = Machine(busy_ms=40)
    yours, b, again = m.work(1.0), m.work(1.5), m.work(1.0)
    times = time_round_robin([yours, b, again], rounds=30, warmup=0, clock=m.clock)
    sp_b = spread(times[1], times[0])
    sp_again = spread(times[2], times[0])
    assert sp_b.high < 0.7 and abs(1 / sp_b.ratio - 1.5) < 0.05
    assert sp_again.low <= 1.0 <= sp_again.high
    # what the old scheme did: yours timed alone under the load, B afterwards
    m2 = Machine(busy_ms=40)
    alone = time_round_robin([m2.work(1.0)], rounds=30, warmup=0, clock=m2.clock)[0]
    after = time_round_robin([m2.work(1.5)], rounds=30, warmup=0, clock=m2.clock)[0]
    assert statistics.median(after) / statistics.median(alone) < 1.1   # read as ~1.05x


def _row(dt, requested=False, control=False):
    return TuneRow(dt, False, None, None, None, 0.0, requested=requested, control=control)


def test_judge_marks_the_spread_with_the_aa_control():
    yours = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02, 0.98, 1.0]
    again = [t * f for t, f in zip(yours, [1.04, 0.97, 1.03, 0.98, 1.02] * 2)]
    close = [t * f for t, f in zip(yours, [0.99, 1.02, 0.97, 1.01, 0.98] * 2)]
    fast = [t / 1.5 for t in yours]
    rows = [_row("float32", requested=True), _row("near"), _row("fast"),
            _row("float32", control=True)]
    out = _judge(rows, {0: yours, 1: close, 2: fast, 3: again}, macs=10 ** 6, warmup=0,
                 cuda=False)
    assert out[0].speedup is None and not out[0].within_spread
    assert out[1].within_spread and abs(out[1].speedup.ratio - 1) < 0.05
    assert not out[2].within_spread and abs(out[2].speedup.ratio - 1.5) < 1e-9
    assert out[2].fastest and not out[3].fastest
    assert out[2].speedup.low == out[2].speedup.high == pytest.approx(1.5)
    assert out[0].timing.median_ms == statistics.median(yours)
    assert out[0].timing.repeat == 10 and out[0].timing.method == "perf_counter, interleaved"
