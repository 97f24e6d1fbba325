"""What to say when the user's forward() fails: where (the module, or a block's own
code, and what ran last), what torch said (one line), and a fix where the question is
a Linear's in_features. torch is never imported here.
"""

from __future__ import annotations

import re
from math import prod

from convcli.formatting import one_line, shape_list

# torch errors that the meta device raises exactly as a real forward would: the user's
# bug, reported at once (no CPU pass)
SHAPE_ERRORS = ("cannot be multiplied", "is invalid for input of size",
                "must match the size of tensor", "sizes of tensors must match",
                "given normalized_shape", "expected input batch_size")


def first_line_of(e: BaseException, most: int = 160) -> str:
    """'Type: message', the message cut at its first sentence when that is long enough
    to say what happened."""
    # (no memory addresses: "<built-in method empty_like of type object at 0x7f...>")
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", one_line(e, 1000))
    cut = text.find(". ")
    if 40 <= cut < most:
        text = text[:cut]
    return f"{type(e).__name__}: {one_line(text, most)}"


def is_user_error(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, RuntimeError) and any(s in text for s in SHAPE_ERRORS)


def failure(e: BaseException, rec) -> str:
    """One line: where the forward pass failed and why."""
    msg = f"{type(e).__name__}: {one_line(e)}"
    if rec is None or not rec.stack:
        return f"the forward pass failed: {msg}"
    call = rec.stack[-1]
    m = call.module
    shape = call.input_shape
    leaf = next(iter(m.children()), None) is None and call.depth > 0
    if leaf:
        from convcli.engine.summary.modules import short_repr
        text = (f"the forward pass failed in module {call.qual!r} {short_repr(m)} on input "
                f"{shape_list(shape) if shape else '(no tensor)'}: {msg}")
        if type(m).__name__ == "Linear" and shape and "cannot be multiplied" in msg:
            text += (f"; it receives {shape[-1]} features: use nn.Linear({shape[-1]}, "
                     f"{m.out_features})")
        return text
    owner = "the model's" if call.depth == 0 else f"module {call.qual!r}'s"
    last = rec.last
    if last is not None and last.index > call.index:
        where = (f"after {last.qual} ({type(last.module).__name__}, output "
                 f"{shape_list(last.output_shape)})")
    else:
        where = f"before any submodule ran (input {shape_list(shape) if shape else '-'})"
    text = (f"the forward pass failed in {owner} own code ({type(m).__name__}.forward, "
            f"outside any submodule), {where}: {msg}")
    out = last.output_shape if last is not None and last.index > call.index else None
    if out and len(out) > 2 and any(s in msg for s in ("is invalid for input of size",
                                                       "cannot be multiplied")):
        text += (f"; per sample that output has {prod(out[1:]):,} values "
                 f"({' * '.join(map(str, out[1:]))}), the in_features a Linear after a "
                 "flatten needs")
    return text
