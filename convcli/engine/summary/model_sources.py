"""Where a model comes from, and how to build it again.

``resolve(target, args, kwargs)`` reads MODEL as

* ``FILE.py:NAME``: NAME an nn.Module class, a function returning a module, or a
  module-level instance (``model = resnet18()``); NAME may be left out when the file
  holds exactly one class or instance;
* ``package.module:attr``: the same, imported (``torchvision.models:resnet50``,
  ``timm:create_model --args "('resnet50',)"``),

and returns a ``Source``: ``meta()`` builds the model on the meta device (no memory),
``cpu()`` builds it for real on the CPU (seeded, for the fallback pass). A file is run
under ``torch.device("meta")`` so that its module-level instances are meta too, and
run again, plainly, for the CPU. Messages list what the file holds and, for a class
that needs arguments, point at a function that builds it.
torch is imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from convcli.engine.summary.loading import (Holdings, attribute, check_callable_origin,
                                            holdings, import_file, import_module,
                                            is_file_target, parse_target, required_args,
                                            user_error)
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError
from convcli.formatting import article


@dataclass
class Source:
    """A model that can be built on meta and, again, for real on the CPU."""

    label: str                                   # "Net()", "model (a ResNet instance)"
    meta: Callable[[], Any]                      # -> the model on the meta device
    cpu: Callable[[], Any]                       # -> the model on the CPU, real values
    note: str = ""                               # how the source was read, if notable


def resolve(target: str, args: tuple = (), kwargs: dict | None = None) -> Source:
    path, name = parse_target(target)
    kwargs = kwargs or {}
    if path == "-":
        # python - would run it, but the model's own imports, __file__, the tracebacks
        # and every --gpus rank need the file by its path
        raise ConvError("MODEL -: summary runs the model's file as Python by its path (its "
                        "imports from its folder, __file__, tracebacks, --gpus ranks); save "
                        "it, e.g. as model.py, and give model.py:NAME")
    if is_file_target(path):
        return _from_file(path, name, args, kwargs)
    if name is None:
        raise ConvError(f"MODEL: {target!r} is neither a .py file nor package.module:NAME; "
                        "write e.g. models.py:Net or torchvision.models:resnet50")
    module = import_module(path)
    held = holdings(module)
    obj = attribute(module, name, path, held)
    return _source_of(obj, f"{path}:{name}", name, args, kwargs, held, path,
                      lambda: obj, module.__name__)


def _from_file(path: str, name: str | None, args: tuple, kwargs: dict) -> Source:
    note = ""
    try:
        module = import_file(path, meta=True)
    except ConvError as e:  # module-level code that needs real tensors: run it plainly
        module = import_file(path, meta=False, suffix="_cpu")
        note = (f"{path}'s top level cannot run on the meta device ({e}); it ran on the "
                "CPU")
    held = holdings(module)
    if name is None:
        if len(held.models) != 1:
            raise ConvError(f"{path}: say which model to summarise as {path}:NAME; it holds "
                            f"{held.describe()}")
        name = held.models[0]
    obj = attribute(module, name, path, held)

    def again():  # the file run once more, on the CPU, for real values
        return attribute(import_file(path, meta=False, suffix="_cpu"), name, path, held)

    source = _source_of(obj, f"{path}:{name}", name, args, kwargs, held, path, again,
                        module.__name__)
    source.note = note
    return source


def _source_of(obj, where: str, name: str, args: tuple, kwargs: dict, held: Holdings,
               path: str, reload: Callable[[], Any], module_name: str) -> Source:
    nn = import_torch().nn
    if isinstance(obj, nn.Module):
        if args or kwargs:
            raise ConvError(f"--args: {where} is a module instance, already built; drop "
                            "--args or point at its class or a function that builds it")
        label = f"{name} ({article(type(obj).__name__)} instance)"
        return Source(label, lambda: obj, reload)
    if not callable(obj):
        raise ConvError(f"{where} is {article(type(obj).__name__)}, not an nn.Module class, "
                        "a function returning one, or a module instance")
    check_callable_origin(obj, module_name, where)
    call = f"{name.rsplit('.', 1)[-1]}({_args_text(args, kwargs)})"

    def build(fresh: bool):  # fresh: the file run again, so module-level tensors are real
        return construct(reload() if fresh else obj, args, kwargs, call, where, held, path)

    return Source(call, lambda: build(False), lambda: build(True))


def construct(fn, args: tuple, kwargs: dict, call: str, where: str, held: Holdings,
              path: str):
    """``fn(*args, **kwargs)`` under whatever device context is active; errors say how
    to fix the call."""
    nn = import_torch().nn
    try:
        model = fn(*args, **kwargs)
    except TypeError as e:
        raise ConvError(f"{where}: {call} failed: TypeError: {e}"
                        f"{_args_hint(fn, args, kwargs, held, where)}") from None
    except Exception as e:  # the user's constructor failed
        raise _constructor_error(e, call, where, path) from None
    if not isinstance(model, nn.Module):
        raise ConvError(f"{where}: {call} returned {article(type(model).__name__)}, not an "
                        "nn.Module")
    return model


def _constructor_error(e: Exception, call: str, where: str, path: str) -> BaseException:
    import os
    err = user_error(e, f"{where}: {call}", os.path.abspath(path) if path.endswith(".py")
                     else None)
    if isinstance(err, ConvError) and " raised " in str(err):
        return ConvError(str(err).replace(" raised ", " failed: ", 1))
    return err


def _args_hint(fn, args: tuple, kwargs: dict, held: Holdings, where: str) -> str:
    """For a constructor that misses arguments: a function in the same file that builds
    the model needs none; else --args with the names it needs."""
    if args or kwargs:
        return ""
    missing = required_args(fn)
    if not missing:
        return ""
    base = where.rsplit(":", 1)[0]
    factories = [f for f in held.factories if f != getattr(fn, "__name__", None)]
    example = "{" + ", ".join(f"'{m}': ..." for m in missing[:3]) + "}"
    hint = f"; pass its arguments with --args \"{example}\""
    if factories:
        return (f"; {base} has a function that builds a model without arguments: "
                f"summarise {base}:{factories[0]}" + hint.replace("; ", ", or ", 1))
    return hint


def _args_text(args, kwargs) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])

