"""convcli.views.conv_view: shape's and params' tables read at 80 columns (and
narrower), the numbers in them against torch (real forwards, FlopCounterMode, the
modules' parameters and weight slices), nothing cut, nothing wider than the console."""

import io
import re

import pytest
from rich.console import Console

from convcli.calculator.costs import analyse
from convcli.calculator.explain import explain
from convcli.calculator.groups import compare_groups
from convcli.calculator.interpret import read_spec
from convcli.calculator.other_tools import peer_counts
from convcli.calculator.porting import port_padding, ported_counts
from convcli.calculator.spec import ConvSpec
from convcli.views.conv_view import (counts_table, explain_table, groups_table, layout_table,
                                     notes_text, peers_table, ported_counts_table,
                                     ported_table, reading_text)

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

T = ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True)
X = (1, 16, 8, 8)
TORCH_T = torch.nn.ConvTranspose2d(16, 32, 4, stride=2, padding=1, groups=4)


def draw(renderable, width=80):
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    assert "…" not in text, text
    return "\n".join(line.rstrip() for line in lines)


def row(text, label):
    """The value cell of a counts table's row."""
    m = re.search(rf"^  {re.escape(label)}\s{{2,}}(.+)$", text, re.M)
    assert m, (label, text)
    return m.group(1)


def torch_counts(module, shape):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(torch.zeros(shape))
    return tuple(y.shape), counter.get_total_flops()


def test_counts_table_numbers_are_torchs():
    text = draw(counts_table(analyse(T, X)))
    out, flops = torch_counts(TORCH_T, X)
    params = sum(p.numel() for p in TORCH_T.parameters())
    assert text.splitlines()[0] == T.torch_repr()
    assert row(text, "input") == "[1, 16, 8, 8]"
    assert row(text, "output") == str(list(out))
    assert row(text, "weight") == str(list(TORCH_T.weight.shape))
    assert row(text, "bias") == "[32]"
    assert row(text, "params") == f"{params:,} ({TORCH_T.weight.numel():,} weight + 32 bias)"
    assert row(text, "MACs") == f"{flops // 2:,} (131 k)"
    assert row(text, "FLOPs (2*MACs)") == f"{flops:,} (262 k)"
    assert row(text, "bias adds") == f"{32 * 16 * 16:,} (8.19 k)"
    assert row(text, "bytes (float32)") == "in 4.0 KiB · out 32.0 KiB · parameters 8.1 KiB"


def test_counts_table_unbatched_without_bias_and_without_input():
    spec = ConvSpec(2, 3, 8, 3, bias=False)
    text = draw(counts_table(analyse(spec, (3, 10, 10), "float16")))
    out, _ = torch_counts(torch.nn.Conv2d(3, 8, 3, bias=False), (3, 10, 10))
    assert row(text, "input") == "[3, 10, 10] (unbatched)" and row(text, "output") == \
        str(list(out))
    assert row(text, "params") == "216" and row(text, "bias") == "—"
    assert "bytes (float16)" in text
    bare = draw(counts_table(analyse(ConvSpec(2, 16, 32, 3))))
    assert "input" not in bare and "MACs" not in bare
    assert row(bare, "parameter bytes (float32)") == "18.1 KiB (weight 18.0 KiB + bias 128 B)"


@pytest.mark.parametrize("width", [80, 60])
def test_counts_table_keeps_each_value_whole(width):
    big = ConvSpec(3, 1024, 2048, 3, padding=1)
    shape = (64, 1024, 32, 64, 64)
    text = draw(counts_table(analyse(big, shape)), width)
    module = torch.nn.Conv3d(1024, 2048, 3, padding=1, device="meta")   # a valid shape:
    with FlopCounterMode(display=False) as counter:                    # meta is safe
        out = module(torch.empty(shape, device="meta")).shape
    assert str(list(out)) in text and str(list(shape)) in text
    assert f"{sum(p.numel() for p in module.parameters()):,}" in text
    assert f"{counter.get_total_flops() // 2:,}" in text


def test_explain_table_out_column_is_torchs_and_formulas_follow_when_narrow():
    out, _ = torch_counts(TORCH_T, X)
    text = draw(explain_table(T, explain(T, X)))
    assert text.startswith("Output size per spatial dim")
    rows = [line.split() for line in text.splitlines() if re.match(r"^  \d ", line)]
    assert [int(r[-1]) for r in rows] == list(out[2:])
    assert "(8-1)*2-2*1+1*(4-1)+0+1" in text
    assert "out = (L-1)*s - 2p + d*(k-1) + op + 1" in text
    narrow = draw(explain_table(T, explain(T, X)), 44)
    assert "formula" not in narrow.splitlines()[2]
    assert "dim 0: out = (8-1)*2-2*1+1*(4-1)+0+1 = 16" in narrow.replace("\n  ", " ")
    same = ConvSpec(1, 1, 1, 4, padding="same")
    assert "dim 0: 'same' pads 1 before and 2 after" in draw(
        explain_table(same, explain(same, (1, 1, 8))))


def test_layout_table_slices_are_torchs_weight_slices():
    spec = ConvSpec(2, 100, 200, 3, groups=100)
    weight = torch.nn.Conv2d(100, 200, 3, groups=100).weight
    text = draw(layout_table(spec))
    assert "weight is ONE tensor [200, 1, 3, 3]" in text.replace("\n  ", " ")
    assert "92 more groups" in text
    for m in re.finditer(r"weight\[(\d+):(\d+)\]\s+(\[[\d, ]+\])", text):
        a, b, shape = int(m.group(1)), int(m.group(2)), m.group(3)
        assert str(list(weight[a:b].shape)) == shape
    assert len(re.findall(r"weight\[", text)) == 8
    narrow = draw(layout_table(spec), 50)
    assert re.search(r"group\s+in ch\s+out ch\s+weight slice$", narrow, re.M)
    assert "left out to fit the width: slice shape" in narrow
    transposed = draw(layout_table(T))
    assert "dim 0 stacks the groups' C_in rows" in transposed.replace("\n  ", " ")
    assert "channels each group writes" in transposed.replace("\n  ", " ")


def test_groups_table_params_and_macs_are_torchs():
    spec, shape = ConvSpec(2, 64, 128, 3, groups=4), (1, 64, 56, 56)
    text = draw(groups_table(compare_groups(spec, shape)))
    for g in (1, 2, 4, 8, 16, 32, 64):
        module = torch.nn.Conv2d(64, 128, 3, groups=g)
        params = sum(p.numel() for p in module.parameters())
        line = next(ln for ln in text.splitlines() if ln.startswith(f"  groups={g} "))
        assert f" {params:,} " in line, line
        assert ("(yours)" in line) is (g == 4)
    dw = sum(p.numel() for p in torch.nn.Conv2d(64, 64, 3, groups=64).parameters())
    pw = sum(p.numel() for p in torch.nn.Conv2d(64, 128, 1).parameters())
    assert re.search(rf"depthwise-separable\s+{dw + pw:,}", text)
    assert f"{dw:,} dw +" in text
    narrow = draw(groups_table(compare_groups(spec, shape)), 50)
    assert "left out to fit the width: MACs, change, note" in narrow.replace("\n  ", " ")
    assert re.search(r"groups=4 \(yours\)\s+18,560\s+55,296 fewer$", narrow, re.M)


def test_peers_table_convcli_and_flop_counter_rows_are_torchs():
    _, flops = torch_counts(TORCH_T, X)
    text = draw(peers_table(peer_counts(T, X)))
    assert re.search(rf"convcli\s+MACs\s+{flops // 2:,}\s+FLOPs {flops:,}", text)
    assert re.search(rf"torch flop_counter\s+FLOPs\s+{flops:,}\s+= FLOPs", text)
    assert re.search(r"torchinfo\s+MACs\s+532,480\s+x4.06, too high\s+WRONG", text)
    assert "Wrong for transposed convs" in text and text.rstrip().endswith("torchprofile.")
    narrow = draw(peers_table(peer_counts(T, X)), 50)
    assert f"{flops // 2:,}" in narrow


def test_ported_tables_give_code_that_torch_runs_to_the_same_size():
    spec = ConvSpec(2, 3, 8, 3, stride=2)
    ported = port_padding(spec, (1, 3, 8, 8), "tf", "SAME")
    text = draw(ported_table(ported))
    assert text.startswith("TensorFlow padding='SAME' as explicit padding")
    assert "torch's padding='same' refuses stride 2" in text
    code = text[text.index("PyTorch:") + len("PyTorch:"):].strip()
    namespace = {"x": torch.zeros(1, 3, 8, 8)}
    exec("\n".join(line.strip() for line in code.splitlines()), namespace)
    assert tuple(namespace["y"].shape) == (1, 8, 4, 4)
    counts = draw(ported_counts_table(ported_counts(ported, "float32"), ported))
    assert counts.startswith("F.pad(0, 1, 0, 1) + Conv2d(3, 8, 3, stride=2)")
    assert row(counts, "padded input") == "[1, 3, 9, 9]"
    assert row(counts, "output") == "[1, 8, 4, 4]"


def test_notes_and_reading_lines():
    assert notes_text(analyse(T, X)) is None
    assert reading_text(None, False) is None
    spec, reading = read_spec(out_channels="8", kernel_size="3", input_shape=(3, 8, 8))
    text = draw(notes_text(analyse(spec, (3, 8, 8)), reading))
    assert reading.note(False).split()[0] in text
    assert draw(reading_text(reading, False)).strip().startswith(reading.note(False)[:20])
    empty = ConvSpec(1, 1, 1, 3, transposed=True, output_padding=1)
    assert "empty batch" in draw(notes_text(analyse(empty, (0, 1, 4))))
