"""summary counts all the work: every model in summary_models.py against torch's own
counter on a real CPU forward (the reference recipe: FlopCounterMode / 2, eval and
no_grad, MultiheadAttention's fast path off, SDPA on the MATH backend, oneDNN off, so
that torch's formulas see every op), in total and per module, by the Python API and
by the CLI; and counting.py's formulas one aten op at a time against the same
counter, its zero-MAC classification on torch's op tags, and conv_geometry against
the nn.ConvNd that ran the op."""

import contextlib
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convcli  # noqa: E402
from convcli.engine.summary.counting import (FORMULAS, UNCOUNTED_WORK, conv_geometry,  # noqa: E402
                                             is_zero_mac, op_name)
import summary_models as sm  # noqa: E402

MODELS_FILE = sm.__file__


def real_inputs(name):
    _, specs, kwspecs = sm.MODELS[name]
    args = tuple(torch.zeros(shape, dtype=dtype) for shape, dtype in specs)
    kwargs = {k: torch.zeros(shape, dtype=dtype) for k, (shape, dtype) in kwspecs.items()}
    return args, kwargs


def built(name):
    torch.manual_seed(0)  # the CLI's CPU pass builds with seed 0 too
    return sm.MODELS[name][0]().eval()


def reference(model, args, kwargs):
    """(total MACs, {module name: MACs including its children}) by FlopCounterMode / 2."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    fc = FlopCounterMode(display=False)
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        mha = torch.backends.mha
        old = mha.get_fastpath_enabled()
        mha.set_fastpath_enabled(False)
        stack.callback(mha.set_fastpath_enabled, old)
        stack.enter_context(sdpa_kernel(SDPBackend.MATH))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")  # mkldnn.flags warns about Intel GPUs
        stack.enter_context(torch.backends.mkldnn.flags(enabled=False))
        stack.enter_context(fc)
        model(*args, **kwargs)
    per_module = {}
    root = type(model).__name__
    for key, ops in fc.get_flop_counts().items():
        if key.startswith(root + "."):
            per_module[key[len(root) + 1:]] = sum(ops.values()) // 2
    assert fc.get_total_flops() % 2 == 0
    return fc.get_total_flops() // 2, per_module


@pytest.mark.parametrize("name", sorted(sm.MODELS))
def test_total_and_every_module_equal_flop_counter(name):
    model = built(name)
    args, kwargs = real_inputs(name)
    total, per_module = reference(model, args, kwargs)
    report = convcli.summarise(model, list(args), kwargs=kwargs, depth=100)
    assert report.total_macs == total > 0 or name == "zero_cost_zoo"
    assert report.macs_complete, report.notes
    leaves = [r for r in report.rows if not r.expanded]
    assert sum(r.macs for r in leaves) == total
    mine: dict = {}
    for r in report.rows:
        if r.own or r.depth == 0:
            continue
        qual = r.name.split(" (call")[0]
        mine[qual] = mine.get(qual, 0) + r.macs
    for qual, macs in per_module.items():
        assert mine.get(qual, 0) == macs, (qual, mine.get(qual), macs)
    for qual, macs in mine.items():
        assert per_module.get(qual, 0) == macs, (qual, macs)


OWNERS = {  # the rows that hold MACs in the flat view, and their ops
    "subclass_convs_linear": {"stem", "grouped", "video", "up", "head"},
    "mha_batch_first": {"patch", "layer.attn"},
    "non_local": {"stem.0", "nl.theta", "nl.phi", "nl.g", "nl", "nl.out"},
    "attn_matmul": {"patch", "layer.qkv", "layer", "layer.proj"},
    "two_input": {"encoder.0", "encoder.0 (call 2)", "Flow", "head"},
}


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_work_goes_to_the_module_that_did_it(name):
    args, kwargs = real_inputs(name)
    report = convcli.summarise(built(name), list(args), kwargs=kwargs)
    owners = {r.name for r in report.rows if r.macs}
    assert owners == OWNERS[name]
    own = [r for r in report.rows if r.own]
    assert all(r.macs or r.params for r in own)


def test_subclassed_convs_get_geometry_and_conv_spec():
    report = convcli.summarise(built("subclass_convs_linear"), (1, 3, 64, 64))
    rows = {r.name: r for r in report.rows}
    assert rows["stem"].geometry["kernel_size"] == [7, 7]
    assert rows["grouped"].conv.groups == 4
    assert rows["up"].conv.transposed and rows["up"].macs == 32 * 32 * 16 * 4 * 16
    assert rows["video"].geometry["kernel_size"] == [3, 3, 3]


def test_torch_mv_dot_addmv_by_hand():
    """FlopCounterMode counts none of these; convcli does: m*n, n, m*n."""
    class Vec(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(6, 5))

        def forward(self, v):
            a = torch.mv(self.w, v)                  # 6 * 5
            b = torch.dot(a, a)                      # 6
            return torch.addmv(a, self.w, v) * b     # 6 * 5

    report = convcli.summarise(Vec(), [(5,)])
    assert report.total_macs == 30 + 6 + 30 and report.macs_complete


def test_bilinear_is_flagged_not_hidden():
    report = convcli.summarise(sm.Bilinear(), [(4, 16)])
    assert not report.macs_complete
    assert report.uncounted_ops == {"_trilinear": ["bil"]}
    assert any("_trilinear" in n and "bil" in n for n in report.notes)
    assert report.total_macs == 4 * 8  # torch.mv of the (4, 8) output by an 8-vector


# ---- counting.py, one aten op at a time -----------------------------------------

aten = torch.ops.aten
_r = torch.randn


def _op_macs(func, *args, **kwargs):
    """(convcli's formula, FlopCounterMode / 2) for one op run for real."""
    fc = FlopCounterMode(display=False)
    with fc:
        out = func(*args, **kwargs)
    return FORMULAS[op_name(func)](args, kwargs, out), fc.get_total_flops() // 2


@pytest.mark.parametrize("func,args", [
    (aten.mm.default, (_r(3, 5), _r(5, 7))),
    (aten.addmm.default, (_r(7), _r(3, 5), _r(5, 7))),
    (aten.bmm.default, (_r(2, 3, 5), _r(2, 5, 4))),
    (aten.baddbmm.default, (_r(2, 3, 4), _r(2, 3, 5), _r(2, 5, 4))),
    (aten.convolution.default, (_r(2, 4, 9, 9), _r(6, 2, 3, 3), None, [2, 2], [1, 1], [1, 1],
                                False, [0, 0], 2)),
    (aten.convolution.default, (_r(1, 4, 5), _r(4, 3, 3), _r(3), [2], [0], [1], True, [1], 1)),
    (aten.convolution.default, (_r(1, 2, 4, 4, 4), _r(3, 2, 2, 2, 2), None, [1, 1, 1],
                                [0, 0, 0], [2, 2, 2], False, [0, 0, 0], 1)),
])
def test_each_formula_is_flop_counter_modes(func, args):
    mine, theirs = _op_macs(func, *args)
    assert mine == theirs > 0


def test_cpu_attention_is_counted_where_the_counter_sees_nothing():
    q, k, v = _r(2, 4, 6, 8), _r(2, 4, 10, 8), _r(2, 4, 10, 8)
    func = aten._scaled_dot_product_flash_attention_for_cpu.default
    mine, _ = _op_macs(func, q, k, v)
    from torch.nn.attention import SDPBackend, sdpa_kernel
    fc = FlopCounterMode(display=False)
    with fc, sdpa_kernel(SDPBackend.MATH):
        torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert mine == fc.get_total_flops() // 2     # the MATH backend's bmm's, counted


def test_matrix_vector_products_by_their_definition():
    a, x = _r(4, 6), _r(6)
    assert _op_macs(aten.mv.default, a, x)[0] == 4 * 6
    assert _op_macs(aten.dot.default, x, x)[0] == 6
    assert _op_macs(aten.addr.default, _r(4, 6), _r(4), x)[0] == 24


@pytest.mark.parametrize("func,zero", [
    (aten.relu.default, True), (aten.relu_.default, True), (aten.sum.default, True),
    (aten.view.default, True), (aten.hardswish.default, True), (aten.hardswish_.default, True),
    (aten.mm.default, False), (aten.convolution.default, False),
    (aten._trilinear.default, False),
])
def test_zero_mac_ops_by_torchs_tags(func, zero):
    assert is_zero_mac(func, op_name(func)) is zero
    if op_name(func) in UNCOUNTED_WORK:
        assert not zero


def test_op_names_carry_other_namespaces():
    assert op_name(aten.mm.default) == "mm"
    assert op_name(torch.ops.prims.add.default) == "prims::add"


def test_conv_geometry_is_the_module_that_ran():
    seen = []
    from torch.utils._python_dispatch import TorchDispatchMode

    class Grab(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func._overloadpacket.__name__ == "convolution":
                seen.append(conv_geometry(args, kwargs or {}))
            return func(*args, **(kwargs or {}))

    m = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1,
                                 groups=2, dilation=(1, 2), bias=False)
    with Grab(), torch.no_grad():
        m(torch.zeros(1, 4, 5, 5))
    (g,) = seen
    assert g == {"dims": 2, "in_channels": 4, "out_channels": 6, "kernel_size": (3, 2),
                 "stride": (2, 2), "padding": (1, 1), "dilation": (1, 2), "groups": 2,
                 "bias": False, "transposed": True, "output_padding": (1, 1),
                 "input_shape": (1, 4, 5, 5)}
