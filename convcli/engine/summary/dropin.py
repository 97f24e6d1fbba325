"""convcli.summary: torchinfo's ``summary()`` arguments read into convcli's pass.

torchinfo's meanings (its README and docstring): ``input_size`` is one size (a tuple,
list or torch.Size of ints) or a list/tuple of sizes, one per positional argument,
each with the batch unless ``batch_dim`` says where to insert a batch of 1;
``dtypes`` gives each size's dtype (default float32); ``input_data`` is a tensor (or
numpy array), a list/tuple of positional arguments (each may be a nested container:
tuples, lists, dicts, named tuples such as PackedSequence) or a dict of keyword
arguments; ``**kwargs`` go to forward() as keyword arguments, tensors or not.
Column and row names are torchinfo's strings, or the values of its enums. Bad values
raise ConvError with one line that names the argument and a way out. torch is
imported inside functions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from convcli.engine.summary.inputs import DTYPES, InputSpec
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError
from convcli.formatting import one_line

COLUMNS = ("input_size", "output_size", "num_params", "params_percent", "kernel_size",
           "mult_adds", "trainable")
ROW_SETTINGS = ("ascii_only", "depth", "var_names", "hide_recursive_layers")
MODES = ("same", "train", "eval")


@dataclass
class Call:
    """What the pass receives: the flat specs (for the report's inputs and bytes), a
    maker of (args, kwargs) per device, and how to show the report."""

    specs: list[InputSpec]
    make_inputs: Callable[[str], tuple]
    given: bool                       # real tensors were given (input_data)
    # the first argument is a PackedSequence: its data's first dim is no batch
    packed_first: bool = False
    view: dict = field(default_factory=dict)
    mode: str = "eval"
    verbose: int = 1


def _names(values, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        name = getattr(v, "value", v)     # torchinfo's enums are str Enums
        if name not in allowed:
            raise ConvError(f"{what}: {one_line(repr(name), 40)} is not one of "
                            f"{', '.join(allowed)} (torchinfo's names)")
        out.append(name)
    return tuple(out)


def _int(value, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConvError(f"{what}={one_line(repr(value), 40)}: give a whole number >= {low}")
    return value


def read_call(model, input_size, input_data, batch_dim, col_names, col_width, depth,
              device, dtypes, mode, row_settings, verbose, kwargs: dict) -> Call:
    """torchinfo's arguments -> a Call (raises ConvError on what torchinfo rejects)."""
    torch = import_torch()
    if not isinstance(model, torch.nn.Module):
        raise ConvError(f"model: {type(model).__name__} is not a torch.nn.Module")
    _int(col_width, "col_width", 1)
    _int(depth, "depth", 0)
    if verbose is None:    # torchinfo: quiet in an interactive session, else it prints
        verbose = 0 if getattr(sys, "ps1", None) else 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ConvError(f"verbose={one_line(repr(verbose), 30)}: use 0 (quiet), 1 (the "
                        "table) or 2 (the table and every parameter)")
    mode_name = "eval" if mode is None else getattr(mode, "value", mode)
    if mode_name not in MODES:
        raise ConvError(f"mode={one_line(repr(mode), 30)}: use 'same' (the model's own "
                        "train/eval flags), 'train' or 'eval'")
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, TypeError):
            raise ConvError(f"device={one_line(repr(device), 40)} is not a torch device; "
                            "e.g. 'cpu' or 'cuda:0'") from None
    if batch_dim is not None:
        _int(batch_dim, "batch_dim", 0)
    if input_size is not None and input_data is not None:
        raise ConvError("give input_size or input_data, not both (as torchinfo)")
    if input_size is None and input_data is None:
        raise ConvError("convcli.summary needs input_size or input_data: the shapes, "
                        "MACs and memory come from a forward pass, e.g. "
                        "input_size=(1, 3, 224, 224)")
    view = {"columns": None if col_names is None else _names(col_names, COLUMNS,
                                                             "col_names"),
            "rows": _names(row_settings or ("depth",), ROW_SETTINGS, "row_settings"),
            "col_width": col_width, "verbose": verbose,
            "device": None if device is None else str(device)}
    if input_size is not None:
        call = _from_sizes(torch, input_size, batch_dim, dtypes, kwargs)
    else:
        if dtypes is not None:
            raise ConvError("dtypes goes with input_size; input_data's tensors carry "
                            "their own dtypes")
        call = _from_data(torch, input_data, kwargs)
    call.view, call.mode, call.verbose = view, mode_name, verbose
    return call


def _size(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConvError(f"input_size: {one_line(repr(value), 60)}{where} is not a size; "
                        "give a tuple of ints like (1, 3, 224, 224), or a list of them "
                        "for several inputs")
    if any(v < 0 for v in value):
        raise ConvError(f"input_size: {list(value)} has a negative size")
    return tuple(value)


def _sizes(input_size) -> list[tuple[int, ...]]:
    """torchinfo's rule: a flat tuple/list of ints is one input; a list or tuple of
    them is one input each."""
    if not isinstance(input_size, (tuple, list)) or not input_size:
        raise ConvError(f"input_size={one_line(repr(input_size), 60)}: give a tuple like "
                        "(1, 3, 224, 224), or a list of them for several inputs "
                        "([()] for one scalar)")
    if not any(isinstance(v, (tuple, list)) for v in input_size):   # one size
        return [_size(input_size, "")]
    return [_size(s, f" (input {i})") for i, s in enumerate(input_size)]


def _dtype_name(torch, dtype, where: str) -> str:
    name = str(dtype).removeprefix("torch.") if isinstance(dtype, torch.dtype) else dtype
    aliases = {"float": "float32", "double": "float64", "half": "float16",
               "long": "int64", "int": "int32"}
    name = aliases.get(name, name) if isinstance(name, str) else name
    if name not in DTYPES:
        raise ConvError(f"{where}: dtype {one_line(repr(dtype), 30)} is not supported; use "
                        f"one of {', '.join(DTYPES)}")
    return name


def _from_sizes(torch, input_size, batch_dim, dtypes, kwargs) -> Call:
    sizes = _sizes(input_size)
    if batch_dim is not None:
        if any(batch_dim > len(s) for s in sizes):
            raise ConvError(f"batch_dim={batch_dim}: the sizes {[list(s) for s in sizes]} "
                            f"have no dimension {batch_dim} to insert the batch at")
        sizes = [s[:batch_dim] + (1,) + s[batch_dim:] for s in sizes]
    if dtypes is None:
        names = ["float32"] * len(sizes)
    else:
        if isinstance(dtypes, torch.dtype) or len(dtypes) != len(sizes):
            raise ConvError(f"dtypes: give one per input size ({len(sizes)}), as a list, "
                            "e.g. dtypes=[torch.long]")
        names = [_dtype_name(torch, d, f"dtypes[{i}]") for i, d in enumerate(dtypes)]
    specs = [InputSpec(s, None if d == "float32" else d) for s, d in zip(sizes, names)]
    specs += _flat_kwargs(torch, {k: _numpy_to_torch(torch, v) for k, v in kwargs.items()})

    def make(device: str):
        def one(s: InputSpec):
            if device == "meta":
                return torch.empty(s.shape, dtype=getattr(torch, s.resolved("float32")),
                                   device="meta")
            return torch.zeros(s.shape, dtype=getattr(torch, s.resolved("float32")))
        args = tuple(one(s) for s in specs[:len(sizes)])
        return args, _on(torch, kwargs, device)

    return Call(specs, make, given=False)


def _flat_kwargs(torch, kwargs: dict) -> list[InputSpec]:
    out: list[InputSpec] = []
    for name, value in kwargs.items():
        out += [InputSpec(s.shape, s.dtype, name) for s in _leaves(torch, value)]
    return out


def _leaves(torch, value) -> list[InputSpec]:
    """The tensors in a nested argument, in order, as specs."""
    if isinstance(value, torch.Tensor):
        dtype = _dtype_name(torch, value.dtype, "input_data")
        return [InputSpec(tuple(value.shape), None if dtype == "float32" else dtype)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(torch, v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _leaves(torch, v)]
    return []


def _numpy_to_torch(torch, value):
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return torch.from_numpy(value)
    return value


def _on(torch, value, device: str) -> Any:
    """The argument rebuilt with meta (shapes only) copies of its tensors, or as it is
    for the CPU; containers keep their types (named tuples such as PackedSequence)."""
    value = _numpy_to_torch(torch, value)
    if isinstance(value, torch.Tensor):
        return torch.empty_like(value, device="meta") if device == "meta" else value
    if isinstance(value, dict):
        return type(value)((k, _on(torch, v, device)) for k, v in value.items())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        # a PackedSequence's batch_sizes stay on the CPU, as torch requires
        return type(value)(*(v if f == "batch_sizes" else _on(torch, v, device)
                             for f, v in zip(value._fields, value)))
    if isinstance(value, (list, tuple)):
        return type(value)(_on(torch, v, device) for v in value)
    return value


def _from_data(torch, input_data, kwargs) -> Call:
    data = _numpy_to_torch(torch, input_data)
    args: tuple[Any, ...]
    kw: dict[str, Any]
    if isinstance(data, torch.Tensor):
        args, kw = (data,), {}
    elif isinstance(data, dict):
        args, kw = (), dict(data)
    elif isinstance(data, (list, tuple)):
        args, kw = tuple(data), {}
    else:
        raise ConvError(f"input_data: {type(data).__name__} is not a tensor, a list of "
                        "forward()'s arguments or a dict of its keyword arguments")
    overlap = set(kw) & set(kwargs)
    if overlap:
        raise ConvError(f"input_data and the keyword arguments both give "
                        f"{', '.join(sorted(overlap))}")
    kw.update(kwargs)
    specs = [s for a in args for s in _leaves(torch, _numpy_to_torch(torch, a))]
    specs += _flat_kwargs(torch, {k: _numpy_to_torch(torch, v) for k, v in kw.items()})

    def make(device: str):
        return _on(torch, args, device), _on(torch, kw, device)

    first = args[0] if args else None
    return Call(specs, make, given=True, packed_first=isinstance(
        first, tuple) and getattr(first, "_fields", ())[:2] == ("data", "batch_sizes"))


def param_facts(model) -> dict:
    """Bytes of the unique parameters at their own dtypes, and what pruning masks out
    (torch.nn.utils.prune keeps ``weight_orig`` whole and a ``weight_mask`` buffer)."""
    seen: set[int] = set()
    nbytes = 0
    for p in model.parameters():
        if id(p) in seen or _is_lazy(p):
            continue
        seen.add(id(p))
        nbytes += p.numel() * p.element_size()
    pruned = 0
    for m in model.modules():
        for name, buf in m.named_buffers(recurse=False):
            orig = name[:-len("_mask")] + "_orig"
            if name.endswith("_mask") and orig in m._parameters and buf.device.type != "meta":
                pruned += int((buf == 0).sum())
    return {"param_bytes": nbytes, "pruned_params": pruned,
            "parameters": [(name, tuple(p.shape), p.numel(), p.requires_grad)
                           for name, p in model.named_parameters() if not _is_lazy(p)]}


def _is_lazy(p) -> bool:
    from torch.nn.parameter import is_lazy
    return is_lazy(p)
