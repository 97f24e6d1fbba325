"""engine/summary/pass_report.py: a counted pass -> the NetReport; totals torch's (sum
of numel, FlopCounterMode / 2), and the notes that say what was not counted, which
parameters no op read, what forward() returned and when the batch changed."""

from __future__ import annotations

import pytest

from convcli.engine.summary.dispatch import Recorder, counted_forward
from convcli.engine.summary.inputs import parse_inputs
from convcli.engine.summary.pass_report import (_param_layer_outputs, _uncounted_notes,
                                                build_report)
from convcli.engine.summary.trace import Options, Pass

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def counted(model, shape, path="meta"):
    names = {id(p): n for n, p in model.named_parameters()}
    rec = Recorder(model, names)
    x = torch.zeros(shape, device="meta" if path == "meta" else "cpu")
    if path == "meta":
        model = model.to("meta")
        names = {id(p): n for n, p in model.named_parameters()}
        rec = Recorder(model, names)
    out = counted_forward(model, (x,), {}, rec)
    return Pass(rec, out, model, path)


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 100)

    def forward(self, x):
        y = self.a(x)
        return y, torch.cdist(y, y)                       # a tuple; cdist is not counted


def test_totals_and_notes():
    model = Two()
    run = counted(model, (2, 3, 4), path="cpu")
    rep = build_report(run, parse_inputs(["2x3x4"]), Options(), "Two()", "from a test")
    assert rep.total_params == sum(p.numel() for p in Two().parameters())
    assert rep.unused_params == sum(p.numel() for p in model.unused.parameters())
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        Two()(torch.zeros(2, 3, 4))
    assert rep.total_macs == fc.get_total_flops() // 2 == 2 * 3 * 4 * 4
    assert rep.notes[0] == "from a test"
    assert "MACs not counted: _cdist_forward (MAC work convcli has no formula for) in " \
           "(model); the total is a lower bound" in rep.notes
    assert f"{rep.unused_params:,} params are read by no op of forward(): unused " \
           f"({rep.unused_params:,}); they are in the total, in no row" in rep.notes
    assert "forward() returned a tuple; the output shape is that of its first tensor" \
        in rep.notes
    assert rep.macs_complete is False
    assert rep.uncounted_ops == {"_cdist_forward": ["(model)"]}
    assert tuple(rep.output_shape) == (2, 3, 4)
    assert rep.path == "cpu" and rep.inputs == ["2x3x4"] and rep.model == "Two()"


def test_a_batch_folded_by_a_view_is_named():
    class Fold(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(self.conv(x).view(-1, 8))
    run = counted(Fold(), (2, 3, 4, 4))
    rep = build_report(run, parse_inputs(["2x3x4x4"]), Options(), "Fold()", "")
    folded = Fold()(torch.zeros(2, 3, 4, 4)).shape[0]
    note = next(n for n in rep.notes if n.startswith("the batch changed"))
    assert note.startswith(f"the batch changed from 2 to {folded} (first seen at fc, input "
                           f"[{folded}, 8])")


def test_depth_keeps_the_activations_of_the_leaves():
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 2))
    run = counted(model, (1, 4))
    flat = build_report(run, parse_inputs(["1x4"]), Options(), "m", "")
    deep = build_report(run, parse_inputs(["1x4"]), Options(depth=1), "m", "")
    assert [r.name for r in deep.rows] == ["0", "1"]
    assert deep.activation_elements == flat.activation_elements == 8 + 8 + 2
    # torchinfo's forward/backward size: the outputs of the leaves that hold params
    assert _param_layer_outputs(flat.rows) == 8 + 2


def test_an_unclassified_op_is_named_as_such():
    notes = _uncounted_notes({"mystery": {"", "block"}})
    assert notes == ["MACs not counted: mystery (an op convcli does not classify) in "
                     "(model), block; the total is a lower bound"]
