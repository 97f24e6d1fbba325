"""Run a plan of checks -> VerifyReport: ``run_suite`` (the built-in suite) and
``run_config`` (every check that applies to one configuration)."""

from __future__ import annotations

import time

from convcli.calculator.spec import ConvSpec
from convcli.engine.verify.checks import Checks
from convcli.engine.verify.plans import config_plan, suite_plan
from convcli.engine.verify.report import (Conf, Options, Progress, Skipped, VerifyReport,
                                          check_options)


def _cuda_tf32(torch, allow: bool | None):
    if allow is None:
        return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow
    return None


def _execute(opts: Options, plan: list[tuple[str, list, str]], progress, mode, conf):
    """plan: (check name, items, reason when there is nothing to run)."""
    start = time.perf_counter()
    run = Checks(opts, progress)
    torch = run.torch
    checks, skipped = [], []
    saved = _cuda_tf32(torch, None)
    _cuda_tf32(torch, False)
    threads = torch.get_num_threads()
    if mode == "suite":
        # the suite's tensors are tiny: one thread avoids OpenMP hand-offs that cost
        # more than the convs themselves (and spin badly on a busy machine)
        torch.set_num_threads(1)
    try:
        for name, items, reason in plan:
            if not items:
                skipped.append(Skipped(name, reason))
                continue
            if opts.fail_fast and checks and not checks[-1].passed:
                skipped.append(Skipped(name, f"not run: --fail-fast stopped at "
                                             f"'{checks[-1].name}'"))
                continue
            checks.append(run.run(name, items, getattr(run, name)))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
        torch.set_num_threads(threads)
    return VerifyReport(
        mode=mode, configuration=None if conf is None else conf.describe(),
        spec=None if conf is None else conf.spec,
        input_shape=None if conf is None else conf.input_shape,
        device=run.device_label, dtype=opts.dtype, atol=run.atol, rtol=run.rtol,
        tolerance_source=run.tol_source, seed=opts.seed,
        random_cases=opts.cases if mode == "suite" else 0,
        torch_version=torch.__version__, checks=checks, skipped=skipped,
        seconds=time.perf_counter() - start)


def run_suite(opts: Options, progress: Progress | None = None) -> VerifyReport:
    plan = suite_plan(opts)
    return _execute(opts, plan, progress, "suite", None)


def run_config(spec: ConvSpec, input_shape, opts: Options,
               progress: Progress | None = None) -> VerifyReport:
    """Every check that applies to one configuration."""
    check_options(opts)
    plan = config_plan(spec, input_shape)
    return _execute(opts, plan, progress, "config", Conf(spec, tuple(input_shape)))
