"""A counted forward pass (dispatch.Recorder) -> the rows of the summary table.

Without ``depth``, the rows are the calls that did not call another module (leaf
calls), plus an "own code" row for each block whose own forward() code did MAC work
or holds parameters; they partition the model. With ``depth`` N, every module call at
depth 1..N gets a row; a block at depth N rolls up everything inside it, a block above
N is shown rolled up and then expanded (its calls follow, and its own code).

Parameters go to the first call of their module, or of the nearest ancestor that was
called (nn.MultiheadAttention's out_proj is never called: its weight is read by the
attention's own code). Parameters no op read are in the total but in no row; a note
names their modules. torch is never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from convcli.calculator.spec import ConvSpec
from convcli.engine.summary.dispatch import Call, Recorder
from convcli.engine.summary.modules import call_of, short_repr
from convcli.errors import ConvError
from convcli.network.layer import Ctx
from convcli.network.net_report import NetRow
from convcli.network.train_report import TrainRow
from convcli.network.rules import build_layer


@dataclass
class Params:
    """Parameters of the model: who owns what, and which ones forward() read."""

    total: int = 0
    frozen: int = 0
    by_call: dict[int, list[int]] = field(default_factory=dict)   # call -> [n, frozen]
    unused: dict[str, int] = field(default_factory=dict)          # module -> params
    owner: dict[str, int] = field(default_factory=dict)           # param name -> call


def assign_params(model, calls: list[Call], used: set[str] | None) -> Params:
    """Each unique parameter to the first call of its module or nearest called
    ancestor; ``used`` (names read by some op) None: every parameter counts as read."""
    first: dict[str, int] = {}
    for c in calls:
        first.setdefault(c.qual, c.index)
    out = Params()
    for name, p in model.named_parameters():
        n = p.numel()
        frozen = 0 if p.requires_grad else n
        out.total += n
        out.frozen += frozen
        owner = name.rpartition(".")[0]
        if used is not None and name not in used:
            out.unused[owner or "(model)"] = out.unused.get(owner or "(model)", 0) + n
            continue
        q = owner
        while q not in first and q:
            q = q.rpartition(".")[0]
        if q not in first:
            out.unused[owner or "(model)"] = out.unused.get(owner or "(model)", 0) + n
            continue
        slot = out.by_call.setdefault(first[q], [0, 0])
        slot[0] += n
        slot[1] += frozen
        out.owner[name] = first[q]
    return out


class RowBuilder:
    """Turns the calls into NetRows (see the module doc)."""

    def __init__(self, rec: Recorder, params: Params, depth: int | None,
                 train: dict[int, TrainRow] | None = None, fields: dict | None = None):
        self.calls, self.params, self.depth = rec.calls, params, depth
        self.train, self.fields = train, fields or {}
        self.rows: list[NetRow] = []
        self._rolled: dict[int, tuple[int, int, int, tuple]] = {}

    def build(self) -> list[NetRow]:
        for call in self.calls:
            if call.parent is None:
                self._emit(call)
        return [replace(r, index=i) for i, r in enumerate(self.rows, 1)]

    def _train(self, call: Call, rolled: bool) -> TrainRow | None:
        if self.train is None:
            return None
        own = self.train.get(call.index, TrainRow())
        if rolled:
            for i in call.children:
                own = own + (self._train(self.calls[i], True) or TrainRow())
        return own

    def rolled(self, call: Call) -> tuple[int, int, int, tuple]:
        """(MACs, params, frozen params, uncounted ops) of the call and all inside it."""
        if call.index not in self._rolled:
            own = self.params.by_call.get(call.index, [0, 0])
            macs, n, frozen, unc = call.own_macs, own[0], own[1], set(call.uncounted)
            for i in call.children:
                m, p, f, u = self.rolled(self.calls[i])
                macs, n, frozen = macs + m, n + p, frozen + f
                unc.update(u)
            self._rolled[call.index] = (macs, n, frozen, tuple(sorted(unc)))
        return self._rolled[call.index]

    def _shown(self, call: Call) -> bool:
        d = self.depth
        return d is not None and call.depth <= d and (call.depth >= 1 or d == 0)

    def _emit(self, call: Call) -> None:
        if not call.children:
            self.rows.append(replace(leaf_row(call, self.params),
                                     train=self._train(call, False),
                                     rf=self.fields.get(call.index)))
            return
        if self._shown(call):
            collapsed = call.depth == self.depth
            self.rows.append(self._container(call, expanded=not collapsed))
            if collapsed:
                return
        for i in call.children:
            self._emit(self.calls[i])
        own = self.params.by_call.get(call.index, [0, 0])
        train = self._train(call, False)
        if call.own_macs or own[0] or call.uncounted or train and train.total:
            self.rows.append(_row(call, f"{type(call.module).__name__} own code",
                                  call.own_macs, own, tuple(sorted(call.uncounted)),
                                  own=True, ops=dict(call.ops), train=train,
                                  rf=self.fields.get(call.index)))

    def _container(self, call: Call, expanded: bool) -> NetRow:
        macs, n, frozen, unc = self.rolled(call)
        return _row(call, f"{type(call.module).__name__}(...)", macs, [n, frozen], unc,
                    container=True, expanded=expanded, train=self._train(call, True),
                    rf=self.fields.get(call.index))


def _row(call: Call, layer: str, macs: int, params, uncounted: tuple, **extra) -> NetRow:
    return NetRow(0, layer, type(call.module).__name__, call.input_shape or (),
                  call.output_shape or (), params[0], macs, name=call.name or
                  type(call.module).__name__, depth=call.depth, frozen_params=params[1],
                  uncounted=uncounted, **extra)


def leaf_row(call: Call, params: Params) -> NetRow:
    """A call that called no other module: its rule (exact torch classes) gives the
    geometry and notes; else its one conv op does."""
    m = call.module
    layer = _rule(m, call.input_shape)
    conv = layer.conv if layer is not None else None
    geometry = layer.geometry() if layer is not None else None
    if layer is None and len(call.convs) == 1:
        conv = conv_spec(call.convs[0])
        if conv is not None:
            geometry = conv.geometry()
    notes = []
    if layer is not None and call.input_shape is not None:
        notes.append(layer.note(call.input_shape))
    if call.input_shape is None:
        notes.append("no tensor input")
    own = params.by_call.get(call.index, [0, 0])
    row = _row(call, short_repr(m, conv if layer is not None else None), call.own_macs, own,
               tuple(sorted(call.uncounted)), conv=conv, geometry=geometry,
               ops=dict(call.ops))
    return replace(row, note="; ".join(n for n in notes if n))


def _rule(m, shape):
    """The network rule of an exact torch class (after forward: lazy modules are
    concrete by then), or None."""
    call = call_of(m)
    if call is None:
        return None
    try:
        layer = build_layer(replace(call, text=short_repr(m)))
        if shape is not None:
            layer.output(shape, Ctx("its input", True))
    except ConvError:
        return None
    return layer


def conv_spec(g: dict) -> ConvSpec | None:
    """The ConvSpec of a convolution op's arguments (None if convcli rejects it)."""
    values = {k: v for k, v in g.items() if k != "input_shape"}
    try:
        return ConvSpec(**values)
    except ConvError:
        return None
