"""The result of a walk through a network: one row per layer, and the totals.

Shared by ``convcli net`` (pure-Python rules) and ``convcli summary`` (a traced
forward pass). Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING

from convcli.calculator.costs import DTYPE_SIZES

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Shape = tuple[int, ...]


@dataclass(frozen=True)
class NetRow:
    """One layer: what it receives, what it gives, what it costs."""

    index: int
    layer: str                 # as written (or the module's repr, in `summary`)
    kind: str                  # torch class name
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int | None           # None: not counted (a module convcli has no rule for)
    conv: ConvSpec | None = None
    geometry: dict | None = None   # k/s/p/d/g actually used (convs and pools)
    name: str | None = None        # qualified module name (summary only)
    note: str = ""

    @property
    def output_elements(self) -> int:
        return prod(self.output_shape)


@dataclass(frozen=True)
class NetReport:
    input_shape: Shape
    rows: list[NetRow]
    total_params: int
    notes: list[str] = field(default_factory=list)
    # False when some computation was seen but not counted (summary: modules without a
    # rule, parameters owned by modules with children); the notes say which
    macs_complete: bool = True
    final_shape: Shape | None = None   # summary: what forward() returned

    @property
    def output_shape(self) -> Shape:
        if self.final_shape is not None:
            return self.final_shape
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows if r.macs is not None)

    @property
    def uncounted(self) -> list[str]:
        """Rows whose MACs convcli could not count (summary: unknown modules)."""
        return [r.name or r.layer for r in self.rows if r.macs is None]

    @property
    def activation_elements(self) -> int:
        """Every layer's output, summed: roughly what training keeps for backward
        (in-place activations and views counted as if they were copies)."""
        return sum(r.output_elements for r in self.rows)

    def activation_bytes(self, dtype: str) -> int:
        return self.activation_elements * DTYPE_SIZES[dtype]

    def param_bytes(self, dtype: str) -> int:
        return self.total_params * DTYPE_SIZES[dtype]
