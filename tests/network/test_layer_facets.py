"""Every layer type `net` accepts (the registry) states every facet in its rule, and
each facet holds against torch: what `net --train` says it saves for backward equals
the storages saved_tensors_hooks sees on a real CPU forward (float32 and bfloat16, and
each in-place form); what `net --rf` says each output reads equals the nonzero input
gradient (every channel, every position along each dim). `net --train --rf` runs on
every type."""

import pytest

from conftest import sample
from convcli.network.field_walk import net_fields
from convcli.network.layer import FacetMissing, Layer
from convcli.network.rules import KNOWN_LAYERS, build_layer
from convcli.network.rules.activation import KINDS
from convcli.network.text import parse_layers
from convcli.network.train_rules import net_training
from convcli.network.walk import analyse_net
from tests.network.layer_examples import EXAMPLES, INPLACE

NO_FIELD = {"Linear", "LazyLinear", "Flatten", "Unflatten"}   # they end the spatial dims


def built(shape, text):
    calls = parse_layers(text)
    return analyse_net(shape, calls), [build_layer(c) for c in calls]


def inplace(text: str) -> str:
    return text[:-2] + "(inplace=True)" if text.endswith("()") else \
        text[:-1] + ", inplace=True)"


def test_every_layer_type_has_an_example():
    assert set(EXAMPLES) == set(KNOWN_LAYERS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_facet_is_stated(kind):
    report, layers = built(*EXAMPLES[kind])
    for row, layer in zip(report.rows, layers):
        saves = layer.saves(row.input_shape, row.output_shape, 4)
        assert saves.extra >= 0
        assert layer.buffer_bytes(row.input_shape, 4) >= 0
        assert layer.param_tensors() in (0, 1, 2)
        steps = [layer.field(row.input_shape, row.output_shape, d)
                 for d in range(len(row.input_shape) - 2)]
        assert (row.kind in NO_FIELD) == any(s is None for s in steps), steps


def test_a_rule_without_a_facet_is_caught():
    class Bare(Layer):
        kind = "Bare"
    bare = Bare(parse_layers("Bare()")[0], {})
    with pytest.raises(FacetMissing, match="saves"):
        bare.saves((1, 2), (1, 2), 4)
    with pytest.raises(FacetMissing, match="receptive field"):
        bare.field((1, 2, 3), (1, 2, 3), 0)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_net_train_and_rf_answer_for_every_layer_type(kind, cli):
    shape, text = EXAMPLES[kind]
    r = cli("net", "x".join(map(str, shape)), text, "--train", "--rf", "--json")
    assert r.exit_code == 0, r.stderr
    last = r.json()["layers"][-1]
    assert last["train"]["total_bytes"] >= 0
    assert (last.get("receptive_field") is None) == (kind in NO_FIELD)


torch = pytest.importorskip("torch")
from torch_truth import positive_copy, saved_activation_bytes  # noqa: E402

torch.set_num_threads(1)     # hundreds of tiny forwards: threads only contend

CASES = [(k, *EXAMPLES[k]) for k in sorted(EXAMPLES)] + \
    [(k + " in place", EXAMPLES[k][0], inplace(EXAMPLES[k][1])) for k in INPLACE] + \
    [("InstanceNorm2d stats", (2, 4, 6, 5), "Conv2d(4, 4, 1), InstanceNorm2d(4, "
      "track_running_stats=True)"),
     ("RMSNorm plain", (2, 4, 6, 5), "Conv2d(4, 4, 1), RMSNorm((6, 5), "
      "elementwise_affine=False)"),
     ("AdaptiveAvgPool2d mean", (2, 4, 6, 5), "Conv2d(4, 4, 1), AdaptiveAvgPool2d(1)"),
     ("Conv1d circular", (2, 4, 9), "Conv1d(4, 4, 1), Conv1d(4, 4, 3, padding=2, "
      "padding_mode='circular'), ReLU(inplace=True)")]
# torch's CPU kernels have no bfloat16 avg_pool3d (LocalResponseNorm uses it)
NO_KERNEL = {("AvgPool3d", "bfloat16"), ("LPPool3d", "bfloat16"),
             ("LocalResponseNorm", "bfloat16")}


def torch_model(text, dtype, shape):
    model = torch.nn.Sequential(*[getattr(torch.nn, c.name)(*c.args, **c.kwargs)
                                  for c in parse_layers(text)]).to(dtype)
    with torch.no_grad():             # Lazy modules take their sizes
        model(torch.ones(shape, dtype=dtype))
    return model


DTYPES = [(k, shape, text, dtype, size) for k, shape, text in CASES
          for dtype, size in (("float32", 4), ("bfloat16", 2))] + \
    [(k, shape, text, "float64", 8) for k, shape, text in CASES     # the dtype-dependent
     if k.startswith(("RMSNorm", "LPPool", "Conv2d", "LocalResponseNorm"))]   # rules


@pytest.mark.parametrize("kind,shape,text,dtype,size", sample(DTYPES, keep=30, unpack=True))
def test_saves_equal_the_hooks(kind, shape, text, dtype, size):
    dt = getattr(torch, dtype)
    if (kind, dtype) in NO_KERNEL:
        with pytest.raises((NotImplementedError, RuntimeError)):
            torch_model(text, dt, shape)
        return
    report, layers = built(shape, text)
    _, train = net_training(report, layers, size, "adamw", dtype)
    model = torch_model(text, dt, shape)
    assert train.activation_bytes == saved_activation_bytes(
        model, torch.randn(shape, dtype=dt)), kind
    params = [p for p in model.parameters()]
    assert train.param_bytes == sum(p.numel() for p in params) * size
    assert train.state_bytes == 2 * train.param_bytes + 4 * len(params)
    assert train.buffer_bytes == sum(b.numel() * b.element_size() for b in model.buffers())


def test_lppool_of_infinite_norm_is_refused_for_training(cli):
    """x ** inf: what torch keeps then depends on the values and the dtype, so no rule
    from shapes can state it."""
    r = cli("net", "2x4x9", "Conv1d(4, 4, 1), LPPool1d(1e999, 3)", "--train")
    assert r.exit_code == 2 and "depends on the values" in r.stderr
    assert cli("net", "2x4x9", "Conv1d(4, 4, 1), LPPool1d(1e999, 3)", "--rf").exit_code == 0


def truth_model(text, shape):
    """Positive weights, and layers whose gradient depends on values (saturating
    activations, max picks) swapped for ones that read the same window."""
    model = torch_model(text, torch.float64, shape)
    for i, m in enumerate(model):
        name = type(m).__name__
        if name in KINDS and name not in ("Softmax", "LogSoftmax", "Softmin", "Softmax2d",
                                          "LocalResponseNorm", "CrossMapLRN2d", "PReLU"):
            model[i] = torch.nn.Identity()
        elif name.startswith("AdaptiveMaxPool"):
            model[i] = getattr(torch.nn, name.replace("Max", "Avg"))(m.output_size)
        elif name.startswith("MaxPool") and m.dilation not in (1, (1,) * len(shape[2:])):
            d = len(shape) - 2
            conv = getattr(torch.nn, f"Conv{d}d")(shape[1], shape[1], m.kernel_size,
                                                  m.stride, m.padding, m.dilation,
                                                  groups=shape[1], bias=False)
            model[i] = conv.double()
        elif name.startswith("MaxPool"):
            model[i] = getattr(torch.nn, name.replace("Max", "Avg"))(
                m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
    return positive_copy(model)


def support(model, shape, position) -> list[set[int]]:
    """Per spatial dim, where the input gradient of output ``position`` is nonzero, for
    every channel at once (one backward, channels weighted at random so none cancel)."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    g = torch.Generator().manual_seed(len(shape))
    w = torch.rand(y.shape[1], generator=g, dtype=torch.float64) + 0.5
    (y[(0, slice(None), *position)] * w).sum().backward()
    nz = x.grad[0].abs().sum(0) > 0
    sets = []
    for d in range(nz.dim()):
        proj = nz.movedim(d, 0).reshape(nz.shape[d], -1).any(1)
        sets.append({int(i) for i in torch.nonzero(proj).flatten()})
    return sets


# rule 3 (tests/conftest.py): a sample of this grid in the fast loop
@pytest.mark.parametrize("kind", sample(sorted(set(EXAMPLES) - NO_FIELD), keep=25))
def test_fields_equal_the_gradients(kind):
    shape, text = EXAMPLES[kind]
    report, layers = built(shape, text)
    last = net_fields(report, layers)[0].rows[-1]
    model = truth_model(text, shape)
    out = last.output_shape[2:]
    for d in range(len(out)):
        widest = 0
        for o in range(out[d]):
            pos = [n // 2 for n in out]
            pos[d] = o
            truth = support(model, shape, pos)[d]
            assert set(last.rf.maps[d].exact(o)) == truth, (kind, d, o)
            widest = max(widest, max(truth) - min(truth) + 1 if truth else 0)
        assert last.rf.size[d] == widest, (kind, d)
