"""summary --freeze PREFIX / --unfreeze PREFIX: fine-tuning without editing the model.

A prefix names a module as ``named_modules`` does (``layer4``, ``layer4.1.conv2``;
``all`` is the whole model) and covers its parameters (``fc`` covers ``fc.weight``, not
``fc2.weight``). Every --freeze is applied first, then every --unfreeze, so ``--freeze
all --unfreeze fc`` trains the head alone. The model's parameters get requires_grad
as torch would after ``p.requires_grad_(False)``; the counts (trainable/frozen) and
--train's memory read requires_grad, so frozen parameters get no gradient and no
optimizer state. A prefix that names nothing is an error naming the closest ones.
torch is imported inside functions.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from convcli.errors import ConvError

if TYPE_CHECKING:
    from convcli.engine.summary.model_sources import Source


def _covers(prefix: str, name: str) -> bool:
    return prefix == "all" or name == prefix or name.startswith(prefix + ".")


def set_frozen(model, freeze: Sequence[str], unfreeze: Sequence[str]) -> None:
    """requires_grad per --freeze, then --unfreeze; ConvError for a prefix that covers
    no parameter."""
    params = list(model.named_parameters())
    for option, prefixes, grad in (("--freeze", freeze, False), ("--unfreeze", unfreeze, True)):
        for prefix in prefixes:
            prefix = prefix.strip().strip(".")
            hit = [p for n, p in params if _covers(prefix, n)]
            if not hit:
                raise ConvError(_nothing(option, prefix, model, params))
            for p in hit:
                p.requires_grad_(grad)


def _nothing(option: str, prefix: str, model, params) -> str:
    names = [n for n, _ in model.named_modules() if n]
    close = difflib.get_close_matches(prefix, names, n=3, cutoff=0.5)
    tops = sorted({n.split(".")[0] for n, _ in params})
    hint = (f"did you mean {', '.join(close)}?" if close else
            f"its top-level modules with parameters: {', '.join(tops[:8]) or 'none'}")
    return (f"{option} {prefix!r} names no module with parameters; {hint} (or 'all' for "
            "the whole model)")


def frozen_source(source: Source, freeze: Sequence[str], unfreeze: Sequence[str]) -> Source:
    """The same source, whose models come with the parameters frozen as asked."""
    if not freeze and not unfreeze:
        return source

    def wrap(build):
        def built():
            model = build()
            set_frozen(model, freeze, unfreeze)
            return model
        return built

    what = "trainable as set by " + " ".join(
        [f"--freeze {p}" for p in freeze] + [f"--unfreeze {p}" for p in unfreeze])
    note = f"{source.note}; {what}" if source.note else what
    return replace(source, meta=wrap(source.meta), cpu=wrap(source.cpu), note=note)
