"""`params --conventions`: each tool's figure, the worked case from counting-peers.md,
and torch's FlopCounterMode as the oracle for the flop_counter row."""

from __future__ import annotations

import random

import pytest

from convcli.errors import ConvError
from convcli.calculator.other_tools import peer_counts
from convcli.calculator.spec import ConvSpec

WORKED = {  # ConvTranspose2d(16, 32, 4, stride=2, padding=1, groups=4) on 1x16x8x8
    "torch flop_counter": 262_144, "fvcore": 131_072, "ultralytics-thop": 131_072,
    "ptflops": 139_264, "thop (PyPI)": 524_288, "torchinfo": 532_480,
    "torchscan": 524_296, "torchprofile": 2_097_152, "calflops / DeepSpeed": 32_768,
}
WRONG_FOR_TRANSPOSED = {"thop (PyPI)", "torchinfo", "torchscan", "torchprofile",
                        "calflops / DeepSpeed"}


def test_worked_case_reproduces_every_figure():
    spec = ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True)
    report = peer_counts(spec, (1, 16, 8, 8))
    assert report.macs == 131_072 and report.flops == 262_144
    got = {p.tool: p.value for p in report.peers}
    assert got == WORKED
    assert {p.tool for p in report.peers if p.wrong_for_transposed} == WRONG_FOR_TRANSPOSED


def test_worked_case_cli(cli):
    r = cli("params", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "-t",
            "--input", "1x16x8x8", "--conventions", "--json")
    assert r.exit_code == 0, r.stderr
    conv = r.json()["conventions"]
    assert conv["convcli"] == {"macs": 131_072, "flops": 262_144, "bias_adds": 8_192}
    assert {t["tool"]: t["value"] for t in conv["tools"]} == WORKED
    text = cli("params", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g", "4", "-t",
               "--input", "1x16x8x8", "--conventions").stdout
    assert "2,097,152" in text and "WRONG" in text and "= MACs + bias adds" in text


def test_plain_conv_the_correct_tools_agree():
    spec = ConvSpec(2, 8, 12, 3, stride=2, padding=1, groups=2)
    report = peer_counts(spec, (2, 8, 15, 15))
    by = {p.tool: p for p in report.peers}
    for tool in ("fvcore", "thop (PyPI)", "ultralytics-thop", "torchscan", "torchprofile",
                 "calflops / DeepSpeed"):
        assert by[tool].value == report.macs, tool
    assert by["torch flop_counter"].value == report.flops
    assert by["ptflops"].value == by["torchinfo"].value == report.macs + report.bias_adds


def test_calflops_same_with_an_even_kernel_is_one_short():
    spec = ConvSpec(2, 4, 4, 4, padding="same", bias=False)
    report = peer_counts(spec, (1, 4, 9, 9))
    by = {p.tool: p.value for p in report.peers}
    assert by["calflops / DeepSpeed"] == report.macs * 64 // 81  # 8x8 outputs, not 9x9


def test_needs_input(cli):
    with pytest.raises(ConvError, match="needs INPUT"):
        peer_counts(ConvSpec(2, 16, 32, 4), None)
    r = cli("params", "-i", "16", "-o", "32", "-k", "4", "--conventions", "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "--conventions needs INPUT" in r.stderr and "1x16x32x32" in r.stderr


def test_flop_counter_row_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from convcli.engine.torch_adapter import build_module

    rng = random.Random(3)
    for _ in range(12):
        g = rng.choice([1, 2, 4])
        transposed = rng.random() < 0.5
        k, s = rng.randint(1, 4), rng.randint(1, 3)
        spec = ConvSpec(2, 4 * g, 2 * g, k, stride=s, padding=rng.randint(0, k - 1), groups=g,
                        transposed=transposed, output_padding=(s - 1) if transposed else 0)
        shape = (2, 4 * g, rng.randint(k, 9), rng.randint(k, 9))
        row = next(p for p in peer_counts(spec, shape).peers if p.tool == "torch flop_counter")
        module = build_module(spec)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.zeros(shape))
        assert counter.get_total_flops() == row.value, spec
