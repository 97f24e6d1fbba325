"""net --rf: every row's receptive field against the nonzero input gradient of one
output element on a real forward (tests/torch_truth.py), at every output position of
the last row along each dim, for chains, dilated stacks (with holes), strided stacks,
a reflect-padded conv and a transposed decoder; the nominal numbers by hand."""

from fractions import Fraction

import pytest

from convcli.network.field_walk import net_fields
from convcli.network.receptive_fields import picture
from convcli.network.rules import build_layer
from convcli.network.text import parse_layers
from convcli.network.walk import analyse_net

torch = pytest.importorskip("torch")
from torch_truth import grad_sets, positive_copy  # noqa: E402

NETS = {
    "chain": ((1, 2, 40, 52), "Conv2d(2, 3, (3, 5), padding=(1, 2)), ReLU(), "
              "Conv2d(3, 3, 3, padding=1), MaxPool2d(2), Conv2d(3, 3, 3, padding=1), "
              "Conv2d(3, 3, (1, 3), padding=(0, 1)), MaxPool2d(2)"),
    "dilated": ((1, 2, 48, 64), "Conv2d(2, 3, 3, dilation=2), ReLU(), "
                "Conv2d(3, 3, 3, padding=1), Conv2d(3, 3, 3, padding=2, dilation=2), "
                "Conv2d(3, 3, 3, padding=4, dilation=4), Conv2d(3, 3, 3, padding=8, dilation=8)"),
    "dilated-holes": ((1, 2, 40, 40), "Conv2d(2, 3, 3, padding=1), "
                      "Conv2d(3, 3, 3, padding=4, dilation=4)"),
    "strided": ((1, 2, 94, 126), "Conv2d(2, 3, 3, 2, 1), Conv2d(3, 3, 4, 2, 1), "
                "Conv2d(3, 3, 2, 2), Conv2d(3, 3, 3, padding=1)"),
    "reflect": ((1, 2, 20, 24), "Conv2d(2, 3, 5, padding=2, padding_mode='reflect'), "
                "ReLU(), AvgPool2d(3, 2, 1)"),
    "decoder": ((1, 4, 6, 7), "ConvTranspose2d(4, 3, 4, 2, 1), ReLU(), "
                "ConvTranspose2d(3, 3, 3, 2, 1, output_padding=1), "
                "ConvTranspose2d(3, 3, 5, 3, 1), Conv2d(3, 3, 3, padding=1)"),
    "upsample": ((1, 2, 9, 10), "Conv2d(2, 3, 3, 2, 1), Upsample(scale_factor=2), "
                 "ZeroPad2d((1, 0, 2, 0)), Conv2d(3, 3, 3)"),
}


def fields_of(shape, text):
    calls = parse_layers(text)
    report, _ = net_fields(analyse_net(shape, calls), [build_layer(c) for c in calls])
    return report


@pytest.mark.parametrize("name", sorted(NETS))
def test_last_row_field_equals_the_gradient_everywhere(name):
    shape, text = NETS[name]
    report = fields_of(shape, text)
    model = positive_copy(torch.nn.Sequential(*[
        getattr(torch.nn, c.name)(*c.args, **c.kwargs) for c in parse_layers(text)]))
    last = report.rows[-1]
    out = last.output_shape[2:]
    for d in range(2):
        biggest = 0
        for o in range(out[d]):
            pos = [n // 2 for n in out]
            pos[d] = o
            truth = grad_sets(model, shape, pos)[d]
            assert set(last.rf.maps[d].exact(o)) == truth, (d, o)
            biggest = max(biggest, max(truth) - min(truth) + 1)
        assert last.rf.size[d] == biggest


def test_nominal_numbers_by_hand():
    report = fields_of((1, 3, 224, 224), "Conv2d(3, 8, 7, 2, 3), MaxPool2d(3, 2, 1), "
                       "Conv2d(8, 8, 3, padding=1), Conv2d(8, 8, 3, 2, 1)")
    rf = [r.rf for r in report.rows]
    assert [(f.nominal_size[0], f.jump[0], f.start[0]) for f in rf] == [
        (7, 2, -3), (11, 4, -5), (19, 4, -9), (27, 8, -13)]
    decoder = fields_of((1, 4, 6, 7), NETS["decoder"][1]).rows
    assert decoder[0].rf.jump[0] == Fraction(1, 2)
    assert decoder[-1].rf.jump[0] == Fraction(1, 12) and decoder[-1].rf.nominal_size[0] == 3


def test_picture_marks_the_padding():
    report = fields_of((1, 3, 16, 16), "Conv2d(3, 4, 5, padding=2), Conv2d(4, 4, 3, padding=1)")
    pic = picture("1", report.rows[-1].rf, (0, 8), (16, 16))
    assert pic.sets[0] == (0, 1, 2, 3) and pic.nominal[0] == (-3, 3)
    assert pic.padding(0) == (3, 0) and pic.padding(1) == (0, 0)
    assert pic.sets[1] == tuple(range(5, 12))


def test_rows_after_flatten_have_no_field_and_norms_go_global():
    report = fields_of((1, 3, 8, 8), "Conv2d(3, 4, 3), GroupNorm(2, 4), Flatten(), "
                       "Linear(144, 2)")
    assert report.rows[0].rf.size == (3, 3)
    assert report.rows[1].rf.size == (8, 8)
    assert report.rows[2].rf is None and report.rows[3].rf is None
