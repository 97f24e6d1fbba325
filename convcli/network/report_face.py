"""What a report shows to Python: torchinfo's names for the totals and the rows, the
table as ``str()``, HTML for Jupyter, rich's protocol, ``to_dict()`` (the command's
--json), iteration over the rows and ``to_pandas()``.

NetRow and NetReport (net_report.py) inherit these mixins; the drawing is done by the
renderers the views world registers in ``RENDERERS`` (this world imports no rich):
"rich" (report -> renderables), "text" (report -> str), "mimebundle" (report ->
{mime type: text}) and "dict" (report -> the --json dict). ``convcli.summary``,
``convcli.summarise`` and ``convcli.analyse_net`` import the views before they
return, so a report from them always draws itself. Pure Python.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, Callable, Iterator

# "rich": report -> renderables; "text": report -> str; "mimebundle": report ->
# {mime type: text}; "dict": report -> the --json dict; "pandas": report -> DataFrame
RENDERERS: dict[str, Callable[..., Any]] = {}

# bytes per element of the dtypes an input may have (--input NAME=SHAPE:DTYPE)
ELEMENT_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8,
                 "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}


class RowFace:
    """torchinfo's LayerInfo names on a row (``report.summary_list[i].num_params``)."""

    kind: str
    name: str | None
    layer: str
    params: int
    frozen_params: int
    macs: int | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    container: bool
    own: bool
    geometry: dict | None

    @property
    def class_name(self) -> str:
        return self.kind

    @property
    def var_name(self) -> str:
        """The last part of the module's qualified name ('conv1' in 'layer1.0.conv1');
        `net`'s rows, which have no names, give the layer as written."""
        if self.name is None:
            return self.layer
        return self.name.split(" (call ")[0].rpartition(".")[2]

    @property
    def num_params(self) -> int:
        return self.params

    @property
    def trainable_params(self) -> int:
        return self.params - self.frozen_params

    @property
    def trainable(self) -> str:
        """torchinfo's words: "True", "False", "Partial", or "--" without params."""
        if not self.params:
            return "--"
        if self.frozen_params == self.params:
            return "False"
        return "Partial" if self.frozen_params else "True"

    @property
    def input_size(self) -> list[int]:
        return list(self.input_shape)

    @property
    def output_size(self) -> list[int]:
        return list(self.output_shape)

    @property
    def kernel_size(self) -> list[int] | None:
        return None if not self.geometry else list(self.geometry["kernel_size"])

    @property
    def is_leaf_layer(self) -> bool:
        return not self.container and not self.own

    @property
    def is_recursive(self) -> bool:
        """A second or later call of the same module (its params are in the first)."""
        return self.name is not None and " (call " in self.name


class ReportFace:
    """torchinfo's ModelStatistics names, and the ways a report shows itself."""

    rows: list
    total_params: int
    input_shape: tuple[int, ...]
    inputs: list[str]
    model: str | None
    path: str
    view: dict
    param_layer_outputs: int | None
    macs_complete: bool

    if TYPE_CHECKING:       # NetReport's properties
        @property
        def output_shape(self) -> tuple[int, ...]: ...

        @property
        def total_macs(self) -> int: ...

    # ---- torchinfo's names ---------------------------------------------------------
    @property
    def summary_list(self) -> list:
        """The rows (torchinfo's summary_list): each has class_name, var_name, depth,
        input_size, output_size, num_params, trainable_params, macs, trainable."""
        return list(self.rows)

    @property
    def total_mult_adds(self) -> int:
        return self.total_macs

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def dtype(self) -> str:
        return self.view.get("dtype", "float32")

    @property
    def total_input(self) -> int:
        """Bytes of the inputs forward() received (each at its own dtype)."""
        if not self.inputs:
            return prod(self.input_shape) * ELEMENT_BYTES[self.dtype]
        total = 0
        for text in self.inputs:
            shape, _, dtype = text.rpartition("=")[2].partition(":")
            dims = [int(d) for d in shape.split("x") if d] if shape else []
            total += prod(dims) * ELEMENT_BYTES[dtype or self.dtype]
        return total

    @property
    def total_param_bytes(self) -> int:
        """Each parameter at its own dtype (convcli.summary, convcli.summarise); else
        at the report's dtype."""
        if "param_bytes" in self.view:
            return self.view["param_bytes"]
        return self.total_params * ELEMENT_BYTES[self.dtype]

    @property
    def total_output_bytes(self) -> int:
        """torchinfo's "Forward/backward pass size": twice the outputs of the layers
        that hold parameters (at the report's dtype). What training really keeps is
        ``report.train`` (summary --train)."""
        if self.param_layer_outputs is not None:
            elements = self.param_layer_outputs
        else:
            elements = sum(prod(r.output_shape) for r in self.rows
                           if r.params and r.is_leaf_layer)
        return 2 * elements * ELEMENT_BYTES[self.dtype]

    @property
    def pruned_params(self) -> int:
        """Params that torch.nn.utils.prune's masks zero (convcli.summary and summarise;
        ``total_params - pruned_params`` is torchinfo's total)."""
        return self.view.get("pruned_params", 0)

    @property
    def total_bytes(self) -> int:
        """torchinfo's "Estimated Total Size": inputs + forward/backward + params."""
        return self.total_input + self.total_output_bytes + self.total_param_bytes

    # ---- the rows as a sequence ----------------------------------------------------
    def __iter__(self) -> Iterator:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    # ---- the ways it shows itself --------------------------------------------------
    def _render(self, what: str):
        render = RENDERERS.get(what)
        return None if render is None else render(self)

    def __str__(self) -> str:
        text = self._render("text")
        return self.one_line() if text is None else text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.one_line()}>"

    def __rich_console__(self, console, options):
        renderables = self._render("rich")
        if renderables is None:
            yield self.one_line()
            return
        yield from renderables

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self._render("mimebundle")
        return {"text/plain": self.one_line()} if bundle is None else bundle

    def _repr_html_(self) -> str | None:
        return self._repr_mimebundle_().get("text/html")

    def to_dict(self) -> dict:
        """The command's --json object (`convcli net --json`, `convcli summary --json`)."""
        data = self._render("dict")
        if data is None:
            raise RuntimeError("the report's views are not loaded: import convcli.views.net_view")
        return data

    def to_pandas(self):
        """One DataFrame row per table row (pandas is an optional dependency: without
        it, EnvironmentProblem says how to install it)."""
        frame = self._render("pandas")
        if frame is None:
            raise RuntimeError("the report's views are not loaded: import convcli.views.net_view")
        return frame

    def one_line(self) -> str:
        return (f"{self.model or 'network'}: {len(self.rows)} rows, output "
                f"{list(self.output_shape)}, {self.total_params:,} params, "
                f"{self.total_macs:,} MACs"
                + ("" if self.macs_complete else " (at least)"))
