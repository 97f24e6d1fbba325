"""One conv given as torch code: ``Conv2d(16, 32, 3, stride=2, padding=1)``, with or
without ``nn.``/``torch.nn.``, positional or keyword, or the line ``print(model)``
shows (``Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))``).

The text is read by the parser ``net`` uses (text.py, ``ast``; nothing is evaluated)
and bound to torch's signature by the conv rule (binding.py via the registry), so a
constructor torch rejects is rejected here with the same message. ``ConvCode`` holds
the validated ConvSpec, the class name and the arguments the text wrote out (the
others are torch's defaults). Pure Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

CONV_CLASSES = tuple(f"{k}{d}d" for k in ("Conv", "ConvTranspose") for d in (1, 2, 3))
# a constructor call: an optional dotted prefix, a name, an opening bracket
_LOOKS_LIKE_CODE = re.compile(r"\s*(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*)\s*\(")


def looks_like_code(text: str | None) -> bool:
    """Whether a command-line argument is a constructor call rather than a shape."""
    m = _LOOKS_LIKE_CODE.match(text or "")
    return m is not None and m.group(1) != "Size"     # torch.Size([...]) is a shape


@dataclass(frozen=True)
class ConvCode:
    """A conv constructor as written, bound and checked."""

    text: str           # as the user wrote it, on one line
    name: str           # Conv2d, ConvTranspose1d, ...
    spec: ConvSpec
    written: tuple[str, ...]    # the argument names the text gave (by position or name)

    @property
    def label(self) -> str:
        return self.name


def read_conv_code(text: str, source: str = "CONV") -> ConvCode:
    """Constructor text -> ConvCode; ConvError naming what is wrong and the way out."""
    from convcli.network.rules import build_layer
    from convcli.network.text import parse_layers

    # print(model) writes padding='same' and padding_mode='reflect' without quotes
    words = ("same", "valid", "zeros", "reflect", "replicate", "circular")
    calls = parse_layers(text, source, {w: w for w in words})
    if len(calls) != 1:
        raise ConvError(
            f"{source}: {len(calls)} layers ({', '.join(c.name for c in calls[:4])}"
            f"{', ...' if len(calls) > 4 else ''}); shape and params describe one conv "
            f"layer: give one constructor, or `convcli net INPUT \"...\"` for a stack")
    call = calls[0]
    if call.name not in CONV_CLASSES:
        lazy = call.name.startswith("LazyConv")
        why = ("a Lazy conv infers in_channels from its input; write "
               f"{call.name[4:]}(C_in, ...) with the channels" if lazy else
               "convcli's conv commands take Conv1d-3d or ConvTranspose1d-3d; for other "
               f"layers use `convcli net INPUT \"{call}\"`")
        raise ConvError(f"{source}: {call} is not a conv layer; {why}")
    layer = build_layer(call)
    spec = layer.conv
    if spec is None:   # every conv rule sets it; a rule that did not is a bug
        raise RuntimeError(f"the rule for {call.name} built no ConvSpec")
    names = [n for n, _ in layer.signature]
    written = tuple(names[: len(call.args)]) + tuple(call.kwargs)
    return ConvCode(" ".join(text.split()), call.name, spec, written)
