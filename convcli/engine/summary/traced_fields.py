"""`summary --rf` and `--field`: receptive fields through a traced model, residual
branches included (the union over paths).

A TorchDispatchMode follows a meta forward and keeps, for every tensor it has seen
(weakly), one list per spatial dim of Python-int bitsets over the first input's
indices (network/receptive_fields.py), plus the nominal numbers. Convolutions (transposed too),
pools, adaptive pools, upsampling, padding and pixel shuffles map positions; ops that
keep the spatial shape (adds, activations, eval BatchNorm, broadcast multiplies) take
the union of their inputs' fields position by position; a cat along a spatial dim
concatenates; group and layer norms over spatial dims make the field global; anything
else that changes the spatial shape ends the field, with a note. Fields are pooled
over channels (a grouped conv after a channel cat of branches is over-approximated).
torch is imported inside functions.
"""

from __future__ import annotations

from convcli.network.receptive_fields import Nominal, propagate, seed

_POOLS = {"max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
          "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
          "avg_pool3d"}
_ADAPTIVE = {"_adaptive_avg_pool1d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d",
             "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
             "adaptive_max_pool3d"}
_NEAREST = {"upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"}
_LINEAR = {"upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d",
           "upsample_bicubic2d", "_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa"}
_PADS = {"constant_pad_nd": "zeros", "reflection_pad1d": "reflect",
         "reflection_pad2d": "reflect", "reflection_pad3d": "reflect",
         "replication_pad1d": "replicate", "replication_pad2d": "replicate",
         "replication_pad3d": "replicate", "_pad_circular": "circular"}
_GLOBAL = {"native_group_norm", "native_layer_norm"}


def _tup(v, n):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    return v * n if len(v) == 1 else v


class FieldState:
    """Fields and nominal numbers per tensor (the mode's memory)."""

    def __init__(self):
        from torch.utils.weak import WeakTensorKeyDictionary
        self.fields = WeakTensorKeyDictionary()
        self.notes: list[str] = []
        self.dims = 0

    def seed(self, x) -> None:
        self.dims = x.dim() - 2
        self.fields[x] = ([seed(L) for L in x.shape[2:]], [Nominal() for _ in x.shape[2:]])

    def get(self, t):
        import torch
        return self.fields.get(t) if isinstance(t, torch.Tensor) else None

    def rule(self, func, args, kwargs, out):
        """(fields, nominal) of ``out``, or None: it has no field."""
        import torch
        name = func._overloadpacket.__name__
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        fx = self.get(x)
        nd = self.dims
        if out.dim() != nd + 2:
            return None
        if name == "convolution" and fx is not None:
            stride, padding, dilation, transposed = args[3], args[4], args[5], args[6]
            k = args[1].shape[2:]
            steps = [("convT", k[i], stride[i], padding[i], dilation[i]) if transposed else
                     ("window", k[i], stride[i], padding[i], dilation[i]) for i in range(nd)]
            return self._step(fx, x, out, steps)
        if name in _POOLS and fx is not None:
            ks = _tup(args[1], nd)
            st = _tup(args[2] if len(args) > 2 and args[2] else ks, nd)
            pd = _tup(args[3] if len(args) > 3 else 0, nd)
            dl = _tup(args[4] if len(args) > 4 and name.startswith("max") else 1, nd)
            return self._step(fx, x, out, [("window", ks[i], st[i], pd[i], dl[i])
                                           for i in range(nd)])
        if name in _ADAPTIVE and fx is not None:
            return self._step(fx, x, out, [("adaptive",)] * nd)
        if name in _NEAREST and fx is not None:
            return self._step(fx, x, out, [("nearest",)] * nd)
        if name in _LINEAR and fx is not None:
            align = bool(args[2]) if len(args) > 2 and isinstance(args[2], bool) else False
            return self._step(fx, x, out, [("linear", align)] * nd)
        if name in _PADS and fx is not None:
            return self._pad(name, fx, x, out, args)
        if name in ("pixel_shuffle", "pixel_unshuffle") and fx is not None:
            kind = "shuffle" if name == "pixel_shuffle" else "unshuffle"
            return self._step(fx, x, out, [(kind, int(args[1]))] * nd)
        if name == "cat":
            return self._cat(args, kwargs, out)
        if name in _GLOBAL and fx is not None:
            return self._step(fx, x, out, [("global",)] * nd)
        return self._union(func, args, kwargs, out)

    def _step(self, fx, x, out, steps):
        fields, nominal = fx
        new_f, new_n = [], []
        for d, step in enumerate(steps):
            new_f.append(propagate(fields[d], step, x.shape[2 + d], out.shape[2 + d]))
            new_n.append(nominal[d].then(step))
        return new_f, new_n

    def _pad(self, name, fx, x, out, args):
        nd = self.dims
        pad = list(args[1]) + [0] * (2 * nd)
        if name == "constant_pad_nd" and len(args[1]) > 2 * nd:
            return None
        steps = [("pad", pad[2 * (nd - 1 - d)], _PADS[name]) for d in range(nd)]
        return self._step(fx, x, out, steps)

    def _cat(self, args, kwargs, out):
        ts = list(args[0])
        dim = (args[1] if len(args) > 1 else kwargs.get("dim", 0)) % out.dim()
        parts = [self.get(t) for t in ts]
        if dim < 2:
            return _union([p for p in parts if p is not None], out, self.dims)
        if any(p is None for p in parts):
            return None
        fields = [list(f) for f in parts[0][0]]
        fields[dim - 2] = [b for p in parts for b in p[0][dim - 2]]
        nominal = list(parts[0][1])
        nominal[dim - 2] = Nominal(None, None, None)
        return fields, nominal

    def _union(self, func, args, kwargs, out):
        import torch
        from torch.utils._pytree import tree_leaves
        ins = [t for t in tree_leaves((args, kwargs))
               if isinstance(t, torch.Tensor) and self.get(t) is not None]
        if not ins:
            return None
        if all(t.dim() == out.dim() and all(a in (1, b) for a, b in
                                            zip(t.shape[2:], out.shape[2:])) for t in ins):
            return _union([self.fields[t] for t in ins], out, self.dims)
        if all(t.dim() == out.dim() and all(b in (1, a) for a, b in
                                            zip(t.shape[2:], out.shape[2:])) for t in ins):
            # a reduction that keeps its dims (mean over H, W): global along them
            parts = [self._step(self.fields[t], t, out, [
                ("global",) if b == 1 and a != 1 else ("same",)
                for a, b in zip(t.shape[2:], out.shape[2:])]) for t in ins]
            return _union(parts, out, self.dims)
        self.notes.append(f"{func._overloadpacket.__name__}: changes the spatial shape in a "
                          "way convcli does not follow; the field ends there")
        return None


def _union(parts, out, nd):
    if not parts:
        return None
    fields, nominal = [], []
    for d in range(nd):
        L = out.shape[2 + d]
        col = [0] * L
        for f, _ in parts:
            src = f[d]
            for o in range(L):
                col[o] |= src[0 if len(src) == 1 else o]
        fields.append(col)
        nominal.append(_nominal_union([n[d] for _, n in parts]))
    return fields, nominal


def _nominal_union(ns: list[Nominal]) -> Nominal:
    first = ns[0]
    if any(n.size is None or n.jump != first.jump for n in ns) or first.jump is None:
        return Nominal(None, None, None)
    spans = [(n.start, n.start + n.size - 1) for n in ns
             if n.start is not None and n.size is not None]
    if len(spans) != len(ns):
        return Nominal(None, None, None)
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    return Nominal(int(end - start + 1), first.jump, start, first.chain)


_MODE: list = []


def _mode():
    if not _MODE:
        from torch.utils._python_dispatch import TorchDispatchMode

        class FieldMode(TorchDispatchMode):
            def __init__(self, state: FieldState):
                super().__init__()
                self.state = state

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                import torch
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                first = out[0] if isinstance(out, (tuple, list)) and out else out
                if isinstance(first, torch.Tensor) and self.state.dims:
                    result = self.state.rule(func, args, kwargs, first)
                    if result is not None:
                        for o in (out if isinstance(out, (tuple, list)) else (out,)):
                            if isinstance(o, torch.Tensor) and o.shape == first.shape:
                                self.state.fields[o] = result
                return out

        _MODE.append(FieldMode)
    return _MODE[0]


def field_pass(model, args, kwargs) -> tuple[dict, list[str]]:
    """Run ``model`` (on meta) under the field mode: {(module name, call number):
    (fields, nominal) of its output} and notes. The first positional input with
    spatial dims is the one fields are measured on."""
    import torch
    from convcli.engine.summary.dispatch import Recorder, first_tensor
    state = FieldState()
    x = next((a for a in args if isinstance(a, torch.Tensor) and a.dim() >= 3), None)
    if x is None:
        return {}, ["receptive fields: no input with spatial dims (N, C, L...)"]
    state.seed(x)
    rec = Recorder(model)
    found: dict = {}

    def post(m, a, out):
        rec.post(m, a, out)
        t = first_tensor(out)
        if rec.last is not None and rec.last.module is m and t is not None:
            value = state.get(t)
            if value is not None:
                found[(rec.last.qual, rec.last.number)] = value

    hooks = torch.nn.modules.module
    handles = [hooks.register_module_forward_pre_hook(rec.pre),
               hooks.register_module_forward_hook(post)]
    model.eval()
    try:
        with torch.no_grad(), _mode()(state):
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return found, sorted(set(state.notes))
