"""FILE.py:NAME -> the user's nn.Module, built on the meta device.

``load_model("models.py:Net", args)`` runs the user's file (it is Python: it can do
anything the user can) and builds NAME, a class or a function returning a module,
under ``torch.device("meta")``. Errors name the file, the line and what it defines.
torch is imported inside functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ast
import importlib.util
import inspect
import os
import sys

from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import article

if TYPE_CHECKING:
    from torch.nn import Module



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


def load_model(target: str, args: tuple = (),
               kwargs: dict | None = None) -> tuple[Module, str]:
    """Build NAME from FILE.py on the meta device. Returns (model, label)."""
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
        raise ConvError(f"{path}:{name} is {article(type(obj).__name__)}, not an nn.Module class "
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
            if not meta_limit(e):
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
        raise ConvError(f"{path}: {call} returned {article(type(model).__name__)}, not an "
                        "nn.Module")
    return model, call


def _args_text(args, kwargs) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


def meta_limit(e: Exception) -> bool:
    """An error that comes from the meta device itself, not from the user's model."""
    text = str(e).lower()
    return isinstance(e, NotImplementedError) or "meta" in text and (
        "data" in text or "item" in text or "not implemented" in text
        or "cannot" in text or "tensor.item" in text)
