"""`convcli summary`: a model's forward pass, counted op by op, as a NetReport.

The pass runs on the meta device first (shapes only: no memory, no arithmetic, the
same figures at 1x3x224x224 and 64x3x1024x1024). Every convolution op is checked with
ConvSpec and every module of an exact torch class with its network rule before it
runs, since meta accepts what a real forward rejects (torch-conv-rules.md). If
anything else fails on meta (data-dependent code: nonzero, .item(), boolean masks; a
tensor attribute built on the CPU), the model is built again for real (seed 0) and
runs once on the CPU on zeros, under the memory guard; the notes say which path ran
and why. ``summarise_source`` serves the CLI, ``summarise_module`` the Python API (an
in-memory model: a meta view through torch.func.functional_call, the real model for
the CPU pass). torch is imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from convcli.engine.summary import inputs as inputs_mod
from convcli.engine.summary.dispatch import Call, Recorder, counted_forward
from convcli.engine.summary.fastimport import fast_meta
from convcli.engine.summary.guard import MemoryGuard, memory_error
from convcli.engine.summary.inputs import InputSpec
from convcli.engine.summary.messages import (failure, first_line_of, is_user_error,
                                             meta_failure)
from convcli.engine.summary.modules import call_of, short_repr
from convcli.engine.summary.pass_report import build_report
from convcli.engine.summary.rows import conv_spec
from convcli.engine.summary.model_sources import Source
from convcli.engine.torch_adapter import import_torch
from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import shape_list
from convcli.network.layer import Ctx
from convcli.network.net_report import NetReport
from convcli.network.rules import build_layer


class Failed(Exception):
    """Raised from a hook: convcli's own rules reject a module's input."""


class RuleError(ConvError):
    """convcli's own rules rejected a module's input on meta: torch would too."""


@dataclass
class Pass:
    """One counted forward pass and what it ran on."""

    rec: Recorder
    output: Any
    model: Any
    path: str                      # "meta" | "cpu"
    reason: str = ""               # why the CPU pass ran
    guard: MemoryGuard | None = None
    what_ran: str = ""             # the CPU pass: which model, on what inputs
    stage: str = "forward()"       # what failed on meta: forward() or the constructor


CONSTRUCTOR, FORWARD = "the model's constructor", "forward()"


@dataclass
class Options:
    depth: int | None = None
    max_memory: Any = None         # --max-memory as parse_bytes gives it
    dtype: str = "float32"         # the default float dtype of the inputs
    train: Any = None              # train_memory.TrainOptions for --train
    fields: bool = False           # --rf / --field: receptive fields per row
    mode: str = "eval"             # "eval" | "train" | "same": the modules' flags in the pass
    # convcli.summary: device ("meta" | "cpu") -> (args, kwargs) when the inputs are
    # nested containers or carry non-tensor arguments (else made from the specs)
    make_inputs: Callable[[str], tuple] | None = None


def summarise_source(source: Source, specs: Sequence[InputSpec],
                     options: Options | None = None) -> NetReport:
    """The CLI's summary: build on meta and count; else build for real and count on
    the CPU."""
    options = options or Options()
    torch = import_torch()
    with fast_meta():
        stage = CONSTRUCTOR
        try:
            with torch.device("meta"):
                model = source.meta()
            stage = FORWARD
            run = _meta_pass(model, specs, options)
        except (RuleError, EnvironmentProblem):
            raise
        except Exception as e:  # noqa: BLE001 - anything meta cannot run: the CPU decides
            rec = getattr(e, "_convcli_rec", None)
            if is_user_error(e):
                raise ConvError(failure(e, rec)) from None
            reason = meta_failure(e, rec if stage == FORWARD else None)
            run = _cpu_pass(lambda: _seeded(source.cpu), specs, options, reason, None,
                            "the model built again with seed 0", stage)
    return build_report(run, specs, options, source.label, source.note,
                        _trainer(source, run, specs, options),
                        _fields(source, run, specs, options))


def _fields(source: Source, run: Pass, specs, options: Options):
    """--rf: a second meta pass under the field mode; rows matched by name and call."""
    if not options.fields:
        return None
    if run.path != "meta":
        return {}, ["receptive fields need a pass on the meta device, which this model's "
                    "forward() cannot run"]
    import copy

    from convcli.engine.summary.traced_fields import field_pass
    from convcli.network.receptive_fields import row_field
    torch = import_torch()
    with fast_meta():
        with torch.device("meta"):
            model = copy.deepcopy(source.meta())
        args, kwargs = inputs_mod.make(specs, "meta", options.dtype)
        found, notes = field_pass(model, args, kwargs)
    index = {(c.qual, c.number): c.index for c in run.rec.calls}
    rows = {index[k]: replace(row_field(f, n, keep=True), chains=())   # unions: numbers
            for k, (f, n) in found.items() if k in index}
    return rows, notes


def _trainer(source: Source, run: Pass, specs, options: Options):
    """--train: the function build_report calls with the parameters' owners."""
    if options.train is None:
        return None
    import copy

    from convcli.engine.summary.train_memory import Builders, train_memory
    builders = Builders(meta=lambda: copy.deepcopy(source.meta()),
                        cpu=lambda: _seeded(source.cpu))
    return lambda params: train_memory(builders, run, list(specs), params, options.train)


def summarise_module(model, specs: Sequence[InputSpec], real_args: tuple, real_kwargs: dict,
                     options: Options | None = None) -> NetReport:
    """The Python API: ``model`` is the user's (it is never changed: its training flag
    is restored, its tensors are not moved)."""
    options = options or Options()
    modes = [(m, m.training) for m in model.modules()]
    lazy = any(hasattr(m, "has_uninitialized_params") and m.has_uninitialized_params()
               for m, _ in modes)
    try:
        with fast_meta():
            try:
                run = _meta_pass(model, specs, options)
            except (RuleError, EnvironmentProblem):
                raise
            except Exception as e:  # noqa: BLE001 - the real model on the CPU decides
                if is_user_error(e):
                    raise ConvError(failure(e, getattr(e, "_convcli_rec", None))) from None
                # the API cannot build the caller's model again: it runs that model
                reason = ("a Lazy module has no weights before its first forward" if lazy
                          else meta_failure(e, getattr(e, "_convcli_rec", None)))
                run = _cpu_pass(lambda: model, specs, options, reason,
                                (real_args, real_kwargs), "your model itself" + (
                                    " (its lazy modules are initialised now, as a first "
                                    "forward does)" if lazy else ""))
    finally:
        for m, training in modes:
            m.training = training
    label = f"{type(model).__name__} (in memory)"
    return build_report(run, specs, options, label, "")


def _seeded(build: Callable[[], Any]):
    import_torch().manual_seed(0)
    return build()


def _meta_pass(model, specs, options: Options) -> Pass:
    torch = import_torch()
    view, param_ids = meta_view(model, torch)
    args, kwargs = options.make_inputs("meta") if options.make_inputs else \
        inputs_mod.make(specs, "meta", options.dtype)
    rec = Recorder(model, param_ids, check_conv=_check_conv)
    rec.check_module = _module_checker(model, rec)
    set_mode(model, options.mode)
    try:
        out = counted_forward(view, args, kwargs, rec)
    except Failed as e:
        raise RuleError(str(e)) from None
    except Exception as e:
        e._convcli_rec = rec  # type: ignore[attr-defined]
        raise
    return Pass(rec, out, model, "meta")


def set_mode(model, mode: str) -> None:
    """eval (the default: dropout off, BatchNorm's running statistics, attention's
    fast path considered), train, or same (each module's flag as the caller left it)."""
    if mode != "same":
        model.train(mode == "train")


def meta_view(model, torch):
    """The model itself when all its tensors are on meta; else a callable that runs it
    with meta copies of its parameters and buffers (torch.func.functional_call), so
    that the user's model is neither moved nor copied. Returns (callable, param ids)."""
    named = list(model.named_parameters(remove_duplicate=False))
    tensors = named + list(model.named_buffers(remove_duplicate=False))
    if all(t.device.type == "meta" for _, t in tensors):
        return model, {id(p): n for n, p in model.named_parameters()}
    copies: dict[int, Any] = {}
    swap = {}
    for name, t in tensors:
        if id(t) not in copies:
            copies[id(t)] = torch.empty_like(t, device="meta")
        swap[name] = copies[id(t)]
    names = {id(p): n for n, p in model.named_parameters()}
    param_ids = {id(copies[i]): n for i, n in names.items()}

    def run(*args, **kwargs):
        from torch.func import functional_call
        return functional_call(model, swap, args, kwargs, strict=False)

    return run, param_ids


def _cpu_pass(build, specs, options: Options, reason: str, real, who: str,
              stage: str = "forward()") -> Pass:
    """The model built for real, once, on the CPU, on zeros (or the API's tensors),
    under the memory guard. ``who``: which model that is, for the note."""
    from convcli.engine.memory import memory_limit
    limit, source = memory_limit("cpu", options.max_memory)
    in_bytes = sum(s.nbytes(options.dtype) for s in specs)
    if limit is not None and in_bytes > limit:
        raise EnvironmentProblem(f"the CPU pass needs the inputs for real: "
                                 f"{inputs_mod.describe(specs)} take more than the limit "
                                 f"({source}); use a smaller --input")
    try:
        model = build()
        set_mode(model, options.mode)
        given = real is not None and all(a is not None for a in real[0]) and \
            all(v is not None for v in real[1].values())
        if given:
            args, kwargs = real
        elif options.make_inputs is not None:
            args, kwargs = options.make_inputs("cpu")
        else:
            args, kwargs = inputs_mod.make(specs, "cpu", options.dtype)
        guard = MemoryGuard(limit, source, in_bytes)
        rec = Recorder(model, {id(p): n for n, p in model.named_parameters()})
        out = counted_forward(model, args, kwargs, rec, guard)
    except (ConvError, EnvironmentProblem):
        raise
    except Exception as e:  # the user's forward fails for real too: their bug
        if memory_error(e):
            raise EnvironmentProblem(f"the CPU pass ran out of memory ({first_line_of(e)}); "
                                     "use a smaller --input") from None
        rec_ = locals().get("rec")
        raise ConvError(failure(e, rec_) + f" (on the CPU; on meta: {reason})") from None
    return Pass(rec, out, model, "cpu", reason, guard,
                f"{who}, on " + ("the tensors you gave" if given else "inputs of zeros"),
                stage)


def _check_conv(g: dict, call: Call | None) -> None:
    """Every convolution op on meta, by ConvSpec (meta lets wrong channels through)."""
    spec = conv_spec(g)
    where = f"module {call.qual!r} ({type(call.module).__name__})" if call else "forward()"
    if spec is None:
        return
    try:
        spec.output_shape(g["input_shape"])
    except ConvError as e:
        raise Failed(f"{where}: {spec.torch_repr()} on input {shape_list(g['input_shape'])}: "
                     f"{e}") from None


def label(m) -> str:
    """A leaf module's short repr; a block's class name (its repr is the whole tree)."""
    if next(iter(m.children()), None) is None:
        return short_repr(m)
    return type(m).__name__


def _module_checker(model, rec: Recorder):
    """Modules of exact torch classes: their network rule checks the input first."""
    rules: dict[int, Any] = {}
    for _, m in model.named_modules():
        call = call_of(m)
        if call is None or id(m) in rules:
            continue
        try:
            rules[id(m)] = build_layer(replace(call, text=short_repr(m)))
        except ConvError:
            continue

    def check(call: Call) -> None:
        layer = rules.get(id(call.module))
        if layer is None or call.input_shape is None:
            return
        try:
            layer.output(call.input_shape, Ctx("", True))
        except ConvError:  # again, with the context the message needs
            last = rec.last
            ctx = Ctx(f"the input {shape_list(call.input_shape)}", True) if last is None \
                else Ctx(f"{last.qual} {label(last.module)} (output "
                         f"{shape_list(last.output_shape)})", False)
            try:
                layer.output(call.input_shape, ctx)
            except ConvError as e:
                raise Failed(f"module {call.qual!r}: {e}") from None

    return check
