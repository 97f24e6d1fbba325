"""`convcli apply` as people see it, pinned at 80 columns (and some at 60) by golden
files in tests/views/golden (regenerate with `python -m pytest --update-goldens`, then
read the diff): numbers per channel in 1d/2d/3d, heatmaps, the dot product with padding,
transposed gaps, groups, many channels and a kernel too big to draw."""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

APPLY = {
    "apply_values_1d": "apply 1x2x12 --dims 1 -o 2 --pattern impulse --weight sobel-x "
                       "--values --bias-value -0.5",
    "apply_values_3d": "apply 1x1x3x4x5 -k 2 --pattern checker --weight identity --values",
    "apply_heatmap": "apply 1x1x40x60 --pattern checker --weight gaussian -k 5 --values",
    "apply_values_many_channels": "apply 1x10x2x3 -o 2 -k 1 --pattern ramp --values",
    "apply_random_fractions": "apply 1x1x5x5 -o 1 --values --seed 3",
    "apply_dot_reflect_stacked": "apply 1x2x5x5 --pattern ramp -o 2 -p 1 --padding-mode "
                                 "reflect --dot --at 0,4 --dtype float64",
    "apply_dot_3d": "apply 1x1x4x4x4 --pattern square -k 2 -s 2 --weight box --dot --at 1,0,1",
    "apply_dot_many_channels": "apply 1x12x4x4 -o 3 --pattern ramp --weight laplacian "
                               "--dot --at 1,0 --channel 2 --no-bias",
    "apply_dot_transposed_1d": "apply 1x2x4 --dims 1 -o 2 -t -s 2 -p 1 --output-padding 1 "
                               "--weight '[1, 2, 3]' --pattern ramp --dot --at 3",
    "apply_dot_big_kernel": "apply 1x1x40x40 -k 20 --pattern square --weight box --dot",
    "apply_summary_whole_weight": "apply 3x6x6 --pattern stripes --weight "
                                  "'[[[[1]], [[0]], [[-1]]], [[[0.5]], [[0.5]], [[0]]]]' "
                                  "--no-bias",
}


def run(command: str, columns: int = 80):
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    return runner.invoke(app, shlex.split(command), catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(APPLY))
def test_apply_goldens_at_80_columns(name, golden):
    r = run(APPLY[name])
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    golden(f"{name}.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


@pytest.mark.parametrize("name", ["apply_values_1d", "apply_heatmap", "apply_random_fractions",
                                  "apply_dot_reflect_stacked", "apply_dot_transposed_1d",
                                  "apply_summary_whole_weight"])
def test_apply_goldens_at_60_columns(name, golden):
    r = run(APPLY[name], columns=60)
    assert r.exit_code == 0, r.stderr
    golden(f"{name}@60.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 60


def test_an_image_golden(tmp_path, golden):
    import numpy as np
    from PIL import Image
    a = np.zeros((10, 12), np.uint8)
    a[3:7, 4:9] = 255
    a[5, 6] = 128
    Image.fromarray(np.dstack([a, a // 2, 255 - a])).save(tmp_path / "square.png")
    r = run(f"apply {tmp_path / 'square.png'} --gray --weight laplacian --values")
    assert r.exit_code == 0, r.stderr
    golden("apply_image_gray.txt", r.stdout)


def test_the_dot_product_stacks_on_a_narrow_terminal():
    r = run("apply 1x1x6x6 --pattern ramp --weight gaussian --dot --at 0,0", columns=50)
    assert r.exit_code == 0
    body = r.stdout[r.stdout.index("input channel 0"):]
    assert "\n    patch\n" in body and "\n    kernel\n" in body and "\n    products\n" in body
    wide = run("apply 1x1x6x6 --pattern ramp --weight gaussian --dot --at 0,0", columns=120)
    assert "patch" in wide.stdout and "\n    patch\n" not in wide.stdout
