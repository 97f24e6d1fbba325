"""The result of a walk through a network: one row per layer (or module call), and the
totals.

Shared by ``convcli net`` (pure-Python rules) and ``convcli summary`` (a traced
forward pass). A report renders itself (``print(report)``, ``rich.print(report)``, the
cell output in Jupyter) and answers to torchinfo's names (``report.total_mult_adds``,
``report.summary_list``): report_face.py, through the renderers the views world
registers in ``RENDERERS`` (the network world imports no rich). Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from math import prod
from typing import TYPE_CHECKING, Any

from convcli.calculator.costs import DTYPE_SIZES
from convcli.network.report_face import RENDERERS, ReportFace, RowFace

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Shape = tuple[int, ...]

__all__ = ["RENDERERS", "NetReport", "NetRow", "layer_outputs"]


@dataclass(frozen=True)
class NetRow(RowFace):
    """One layer, or one module call: what it receives, what it gives, what it costs.

    In ``summary`` with ``--depth``, a row may stand for a whole block: ``container``
    rows roll up the params and MACs of the calls inside them; ``expanded`` ones are
    followed by those calls' own rows. The rows that are not expanded partition the
    model: their params and MACs sum to the totals."""

    index: int
    layer: str                 # as written (or the module's repr, in `summary`)
    kind: str                  # torch class name
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int | None           # None: not counted
    conv: ConvSpec | None = None
    geometry: dict | None = None   # k/s/p/d/g actually used (convs and pools)
    name: str | None = None        # qualified module name (summary only)
    note: str = ""
    depth: int = 0                 # nesting depth of the module (summary)
    container: bool = False        # the row rolls up the calls inside the module
    expanded: bool = False         # ... and those calls follow as rows of their own
    own: bool = False              # the work of a block's own forward() code
    frozen_params: int = 0         # params with requires_grad=False
    uncounted: tuple[str, ...] = ()    # ops that did MAC work convcli did not count
    ops: dict = field(default_factory=dict)   # op name -> MACs (summary)
    rf: Any = None                 # receptive field (network/receptive_fields.py RowField)
    short: str = ""                # the layer in as few arguments as torch needs (net)
    train: Any = None              # training memory (TrainRow)

    @property
    def output_elements(self) -> int:
        return prod(self.output_shape)


@dataclass(frozen=True, repr=False)    # repr: report_face's one line
class NetReport(ReportFace):
    input_shape: Shape
    rows: list[NetRow]
    total_params: int
    notes: list[str] = field(default_factory=list)
    # False when some work was seen but not counted (summary: ops without a formula);
    # the notes say which op, in which module
    macs_complete: bool = True
    final_shape: Shape | None = None   # summary: what forward() returned
    macs: int | None = None            # summary: the counted total (rows may roll up)
    frozen_params: int = 0
    unused_params: int = 0             # summary: params no op of forward() read
    path: str = "rules"                # rules (net) | meta | cpu (summary)
    path_reason: str = ""              # why the CPU pass ran
    inputs: list[str] = field(default_factory=list)
    macs_by_op: dict = field(default_factory=dict)
    uncounted_ops: dict = field(default_factory=dict)   # op -> modules
    model: str | None = None
    depth: int | None = None
    train: Any = None                  # TrainReport (--train)
    picture: Any = None                # the field behind one output (--field)
    kinds: dict = field(default_factory=dict)   # summary: module name -> its class
    # summary with --depth: the rows roll blocks up, the activations are still every
    # layer's (counted on the rows without --depth)
    activations: int | None = None
    # summary: the output elements of the calls of modules that hold parameters
    # (torchinfo's forward/backward size), whatever the depth shown
    param_layer_outputs: int | None = None
    # how the drop-in (convcli.summary) was asked to show it: torchinfo's columns,
    # row settings, the dtype of the bytes
    view: dict = field(default_factory=dict)

    @property
    def output_shape(self) -> Shape:
        if self.final_shape is not None:
            return self.final_shape
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @cached_property   # the rows never change: one sum, not one per row asked
    def total_macs(self) -> int:
        if self.macs is not None:
            return self.macs
        return sum(r.macs for r in self.rows if r.macs is not None and not r.expanded)

    @property
    def trainable_params(self) -> int:
        return self.total_params - self.frozen_params

    @cached_property   # the rows never change: one sum, not one per row asked
    def uncounted(self) -> list[str]:
        """Rows whose MAC work convcli could not (fully) count."""
        return [r.name or r.layer for r in self.rows
                if r.macs is None or r.uncounted and not r.expanded]

    @cached_property   # the rows never change: one sum, not one per row asked
    def activation_elements(self) -> int:
        """Every layer's output, summed: what `net` reported before --train (in-place
        activations and views counted as if they were copies). A block's own code is
        no layer: its row's output is the block's, already counted where it was made."""
        if self.activations is not None:
            return self.activations
        return layer_outputs(self.rows)

    def activation_bytes(self, dtype: str) -> int:
        return self.activation_elements * DTYPE_SIZES[dtype]

    def param_bytes(self, dtype: str) -> int:
        return self.total_params * DTYPE_SIZES[dtype]

    def share(self, row: NetRow) -> float | None:
        """The row's MACs as a share of the total (None when nothing is counted)."""
        total = self.total_macs
        if not total or row.macs is None:
            return None
        return row.macs / total


def layer_outputs(rows: list[NetRow]) -> int:
    """The output elements of the rows that are layers (not blocks, not own code)."""
    return sum(r.output_elements for r in rows if not r.container and not r.own)
