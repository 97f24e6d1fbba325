"""`convcli shape` and `convcli params`: one conv layer's shapes and costs.

The Typer side: options and help. The bodies are in calculator_commands.py (typer-free, shared with
the fast path). Neither imports torch nor numpy (a test pins it).
"""

from __future__ import annotations

from typing import List, Optional

from convcli.cli import calculator_commands
from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import ConvArgs, conv_options, table_options


@app.command()
@errors_to_exit_code
@conv_options("shape")
@table_options("shape")
def shape(input: str, conv: ConvArgs, dtype: str, explain: bool, json: bool,
          padding_from: Optional[str], sweep: Optional[List[str]]):
    """Output shape, weight shape, params, MACs/FLOPs and bytes of one conv layer.

    Example: convcli shape 4x3x64x64 -o 16 -k 3 -p 1 --explain

    Porting: convcli shape 1x3x7x7 -o 8 -k 3 -s 2 --padding SAME --padding-from tf
    """
    calculator_commands.shape(conv, input, dtype, explain, padding_from, sweep).emit(json)


@app.command()
@errors_to_exit_code
@conv_options("params")
@table_options("params")
def params(conv: ConvArgs, input: Optional[str], compare_groups: bool, dtype: str,
           json: bool, conventions: bool, sweep: Optional[List[str]]):
    """Weight and bias shapes, parameter counts and how groups change them.

    Example: convcli params -i 64 -o 128 -k 3 --groups 4 --compare-groups

    Other tools: convcli params 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t --conventions
    """
    calculator_commands.params(conv, input, compare_groups, dtype, conventions, sweep).emit(json)
