"""--rf and --field in closed form (issue 25): time and memory grow neither with the
input's spatial size, nor with the scale factors, nor with depth squared. The sizes are
those the position-walking code before could not answer (MemoryError at 10**6 x 10**6;
no answer in minutes for two Upsample(scale_factor=1e6) or 30,000 layers); the bounds
are generous for a loaded machine. The numbers are checked by hand here and against
gradients at small sizes (test_fields.py, test_layer_facets.py)."""

import time
from fractions import Fraction

import pytest

from convcli.network.field_walk import net_fields
from convcli.network.rules import build_layer
from convcli.network.text import parse_layers
from convcli.network.train_rules import net_training
from convcli.network.walk import analyse_net

BOUND = 20.0      # seconds


def test_a_million_by_a_million_input(sh):
    start = time.monotonic()
    r = sh("net", "1x3x1000000x1000000", "Conv2d(3,8,3), MaxPool2d(2)", "--rf", "--json",
           timeout=BOUND)
    assert time.monotonic() - start < BOUND and r.exit_code == 0, r.stderr
    rows = r.json()["layers"]
    assert [row["receptive_field"]["size"] for row in rows] == [[3, 3], [4, 4]]
    assert rows[1]["receptive_field"]["jump"] == [2, 2]
    r = sh("net", "1x3x1000000x1000000", "Conv2d(3,8,3), MaxPool2d(2)",
           "--field", "2@499998,0", "--json", timeout=BOUND)
    assert r.exit_code == 0, r.stderr
    assert r.json()["field"]["hull"] == [[999996, 999999], [0, 3]]


def test_two_upsamples_by_a_million(sh):
    r = sh("net", "1x3x8x8", "Upsample(scale_factor=1e6), Upsample(scale_factor=1e6)",
           "--rf", "--field", "2@7999999999999,0", "--json", timeout=BOUND)
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert out["output_shape"] == [1, 3, 8 * 10 ** 12, 8 * 10 ** 12]
    assert [row["receptive_field"]["size"] for row in out["layers"]] == [[1, 1], [1, 1]]
    assert out["field"]["hull"] == [[7, 7], [0, 0]]


@pytest.mark.slow           # rule 3 (tests/conftest.py): a test at a scale
def test_thirty_thousand_layers_train_and_rf():
    text = ", ".join(["Conv2d(3, 3, 3, padding=1)"] * 29_999 + ["Conv2d(3, 3, 3, 2, 1)"])
    start = time.process_time()
    calls = parse_layers(text)
    report = analyse_net((1, 3, 32, 32), calls)
    layers = [build_layer(c) for c in calls]
    report, train = net_training(report, layers, 4, "adamw", "float32")
    report, _ = net_fields(report, layers)
    assert time.process_time() - start < BOUND
    last = report.rows[-1].rf
    assert last.nominal_size == (60_001, 60_001) and last.jump == (Fraction(2),) * 2
    assert last.start == (Fraction(-30_000),) * 2 and last.size == (32, 32)
    assert report.rows[0].rf.size == (3, 3) and report.rows[15].rf.size == (32, 32)
    assert train.activation_bytes == 29_999 * 3 * 32 * 32 * 4     # each conv's input


def test_the_closed_form_equals_the_exact_sets(monkeypatch):
    """Past the exact budget the closed form answers: on stacks with an interior
    position (every net in test_fields.py, checked there against gradients) it gives
    the same numbers as the exact sets."""
    from convcli.network import field_walk
    from tests.network.test_fields import NETS
    for name, (shape, text) in NETS.items():
        calls = parse_layers(text)
        exact = net_fields(analyse_net(shape, calls), [build_layer(c) for c in calls])[0]
        monkeypatch.setattr(field_walk, "EXACT_WORK", 0)
        closed = net_fields(analyse_net(shape, calls), [build_layer(c) for c in calls])[0]
        monkeypatch.undo()
        for a, b in zip(exact.rows, closed.rows):
            assert (a.rf.size, a.rf.jump, a.rf.start) == (b.rf.size, b.rf.jump, b.rf.start), \
                (name, a.index)
