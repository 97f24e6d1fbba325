"""The model loader: a user's nn.Module, layer by layer, from a forward pass on the
meta device (shapes only: no memory for activations or weights, no arithmetic).

``load_model("models.py:Net", args)`` runs the user's file (it is Python: it can do
anything the user can) and builds the module under ``torch.device("meta")``;
``summarise(model, input_shape)`` registers hooks on every leaf module, runs the
forward pass and returns a NetReport (net.py) with one row per leaf-module call.

The meta device accepts some configurations a real CPU forward rejects
(torch-conv-rules.md), so every conv is checked with ConvSpec, and every layer
convcli has a rule for with net.py, before it runs; those rules also give each
conv its geometry and MACs (transposed convs counted per input element).

torch is imported inside functions only.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import sys
from dataclasses import replace
from math import prod

from convcli.errors import ConvError, EnvironmentProblem
from convcli.layers import LayerCall
from convcli.net import REGISTRY, Ctx, NetReport, NetRow, _sx, build_layer


# ---- loading ------------------------------------------------------------------------

def parse_target(target: str) -> tuple[str, str | None]:
    """'models.py:Net' -> ('models.py', 'Net'); 'models.py' -> ('models.py', None)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or os.sep in name or name.endswith(".py"):
        return target, None
    if not name.isidentifier():
        raise ConvError(f"FILE.py:NAME: {name!r} is not a Python name; write e.g. "
                        "models.py:Net")
    return path, name


def parse_args(text: str | None) -> tuple[tuple, dict]:
    """--args: a Python literal. A tuple is the positional arguments, a dict the keyword
    arguments, anything else one positional argument."""
    if text is None:
        return (), {}
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConvError(
            f"--args: {text!r} is not a Python literal; write e.g. --args 10, "
            "--args '(3, 10)' or --args \"{'num_classes': 10}\"") from None
    if isinstance(value, tuple):
        return value, {}
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k.isidentifier() for k in value):
            raise ConvError(f"--args: the keys of {text!r} must be argument names")
        return (), value
    return (value,), {}


def _import_file(path: str):
    if not os.path.exists(path):
        raise EnvironmentProblem(f"{path}: no such file")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"{path}: is a directory; give a .py file")
    if not os.access(path, os.R_OK):
        raise EnvironmentProblem(f"{path}: cannot read it (permission denied)")
    full = os.path.abspath(path)
    mod_name = "_convcli_user_" + "".join(c if c.isalnum() else "_"
                                          for c in os.path.splitext(os.path.basename(full))[0])
    spec = importlib.util.spec_from_file_location(mod_name, full)
    if spec is None or spec.loader is None:
        raise EnvironmentProblem(f"{path}: Python cannot load it as a module (is it a .py "
                                 "file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    folder = os.path.dirname(full)
    sys.path.insert(0, folder)  # sibling imports work as when the user runs the file
    try:
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(mod_name, None)  # no half-run module left behind
            raise
    except SyntaxError as e:
        raise ConvError(f"{path} line {e.lineno}: SyntaxError: {e.msg}") from None
    except ImportError as e:
        raise EnvironmentProblem(
            f"running {path} failed at an import: {type(e).__name__}: {e}"
            f"{_where(e, full)}; install what it needs or fix the import") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem(f"{path}: cannot read it ({e})") from None
    except SystemExit as e:
        raise ConvError(f"running {path} called exit({e.code}); guard its script part with "
                        "if __name__ == '__main__':") from None
    except Exception as e:  # the user's code failed: their bug, reported in one line
        raise ConvError(f"running {path} raised {type(e).__name__}: {e}{_where(e, full)}"
                        ) from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:  # pragma: no cover - the user's file changed sys.path
            pass
    return module


def _where(exc: BaseException, path: str) -> str:
    """' (line N)' of the innermost frame of ``path`` in the traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return "" if line is None else f" (line {line})"


def _candidates(module, nn) -> tuple[list[str], list[str]]:
    classes, functions = [], []
    for key, value in vars(module).items():
        if key.startswith("_"):
            continue
        if inspect.isclass(value) and issubclass(value, nn.Module) and \
                value.__module__ == module.__name__:
            classes.append(key)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            functions.append(key)
    return classes, functions


def load_model(target: str, args: tuple = (), kwargs: dict | None = None):
    """Build NAME from FILE.py on the meta device. Returns (model, label)."""
    from convcli.runner import import_torch

    torch = import_torch()
    nn = torch.nn
    kwargs = kwargs or {}
    path, name = parse_target(target)
    module = _import_file(path)
    classes, functions = _candidates(module, nn)
    if name is None:
        if len(classes) != 1:
            listed = ", ".join(classes) or "none"
            raise ConvError(f"{path}: say which model to summarise as {path}:NAME; its "
                            f"nn.Module classes: {listed}"
                            + (f"; functions: {', '.join(functions)}" if functions else ""))
        name = classes[0]
    if not hasattr(module, name):
        known = ", ".join(classes + functions) or "no nn.Module classes or functions"
        raise ConvError(f"{path} has no {name!r}; it defines: {known}")
    obj = getattr(module, name)
    if not callable(obj):
        raise ConvError(f"{path}:{name} is {_a(type(obj).__name__)}, not an nn.Module class "
                        "or a function returning one")
    if isinstance(obj, nn.Module):
        raise ConvError(f"{path}:{name} is a module instance; convcli builds its own on "
                        "the meta device: point at its class or at a function returning it")
    call = f"{name}({_args_text(args, kwargs)})"
    try:
        try:
            with torch.device("meta"):
                model = obj(*args, **kwargs)
        except Exception as e:
            if not _meta_limit(e):
                raise
            model = obj(*args, **kwargs).to("meta")  # e.g. __init__ reads tensor values
    except TypeError as e:
        hint = ("" if args or kwargs else
                "; pass constructor arguments with --args, e.g. --args \"{'num_classes': 10}\"")
        raise ConvError(f"{path}: {call} failed: TypeError: {e}{hint}") from None
    except Exception as e:  # the user's constructor failed
        raise ConvError(f"{path}: {call} failed: {type(e).__name__}: {e}"
                        f"{_where(e, os.path.abspath(path))}") from None
    if not isinstance(model, nn.Module):
        raise ConvError(f"{path}: {call} returned {_a(type(model).__name__)}, not an "
                        "nn.Module")
    return model, call


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _args_text(args, kwargs) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


# ---- modules -> net.py layers -----------------------------------------------------------

def _call_of(m) -> LayerCall | None:
    """A LayerCall for the torch module, when net.py has a rule for its class."""
    torch_nn = sys.modules["torch.nn"]
    cls = type(m)
    name = cls.__name__
    if name not in REGISTRY or getattr(torch_nn, name, None) is not cls \
            or name.startswith("Lazy"):
        # a user subclass may behave differently: trust torch alone; a lazy module
        # becomes its concrete class in its first forward (the post-hook reads that)
        return None
    sig, _ = REGISTRY[name]
    kwargs = {}
    for key, _default in sig:
        if key in ("device", "dtype"):
            continue
        if key == "bias" and name.startswith(("Conv", "Linear")):
            kwargs[key] = m.bias is not None
            continue
        if key == "bias" and name == "LayerNorm":
            kwargs[key] = getattr(m, "bias", None) is not None
            continue
        if key == "num_parameters" and name == "PReLU":
            kwargs[key] = m.num_parameters
            continue
        if key == "init" and name == "PReLU":
            continue
        if not hasattr(m, key):
            return None
        kwargs[key] = _plain(getattr(m, key))
    return LayerCall(name, (), kwargs, name)


def _plain(v):
    if isinstance(v, list):
        return tuple(_plain(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if type(v).__name__ == "Size":
        return tuple(v)
    return v


def short_repr(m) -> str:
    """Conv rows: ConvSpec's constructor text; layers with a net.py rule: their
    arguments that differ from torch's defaults; others: torch's repr, one line."""
    spec = getattr(m, "_convcli_spec", None)
    if spec is not None:
        return spec.torch_repr()
    call = _call_of(m)
    if call is not None:
        sig = dict(REGISTRY[call.name][0])
        kw = dict(call.kwargs)
        if kw.get("stride") in (kw.get("kernel_size"), None) and "stride" in sig:
            kw.pop("stride")  # the default: stride = kernel_size
        parts = []
        for key, default in REGISTRY[call.name][0]:
            if key not in kw:
                continue
            v = kw[key]
            if default is _REQUIRED_MARK():
                parts.append(_lit(v))
            elif v != default and not (isinstance(v, tuple) and len(set(v)) == 1
                                       and v[0] == default):
                parts.append(f"{key}={_lit(v)}")
        return f"{call.name}({', '.join(parts)})"
    text = " ".join(repr(m).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _REQUIRED_MARK():
    from convcli.net import _REQUIRED
    return _REQUIRED


def _lit(v) -> str:
    if isinstance(v, tuple) and v and len(set(v)) == 1 and all(isinstance(x, int) for x in v):
        return str(v[0])
    return repr(v)


# ---- the forward pass -----------------------------------------------------------------

class _Failed(Exception):
    """Raised from a hook: convcli's own rules reject this module's input."""


def summarise(model, input_shape) -> NetReport:
    """Rows for every leaf-module call of ``model(torch.empty(input_shape))`` on the
    meta device; ConvError naming the module where the forward pass failed."""
    from convcli.runner import import_torch

    torch = import_torch()
    input_shape = tuple(input_shape)
    leaves = {}
    for qual, m in model.named_modules():
        if next(iter(m.children()), None) is None:
            leaves.setdefault(id(m), (qual or type(m).__name__, m))
    rules = {}
    for key, (qual, m) in leaves.items():
        call = _call_of(m)
        layer = None
        if call is not None:
            call = replace(call, text=short_repr(m))
            try:
                layer = build_layer(call)
            except ConvError:
                layer = None  # torch built it; the forward pass will say what is wrong
        rules[key] = layer
        if layer is not None and layer.conv is not None:
            m._convcli_spec = layer.conv

    kinds = {key: type(m).__name__ for key, (_, m) in leaves.items()}
    rows: list[NetRow] = []
    stack: list[tuple[str, object, tuple]] = []
    state = {"last": None}
    calls: dict[str, int] = {}

    def first_shape(inputs):
        for x in inputs:
            if isinstance(x, torch.Tensor):
                return tuple(x.shape)
        return None

    def pre_hook(m, inputs):
        qual, _ = leaves[id(m)]
        shape = first_shape(inputs)
        stack.append((qual, m, shape))
        layer = rules.get(id(m))
        if layer is not None and shape is not None:
            ctx = Ctx(state["last"] or f"the input {_sx(input_shape)}", state["last"] is None)
            try:
                layer.output(shape, ctx)
            except ConvError as e:
                raise _Failed(f"module {qual!r}: {e}") from None

    def post_hook(m, inputs, output):
        qual, _ = leaves[id(m)]
        _, _, shape_in = stack.pop()
        out = output if isinstance(output, torch.Tensor) else next(
            (o for o in (output if isinstance(output, (tuple, list)) else ())
             if isinstance(o, torch.Tensor)), None)
        out_shape = tuple(out.shape) if out is not None else ()
        layer = rules.get(id(m))
        if layer is None and shape_in is not None and type(m).__name__ != kinds[id(m)]:
            layer = _rule_for(m, shape_in)  # a lazy module that just became concrete
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if layer is not None and shape_in is not None:
            macs = layer.macs(shape_in, out_shape)
            geometry = layer.geometry()
            conv = layer.conv
            note = layer.note(shape_in)
        else:
            macs, geometry, conv, note = None, None, None, ""
            if own == 0 and type(m).__name__ in _ZERO_MAC_EXTRA:
                macs = 0
        if shape_in is None:
            note = (note + "; " if note else "") + "no tensor input"
        times = calls[qual] = calls.get(qual, 0) + 1
        times -= 1
        rows.append(NetRow(len(rows) + 1, short_repr(m), type(m).__name__, shape_in or (),
                           out_shape, 0 if times else own, macs, conv, geometry,
                           name=qual if not times else f"{qual} (call {times + 1})",
                           note=note))
        state["last"] = f"{qual} {short_repr(m)} (output {_sx(out_shape)})"
        state["last_shape"] = out_shape

    handles = []
    for qual, m in leaves.values():
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(post_hook))
    # torch's meta kernels for the norms are Python decompositions whose first use
    # imports torch._dynamo (about 2 s); a norm's output is its input's shape, checked
    # by convcli's rule in the pre-hook, so on meta those leaves return an empty copy
    fast = [m for key, (_, m) in leaves.items()
            if rules.get(key) is not None and type(m).__name__.startswith(_SHAPE_KEEPING)]
    for m in fast:
        m.forward = _same_shape
    model.eval()
    on_cpu = None
    try:
        try:
            with torch.device("meta"), torch.no_grad():
                result = model(torch.empty(input_shape, device="meta"))
        except _Failed:
            raise
        except Exception as e:
            if not _meta_limit(e):
                raise
            # data-dependent code (x.item(), nonzero, ...) cannot run on meta: run once
            # for real, on zeros, with zero weights (shapes are all we read)
            on_cpu = f"{type(e).__name__}: {' '.join(str(e).split())[:120]}"
            rows.clear(), stack.clear(), calls.clear()
            state.update(last=None, last_shape=None)
            for m in fast:
                del m.forward
            fast = []
            model.to_empty(device="cpu")
            with torch.no_grad():  # defined values (to_empty leaves garbage, even NaN)
                for t in model.parameters():
                    t.zero_()
                for key, t in model.named_buffers():
                    t.fill_(1 if key.endswith("running_var") else 0)
            with torch.no_grad():
                result = model(torch.zeros(input_shape))
    except _Failed as e:
        raise ConvError(str(e)) from None
    except Exception as e:  # the user's forward failed: say where
        raise ConvError(_failure(e, stack, state, input_shape)) from None
    finally:
        for m in fast:
            del m.forward
        for h in handles:
            h.remove()
        for _, m in leaves.values():
            if hasattr(m, "_convcli_spec"):
                del m._convcli_spec

    total = sum(p.numel() for p in _unique_params(model))
    notes = []
    if on_cpu:
        notes.append(f"forward() cannot run on the meta device ({on_cpu}); it ran once on "
                     "the CPU, on zeros")
    called = {r.name.split(" (call")[0] for r in rows}
    idle = [q for q, m in leaves.values() if q not in called
            and sum(p.numel() for p in m.parameters(recurse=False))]
    if idle:
        notes.append(f"{len(idle)} module(s) with parameters were never called in forward(): "
                     + ", ".join(idle[:5]) + (" ..." if len(idle) > 5 else ""))
    owners = [(q or type(m).__name__, type(m).__name__) for q, m in model.named_modules()
              if id(m) not in leaves and any(True for _ in m.parameters(recurse=False))]
    if owners:
        own = sum(p.numel() for q, m in model.named_modules() if id(m) not in leaves
                  for p in m.parameters(recurse=False))
        notes.append(f"{own:,} params belong to modules with children ("
                     + ", ".join(f"{q} {t}" for q, t in owners[:4])
                     + (" ..." if len(owners) > 4 else "") + "): in the total, not in a "
                     "row, and the MACs of their own computation are not counted")
    if rows and len(input_shape) >= 2 and len(rows[-1].output_shape) >= 2 and \
            rows[-1].output_shape[0] != input_shape[0]:
        changed = next(r for r in rows if r.output_shape[:1] != input_shape[:1])
        notes.append(
            f"the batch changed from {input_shape[0]} to {rows[-1].output_shape[0]} (first "
            f"seen at {changed.name}, input {_sx(changed.input_shape)}): a view/reshape with "
            "-1 in forward() may have folded features into the batch; flatten with "
            "x.flatten(1) or nn.Flatten() and size the Linear from this table")
    unknown = sorted({r.kind for r in rows if r.macs is None})
    if unknown:
        notes.append("MACs not counted for " + ", ".join(unknown)
                     + " (no convcli rule; shown as ?)")
    notes.append("functional calls in forward() (F.relu, torch.flatten, x + y, ...) are "
                 "not modules and have no row")
    first = result if isinstance(result, torch.Tensor) else next(
        (r for r in (result.values() if isinstance(result, dict) else result
                     if isinstance(result, (tuple, list)) else ())
         if isinstance(r, torch.Tensor)), None)
    if first is None:
        notes.append(f"forward() returned {_a(type(result).__name__)}, not a tensor")
    elif not isinstance(result, torch.Tensor):
        notes.append(f"forward() returned {_a(type(result).__name__)}; the output shape is "
                     "that of its first tensor")
    return NetReport(input_shape, rows, total, notes,
                     macs_complete=not owners and not unknown,
                     final_shape=None if first is None else tuple(first.shape))


def _rule_for(m, shape_in):
    call = _call_of(m)
    if call is None:
        return None
    try:
        layer = build_layer(replace(call, text=short_repr(m)))
        layer.output(shape_in, Ctx("its input", True))
    except ConvError:
        return None
    return layer


# leaf modules without a net.py rule that still do no multiply-accumulates
_ZERO_MAC_EXTRA = {"Identity", "Dropout", "ReLU", "Flatten", "Unflatten", "Softmax",
                   "Sigmoid", "Tanh", "GELU", "SiLU", "Hardswish", "ChannelShuffle"}


_SHAPE_KEEPING = ("BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm", "LocalResponseNorm")


def _same_shape(x, *args, **kwargs):
    return x.new_empty(x.shape)


def _meta_limit(e: Exception) -> bool:
    """An error that comes from the meta device itself, not from the user's model."""
    text = str(e).lower()
    return isinstance(e, NotImplementedError) or "meta" in text and (
        "data" in text or "item" in text or "not implemented" in text
        or "cannot" in text or "tensor.item" in text)


def _unique_params(model):
    seen = set()
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            yield p


def _failure(e: Exception, stack, state, input_shape) -> str:
    msg = " ".join(str(e).split())
    if len(msg) > 300:
        msg = msg[:297] + "..."
    if stack:
        qual, m, shape = stack[-1]
        text = (f"the forward pass failed in module {qual!r} {short_repr(m)} on input "
                f"{_sx(shape) if shape else '(no tensor)'}: {type(e).__name__}: {msg}")
        if type(m).__name__ == "Linear" and shape:
            text += (f"; it receives {shape[-1]} features: use nn.Linear({shape[-1]}, "
                     f"{m.out_features})")
        return text
    where = (f"after {state['last']}" if state["last"]
             else f"before any module ran (input {_sx(input_shape)})")
    text = f"the forward pass failed outside any module, {where}: {type(e).__name__}: {msg}"
    shape = state.get("last_shape")
    if shape and len(shape) > 2:
        text += (f"; per sample that output has {prod(shape[1:]):,} values "
                 f"({' * '.join(map(str, shape[1:]))}), the in_features a Linear after a "
                 "flatten needs")
    return text
