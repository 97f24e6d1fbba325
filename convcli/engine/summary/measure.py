"""`summary --train --measure`: one real training step next to the estimate.

On CUDA (``--device cuda``): the model built on the GPU, two steps (the first creates
the optimizer state), and the second's peak ``torch.cuda.max_memory_allocated`` (and
``max_memory_reserved``), with its saved-tensor bytes counted as the estimate counts
them. On the CPU, where torch keeps no allocator statistics: the saved-tensor bytes of
a real forward, measured the way the tests measure them. torch is imported inside
functions.
"""

from __future__ import annotations

import contextlib

from convcli.engine.summary.dispatch import tensors
from convcli.engine.summary.saved_tensors import AMP, real_pass, saved_tensors
from convcli.engine.torch_adapter import import_torch
from convcli.errors import EnvironmentProblem


def measure_step(build_cpu, specs, topts, run) -> dict:
    torch = import_torch()
    torch.manual_seed(0)
    if topts.device == "cpu" or topts.device == "auto" and not torch.cuda.is_available():
        from convcli.engine.memory import memory_limit
        from convcli.engine.summary.guard import MemoryGuard
        limit, source = memory_limit("cpu", None)
        model = build_cpu()
        if topts.dtype != "float32":
            model = model.to(getattr(torch, topts.dtype))
        saved = real_pass(model, specs, topts.dtype, topts.amp,
                          MemoryGuard(limit, source, sum(s.nbytes(topts.dtype) for s in specs)))
        return {"device": "cpu", "method": "saved_tensors_hooks on a real CPU forward",
                "saved_activation_bytes": saved.total(),
                "saved_input_bytes": saved.total("input")}
    return _cuda_step(build_cpu, specs, topts)


def _cuda_step(build_cpu, specs, topts) -> dict:
    from convcli.engine.summary.inputs import make
    from convcli.engine.summary.optim import make_optimizer
    torch = import_torch()
    if not torch.cuda.is_available():
        raise EnvironmentProblem("--measure --device cuda: torch.cuda.is_available() is "
                                 "False here; measure on a machine with a GPU, or leave out "
                                 "--device for the CPU measure")
    dev = torch.device("cuda" if topts.device == "auto" else topts.device)
    model = build_cpu().to(dev)
    if topts.dtype != "float32":
        model = model.to(getattr(torch, topts.dtype))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(topts.optimizer, params) if params else None
    args, kwargs = make(specs, "cuda", topts.dtype)
    autocast = (lambda: torch.autocast("cuda", dtype=getattr(torch, AMP[topts.amp]))) \
        if topts.amp else contextlib.nullcontext
    result: dict = {}
    try:
        for step in (1, 2):
            if opt is not None:
                opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            before = torch.cuda.memory_allocated(dev)
            with autocast():
                saved = saved_tensors(model, args, kwargs, None, "cuda")
            out = next(iter(tensors(saved.output)))
            out.float().sum().backward()
            if opt is not None:
                opt.step()
            torch.cuda.synchronize(dev)
            result = {"device": torch.cuda.get_device_name(dev), "step": step,
                      "allocated_before_step": before,
                      "saved_activation_bytes": saved.total(),
                      "peak_bytes": torch.cuda.max_memory_allocated(dev),
                      "peak_reserved_bytes": torch.cuda.max_memory_reserved(dev)}
            del saved, out
    except torch.cuda.OutOfMemoryError as e:
        raise EnvironmentProblem(f"--measure: out of GPU memory at batch {specs[0].shape[0]} "
                                 f"({' '.join(str(e).split())[:120]})") from None
    finally:
        del model, opt
        torch.cuda.empty_cache()
    return result
