"""Running the user's code: a Python file or an importable module, and what it holds.

``parse_target`` tells ``FILE.py:NAME`` from ``package.module:attr``; ``import_file``
runs a file as a fresh module (optionally under ``torch.device("meta")``, so that a
module-level ``model = Net()`` is built on meta); ``import_module`` imports a module
the way ``python -m`` finds it (the working directory first); ``holdings`` lists the
nn.Module classes, instances and functions a module defines, for messages. Errors name
the file, the line and what it holds. torch is imported inside functions.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field

from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem, Leaving
from convcli.formatting import one_line


def is_file_target(path: str) -> bool:
    return path.endswith(".py") or "/" in path or os.sep in path or os.path.isfile(path)


def parse_target(target: str) -> tuple[str, str | None]:
    """'models.py:Net' -> ('models.py', 'Net'); 'models.py' -> ('models.py', None);
    'torchvision.models:resnet50' -> ('torchvision.models', 'resnet50'). NAME may be
    dotted (an attribute path)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or os.sep in name or "/" in name or name.endswith(".py"):
        return target, None
    if not all(part.isidentifier() for part in name.split(".")):
        raise ConvError(f"MODEL: {one_line(name, 60)!r} is not a Python name; write e.g. "
                        "models.py:Net or package.module:build")
    return path, name


def parse_args(text: str | None) -> tuple[tuple, dict]:
    """--args: a Python literal. A tuple is the positional arguments, a dict the keyword
    arguments, anything else one positional argument."""
    if text is None:
        return (), {}
    if len(text) > 100_000:
        raise ConvError(f"--args: {len(text):,} characters is too long for constructor "
                        "arguments (at most 100,000)")
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConvError(
            f"--args: {one_line(text, 60)!r} is not a Python literal; write e.g. --args 10, "
            "--args '(3, 10)' or --args \"{'num_classes': 10}\"") from None
    if isinstance(value, tuple):
        return value, {}
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k.isidentifier() for k in value):
            raise ConvError(f"--args: the keys of {one_line(text, 60)!r} must be argument "
                            "names")
        return (), value
    return (value,), {}


def _check_file(path: str) -> str:
    if not os.path.exists(path):
        raise EnvironmentProblem(f"{path}: no such file")
    if os.path.isdir(path):
        raise EnvironmentProblem(f"{path}: is a directory; give a .py file")
    if not os.path.isfile(path):
        raise EnvironmentProblem(f"{path}: not a regular file; give a .py file")
    if not os.access(path, os.R_OK):
        raise EnvironmentProblem(f"{path}: cannot read it (permission denied)")
    return os.path.abspath(path)


def import_file(path: str, meta: bool, suffix: str = ""):
    """Run ``path`` as a fresh module (under torch.device('meta') when ``meta``)."""
    full = _check_file(path)
    base = os.path.splitext(os.path.basename(full))[0]
    mod_name = "_convcli_user_" + "".join(c if c.isalnum() else "_" for c in base) + suffix
    spec = importlib.util.spec_from_file_location(mod_name, full)
    if spec is None or spec.loader is None:
        raise EnvironmentProblem(f"{path}: Python cannot load it as a module (is it a .py "
                                 "file? a list of layers is read by `convcli net SHAPE "
                                 f"--file {path}`)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    folder = os.path.dirname(full)
    sys.path.insert(0, folder)  # sibling imports work as when the user runs the file
    device = import_torch().device("meta") if meta else contextlib.nullcontext()
    try:
        with device:
            spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(mod_name, None)  # no half-run module left behind
        raise user_error(e, f"running {path}", full, import_failure=True) from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    return module


def refuse_standard_library(name: str) -> None:
    """MODEL's package.module must not be the standard library: importing one can act
    (``antigravity`` opens a browser) and its functions are not models. Checked before
    the import."""
    top = name.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        raise ConvError(f"MODEL: {one_line(name, 60)!r} is Python's standard library, not "
                        "a model; give your file as FILE.py:NAME or your package as "
                        "package.module:NAME")


def check_callable_origin(obj, module_name: str, where: str) -> None:
    """Only what can be a model is called: an nn.Module subclass (from anywhere), or a
    function or class defined in the named file or package (``module_name`` or one of its
    submodules), never one it imported from elsewhere. Refused before it is called."""
    nn = import_torch().nn
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        return
    origin = getattr(obj, "__module__", None)
    own = isinstance(origin, str) and (origin == module_name or
                                       origin.startswith(module_name + "."))
    if own and (inspect.isfunction(obj) or inspect.isclass(obj)):
        return
    if inspect.isclass(obj) or inspect.isroutine(obj):
        kind = "class" if inspect.isclass(obj) else "function"
        found = f"the {kind} {origin}.{getattr(obj, '__qualname__', '?')}"
        why = "defined elsewhere and imported there" if not own else "not a Python function"
    else:
        found, why = f"{_a(type(obj))} object", "not a class or a function"
    raise ConvError(f"{where} is {found} ({why}); summary calls only an nn.Module "
                    "subclass or a function or class defined in the named file or package")


def _a(cls) -> str:
    name = f"{cls.__module__}.{cls.__qualname__}"
    return ("an " if name[:1] in "aeiou" else "a ") + name


def import_module(name: str):
    """``package.module`` as ``python -m`` would find it (the working directory first)."""
    refuse_standard_library(name)
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):
            raise EnvironmentProblem(
                f"MODEL: cannot import {name!r} (no module named {e.name!r}); install it "
                "in this environment, or give a file as FILE.py:NAME") from None
        raise user_error(e, f"importing {name}", None, import_failure=True) from None
    except BaseException as e:
        raise user_error(e, f"importing {name}", None, import_failure=True) from None
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(cwd)


def user_error(e: BaseException, doing: str, path: str | None,
               import_failure: bool = False) -> BaseException:
    """What the user's code raised, as the convcli error that says where (one line)."""
    if isinstance(e, (KeyboardInterrupt, ConvError, EnvironmentProblem, Leaving)):
        return e
    where = where_in(e, path) if path else ""
    text = f"{type(e).__name__}: {one_line(e)}{where}"
    if isinstance(e, SyntaxError):
        return ConvError(f"{doing}: line {e.lineno}: SyntaxError: {one_line(e.msg)}")
    if isinstance(e, ImportError) and import_failure:
        return EnvironmentProblem(f"{doing} failed at an import: {text}; install what it "
                                  "needs or fix the import")
    if isinstance(e, (OSError, UnicodeDecodeError)) and import_failure and not where:
        return EnvironmentProblem(f"{doing}: cannot read it ({one_line(e)})")
    if isinstance(e, SystemExit):
        return ConvError(f"{doing} called exit({e.code}); guard its script part with "
                         "if __name__ == '__main__':")
    if isinstance(e, MemoryError):
        return EnvironmentProblem(f"{doing} ran out of memory ({text})")
    return ConvError(f"{doing} raised {text}")


def where_in(exc: BaseException, path: str) -> str:
    """' (line N)' of the innermost frame of ``path`` in the traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return "" if line is None else f" (line {line})"


@dataclass
class Holdings:
    """What a module defines that could be a model."""

    classes: list[str] = field(default_factory=list)     # nn.Module subclasses
    instances: list[str] = field(default_factory=list)   # nn.Module objects
    functions: list[str] = field(default_factory=list)
    factories: list[str] = field(default_factory=list)   # functions callable with no args

    def describe(self) -> str:
        parts = [f"{label}: {', '.join(names)}" for label, names in (
            ("nn.Module classes", self.classes), ("module instances", self.instances),
            ("functions", self.functions)) if names]
        return "; ".join(parts) or "no nn.Module classes, instances or functions"

    @property
    def models(self) -> list[str]:
        return self.classes + self.instances


def holdings(module) -> Holdings:
    nn = import_torch().nn
    out = Holdings()
    for key, value in vars(module).items():
        if key.startswith("_"):
            continue
        if isinstance(value, nn.Module):
            out.instances.append(key)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and \
                value.__module__ == module.__name__:
            out.classes.append(key)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            out.functions.append(key)
            if not required_args(value):
                out.factories.append(key)
    return out


def required_args(fn) -> list[str]:
    """The parameters ``fn`` needs that have no default (for a class: its __init__)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values() if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def attribute(module, name: str, where: str, held: Holdings):
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ConvError(f"{where} has no {name!r}; it holds {held.describe()}")
        obj = getattr(obj, part)
    return obj
