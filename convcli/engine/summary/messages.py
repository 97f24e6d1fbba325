"""What to say when the user's forward() fails: where (the module, or a block's own
code, and what ran last), what torch said (one line), and a fix where the question is
a Linear's in_features. torch is never imported here.
"""

from __future__ import annotations

import os
import re
import traceback
from math import prod

from convcli.errors import ConvError
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


def meta_failure(e: BaseException, rec) -> str:
    """Why a pass on meta failed, in one line: where (the module whose forward() was
    running and the op it dispatched last, given the forward's Recorder; and the
    line of the user's code that raised), then what torch said. A constructor's error
    that the loader wrapped is unwrapped: its own line and message are the news."""
    if isinstance(e, ConvError) and e.__context__ is not None:
        e = e.__context__
    where = []
    call = rec.stack[-1] if rec is not None and rec.stack else None
    if call is not None and call.depth > 0:
        where.append(f"in module {call.qual!r} ({type(call.module).__name__})")
    op = getattr(rec, "last_op", None) if rec is not None else None
    if op is not None:
        where.append(f"at op {op.namespace}::{op._overloadpacket.__name__}")
    line = user_line(e)
    if line:
        where.append(f"at {line}")
    return (" ".join(where) + ": " if where else "") + first_line_of(e)


def user_line(e: BaseException) -> str:
    """'regnet.py:93 in _adjust_widths (w.tolist())': the innermost frame of the traceback outside
    torch, convcli and the standard library ('' if none)."""
    skip = [os.path.dirname(os.path.dirname(os.path.dirname(__file__)))]   # convcli
    skip.append(os.path.dirname(os.__file__))                  # the standard library
    frames = traceback.extract_tb(e.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if any(name.startswith(s) for s in skip) or f"{os.sep}torch{os.sep}" in name \
                or name.startswith("<"):
            continue
        code = f" ({one_line(frame.line, 60)})" if frame.line else ""
        return f"{os.path.basename(name)}:{frame.lineno} in {frame.name}{code}"
    return ""


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
