"""Output as people see it, pinned at 80 columns by golden files in tests/views/golden
(regenerate them with `python -m pytest --update-goldens`, then read the diff)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import run_subprocess


PICTURES = {
    "show_grouped": "show 1x4x7x7 -o 4 -k 3 -s 2 -p 1 --groups 2",
    "show_transposed": "show 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t",
    "show_same_even_kernel": "show 1x3x8x8 -o 8 -k 4 -p same",
    "show_depthwise_long": "show 1x512x56x56 -o 512 -k 3 -p 1 -g 512",
    "show_dilated_1d": "show 1x1x100 -o 1 -k 5 -d 4 -s 3 --dims 1",
    "show_transposed_cropped_3d": "show 1x2x5x6x7 -o 4 -k 3 -s 2 -t --output-padding 1 -p 3",
    "show_no_input": "show -i 6 -o 4 -k 3 -g 2",
    "solve_32_16": "solve --input 32 --output 16 -n 8",
    "solve_decoder": "solve --transposed --input 7x8 -k 3 -s 2 -p 1",
    "padding_from_tf": "shape 1x3x8x8 -o 8 -k 3 -s 2 --padding SAME --padding-from tf",
    "params_conventions": "params -o 32 -k 4 -s 2 -p 1 -g 4 -t --input 1x16x8x8 --conventions",
    # issue 10: the reading of INPUT's rank, torch's corners, advice, bounded group lists
    "shape_unbatched_image": "shape 3x224x224 -o 64 -k 7 -s 2 -p 3",
    "shape_empty_batch_transposed": "shape 0x3x5x5 -o 4 -k 3 -t --output-padding 2",
    "shape_negative_padding_reflect": "shape 1x3x6x6 -o 4 -k 3 -p -1 --padding-mode reflect -e",
    "params_compare_groups": "params -i 64 -o 128 -k 3 -g 4 --compare-groups",
    "params_many_groups": "params -g 65536 -i 65536 -o 65536 -k 1 --compare-groups",
    "solve_7_14": "solve --input 7 --output 14 -n 4",
    "solve_transposed_7_14": "solve --input 7 --output 14 -t -n 4",
    "show_many_groups": "show -i 100000000 -o 100000000 -k 1 -g 100000000",
}


def run80(*args):
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_golden_outputs_at_80_columns(name, golden):
    r = run80(*PICTURES[name].split())
    assert r.exit_code == 0, r.stderr
    golden(f"{name}.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_golden_shape_table_at_80_columns_as_a_user_runs_it(golden):
    r = run_subprocess("shape", "1x16x8x8", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g",
                       "4", "-t", "--explain")
    golden("shape_transposed_explain.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_pictures_fit_a_narrow_terminal():
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "50", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, ["show", "1x64x224x224", "-o", "128", "-k", "7", "-s", "2", "-p",
                            "3", "-g", "4"], catch_exceptions=False)
    assert r.exit_code == 0
    window = r.stdout[r.stdout.index("Along W"):r.stdout.index("Receptive")]
    assert all(len(line) <= 50 for line in window.splitlines()[1:4])

