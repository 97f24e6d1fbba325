"""Meta kernels pull in about a second of imports they do not need on concrete shapes;
``fast_meta()`` stands in for those modules while a summary's forward runs.

* ``torch._dynamo`` (about 0.9 s): every Python meta kernel is wrapped in
  torch._disable_dynamo, whose first call imports torch._dynamo only to wrap itself.
  The stub's ``disable()`` returns the function unchanged.
* ``torch.fx.experimental.symbolic_shapes`` and ``sympy`` (about 0.4 s): meta kernels
  call ``guard_or_false``, ``sym_eq``, ``expect_true``... on their sizes, and
  ``elementwise_dtypes`` asks ``isinstance(x, sympy.Basic)``. On plain ints and bools
  those helpers are one-liners; nothing can be a ``sympy.Basic`` before sympy is
  imported, so the stub's Basic is a class with no instances.

Every stub defers to the real module for anything else (a symbolic size, a name it
does not define, a model calling ``torch._dynamo.is_compiling()``): it imports it and
from then on behaves as a proxy of it, so correctness never depends on the stub; at the
end the stubs leave ``sys.modules`` and the caches the dynamo wrappers set are removed,
so a later real import behaves as usual (a test pins that torch.compile still works).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types

_SHAPES = "torch.fx.experimental.symbolic_shapes"
_PLAIN = (bool, int, float)


@contextlib.contextmanager
def fast_meta():
    with dynamo_stub(), _sympy_stub(), _shapes_stub():
        yield


def _plain(a) -> bool:
    return isinstance(a, _PLAIN) or isinstance(a, (list, tuple)) and \
        all(isinstance(x, _PLAIN) for x in a)


def _real(name: str, stub) -> types.ModuleType:
    """The real module (imported once); the stub becomes its proxy."""
    if sys.modules.get(name) is stub:
        del sys.modules[name]
    if name == _SHAPES and isinstance(sys.modules.get("sympy"), _Proxy):
        _real("sympy", sys.modules["sympy"])
    module = importlib.import_module(name)
    stub._real = module
    hook = stub.__dict__.get("_on_real")
    if hook is not None:
        hook(module)
    return module


class _Proxy(types.ModuleType):
    """A stand-in module: its own attributes first, then the real module's."""

    _real: types.ModuleType | None = None

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        real = self._real or _real(self.__name__, self)
        return getattr(real, attr)


@contextlib.contextmanager
def _installed(name: str, stub: _Proxy):
    if name in sys.modules:
        yield
        return
    sys.modules[name] = stub
    try:
        yield
    finally:
        if sys.modules.get(name) is stub:
            del sys.modules[name]


@contextlib.contextmanager
def _sympy_stub():
    stub = _Proxy("sympy")

    class Basic:  # nothing is a sympy expression until sympy is imported
        pass

    stub.Basic = Basic  # type: ignore[attr-defined]

    def swap(real):  # once sympy is real, so is the stub's Basic
        stub.Basic = real.Basic  # type: ignore[attr-defined]

    stub._on_real = swap  # type: ignore[attr-defined]
    with _installed("sympy", stub):
        yield


@contextlib.contextmanager
def _shapes_stub():
    stub = _Proxy(_SHAPES)
    plain = {
        "guard_or_false": bool, "guard_or_true": bool, "statically_known_true": bool,
        "expect_true": bool, "guard_size_oblivious": bool, "guard_int": int,
        "definitely_true": bool, "definitely_false": lambda a: not a,
        "sym_and": lambda *a: all(a), "sym_or": lambda *a: any(a),
        "sym_eq": lambda a, b: (len(a) == len(b) and all(x == y for x, y in zip(a, b)))
        if isinstance(a, (list, tuple)) else a == b,
        "is_nested_int": lambda a: False, "free_unbacked_symbols": lambda a: set(),
        "has_free_symbols": lambda a: False, "is_concrete_int": lambda a: True,
        "is_concrete_bool": lambda a: True, "has_guarding_hint": lambda a: True,
        "guarding_hint_or_throw": lambda a: a,
    }

    def make(name, impl):
        def f(*args, **kwargs):
            if not kwargs and all(_plain(a) for a in args):
                return impl(*args)
            real = stub._real or _real(_SHAPES, stub)
            return getattr(real, name)(*args, **kwargs)
        f.__name__ = name
        return f

    for name, impl in plain.items():
        setattr(stub, name, make(name, impl))
    with _installed(_SHAPES, stub):
        yield


@contextlib.contextmanager
def dynamo_stub():
    """torch._dynamo while a forward runs on concrete shapes (see the module doc)."""
    name = "torch._dynamo"
    if name in sys.modules:
        yield
        return
    wrapped: list = []
    stub = _Proxy(name)

    def disable(fn=None, recursive=True, **kw):
        if sys.modules.get(name) is not stub:  # the real one was loaded meanwhile
            return sys.modules[name].disable(fn, recursive, **kw)
        if fn is None:
            return lambda f: disable(f, recursive)
        wrapped.append(fn)
        return fn

    stub.disable = disable  # type: ignore[attr-defined]
    try:
        with _installed(name, stub):
            yield
    finally:
        for fn in wrapped:
            getattr(fn, "__dict__", {}).pop("__dynamo_disable", None)
