"""summary counts all the work: every model in summary_models.py against torch's own
counter on a real CPU forward (the reference recipe: FlopCounterMode / 2, eval and
no_grad, MultiheadAttention's fast path off, SDPA on the MATH backend, oneDNN off, so
that torch's formulas see every op), in total and per module, by the Python API and
by the CLI."""

import contextlib
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convcli  # noqa: E402
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
