"""A torch module as convcli's network world sees it: the LayerCall of its class's
rule (when convcli has one for exactly that torch class), and a short repr for rows.

torch is never imported here: ``torch.nn`` is read from ``sys.modules`` (the caller
has imported it).
"""

from __future__ import annotations

import sys

from convcli.network.binding import STAR, compact_text
from convcli.network.rules import REGISTRY
from convcli.network.text import LayerCall


def call_of(m) -> LayerCall | None:
    """A LayerCall for the torch module, when the network world has a rule for its class."""
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
        if key in ("device", "dtype", STAR):
            continue
        if key == "bias":  # a tensor or None on the module: was it built with one?
            value = getattr(m, "bias", None)
            kwargs[key] = value if isinstance(value, bool) else value is not None
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


def short_repr(m, spec=None) -> str:
    """Conv rows: ConvSpec's constructor text; layers with a network rule: their
    arguments that differ from torch's defaults; others: torch's repr, one line."""
    if spec is not None:
        return spec.torch_repr()
    call = call_of(m)
    if call is not None:
        return compact_text(call.name, dict(call.kwargs), REGISTRY[call.name][0])
    try:
        text = " ".join(repr(m).split())
    except Exception:  # noqa: BLE001 - a user's extra_repr that fails
        text = type(m).__name__ + "(...)"
    return text if len(text) <= 60 else text[:57] + "..."


