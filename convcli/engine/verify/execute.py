"""Run a plan of checks -> VerifyReport: ``run_suite`` (the built-in suite, with a
short pass in every other dtype the device runs) and ``run_config`` (every check
that applies to one configuration, refused up front when its memory estimate is
over the budget, as `convcli run` refuses)."""

from __future__ import annotations

import os
import sys
import time
from math import prod

from convcli.calculator.costs import dtype_size
from convcli.calculator.spec import ConvSpec
from convcli.engine import memory
from convcli.engine.verify.checks import Checks, supported_dtypes
from convcli.engine.verify.plans import config_plan, suite_plan
from convcli.engine.verify.verify_results import (Conf, Options, Progress, Skipped, VerifyReport,
                                          check_options)

F64 = 8
# per output element: torch's two paths in the dtype, and float64 arrays for the
# reference, the magnitude, both paths' copies and the comparison's temporaries
OUT_F64_ARRAYS = 7
IN_F64_ARRAYS = 3          # the input, |input|, and the padded channels-last copy


def _cuda_tf32(torch, allow: bool | None):
    if allow is None:
        return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow
    return None


def _execute(run: Checks, plan, mode, conf, memory_report=None):
    """plan: the Steps, or (suite) a function of the other dtypes the device runs
    that makes them."""
    start = time.perf_counter()
    opts, torch = run.opts, run.torch
    checks: list = []
    skipped: list = []
    saved = _cuda_tf32(torch, None)
    _cuda_tf32(torch, False)
    threads = torch.get_num_threads()
    if mode == "suite":
        # the suite's tensors are tiny: one thread avoids OpenMP hand-offs that cost
        # more than the convs themselves (and idle threads spin: CPU for nothing);
        # set before torch's first op, which would start the thread pool
        torch.set_num_threads(1)
    try:
        if callable(plan):
            plan = plan()
        for step in plan:
            if step.total == 0:
                skipped.append(Skipped(step.name, step.reason))
                continue
            if opts.fail_fast and checks and not checks[-1].passed:
                skipped.append(Skipped(step.name, f"not run: --fail-fast stopped at "
                                                  f"'{checks[-1].name}'"))
                continue
            checks.append(run.run(step.name, step.items(), step.total,
                                  getattr(run, step.name)))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
        torch.set_num_threads(threads)
    return VerifyReport(
        mode=mode, configuration=None if conf is None else conf.describe(),
        spec=None if conf is None else conf.spec,
        input_shape=None if conf is None else conf.input_shape,
        device=run.device_label, dtype=opts.dtype, tolerance=run.tol, seed=opts.seed,
        random_cases=opts.cases if mode == "suite" else 0,
        torch_version=torch.__version__, checks=checks, skipped=skipped,
        seconds=time.perf_counter() - start, memory=memory_report)


def _quiet_blas() -> None:
    """The suite's numpy reference multiplies tiny matrices: OpenBLAS's worker
    threads only spin (half the process's CPU beyond torch's import on 2 cores).
    Read when numpy loads, so numpy is loaded here; the user's own setting wins."""
    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401 - OpenBLAS reads the variable as numpy loads
        numpy.__name__
    except ImportError:
        pass
    finally:   # read once; processes this one starts keep the user's environment
        del os.environ["OPENBLAS_NUM_THREADS"]


def run_suite(opts: Options, progress: Progress | None = None) -> VerifyReport:
    _quiet_blas()
    run = Checks(opts, progress)
    support: dict = {}
    others: list[str] = []

    def plan():
        support.update(supported_dtypes(run.torch, run.device))
        others.extend(d for d, why in support.items() if why is None and d != opts.dtype)
        return suite_plan(opts, others)

    report = _execute(run, plan, "suite", None)
    for check in report.checks:
        if check.name == "dtypes":
            check.notes += [f"ran {', '.join(others)}"] + [
                f"{d}: not run, the device has no conv for it ({why})"
                for d, why in support.items() if why is not None]
    return report


def verify_memory(spec: ConvSpec, input_shape, dtype: str, threads: int) -> int:
    """Bytes one configuration's checks hold at their peak, the process included:
    torch's tensors and CPU workspace, the float64 arrays of the reference, its
    im2col columns (chunked by the reference at 256 MiB) and the comparison."""
    from convcli.engine.reference import CHUNK_BYTES

    shape = tuple(input_shape)
    out = spec.output_shape(shape)
    n_in, n_out = prod(shape), prod(out)
    size = dtype_size(dtype)
    d = spec.dims
    batch = shape[0] if len(shape) == d + 2 else 1
    padded = n_in // max(1, prod(shape[-d:])) * prod(
        n + pl + pr for n, (pl, pr) in zip(shape[-d:], spec.padding_pairs))
    k = prod(spec.kernel_size)
    # the reference's im2col copy: K * C_in values per output position (transposed:
    # K * C_out per input position), in chunks of samples under CHUNK_BYTES
    per_sample = k * F64 * (spec.out_channels * prod(shape[-d:]) if spec.transposed
                            else spec.in_channels * prod(out[-d:]))
    columns = max(per_sample, min(batch * per_sample, CHUNK_BYTES))
    torch_side = (n_in + 3 * n_out + 3 * spec.num_weight) * size + memory.cpu_workspace(
        spec, shape, out, dtype, threads)
    numpy_side = (IN_F64_ARRAYS * padded + OUT_F64_ARRAYS * n_out + 2 * spec.num_weight) * F64
    tensors = torch_side + numpy_side + columns
    return (tensors + memory.margin_for(tensors)
            + max(memory.own_rss(), memory.process_baseline()))


def _check_memory(spec: ConvSpec, input_shape, opts: Options) -> dict:
    """The estimate against the CPU budget (the reference and most copies are in
    host RAM whatever the device), before torch is imported: EnvironmentProblem
    (exit 3) when over."""
    need = verify_memory(spec, input_shape, opts.dtype, os.cpu_count() or 1)
    limit, source = memory.memory_limit("cpu", opts.max_memory)
    if limit is not None and need > limit:
        from convcli.errors import EnvironmentProblem
        from convcli.formatting import size

        way = "use a smaller --input" + ("" if isinstance(opts.max_memory, int) else
                                         ", or raise --max-memory if you know it fits")
        raise EnvironmentProblem(
            f"verifying {spec.torch_repr()} on {'x'.join(map(str, input_shape))} needs about "
            f"{size(need)} (torch's tensors, the float64 reference and its copies, the "
            f"process) but the limit is {size(limit)} ({source}); {way}")
    return {"estimate": need, "limit": limit, "limit_source": source}


def run_config(spec: ConvSpec, input_shape, opts: Options,
               progress: Progress | None = None) -> VerifyReport:
    """Every check that applies to one configuration."""
    check_options(opts)
    plan = config_plan(spec, input_shape)
    budget = _check_memory(spec, input_shape, opts)
    return _execute(Checks(opts, progress), plan, "config", Conf(spec, tuple(input_shape)),
                    budget)
